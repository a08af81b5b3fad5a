package dev.ailb.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.core.RequestOptions;
import com.openai.core.Timeout;
import com.openai.core.http.HttpMethod;
import com.openai.core.http.HttpRequest;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** How one SDK request becomes the request routed and the request each attempt sends. */
class SdkRequestsTest {
    private static final URI BACKEND = URI.create("http://127.0.0.1:8000");

    @Test
    void thePathAndQueryAreTheSdksAndTheHostTheBackends() {
        HttpRequest sdk = HttpRequest.builder().method(HttpMethod.GET).baseUrl("http://ailb.invalid/v1")
                .addPathSegments("models", "llama 3").putQueryParam("after", "a&b").build();

        SdkRequests.Prepared prepared = new SdkRequests(false, "", new AtomicLong())
                .prepare(sdk, RequestOptions.none());
        java.net.http.HttpRequest sent = prepared.toBackend(BACKEND);

        assertThat(sent.uri()).hasToString("http://127.0.0.1:8000/v1/models/llama+3?after=a%26b");
        assertThat(sent.method()).isEqualTo("GET");
        assertThat(prepared.routed().path()).isEqualTo("/v1/models/llama+3?after=a%26b");
        assertThat(prepared.routed().id()).isEqualTo("openai-1");
    }

    @Test
    void headersTheJdkSetsItselfAreLeftToItAndTheRestGoThrough() {
        HttpRequest sdk = HttpRequest.builder().method(HttpMethod.GET).baseUrl("http://ailb.invalid/v1")
                .addPathSegment("models").putHeader("Host", "api.openai.com").putHeader("Connection", "close")
                .putHeader("X-Stainless-Lang", "java").build();

        java.net.http.HttpRequest sent = new SdkRequests(false, "", new AtomicLong())
                .prepare(sdk, RequestOptions.none()).toBackend(BACKEND);

        assertThat(sent.headers().map()).containsOnlyKeys("X-Stainless-Lang");
    }

    @Test
    void theSdksRequestTimeoutBoundsEachAttempt() {
        HttpRequest sdk = HttpRequest.builder().method(HttpMethod.GET).baseUrl("http://ailb.invalid/v1")
                .addPathSegment("models").build();
        RequestOptions options = RequestOptions.builder()
                .timeout(Timeout.builder().request(Duration.ofSeconds(42)).build()).build();

        java.net.http.HttpRequest sent = new SdkRequests(false, "", new AtomicLong())
                .prepare(sdk, options).toBackend(BACKEND);

        assertThat(sent.timeout()).contains(Duration.ofSeconds(42));
    }
}

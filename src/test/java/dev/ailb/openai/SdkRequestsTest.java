package dev.ailb.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.core.RequestOptions;
import com.openai.core.Timeout;
import com.openai.core.http.HttpMethod;
import com.openai.core.http.HttpRequest;
import com.openai.core.http.HttpRequestBody;
import dev.ailb.Request;
import dev.ailb.http.OpenAiPrompt;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
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
    void aHeaderTheJdkWouldRefuseFailsTheCallBeforeAnyAttemptAndItsValueIsNotShown() {
        HttpRequest sdk = HttpRequest.builder().method(HttpMethod.GET).baseUrl("http://ailb.invalid/v1")
                .addPathSegment("models").putHeader("X-Key", "secret\r\nX-Injected: 1").build();

        assertThatThrownBy(() -> new SdkRequests(false, "", new AtomicLong()).prepare(sdk, RequestOptions.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("headers: \"X-Key\" with a value of length 21 (expected: a header name and a value the"
                        + " JDK's HTTP client sends, without CR, LF or other control characters)")
                .hasMessageNotContaining("secret");
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

    /** A JSON body as the SDK hands it over. */
    private static HttpRequest post(String path, String json) {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        HttpRequestBody body = new HttpRequestBody() {
            @Override
            public void writeTo(OutputStream out) {
                try {
                    out.write(bytes);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public String contentType() {
                return "application/json";
            }

            @Override
            public long contentLength() {
                return bytes.length;
            }

            @Override
            public boolean repeatable() {
                return true;
            }

            @Override
            public void close() {
                // nothing held
            }
        };
        return HttpRequest.builder().method(HttpMethod.POST).baseUrl("http://ailb.invalid")
                .addPathSegments(path.substring(1).split("/")).body(body).build();
    }

    private static Request routed(boolean byModel, HttpRequest request) {
        return new SdkRequests(byModel, "", new AtomicLong()).prepare(request, RequestOptions.none()).routed();
    }

    @Test
    void aChatBodyRoutesByItsPromptAndItsPromptPlusItsOutputCap() {
        String json = "{\"model\":\"llama\",\"max_completion_tokens\":100,\"max_tokens\":7,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello\"}]}";

        Request routed = routed(false, post("/v1/chat/completions", json));

        String prompt = OpenAiPrompt.ofChatCompletions(json);
        assertThat(routed.prompt()).isEqualTo(prompt).isNotEmpty();
        assertThat(routed.estimatedTokens()).isEqualTo((prompt.length() + 3) / 4 + 100);
        assertThat(routed.model()).as("the model only when asked").isEmpty();
        assertThat(routed(true, post("/v1/chat/completions", json)).model()).isEqualTo("llama");
    }

    @Test
    void withoutACapTheEstimateStaysUnknownAndACompletionIsReadToo() {
        Request chat = routed(false, post("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));
        Request completion = routed(false, post("/v1/completions", "{\"prompt\":\"Once upon\",\"max_tokens\":4}"));

        assertThat(chat.hasPrompt()).isTrue();
        assertThat(chat.estimatedTokens()).isZero();
        assertThat(completion.prompt()).isEqualTo("Once upon");
        assertThat(completion.estimatedTokens()).isEqualTo(3 + 4);
    }

    @Test
    void anotherEndpointRoutesByItsModelOnlyAndABodyNotReadIsSentUnrouted() {
        Request embeddings = routed(true, post("/v1/embeddings", "{\"model\":\"embed\",\"input\":\"x\"}"));
        Request broken = routed(true, post("/v1/chat/completions", "{\"model\":\"llama\",\"messages\":42}"));
        Request badModel = routed(true, post("/v1/chat/completions",
                "{\"model\":\"a\\nb\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));

        assertThat(embeddings.model()).isEqualTo("embed");
        assertThat(embeddings.hasPrompt()).isFalse();
        assertThat(broken.hasPrompt()).isFalse();
        assertThat(broken.model()).as("the fields were read; only the prompt was not").isEqualTo("llama");
        assertThat(badModel.model()).as("a name a request may not carry").isEmpty();
        assertThat(badModel.hasPrompt()).isTrue();
    }
}

package dev.ailb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.Backend;
import dev.ailb.LoadBalancer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rules of {@link HttpProbeOptions}: which header names and values it takes, that it builds a
 * request with them without sending it, and that the scheme and TLS context agree. Nothing here
 * goes over the network; {@link HttpsProbeTest} does.
 */
class HttpProbeOptionsTest {
    private static final HttpClient UNUSED = HttpClient.newBuilder().build();

    /** A context for building requests: nothing is sent with its client. */
    private static final HealthCheckContext CONTEXT = new HealthCheckContext() {
        @Override
        public Duration timeout() {
            return Duration.ofSeconds(2);
        }

        @Override
        public Executor executor() {
            return Runnable::run;
        }

        @Override
        public HttpClient httpClient() {
            return UNUSED;
        }
    };

    @ParameterizedTest
    @ValueSource(strings = {"Authorization", "X-Api-Key", "x_tenant", "!#$%&'*+-.^_`|~09azAZ"})
    void everyRfc9110TokenIsAHeaderName(String name) {
        HttpProbeOptions options = HttpProbeOptions.builder().header(name, "v").build();

        assertThat(options.headerNames()).containsExactly(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "X Token", "X:Token", "X-Tökèn", "(comment)", "X-Token\r\n"})
    void aNameThatIsNotATokenIsRefusedQuoted(String name) {
        assertThatThrownBy(() -> HttpProbeOptions.builder().header(name, "v"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("name: \"")
                .hasMessageEndingWith(" (expected: an RFC 9110 token, such as X-Api-Key)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "CONNECTION", "Content-Length", "expect", "Upgrade"})
    void theHeadersTheClientSetsItselfAreRefusedInAnyCase(String name) {
        assertThatThrownBy(() -> HttpProbeOptions.builder().header(name, "v"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("(expected: a header the client does not set itself");
    }

    @Test
    void aValueMayHoldSpacesTabsAndLatin1ButNoOtherControlCharacterNorAnythingAboveLatin1() {
        HttpProbeOptions.builder().header("X-A", "Bearer a b\tc ~ é ÿ").build();

        assertThatThrownBy(() -> HttpProbeOptions.builder().header("X-A", "secret\u007f"))
                .hasMessage("value: 7 characters, not shown, with U+007F at index 6"
                        + " (expected: no CR, LF or other control character)");
        assertThatThrownBy(() -> HttpProbeOptions.builder().header("X-A", "s\u0000"))
                .hasMessageContaining("with U+0000 at index 1");
        assertThatThrownBy(() -> HttpProbeOptions.builder().header("X-A", "sé\u0100"))
                .hasMessageContaining("with U+0100 at index 2");
    }

    @Test
    void aHeaderNameGivenTwiceInAnyCaseIsRefused() {
        HttpProbeOptions.Builder builder = HttpProbeOptions.builder().header("X-Tenant", "a");

        assertThatThrownBy(() -> builder.header("x-tenant", () -> "b"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("name: \"x-tenant\" (expected: one header of each name; X-Tenant was already added)");
        assertThat(builder.build().headerNames()).containsExactly("X-Tenant");
    }

    @Test
    void theSchemeAndTheTlsContextMustAgree() throws NoSuchAlgorithmException {
        SSLContext tls = SSLContext.getDefault();

        assertThatThrownBy(() -> HttpProbeOptions.builder().sslContext(tls).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("sslContext: set with the scheme http (expected: https)");
        assertThatThrownBy(() -> HttpProbeOptions.builder().sslContext(tls).sslContext(tls))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("sslContext was already set");
        assertThat(HttpProbeOptions.builder().scheme("https").sslContext(tls).build().sslContext()).containsSame(tls);
        assertThat(HttpProbeOptions.builder().build()).isSameAs(HttpProbeOptions.plain());
    }

    @Test
    void aRequestCarriesTheHeadersOverTheProbesOwnAndAsksTheSupplierEachTime() {
        AtomicInteger asked = new AtomicInteger();
        HttpProbeOptions options = HttpProbeOptions.builder().scheme("https")
                .bearerToken(() -> "t" + asked.incrementAndGet())
                .header("User-Agent", "fleet-prober")
                .build();
        try (LoadBalancer lb = new LoadBalancer()) {
            Backend backend = lb.addBackend("b", "::1", 8443);

            HttpRequest first = options.get(backend, "/metrics", CONTEXT, "text/plain", "ailb-load-poller");
            HttpRequest second = options.get(backend, "/metrics", CONTEXT, "text/plain", "ailb-load-poller");

            assertThat(first.uri()).hasToString("https://[::1]:8443/metrics");
            assertThat(first.timeout()).contains(Duration.ofSeconds(2));
            assertThat(first.headers().allValues("Authorization")).containsExactly("Bearer t1");
            assertThat(second.headers().allValues("Authorization")).containsExactly("Bearer t2");
            assertThat(first.headers().allValues("User-Agent")).containsExactly("fleet-prober");
            assertThat(first.headers().allValues("Accept")).containsExactly("text/plain");
        }
    }

    @Test
    void aContextMadeElsewhereLendsItsOneClientForItsOwnTlsContextOnly() throws NoSuchAlgorithmException {
        SSLContext own = UNUSED.sslContext();

        assertThat(CONTEXT.httpClient(own)).isSameAs(UNUSED);
        assertThatThrownBy(() -> CONTEXT.httpClient(SSLContext.getInstance("TLS")))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> CONTEXT.httpClient(null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("sslContext: null (expected: non-null)");
    }

    @Test
    void theToStringNamesTheSchemeAndTheHeadersOnly() throws NoSuchAlgorithmException {
        HttpProbeOptions options = HttpProbeOptions.builder().scheme("https").sslContext(SSLContext.getDefault())
                .header("X-Api-Key", "k-81f3").bearerToken(() -> "t-2c9a").build();

        assertThat(options).hasToString("HttpProbeOptions{https, own TLS context, headers=[X-Api-Key, Authorization]}");
        assertThat(List.of(HttpProbeOptions.plain().toString(), HealthCheck.http("/health").toString()))
                .containsExactly("HttpProbeOptions{http}", "HealthCheck.http(/health)");
    }
}

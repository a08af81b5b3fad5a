package dev.ailb.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.Backend;
import dev.ailb.LoadBalancer;
import dev.ailb.http.BalancedHttpClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every host addBackend accepts ends up as the host of the URIs the health checks, the load polls
 * and the HTTP integration build for the backend: no other host, no user information, the
 * backend's port. Nothing is sent: the URIs are only built and read.
 */
class HostUriTest {
    private static final HttpClient UNUSED = HttpClient.newHttpClient();

    @ParameterizedTest
    @MethodSource("dev.ailb.testing.HostLabels#accepted")
    void theUrisBuiltForABackendHaveItsHostAndNoOther(String host) {
        try (LoadBalancer lb = new LoadBalancer()) {
            // given
            Backend backend = lb.addBackend("b", host, 8123);
            String bracketed = host.indexOf(':') >= 0 && !host.startsWith("[") ? '[' + host + ']' : host;

            // when
            URI probe = HttpProbe.uriOf(backend, "/health");
            URI base = BalancedHttpClient.builder(lb).httpClient(UNUSED).build().baseUri(backend);

            // then
            for (URI uri : new URI[] {probe, base}) {
                assertThat(uri.getHost()).as("host of %s", uri).isEqualTo(bracketed);
                assertThat(uri.getUserInfo()).as("user information of %s", uri).isNull();
                assertThat(uri.getPort()).as("port of %s", uri).isEqualTo(8123);
            }
            assertThat(probe.getPath()).isEqualTo("/health");
            URI tls = HttpProbe.uriOf("https", backend, "/health");
            assertThat(tls.getScheme()).isEqualTo("https");
            assertThat(tls.getHost()).isEqualTo(bracketed);
            assertThat(tls.getUserInfo()).isNull();
            assertThat(tls.getPort()).isEqualTo(8123);
            assertThat(HttpRequest.newBuilder(probe).build().uri().getHost()).isEqualTo(bracketed);
        }
    }
}

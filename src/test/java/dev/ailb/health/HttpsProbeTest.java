package dev.ailb.health;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.ailb.Backend;
import dev.ailb.BackendProfile;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadReport;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.LoopbackTlsServer;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.ScriptedEndpoint;
import dev.ailb.testing.StandardErrorCapture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Health checks, load polls and model discovery over HTTPS with a bearer token, against a real
 * {@link com.sun.net.httpserver.HttpsServer} on loopback whose self-signed certificate is made for
 * the test, and which answers 401 to a request without the token it expects. Every round is
 * on demand ({@link LoadBalancer#performHealthChecks()}, {@link LoadBalancer#pollLoadReports()},
 * {@link LoadBalancer#discoverModels()}) and returns once each answer is counted; time is the
 * manual ticker's.
 */
class HttpsProbeTest {
    private static final String LOOPBACK = LoopbackServer.HOST;
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final String FIRST_TOKEN = "tok-1-5f0c9e2a";
    private static final String SECOND_TOKEN = "tok-2-a81d3b77";
    private static final String VLLM_PAGE = String.join("\n",
            "# TYPE vllm:num_requests_running gauge",
            "vllm:num_requests_running{engine=\"0\",model_name=\"llama\"} 7.0",
            "# TYPE vllm:num_requests_waiting gauge",
            "vllm:num_requests_waiting{engine=\"0\",model_name=\"llama\"} 2.0",
            "# TYPE vllm:kv_cache_usage_perc gauge",
            "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"llama\"} 0.5",
            "");
    private static final String MODELS =
            "{\"object\":\"list\",\"data\":[{\"id\":\"llama\",\"object\":\"model\",\"parent\":null}]}";

    @TempDir
    static Path certificates;
    private static LoopbackTlsServer.Certificate certificate;

    private final ManualTicker ticker = new ManualTicker();
    private final List<LoopbackTlsServer> servers = new ArrayList<>();
    private final List<LoadBalancer> balancers = new ArrayList<>();
    /** The token the server accepts now. */
    private final AtomicReference<String> expectedToken = new AtomicReference<>(FIRST_TOKEN);
    /** The token the client sends: the test rotates it apart from what the server accepts. */
    private final AtomicReference<String> expectedTokenForClient = new AtomicReference<>(FIRST_TOKEN);
    private final List<String> authorizationsSeen = new CopyOnWriteArrayList<>();
    private StandardErrorCapture captured;

    @BeforeAll
    static void makeCertificate() {
        certificate = LoopbackTlsServer.certificate(certificates);
    }

    @BeforeEach
    void captureStandardError() {
        captured = StandardErrorCapture.start();
    }

    @AfterEach
    void cleanUp() {
        captured.close();
        balancers.forEach(LoadBalancer::close);
        servers.forEach(LoopbackTlsServer::close);
    }

    /** Answers 401 unless the request bears the token expected now; else hands it to {@code next}. */
    private HttpHandler requiringToken(HttpHandler next) {
        return exchange -> {
            String authorization = exchange.getRequestHeaders().getFirst("Authorization");
            authorizationsSeen.add(String.valueOf(authorization));
            if (!("Bearer " + expectedToken.get()).equals(authorization)) {
                refuse(exchange);
                return;
            }
            next.handle(exchange);
        };
    }

    private static void refuse(HttpExchange exchange) throws IOException {
        try (exchange) {
            exchange.getRequestBody().readAllBytes();
            exchange.getResponseHeaders().add("WWW-Authenticate", "Bearer");
            exchange.sendResponseHeaders(401, -1);
        }
    }

    /** A server of the fleet: /health, /metrics and /v1/models, each behind the token. */
    private int serveFleetInstance() {
        LoopbackTlsServer server = LoopbackTlsServer.start(certificate, Map.of(
                "/health", requiringToken(ScriptedEndpoint.answering(200)),
                "/metrics", requiringToken(ScriptedEndpoint.answering(200, "text/plain; version=0.0.4", VLLM_PAGE)),
                "/v1/models", requiringToken(ScriptedEndpoint.answering(200, "application/json", MODELS))));
        servers.add(server);
        return server.port();
    }

    private HttpProbeOptions trustedWithToken() {
        return HttpProbeOptions.builder().scheme("https").sslContext(certificate.trustingClient())
                .bearerToken(expectedTokenForClient::get).build();
    }

    private LoadBalancer balancer(HttpProbeOptions http) {
        LoadBalancer lb = LoadBalancer.builder()
                .ticker(ticker)
                .healthCheckTimeout(TIMEOUT)
                .unhealthyThreshold(1)
                .healthCheck(HealthCheck.http("/health", http))
                .loadSource(PrometheusLoadSource.vllm().withHttp(http), Duration.ofSeconds(1))
                .discoverModels(ModelDiscovery.openAi().withHttp(http), Duration.ofSeconds(30))
                .build();
        balancers.add(lb);
        return lb;
    }

    private static String lastFailure(LoadBalancer lb, String id) {
        return lb.getBackendStats(id).health().lastFailureReason().orElse("");
    }

    @Test
    void aHealthCheckALoadPollAndModelDiscoveryOverHttpsBearTheToken() {
        // given
        int port = serveFleetInstance();
        LoadBalancer lb = balancer(trustedWithToken());
        Backend backend = lb.addBackend("tls-a", LOOPBACK, port);

        // when
        lb.performHealthChecks();
        lb.pollLoadReports();
        lb.discoverModels();

        // then
        assertThat(lb.getBackendStats("tls-a").health().consecutiveCheckSuccesses()).isEqualTo(1);
        assertThat(backend.loadReport().orElseThrow().load())
                .isEqualTo(LoadReport.builder().waitingRequests(2).runningRequests(7).kvCacheUsage(0.5).build());
        assertThat(backend.learntProfile())
                .isEqualTo(BackendProfile.builder().model("llama").build());
        assertThat(authorizationsSeen).containsExactly(
                "Bearer " + FIRST_TOKEN, "Bearer " + FIRST_TOKEN, "Bearer " + FIRST_TOKEN);
        assertThat(captured.text()).doesNotContain(FIRST_TOKEN);
    }

    @Test
    void withoutTheTokenTheServerAnswers401AndEveryProbeFailsSayingSo() {
        // given
        int port = serveFleetInstance();
        HttpProbeOptions noToken = HttpProbeOptions.builder().scheme("https")
                .sslContext(certificate.trustingClient()).build();
        LoadBalancer lb = balancer(noToken);
        Backend backend = lb.addBackend("tls-none", LOOPBACK, port);

        // when
        lb.performHealthChecks();
        lb.pollLoadReports();

        // then
        assertThat(backend.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lastFailure(lb, "tls-none")).isEqualTo("HTTP 401 from GET /health");
        assertThat(backend.loadReport()).isEmpty();
        assertThat(captured.text()).contains("Backend tls-none: load report rejected: HTTP 401 from GET /metrics");
        assertThat(authorizationsSeen).containsExactly("null", "null");
    }

    @Test
    void aRotatedTokenIsSentFromTheNextProbeOn() {
        // given: the client holds the first token, which the server accepts
        int port = serveFleetInstance();
        LoadBalancer lb = balancer(trustedWithToken());
        Backend backend = lb.addBackend("tls-rotate", LOOPBACK, port);
        lb.performHealthChecks();
        assertThat(backend.healthState()).isEqualTo(HealthState.HEALTHY);

        // when: the server moves to the second token, before the client does
        expectedToken.set(SECOND_TOKEN);
        lb.performHealthChecks();
        assertThat(backend.healthState()).as("the old token refused").isEqualTo(HealthState.UNHEALTHY);
        expectedTokenForClient.set(SECOND_TOKEN);
        lb.performHealthChecks();
        lb.pollLoadReports();

        // then
        assertThat(lb.getBackendStats("tls-rotate").health().consecutiveCheckSuccesses()).isEqualTo(1);
        assertThat(backend.loadReport()).isPresent();
        assertThat(authorizationsSeen).containsExactly("Bearer " + FIRST_TOKEN, "Bearer " + FIRST_TOKEN,
                "Bearer " + SECOND_TOKEN, "Bearer " + SECOND_TOKEN);
    }

    @Test
    void aCertificateTheClientDoesNotTrustFailsTheProbesAsATlsHandshakeFailure() {
        // given: https with the JVM's default trust, which knows nothing of the test's certificate
        int port = serveFleetInstance();
        HttpProbeOptions defaultTrust = HttpProbeOptions.builder().scheme("https")
                .bearerToken(expectedTokenForClient::get).build();
        LoadBalancer lb = balancer(defaultTrust);
        Backend backend = lb.addBackend("tls-untrusted", LOOPBACK, port);

        // when
        lb.performHealthChecks();
        lb.pollLoadReports();
        lb.discoverModels();

        // then: nothing reached the server's handlers, and each failure says why
        assertThat(backend.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lastFailure(lb, "tls-untrusted")).startsWith("GET /health: TLS handshake failed: ");
        assertThat(backend.loadReport()).isEmpty();
        assertThat(captured.text())
                .contains("Backend tls-untrusted: load report rejected: GET /metrics: TLS handshake failed: ")
                .doesNotContain(FIRST_TOKEN);
        assertThat(authorizationsSeen).isEmpty();
    }

    @Test
    void plainHttpToATlsPortFailsTheCheckWithoutATokenEverLeavingInTheClear() {
        // given: the options forgot the scheme; a token meant for https goes nowhere readable
        int port = serveFleetInstance();
        HttpProbeOptions plainWithToken = HttpProbeOptions.builder().bearerToken(expectedTokenForClient::get).build();
        LoadBalancer lb = balancer(plainWithToken);
        Backend backend = lb.addBackend("tls-plain", LOOPBACK, port);

        // when
        lb.performHealthChecks();

        // then
        assertThat(backend.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lastFailure(lb, "tls-plain")).startsWith("GET /health: ").doesNotContain(FIRST_TOKEN);
        assertThat(authorizationsSeen).isEmpty();
    }

    @Test
    void aTokenWithALineBreakFailsTheProbeNamingTheHeaderAndNeverShowingTheValue() {
        // given: a token source gone wrong, returning two lines
        int port = serveFleetInstance();
        expectedTokenForClient.set(FIRST_TOKEN + "\r\nX-Injected: yes");
        LoadBalancer lb = balancer(trustedWithToken());
        Backend backend = lb.addBackend("tls-broken", LOOPBACK, port);

        // when
        lb.performHealthChecks();
        lb.pollLoadReports();
        lb.discoverModels();

        // then
        String reason = lastFailure(lb, "tls-broken");
        assertThat(backend.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(reason).isEqualTo("cannot build a request to 127.0.0.1: header Authorization: a value of 38"
                + " characters, not shown, with U+000D at index 21 (expected: no CR, LF or other control character)");
        assertThat(captured.text())
                .contains("Backend tls-broken: load report rejected: header Authorization: a value of 38 characters")
                .doesNotContain(FIRST_TOKEN);
        assertThat(authorizationsSeen).as("nothing was sent").isEmpty();
    }

    @Test
    void aTokenSupplierThatThrowsFailsTheProbeWithTheExceptionsTypeOnly() {
        // given
        int port = serveFleetInstance();
        HttpProbeOptions failing = HttpProbeOptions.builder().scheme("https").sslContext(certificate.trustingClient())
                .bearerToken(() -> {
                    throw new IllegalStateException("vault said: " + FIRST_TOKEN + " expired");
                }).build();
        LoadBalancer lb = balancer(failing);
        Backend backend = lb.addBackend("tls-throws", LOOPBACK, port);

        // when
        lb.performHealthChecks();

        // then
        assertThat(backend.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lastFailure(lb, "tls-throws")).isEqualTo("cannot build a request to 127.0.0.1: header Authorization:"
                + " its supplier threw java.lang.IllegalStateException");
        assertThat(captured.text()).doesNotContain(FIRST_TOKEN);
    }

    @Test
    void thePropertiesProbeKeysReachTheFleetOverHttpsWithTheTokenOfTheFileReadAtEachProbe() throws IOException {
        // given: a trust store file and a token file, as a deployment mounts them
        int port = serveFleetInstance();
        Path tokenFile = certificates.resolve("fleet-token");
        Files.writeString(tokenFile, FIRST_TOKEN + "\n");
        Map<String, String> properties = new HashMap<>();
        properties.put("ailb.health-check.path", "/health");
        properties.put("ailb.unhealthy-threshold", "1");
        properties.put("ailb.load-source", "vllm");
        properties.put("ailb.discover-models", "30s");
        properties.put("ailb.probe.scheme", "https");
        properties.put("ailb.probe.trust-store", certificate.trustStore().toString());
        properties.put("ailb.probe.trust-store-password", certificate.trustStorePassword());
        properties.put("ailb.probe.bearer-token-file", tokenFile.toString());
        properties.put("ailb.backends.tls-props.host", LOOPBACK);
        properties.put("ailb.backends.tls-props.port", String.valueOf(port));
        LoadBalancer lb = LoadBalancer.fromProperties(properties, "ailb.");
        balancers.add(lb);
        Backend backend = lb.getBackends().get(0);

        // when
        lb.performHealthChecks();
        lb.pollLoadReports();
        lb.discoverModels();
        expectedToken.set(SECOND_TOKEN);
        Files.writeString(tokenFile, SECOND_TOKEN);
        lb.performHealthChecks();

        // then
        assertThat(lb.getBackendStats("tls-props").health().consecutiveCheckSuccesses()).isEqualTo(2);
        assertThat(backend.loadReport()).isPresent();
        assertThat(backend.learntProfile().models()).containsExactly("llama");
        assertThat(authorizationsSeen).containsExactly("Bearer " + FIRST_TOKEN, "Bearer " + FIRST_TOKEN,
                "Bearer " + FIRST_TOKEN, "Bearer " + SECOND_TOKEN);

        // and: a token file gone fails the probe naming the file, not what it held
        Files.delete(tokenFile);
        lb.performHealthChecks();
        assertThat(backend.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lastFailure(lb, "tls-props")).isEqualTo("cannot build a request to 127.0.0.1: header Authorization:"
                + " cannot read the token file " + tokenFile + ": NoSuchFileException");
        assertThat(captured.text()).doesNotContain(FIRST_TOKEN, SECOND_TOKEN);
    }

    @Test
    void theSettingsShowTheHeaderNamesAndNeverTheirValues() {
        HttpProbeOptions options = HttpProbeOptions.builder().scheme("HTTPS").sslContext(certificate.trustingClient())
                .bearerToken(() -> FIRST_TOKEN).header("X-Fleet-Key", SECOND_TOKEN).build();

        assertThat(options.scheme()).isEqualTo("https");
        assertThat(options.headerNames()).containsExactly("Authorization", "X-Fleet-Key");
        assertThat(List.of(options.toString(), HealthCheck.http("/health", options).toString(),
                PrometheusLoadSource.sglang().withHttp(options).toString(),
                ModelDiscovery.openAi().withHttp(options).toString()))
                .allSatisfy(text -> assertThat(text)
                        .contains("https", "Authorization", "X-Fleet-Key")
                        .doesNotContain(FIRST_TOKEN, SECOND_TOKEN, "Bearer"));
    }
}

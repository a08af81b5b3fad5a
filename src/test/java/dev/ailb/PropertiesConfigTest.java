package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PropertiesConfigTest {

    private static Properties properties(String... keyValues) {
        Properties p = new Properties();
        for (int i = 0; i < keyValues.length; i += 2) {
            p.setProperty(keyValues[i], keyValues[i + 1]);
        }
        return p;
    }

    @Test
    void configuredHealthChecksAndLoadPollsWaitForStartHealthChecker() {
        Properties p = properties(
                "ailb.backends.instance-1.host", "127.0.0.1",
                "ailb.backends.instance-1.port", "9",
                "ailb.health-check.path", "/health",
                "ailb.health-check.interval", "1s",
                "ailb.initially-healthy", "false",
                "ailb.load-source", "vllm");

        try (LoadBalancer lb = LoadBalancer.fromProperties(p, "ailb.")) {
            Backend backend = lb.getBackends().get(0);

            assertThat(lb.isHealthCheckerRunning()).isFalse();
            assertThat(lb.getBackendStats("instance-1").health().sinceLastCheck()).isEmpty();
            // unhealthy, yet routed to: every backend is, and the default policy fails open
            assertThat(backend.isHealthy()).isFalse();
            assertThat(lb.selectBackend(new Request("r", "10.1.1.1", "/v1/completions"))).isSameAs(backend);
            assertThat(lb.getAllStats().metrics().panicSelections()).isOne();
        }
    }

    @Test
    void aFullConfigurationBuildsTheBalancerAndItsBackends() {
        Properties p = properties(
                "ailb.name", "chat-fleet",
                "ailb.strategy", "least_connections",
                "ailb.backends.instance-1.host", "192.168.1.1",
                "ailb.backends.instance-1.port", "8001",
                "ailb.backends.instance-1.weight", "2",
                "ailb.backends.instance-2.host", "192.168.1.2",
                "ailb.backends.instance-2.port", "8002",
                "ailb.health-check.path", "/health",
                "ailb.health-check.interval", "5s",
                "ailb.health-check.timeout", "PT0.5S",
                "ailb.healthy-threshold", "2",
                "ailb.unhealthy-threshold", "4",
                "ailb.all-unhealthy-policy", "fail-closed",
                "ailb.drain-timeout", "2m",
                "ailb.max-sessions", "500",
                "ailb.session-idle-timeout", "10m",
                "ailb.count-tokens", "800",
                "ailb.load-source", "vllm",
                "ailb.load-poll-interval", "250ms",
                "ailb.saturation.waiting-requests", "8",
                "other.setting", "ignored: another prefix");
        p.put(42, "not a string key: skipped");

        try (LoadBalancer lb = LoadBalancer.fromProperties(p, "ailb.")) {
            assertThat(lb.name()).isEqualTo("chat-fleet");
            assertThat(lb.getStrategy()).isSameAs(BalancingStrategy.LEAST_CONNECTIONS);
            assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("instance-1", "instance-2");
            Backend first = lb.getBackends().get(0);
            assertThat(first.host()).isEqualTo("192.168.1.1");
            assertThat(first.port()).isEqualTo(8001);
            assertThat(first.weight()).isEqualTo(2);
            assertThat(lb.getBackends().get(1).weight()).isEqualTo(1);
            // token counting is on: a connection without a request counts the default estimate
            lb.acquireConnection(first);
            assertThat(first.inFlightTokens()).isEqualTo(800);
            lb.releaseConnection(first, 1L, true);
        }
    }

    @Test
    void aPlainMapWithoutPrefixWorksToo() {
        Map<String, String> map = new HashMap<>();
        map.put("backends.a.host", "10.0.0.1");
        map.put("backends.a.port", "80");
        try (LoadBalancer lb = LoadBalancer.fromProperties(map, "")) {
            assertThat(lb.getStrategy()).isSameAs(BalancingStrategy.ROUND_ROBIN);
            assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a");
        }
    }

    @Test
    void backendsDeclareTheirModelsAdaptersAndLabelsAndModelDiscoveryIsConfigured() {
        try (LoadBalancer lb = LoadBalancer.fromProperties(properties(
                "ailb.backends.gpu.1.host", "10.0.0.1",
                "ailb.backends.gpu.1.port", "8001",
                "ailb.backends.gpu.1.models", "llama-3.1-8b, qwen",
                "ailb.backends.gpu.1.adapters", "sql-v2",
                "ailb.backends.gpu.1.labels.zone", "a",
                "ailb.backends.gpu.1.labels.topology.kubernetes.io/zone", "eu-1",
                "ailb.backends.plain.host", "10.0.0.2",
                "ailb.backends.plain.port", "8002",
                "ailb.discover-models", "30s"), "ailb.")) {
            Backend gpu = lb.getBackend("gpu.1").orElseThrow();

            assertThat(gpu.profile()).isEqualTo(BackendProfile.builder().model("llama-3.1-8b").model("qwen")
                    .adapter("sql-v2").label("zone", "a").label("topology.kubernetes.io/zone", "eu-1").build());
            assertThat(lb.getBackend("plain").orElseThrow().profile()).isEqualTo(BackendProfile.none());
            assertThat(lb.selectBackend(new Request("r", "10.1.1.1", "/v1/completions").withModel("sql-v2")))
                    .isSameAs(gpu);
        }
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.backends.a.host", "10.0.0.1",
                "ailb.backends.a.port", "8001", "ailb.backends.a.models", "llama,,qwen"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ailb.backends.a.models: model: \"\" (expected: not blank)");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.backends.a.host", "10.0.0.1",
                "ailb.backends.a.port", "8001", "ailb.backends.a.labels.gpu type", "h100"), "ailb."))
                .hasMessageStartingWith("ailb.backends.a.labels.gpu type: key: \"gpu type\"");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.discover-models", "0s"), "ailb."))
                .hasMessage("ailb.discover-models: interval: PT0S (expected: PT0.001S..PT24H)");
    }

    @Test
    void anUnknownSettingIsRefusedNamingIt() {
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.strategyy", "RANDOM"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.strategyy: unknown setting (expected one of: name, strategy, ");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.backends.a.hots", "x"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.backends.a.hots: unknown setting");
    }

    @Test
    void badValuesAreRefusedWithTheBuildersMessageAfterThePropertysName() {
        assertRefused("ailb.max-sessions: maxSessions: 0 (expected: 1..10000000)", "ailb.max-sessions", "0");
        assertRefused("ailb.max-sessions: \"many\" (expected: an integer)", "ailb.max-sessions", "many");
        assertRefused("ailb.strategy: ", "ailb.strategy", "FASTEST");
        assertRefused("ailb.name: name: \"chat fleet\" (expected: 1 to 64 characters among letters, digits, '.', '_' and '-')",
                "ailb.name", "chat fleet");
        assertRefused("ailb.drain-timeout: \"soon\" (expected: a duration such as 500ms, 10s, 5m, 1h, 2d or PT10S)",
                "ailb.drain-timeout", "soon");
        assertRefused("ailb.drain-timeout: drainTimeout: PT0S", "ailb.drain-timeout", "0s");
        assertRefused("ailb.initially-healthy: \"yes\" (expected: true or false)", "ailb.initially-healthy", "yes");
        assertRefused("ailb.session-affinity: \"sticky\" (expected one of [TABLE, CONSISTENT_HASH])",
                "ailb.session-affinity", "sticky");
        assertRefused("ailb.health-check.type: \"grpc\" (expected: http or tcp)", "ailb.health-check.type", "grpc");
        assertRefused("ailb.load-source: \"triton\" (expected: vllm, tgi or sglang)", "ailb.load-source", "triton");
        assertRefused("ailb.count-tokens: defaultTokens: 0", "ailb.count-tokens", "0");
    }

    @ParameterizedTest
    @ValueSource(strings = {"response-time-decay", "health-check.interval", "health-check.timeout",
            "health-check.jitter", "drain-timeout", "session-idle-timeout", "load-poll-interval",
            "saturation.max-report-age"})
    void aDurationTooLongForADurationIsRefusedNamingItsProperty(String key) {
        for (String value : new String[] {"999999999999999999d", "999999999999999999h", "999999999999999999m"}) {
            assertRefused("ailb." + key + ": \"" + value + "\" (expected: ", "ailb." + key, value);
        }
    }

    @Test
    void aJitterNotBelowTheIntervalIsRefusedNamingTheJitter() {
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties(
                "ailb.health-check.interval", "2s", "ailb.health-check.jitter", "2s"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.health-check.jitter: healthCheckJitter: PT2S "
                        + "(expected: < healthCheckInterval PT2S)");
        // against the default interval of 5 seconds
        assertRefused("ailb.health-check.jitter: healthCheckJitter: PT6S (expected: < healthCheckInterval PT5S)",
                "ailb.health-check.jitter", "6s");
    }

    @Test
    void eachSaturationValueIsRefusedNamingItsOwnProperty() {
        assertRefused("ailb.saturation.kv-cache-usage: kvCacheUsage: 1.5 (expected: ",
                "ailb.saturation.kv-cache-usage", "1.5");
        assertRefused("ailb.saturation.waiting-requests: waitingRequests: 0 (expected: ",
                "ailb.saturation.waiting-requests", "0");
        assertRefused("ailb.saturation.max-report-age: maxReportAge: PT0S (expected: ",
                "ailb.saturation.max-report-age", "0s");
        // a good value beside a bad one: the bad one is named
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.saturation.waiting-requests", "3",
                "ailb.saturation.kv-cache-usage", "0.9", "ailb.saturation.max-report-age", "2d"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.saturation.max-report-age: maxReportAge: PT48H (expected: ");
    }

    @Test
    void theConnectionLimitAndTheAdmissionQueueAreRead() {
        Properties p = properties("ailb.connection-limit", "1", "ailb.admission-queue.capacity", "1",
                "ailb.admission-queue.max-wait", "2s", "ailb.backends.a.host", "10.0.0.1", "ailb.backends.a.port", "8000");
        try (LoadBalancer lb = LoadBalancer.fromProperties(p, "ailb.")) {
            Backend a = lb.getBackend("a").orElseThrow();
            assertThat(a.connectionLimit()).isEqualTo(1);
            Lease held = lb.acquire(new Request("r1", "", "/"));
            var waits = lb.acquireAsync(new Request("r2", "", "/"));
            var refused = lb.acquireAsync(new Request("r3", "", "/"));

            assertThat(waits).isNotDone();
            assertThat(refused).isCompletedExceptionally();
            assertThat(lb.getAdmissionStats().queueFull()).as("a queue of one").isEqualTo(1);
            held.success();
            waits.join().success();
        }
    }

    @Test
    void eachAdmissionValueIsRefusedNamingItsOwnProperty() {
        assertRefused("ailb.connection-limit: perBackend: 0 (expected: ", "ailb.connection-limit", "0");
        assertRefused("ailb.admission-queue.capacity: capacity: -1 (expected: ", "ailb.admission-queue.capacity", "-1");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.admission-queue.capacity", "10",
                "ailb.admission-queue.max-wait", "2d"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.admission-queue.max-wait: maxWait: PT48H (expected: ");
    }

    @Test
    void slowStartIsReadWithItsCurveAndFloor() {
        ManualTicker ticker = new ManualTicker();
        ManualScheduler scheduler = new ManualScheduler(ticker);
        Properties p = properties("ailb.strategy", "LEAST_CONNECTIONS", "ailb.slow-start.window", "32s",
                "ailb.slow-start.aggression", "2", "ailb.slow-start.min-weight-percent", "25",
                "ailb.backends.a.host", "10.0.0.1", "ailb.backends.a.port", "8000");
        try (LoadBalancer lb = LoadBalancer.fromProperties(p, "ailb.",
                b -> b.ticker(ticker).healthCheckScheduler(scheduler))) {
            lb.acquire(new Request("r1", "", "/")).success();

            Backend joining = lb.addBackend("b", "10.0.0.2", 8000);

            assertThat(joining.slowStartFactor()).as("the floor").isEqualTo(0.25);
            scheduler.advance(Duration.ofSeconds(8));
            assertThat(joining.slowStartFactor()).as("a square root: half the weight a quarter in").isEqualTo(0.5);
            scheduler.advance(Duration.ofSeconds(24));
            assertThat(joining.slowStartFactor()).isEqualTo(1.0);
        }
    }

    @Test
    void eachSlowStartValueIsRefusedNamingItsOwnProperty() {
        assertRefused("ailb.slow-start.window: window: PT0.5S (expected: ", "ailb.slow-start.window", "500ms");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.slow-start.window", "1m",
                "ailb.slow-start.aggression", "0"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.slow-start.aggression: aggression: 0.0 (expected: ");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.slow-start.window", "1m",
                "ailb.slow-start.min-weight-percent", "101"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.slow-start.min-weight-percent: minWeightPercent: 101.0 (expected: ");
        assertRefused("ailb.slow-start.aggression: set without slow-start.window", "ailb.slow-start.aggression", "2");
    }

    @Test
    void aBadLoadPollIntervalIsRefusedNamingItsOwnProperty() {
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties(
                "ailb.load-source", "vllm", "ailb.load-poll-interval", "0s"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.load-poll-interval: pollInterval: PT0S (expected: ");
    }

    @Test
    void theDefaultsOfPropertiesAreReadAndOverriddenByItsOwnEntries() {
        Properties defaults = properties(
                "ailb.strategy", "random",
                "ailb.backends.a.host", "10.0.0.1",
                "ailb.backends.a.port", "80",
                "ailb.backends.b.host", "10.0.0.2",
                "ailb.backends.b.port", "81");
        Properties p = new Properties(defaults);
        p.setProperty("ailb.strategy", "least_connections");
        p.setProperty("ailb.backends.b.weight", "3");

        try (LoadBalancer lb = LoadBalancer.fromProperties(p, "ailb.")) {
            assertThat(lb.getStrategy()).isSameAs(BalancingStrategy.LEAST_CONNECTIONS);
            assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a", "b");
            assertThat(lb.getBackends().get(1).weight()).isEqualTo(3);
        }
    }

    @Test
    void aBadValueAmongTheDefaultsOfPropertiesIsRefusedNamingIt() {
        Properties p = new Properties(properties("ailb.drain-timeout", "999999999999999999h"));
        assertThatThrownBy(() -> LoadBalancer.fromProperties(p, "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.drain-timeout: \"999999999999999999h\"");
    }

    @Test
    void theProbeKeysAreRefusedNamingTheirKeyAndNeverShowingAHeadersValue() {
        assertProbeRefused("ailb.probe.scheme: scheme: \"ftp\" (expected: http or https)", "ailb.probe.scheme", "ftp");
        assertProbeRefused("ailb.probe.headers.X Token: name: \"X Token\" (expected: an RFC 9110 token, such as X-Api-Key)",
                "ailb.probe.headers.X Token", "abc");
        assertProbeRefused("ailb.probe.headers.Host: name: \"Host\" (expected: a header the client does not set itself,"
                + " not Connection, Content-Length, Expect, Host or Upgrade)", "ailb.probe.headers.Host", "gpu-7");
        assertProbeRefused("ailb.probe.headers.Authorization: value: 29 characters, not shown, with U+000A at index 15"
                + " (expected: no CR, LF or other control character)",
                "ailb.probe.headers.Authorization", "Bearer s3cr3t-1\nX-Forged: yes");
        assertProbeRefused("ailb.probe.trust-store: set with probe.scheme http (expected: probe.scheme=https)",
                "ailb.probe.trust-store", "/nonexistent/ca.p12");
        assertProbeRefused("ailb.probe.trust-store-password: set without probe.trust-store",
                "ailb.probe.trust-store-password", "s3cr3t-2");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.load-source", "vllm",
                "ailb.probe.scheme", "https", "ailb.probe.trust-store", "/nonexistent/ca.p12",
                "ailb.probe.trust-store-password", "s3cr3t-3"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.probe.trust-store: \"/nonexistent/ca.p12\" (expected: a readable PKCS12"
                        + " or JKS trust store with a certificate: ")
                .hasMessageNotContaining("s3cr3t");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.load-source", "vllm",
                "ailb.probe.bearer-token-file", "/var/run/token", "ailb.probe.headers.authorization", "Basic s3cr3t-4"),
                "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ailb.probe.headers.authorization: name: \"authorization\" (expected: one header of each"
                        + " name; Authorization was already added)");
    }

    @Test
    void aProbeKeyWithoutAnyHttpProbeIsRefusedRatherThanIgnored() {
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.probe.scheme", "https"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ailb.probe.scheme: set, but no probe goes over HTTP (expected: with health-check.path or"
                        + " health-check.type=http, load-source or discover-models)");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.health-check.type", "tcp",
                "ailb.probe.headers.Authorization", "Bearer s3cr3t-5"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.probe.headers.Authorization: set, but no probe goes over HTTP")
                .hasMessageNotContaining("s3cr3t");
    }

    /** A probe key refused, set beside a load source so that a probe goes over HTTP. */
    private static void assertProbeRefused(String messageStart, String key, String value) {
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.load-source", "vllm", key, value), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(messageStart)
                .hasMessageNotContaining("s3cr3t");
    }

    private static void assertRefused(String messageStart, String key, String value) {
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties(key, value), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(messageStart);
    }

    @Test
    void anIncompleteOrBadBackendIsRefusedNamingIt() {
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.backends.a.port", "80"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ailb.backends.a.host: missing (expected: the backend's host)");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.backends.a.host", "h"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ailb.backends.a.port: missing (expected: 1..65535)");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(
                properties("ailb.backends.a.host", "h", "ailb.backends.a.port", "70000"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.backends.a: port: 70000");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.backends.a.host", "h",
                "ailb.backends.a.port", "80", "ailb.backends.a.weight", "0"), "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.backends.a: weight: 0");
    }

    @Test
    void nullArgumentsAreRefusedNamingThem() {
        assertThatThrownBy(() -> LoadBalancer.fromProperties(null, "ailb."))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("properties");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(new Properties(), null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("prefix");
    }

    @Test
    void aCustomizerGivesTheBuilderWhatPropertiesCannotSay() {
        // given
        dev.ailb.testing.ManualTicker ticker = new dev.ailb.testing.ManualTicker();
        Properties p = properties("ailb.name", "chat", "ailb.strategy", "LEAST_CONNECTIONS",
                "ailb.backends.a.host", "10.0.0.1", "ailb.backends.a.port", "8000");
        java.util.List<LoadBalancerBuilder> seen = new java.util.ArrayList<>();

        // when
        try (LoadBalancer lb = LoadBalancer.fromProperties(p, "ailb.", builder -> {
            seen.add(builder);
            builder.ticker(ticker).sessionIdleTimeout(java.time.Duration.ofSeconds(1));
        })) {
            // then: properties and customizer both applied, the backends added after the build
            assertThat(seen).hasSize(1);
            assertThat(lb.name()).isEqualTo("chat");
            assertThat(lb.getStrategy()).isSameAs(BalancingStrategy.LEAST_CONNECTIONS);
            assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a");
            Backend a = lb.selectBackend(new Request("r", "10.1.1.1", "/v1/completions"), "session-1");
            assertThat(lb.getAllStats().metrics().sessions()).isOne();
            ticker.advance(java.time.Duration.ofSeconds(2)); // the customizer's idle timeout, in its time
            assertThat(lb.getAllStats().metrics().sessions()).isZero();
            assertThat(a.id()).isEqualTo("a");
        }
    }

    @Test
    void aCustomizerThatSetsWhatAPropertySetIsRefusedAndNothingIsBuilt() {
        Properties p = properties("ailb.strategy", "RANDOM");

        assertThatThrownBy(() -> LoadBalancer.fromProperties(p, "ailb.",
                builder -> builder.strategy(BalancingStrategy.ROUND_ROBIN)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("strategy");
        assertThatThrownBy(() -> LoadBalancer.fromProperties(p, "ailb.", null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("customizer: null (expected: non-null)");
    }

    @Test
    void aBadPropertyIsRefusedBeforeTheCustomizerRuns() {
        java.util.List<LoadBalancerBuilder> seen = new java.util.ArrayList<>();

        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties("ailb.max-sessions", "0"), "ailb.",
                seen::add))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ailb.max-sessions: maxSessions: 0");
        assertThat(seen).isEmpty();
    }
}

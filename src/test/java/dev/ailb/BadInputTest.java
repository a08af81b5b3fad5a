package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.HealthCheck;
import dev.ailb.health.HealthCheckResult;
import dev.ailb.health.OutlierDetection;
import dev.ailb.internal.Preconditions;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.StandardErrorCapture;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rejected input gets an exception naming the parameter and the value, and leaves the
 * balancer exactly as it was.
 */
class BadInputTest {
    private final ManualTicker ticker = new ManualTicker();
    private LoadBalancer lb;
    private Backend one;

    @BeforeEach
    void setUp() {
        lb = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS).ticker(ticker).build();
        one = lb.addBackend("instance-1", "192.168.1.1", 8001, 2);
        lb.addBackend("instance-2", "192.168.1.1", 8002);
        lb.acquireConnection(one);
        lb.releaseConnection(one, Duration.ofMillis(40), true);
        lb.acquireConnection(one);
        lb.updateBackendResources("instance-1", 0.5, 0.25);
    }

    @AfterEach
    void tearDown() {
        lb.close();
    }

    /** A call on the balancer, with the exception type and message fragments it must produce. */
    static Stream<Arguments> rejectedCalls() {
        return Stream.of(
                rejected("addBackend null id", lb -> lb.addBackend(null, "h", 1),
                        NullPointerException.class, "id: null"),
                rejected("addBackend blank id", lb -> lb.addBackend("  ", "h", 1),
                        IllegalArgumentException.class, "id: \"  \"", "not blank"),
                rejected("addBackend over-long id", lb -> lb.addBackend("x".repeat(300), "h", 1),
                        IllegalArgumentException.class, "id: ", "at most 256"),
                rejected("addBackend duplicate id", lb -> lb.addBackend("instance-1", "h", 1),
                        IllegalArgumentException.class, "id: \"instance-1\"", "taken"),
                rejected("addBackend null host", lb -> lb.addBackend("x", null, 1),
                        NullPointerException.class, "host: null"),
                rejected("addBackend blank host", lb -> lb.addBackend("x", "", 1),
                        IllegalArgumentException.class, "host: \"\""),
                rejected("addBackend port 0", lb -> lb.addBackend("x", "h", 0),
                        IllegalArgumentException.class, "port: 0", "1..65535"),
                rejected("addBackend port 65536", lb -> lb.addBackend("x", "h", 65536),
                        IllegalArgumentException.class, "port: 65536"),
                rejected("addBackend negative port", lb -> lb.addBackend("x", "h", -80),
                        IllegalArgumentException.class, "port: -80"),
                rejected("addBackend weight 0", lb -> lb.addBackend("x", "h", 80, 0),
                        IllegalArgumentException.class, "weight: 0", "1..1000000"),
                rejected("addBackend negative weight", lb -> lb.addBackend("x", "h", 80, -3),
                        IllegalArgumentException.class, "weight: -3"),
                rejected("addBackend weight too large", lb -> lb.addBackend("x", "h", 80, 1_000_001),
                        IllegalArgumentException.class, "weight: 1000001"),
                rejected("removeBackend unknown id", lb -> lb.removeBackend("nope"),
                        IllegalArgumentException.class, "id: \"nope\"", "registered backend"),
                rejected("removeBackend null id", lb -> lb.removeBackend(null),
                        NullPointerException.class, "id: null"),
                rejected("updateBackendResources unknown id", lb -> lb.updateBackendResources("nope", 0.1, 0.1),
                        IllegalArgumentException.class, "id: \"nope\""),
                rejected("updateBackendResources NaN cpu", lb -> lb.updateBackendResources("instance-1", Double.NaN, 0.1),
                        IllegalArgumentException.class, "cpu: NaN", "0.0..1.0"),
                rejected("updateBackendResources cpu above 1", lb -> lb.updateBackendResources("instance-1", 1.5, 0.1),
                        IllegalArgumentException.class, "cpu: 1.5"),
                rejected("updateBackendResources negative memory", lb -> lb.updateBackendResources("instance-1", 0.1, -0.1),
                        IllegalArgumentException.class, "memory: -0.1"),
                rejected("updateBackendResources infinite memory",
                        lb -> lb.updateBackendResources("instance-1", 0.1, Double.POSITIVE_INFINITY),
                        IllegalArgumentException.class, "memory: Infinity"),
                rejected("beginMaintenance unknown id", lb -> lb.beginMaintenance("nope"),
                        IllegalArgumentException.class, "id: \"nope\""),
                rejected("endMaintenance blank id", lb -> lb.endMaintenance(""),
                        IllegalArgumentException.class, "id: \"\""),
                rejected("selectBackend blank session", lb -> lb.selectBackend(new Request("r", "1.2.3.4", "/"), ""),
                        IllegalArgumentException.class, "sessionId: \"\""),
                rejected("execute null call", lb -> lb.execute(new Request("r", "1.2.3.4", "/"), null),
                        NullPointerException.class, "call: null"),
                rejected("setBackendHealthy unknown id", lb -> lb.setBackendHealthy("nope", false),
                        IllegalArgumentException.class, "id: \"nope\""),
                rejected("getBackendStats unknown id", lb -> lb.getBackendStats("nope"),
                        IllegalArgumentException.class, "id: \"nope\""),
                rejected("selectBackend null request", lb -> lb.selectBackend(null),
                        NullPointerException.class, "request: null"),
                rejected("setStrategy null", lb -> lb.setStrategy(null),
                        NullPointerException.class, "strategy: null"),
                rejected("setStrategy whose selector fails", lb -> lb.setStrategy(context -> {
                            throw new IllegalArgumentException("broken");
                        }),
                        IllegalStateException.class, "failed to create its selector", "broken"),
                rejected("setStrategy whose picker fails", lb -> lb.setStrategy(context -> available -> {
                            throw new IllegalArgumentException("broken table");
                        }),
                        IllegalStateException.class, "failed to build a picker", "broken table"),
                rejected("acquireConnection null", lb -> lb.acquireConnection(null),
                        NullPointerException.class, "backend: null"),
                rejected("releaseConnection null backend", lb -> lb.releaseConnection(null, Duration.ZERO, true),
                        NullPointerException.class, "backend: null"),
                rejected("releaseConnection null time",
                        lb -> lb.releaseConnection(lb.getBackend("instance-1").orElseThrow(), null, true),
                        NullPointerException.class, "responseTime: null"),
                rejected("releaseConnection negative time",
                        lb -> lb.releaseConnection(lb.getBackend("instance-1").orElseThrow(), Duration.ofMillis(-5), true),
                        IllegalArgumentException.class, "responseTime: PT-0.005S", ">= 0"),
                rejected("releaseConnection time beyond nanoseconds",
                        lb -> lb.releaseConnection(lb.getBackend("instance-1").orElseThrow(), Duration.ofDays(200_000), true),
                        IllegalArgumentException.class, "responseTime: PT4800000H"),
                rejected("releaseConnection negative nanos",
                        lb -> lb.releaseConnection(lb.getBackend("instance-1").orElseThrow(), -1L, true),
                        IllegalArgumentException.class, "responseTimeNanos: -1"),
                rejected("releaseConnection without acquire",
                        lb -> lb.releaseConnection(lb.getBackend("instance-2").orElseThrow(), Duration.ZERO, true),
                        IllegalStateException.class, "instance-2", "no active connection"));
    }

    private static Arguments rejected(String name, Consumer<LoadBalancer> call,
            Class<? extends Throwable> type, String... messageParts) {
        return Arguments.of(name, call, type, List.of(messageParts));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejectedCalls")
    void rejectsBadInputAndLeavesTheBalancerUnchanged(String name, Consumer<LoadBalancer> call,
            Class<? extends Throwable> type, List<String> messageParts) {
        Fingerprint before = Fingerprint.of(lb);

        assertThatThrownBy(() -> call.accept(lb))
                .isInstanceOf(type)
                .satisfies(e -> assertThat(e.getMessage()).contains(messageParts));

        assertThat(Fingerprint.of(lb)).isEqualTo(before);
    }

    @ParameterizedTest
    @MethodSource("dev.ailb.testing.HostLabels#accepted")
    void acceptsHostNamesAndAddressLiteralsAsGiven(String host) {
        Backend added = lb.addBackend("instance-9", host, 8000);

        assertThat(added.host()).isEqualTo(host);
        assertThat(lb.getBackend("instance-9")).containsSame(added);
    }

    @ParameterizedTest
    @MethodSource("dev.ailb.testing.HostLabels#refused")
    void refusesAHostThatIsNeitherANameNorAnAddressAndLeavesTheBalancerUnchanged(String host) {
        Fingerprint before = Fingerprint.of(lb);

        assertThatThrownBy(() -> lb.addBackend("instance-9", host, 8000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("host: " + Preconditions.quote(host)
                        + " (expected: a host name, an IPv4 address or an IPv6 address)");

        assertThat(Fingerprint.of(lb)).isEqualTo(before);
    }

    @Test
    void aHostFromPropertiesIsCheckedAsAddBackendChecksIt() {
        Map<String, String> properties = Map.of(
                "ailb.backends.a.host", "gpu-7.internal@127.0.0.1", "ailb.backends.a.port", "8000");

        assertThatThrownBy(() -> LoadBalancer.fromProperties(properties, "ailb."))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("host: \"gpu-7.internal@127.0.0.1\" (expected: a host name");
    }

    @Test
    void rejectsABackendOfAnotherBalancer() {
        try (LoadBalancer other = new LoadBalancer()) {
            Backend foreign = other.addBackend("instance-1", "192.168.1.1", 8001);
            other.acquireConnection(foreign);
            Fingerprint before = Fingerprint.of(lb);

            assertThatThrownBy(() -> lb.acquireConnection(foreign))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("backend: Backend{instance-1")
                    .hasMessageContaining("a backend of this balancer");
            assertThatThrownBy(() -> lb.releaseConnection(foreign, Duration.ZERO, true))
                    .isInstanceOf(IllegalArgumentException.class);

            assertThat(Fingerprint.of(lb)).isEqualTo(before);
            assertThat(foreign.activeConnections()).isEqualTo(1);
        }
    }

    @Test
    void doubleReleaseIsRejectedAndTheCountStaysAtZero() {
        lb.releaseConnection(one, Duration.ofMillis(10), true);
        Fingerprint before = Fingerprint.of(lb);

        assertThatThrownBy(() -> lb.releaseConnection(one, Duration.ofMillis(10), true))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no active connection");

        assertThat(one.activeConnections()).isZero();
        assertThat(Fingerprint.of(lb)).isEqualTo(before);
    }

    @Test
    void acquiringARemovedBackendIsRejected() {
        Backend two = lb.getBackend("instance-2").orElseThrow();
        lb.removeBackend("instance-2");

        assertThatThrownBy(() -> lb.acquireConnection(two))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("instance-2")
                .hasMessageContaining("removed");
        assertThat(lb.tryAcquireConnection(two)).isFalse();
        assertThat(two.activeConnections()).isZero();
    }

    @Test
    void aClosedBalancerRefusesChangesToRoutingAndLogsNoPanic() {
        List<String> heard = new java.util.ArrayList<>();
        LoadBalancerListener listener = new LoadBalancerListener() {
            @Override
            public void onBackendRemoved(Backend backend) {
                heard.add(backend.id());
            }
        };
        lb.close();

        try (StandardErrorCapture log = StandardErrorCapture.start()) {
            assertThatThrownBy(() -> lb.setBackendHealthy("instance-1", false))
                    .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");
            assertThatThrownBy(() -> lb.setBackendHealthy("instance-2", false))
                    .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");
            assertThat(log.text()).doesNotContain("WARN");
        }
        assertThatThrownBy(() -> lb.setStrategy(BalancingStrategy.RANDOM))
                .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");
        assertThatThrownBy(() -> lb.updateBackendResources("instance-2", 0.9, 0.9))
                .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");
        assertThatThrownBy(() -> lb.updateBackendResources("instance-2", LoadReport.builder().cpu(0.9).build()))
                .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");
        assertThatThrownBy(() -> lb.addListener(listener))
                .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");

        assertThat(lb.getStrategy()).isSameAs(BalancingStrategy.LEAST_CONNECTIONS);
        assertThat(lb.getBackends()).allMatch(Backend::isHealthy);
        assertThat(lb.getBackend("instance-2").orElseThrow().loadReport()).isEmpty();
        lb.removeBackend("instance-2"); // still allowed after close
        assertThat(heard).isEmpty();
        assertThat(lb.removeListener(listener)).isFalse();
    }

    @Test
    void aClosedBalancerRefusesNewWorkButCountsReleases() {
        lb.close();

        assertThatThrownBy(() -> lb.selectBackend(new Request("r", "1.2.3.4", "/")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> lb.addBackend("x", "h", 80))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> lb.acquireConnection(one))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");

        lb.releaseConnection(one, Duration.ofMillis(5), false);
        assertThat(lb.getBackendStats("instance-1").failures()).isEqualTo(1);
        assertThat(lb.getAllStats().metrics().activeConnections()).isZero();
    }

    @Test
    void builtInStrategiesAreFoundByNameAndUnknownNamesAreRejected() {
        assertThat(BalancingStrategy.builtIns()).extracting(BalancingStrategy::name).containsExactly(
                "ROUND_ROBIN", "LEAST_CONNECTIONS", "WEIGHTED_ROUND_ROBIN", "IP_HASH", "LEAST_RESPONSE_TIME",
                "RANDOM", "RESOURCE_BASED", "PREFIX_AFFINITY");
        for (BalancingStrategy s : BalancingStrategy.builtIns()) {
            assertThat(BalancingStrategy.builtIn(s.name())).isSameAs(s);
        }
        assertThatThrownBy(() -> BalancingStrategy.builtIn("least_connections"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("name: \"least_connections\" (expected: one of ROUND_ROBIN, LEAST_CONNECTIONS");
        assertThatThrownBy(() -> BalancingStrategy.builtIn(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("name: null");
    }

    @Test
    void requestRejectsMissingFields() {
        assertThatThrownBy(() -> new Request(null, "1.2.3.4", "/"))
                .isInstanceOf(NullPointerException.class).hasMessage("id: null (expected: non-null)");
        assertThatThrownBy(() -> new Request(" ", "1.2.3.4", "/"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("id: \" \"");
        assertThatThrownBy(() -> new Request("r", null, "/"))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("clientIp: null");
        assertThatThrownBy(() -> new Request("r", "1.2.3.4", null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("path: null");
    }

    @Test
    void builderRejectsBadAndRepeatedSettings() {
        assertThatThrownBy(() -> LoadBalancer.builder().strategy(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("strategy: null");
        assertThatThrownBy(() -> LoadBalancer.builder().ticker(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("ticker: null");
        assertThatThrownBy(() -> LoadBalancer.builder().random(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("random: null");
        assertThatThrownBy(() -> LoadBalancer.builder().responseTimeDecay(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("responseTimeDecay: PT0S");
        assertThatThrownBy(() -> LoadBalancer.builder().strategy(BalancingStrategy.RANDOM)
                        .strategy(BalancingStrategy.IP_HASH))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("strategy was already set to RANDOM");
        assertThatThrownBy(() -> new LoadBalancer(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("strategy: null");
    }

    /** A health setting, with the exception type and message fragments it must produce. */
    static Stream<Arguments> rejectedHealthSettings() {
        Duration second = Duration.ofSeconds(1);
        return Stream.of(
                setting("healthCheck null", () -> LoadBalancer.builder().healthCheck(null),
                        NullPointerException.class, "healthCheck: null"),
                setting("healthCheck twice", () -> LoadBalancer.builder().healthCheck(HealthCheck.tcp())
                        .healthCheck(HealthCheck.tcp()), IllegalStateException.class, "healthCheck was already set"),
                setting("interval zero", () -> LoadBalancer.builder().healthCheckInterval(Duration.ZERO),
                        IllegalArgumentException.class, "healthCheckInterval: PT0S", "PT0.001S..PT24H"),
                setting("interval negative", () -> LoadBalancer.builder().healthCheckInterval(second.negated()),
                        IllegalArgumentException.class, "healthCheckInterval: PT-1S"),
                setting("interval over a day", () -> LoadBalancer.builder().healthCheckInterval(Duration.ofDays(2)),
                        IllegalArgumentException.class, "healthCheckInterval: PT48H"),
                setting("interval null", () -> LoadBalancer.builder().healthCheckInterval(null),
                        NullPointerException.class, "healthCheckInterval: null"),
                setting("timeout zero", () -> LoadBalancer.builder().healthCheckTimeout(Duration.ZERO),
                        IllegalArgumentException.class, "healthCheckTimeout: PT0S"),
                setting("jitter negative", () -> LoadBalancer.builder().healthCheckJitter(second.negated()),
                        IllegalArgumentException.class, "healthCheckJitter: PT-1S", "PT0S..PT24H"),
                setting("jitter not below the interval", () -> LoadBalancer.builder().healthCheckInterval(second)
                        .healthCheckJitter(second).build(), IllegalArgumentException.class,
                        "healthCheckJitter: PT1S", "< healthCheckInterval PT1S"),
                setting("jitter above the default interval", () -> LoadBalancer.builder()
                        .healthCheckJitter(Duration.ofSeconds(6)).build(), IllegalArgumentException.class,
                        "healthCheckJitter: PT6S", "< healthCheckInterval PT5S"),
                setting("healthyThreshold zero", () -> LoadBalancer.builder().healthyThreshold(0),
                        IllegalArgumentException.class, "healthyThreshold: 0", "1..1000"),
                setting("unhealthyThreshold too large", () -> LoadBalancer.builder().unhealthyThreshold(1001),
                        IllegalArgumentException.class, "unhealthyThreshold: 1001", "1..1000"),
                setting("scheduler null", () -> LoadBalancer.builder().healthCheckScheduler(null),
                        NullPointerException.class, "healthCheckScheduler: null"),
                setting("initiallyHealthy twice", () -> LoadBalancer.builder().initiallyHealthy(false)
                        .initiallyHealthy(true), IllegalStateException.class, "initiallyHealthy was already set"),
                setting("outlierDetection null", () -> LoadBalancer.builder().outlierDetection(null),
                        NullPointerException.class, "outlierDetection: null"),
                setting("allUnhealthyPolicy null", () -> LoadBalancer.builder().allUnhealthyPolicy(null),
                        NullPointerException.class, "allUnhealthyPolicy: null"),
                setting("consecutiveFailures zero", () -> OutlierDetection.builder().consecutiveFailures(0),
                        IllegalArgumentException.class, "consecutiveFailures: 0", "1..10000"),
                setting("baseEjectionTime zero", () -> OutlierDetection.builder().baseEjectionTime(Duration.ZERO),
                        IllegalArgumentException.class, "baseEjectionTime: PT0S"),
                setting("baseEjectionTime null", () -> OutlierDetection.builder().baseEjectionTime(null),
                        NullPointerException.class, "baseEjectionTime: null"),
                setting("maxEjectionTime below base", () -> OutlierDetection.builder()
                        .baseEjectionTime(Duration.ofSeconds(30)).maxEjectionTime(second).build(),
                        IllegalArgumentException.class, "maxEjectionTime: PT1S", ">= baseEjectionTime PT30S"),
                setting("maxEjectionPercent 101", () -> OutlierDetection.builder().maxEjectionPercent(101),
                        IllegalArgumentException.class, "maxEjectionPercent: 101", "1..100"),
                setting("maxEjectionPercent twice", () -> OutlierDetection.builder().maxEjectionPercent(10)
                        .maxEjectionPercent(20), IllegalStateException.class, "maxEjectionPercent was already set to 10"),
                setting("http path null", () -> HealthCheck.http(null),
                        NullPointerException.class, "path: null"),
                setting("http path without slash", () -> HealthCheck.http("health"),
                        IllegalArgumentException.class, "path: \"health\"", "starting with /"),
                setting("http path with a space", () -> HealthCheck.http("/he alth"),
                        IllegalArgumentException.class, "path: \"/he alth\"", "valid URI path"),
                setting("http path with a fragment", () -> HealthCheck.http("/health#top"),
                        IllegalArgumentException.class, "path: \"/health#top\""),
                setting("blocking check null", () -> HealthCheck.blocking(null),
                        NullPointerException.class, "check: null"),
                setting("unhealthy without reason", () -> HealthCheckResult.unhealthy(" "),
                        IllegalArgumentException.class, "reason: \" \"", "not blank"),
                setting("drainTimeout zero", () -> LoadBalancer.builder().drainTimeout(Duration.ZERO),
                        IllegalArgumentException.class, "drainTimeout: PT0S", "PT0.001S..PT24H"),
                setting("sessionIdleTimeout null", () -> LoadBalancer.builder().sessionIdleTimeout(null),
                        NullPointerException.class, "sessionIdleTimeout: null"),
                setting("maxSessions too large", () -> LoadBalancer.builder().maxSessions(10_000_001),
                        IllegalArgumentException.class, "maxSessions: 10000001", "1..10000000"),
                setting("sessionAffinity null", () -> LoadBalancer.builder().sessionAffinity(null),
                        NullPointerException.class, "sessionAffinity: null"),
                setting("retryPolicy twice", () -> LoadBalancer.builder().retryPolicy(RetryPolicy.defaults())
                        .retryPolicy(RetryPolicy.defaults()), IllegalStateException.class, "retryPolicy was already set"),
                setting("maxAttempts zero", () -> RetryPolicy.builder().maxAttempts(0),
                        IllegalArgumentException.class, "maxAttempts: 0", "1..10"),
                setting("budgetPercent 101", () -> RetryPolicy.builder().budgetPercent(101),
                        IllegalArgumentException.class, "budgetPercent: 101", "0..100"),
                setting("retryOn null", () -> RetryPolicy.builder().retryOn(null),
                        NullPointerException.class, "retryOn: null"));
    }

    private static Arguments setting(String name, Runnable call, Class<? extends Throwable> type, String... fragments) {
        return Arguments.of(name, call, type, fragments);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejectedHealthSettings")
    void rejectsBadHealthSettingsNamingTheValue(String name, Runnable call, Class<? extends Throwable> type,
            String[] fragments) {
        assertThatThrownBy(call::run).isInstanceOf(type).satisfies(e -> {
            for (String fragment : fragments) {
                assertThat(e.getMessage()).contains(fragment);
            }
        });
    }

    @Test
    void responseTimesUpToTheLongestAllowedKeepTheAveragesRight() {
        Backend two = lb.getBackend("instance-2").orElseThrow();
        for (int i = 0; i < 3; i++) {
            lb.acquireConnection(two);
            lb.releaseConnection(two, LoadBalancer.MAX_RESPONSE_TIME.toNanos(), true);
        }
        lb.acquireConnection(two);
        lb.releaseConnection(two, LoadBalancer.MAX_RESPONSE_TIME, false);

        Duration longest = LoadBalancer.MAX_RESPONSE_TIME;
        assertThat(longest).isEqualTo(Duration.ofDays(1));
        assertThat(lb.getBackendStats("instance-2").avgResponseTime()).isEqualTo(longest);
        // With the 40 ms answer of the set-up, five answers in all: their mean, to within a microsecond.
        Duration mean = longest.dividedBy(5).multipliedBy(4).plusMillis(8);
        assertThat(lb.getAllStats().metrics().avgResponseTime())
                .isBetween(mean.minusNanos(1_000), mean.plusNanos(1_000));
        assertThat(lb.getAllStats().metrics().p99ResponseTime()).isPositive();
    }

    @Test
    void aResponseTimeAboveOneDayIsRefusedOnEveryReleaseAndChangesNothing() {
        Request request = new Request("req-9", "10.1.1.1", "/v1/completions");
        lb.acquireConnection(one, request); // its second: the set-up left one in flight
        long aNanoTimeReading = 3 * LoadBalancer.MAX_RESPONSE_TIME.toNanos() + 12_345; // a host up 3 days
        BackendStats before = lb.getBackendStats("instance-1");
        double rankBefore = one.responseTimeRank();

        assertThatThrownBy(() -> lb.releaseConnection(one, Long.MAX_VALUE, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("responseTimeNanos: 9223372036854775807 (expected: at most 86400000000000, one day)");
        assertThatThrownBy(() -> lb.releaseConnection(one, aNanoTimeReading, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("responseTimeNanos: ");
        assertThatThrownBy(() -> lb.releaseConnection(one, Duration.ofDays(1).plusNanos(1), true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("responseTime: PT24H0.000000001S (expected: at most PT24H)");
        assertThatThrownBy(() -> lb.releaseConnection(one, request, aNanoTimeReading, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("responseTimeNanos: ");
        assertThatThrownBy(() -> lb.releaseConnection(one, request, Duration.ofDays(2), false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("responseTime: PT48H (expected: at most PT24H)");

        assertThat(lb.getBackendStats("instance-1")).isEqualTo(before);
        assertThat(one.activeConnections()).isEqualTo(2);
        assertThat(one.responseTimeRank()).isEqualTo(rankBefore);
        lb.releaseConnection(one, request, Duration.ofMillis(5), true);
        assertThat(one.activeConnections()).isOne();
    }

    @Test
    void aCustomPickerThatReturnsAForeignBackendIsReportedNotRouted() {
        try (LoadBalancer other = new LoadBalancer()) {
            Backend foreign = other.addBackend("z", "10.0.0.9", 80);
            lb.setStrategy(context -> available -> request -> foreign);
            long before = lb.getAllStats().metrics().totalRequests();

            assertThatThrownBy(() -> lb.selectBackend(new Request("r", "1.2.3.4", "/")))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("not one of the backends offered to it");
            assertThat(lb.getAllStats().metrics().totalRequests()).isEqualTo(before);
        }
    }

    /** Everything observable about a balancer, for before/after comparisons. */
    record Fingerprint(String strategy, List<Backend> backends, List<Backend> available, LoadBalancerStats stats) {
        static Fingerprint of(LoadBalancer lb) {
            return new Fingerprint(lb.getStrategy().name(), lb.getBackends(), lb.getAvailableBackends(),
                    lb.getAllStats());
        }
    }
}

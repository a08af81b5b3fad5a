package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.openai.credential.BearerTokenCredential;
import dev.ailb.dns.DnsDiscovery;
import dev.ailb.health.HealthCheck;
import dev.ailb.health.HttpProbeOptions;
import dev.ailb.health.ModelDiscovery;
import dev.ailb.health.OutlierDetection;
import dev.ailb.openai.OpenAiClients;
import dev.ailb.testing.Docs;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The table under {@code ## The catalogue} in {@code src/site/markdown/bad-input.md} is the
 * catalogue of rejected inputs, and this test runs it: each row's key names a call below, which
 * must throw exactly the exception type and message the row shows, and must leave everything it
 * could have touched as it was: the balancers
 * of the {@link Fixture} (backends, availability, health, connections, stats, sessions, strategy,
 * closed or not), the timers queued on its scheduler and the settings held by its builders. A row
 * without a call, a call without a row, or a row whose call column differs from the code here
 * fails, so the table and the library cannot drift apart.
 */
class BadInputCatalogueTest {
    private static final Path GUIDE = Docs.guide("bad-input.md");
    private static final String SECTION = "## The catalogue";

    /** A call that should be rejected, on the balancers and builders of a fresh fixture. */
    @FunctionalInterface
    interface Call {
        void run(Fixture f) throws Exception;
    }

    /** A catalogue entry: the code as the guide shows it, and the same code to run. */
    record Entry(String code, Call call) {}

    /** A row of the guide's table, cells as written between the backticks. */
    record Row(String key, String code, String exception, String message) {}

    private static final Map<String, Entry> CALLS = new LinkedHashMap<>();

    private static void call(String key, String code, Call call) {
        if (CALLS.put(key, new Entry(code, call)) != null) {
            throw new IllegalStateException("two calls under the key " + key);
        }
    }

    static {
        // Backends
        call("add-id-null", "lb.addBackend(null, \"10.0.0.9\", 8000)",
                f -> f.lb.addBackend(null, "10.0.0.9", 8000));
        call("add-id-blank", "lb.addBackend(\" \", \"10.0.0.9\", 8000)",
                f -> f.lb.addBackend(" ", "10.0.0.9", 8000));
        call("add-id-too-long", "lb.addBackend(\"x\".repeat(300), \"10.0.0.9\", 8000)",
                f -> f.lb.addBackend("x".repeat(300), "10.0.0.9", 8000));
        call("add-id-taken", "lb.addBackend(\"instance-1\", \"10.0.0.9\", 8000)",
                f -> f.lb.addBackend("instance-1", "10.0.0.9", 8000));
        call("add-id-draining", "lb.addBackend(\"instance-4\", \"10.0.0.9\", 8000)",
                f -> f.lb.addBackend("instance-4", "10.0.0.9", 8000));
        call("add-id-line-break", "lb.addBackend(\"a\\nWARN forged\", \"10.0.0.9\", 8000)",
                f -> f.lb.addBackend("a\nWARN forged", "10.0.0.9", 8000));
        call("add-host-blank", "lb.addBackend(\"instance-9\", \"\", 8000)",
                f -> f.lb.addBackend("instance-9", "", 8000));
        call("add-host-control", "lb.addBackend(\"instance-9\", \"10.0.0.9\\u0007\", 8000)",
                f -> f.lb.addBackend("instance-9", "10.0.0.9\u0007", 8000));
        call("add-host-user-info", "lb.addBackend(\"instance-9\", \"gpu-7.internal@127.0.0.1\", 8000)",
                f -> f.lb.addBackend("instance-9", "gpu-7.internal@127.0.0.1", 8000));
        call("add-host-port", "lb.addBackend(\"instance-9\", \"10.0.0.9:8000\", 8000)",
                f -> f.lb.addBackend("instance-9", "10.0.0.9:8000", 8000));
        call("add-port-too-large", "lb.addBackend(\"instance-9\", \"10.0.0.9\", 65536)",
                f -> f.lb.addBackend("instance-9", "10.0.0.9", 65536));
        call("add-weight-zero", "lb.addBackend(\"instance-9\", \"10.0.0.9\", 8000, 0)",
                f -> f.lb.addBackend("instance-9", "10.0.0.9", 8000, 0));
        call("add-after-close", "closed.addBackend(\"instance-9\", \"10.0.0.9\", 8000)",
                f -> f.closed.addBackend("instance-9", "10.0.0.9", 8000));
        call("add-picker-fails", "fixedSet.addBackend(\"c\", \"10.3.0.3\", 8000)",
                f -> f.fixedSet.addBackend("c", "10.3.0.3", 8000));
        call("remove-unknown", "lb.removeBackend(\"nope\")",
                f -> f.lb.removeBackend("nope"));
        call("remove-picker-fails", "fixedSet.removeBackend(\"a\")",
                f -> f.fixedSet.removeBackend("a"));
        call("maintenance-while-removed", "lb.beginMaintenance(\"instance-4\")",
                f -> f.lb.beginMaintenance("instance-4"));
        call("end-maintenance-while-removed", "lb.endMaintenance(\"instance-4\")",
                f -> f.lb.endMaintenance("instance-4"));
        call("weight-zero", "lb.setWeight(\"instance-1\", 0)",
                f -> f.lb.setWeight("instance-1", 0));
        call("weight-too-large", "lb.setWeight(\"instance-1\", 1_000_001)",
                f -> f.lb.setWeight("instance-1", 1_000_001));
        call("weight-removed", "lb.setWeight(\"instance-3\", 2)",
                f -> f.lb.setWeight("instance-3", 2));
        call("weight-while-removed", "lb.setWeight(\"instance-4\", 2)",
                f -> f.lb.setWeight("instance-4", 2));
        call("weight-picker-fails", "fixedSet.setWeight(\"a\", 2)",
                f -> f.fixedSet.setWeight("a", 2));
        call("weight-after-close", "closed.setWeight(\"instance-1\", 2)",
                f -> f.closed.setWeight("instance-1", 2));
        call("mark-picker-fails", "fixedSet.setBackendHealthy(\"a\", false)",
                f -> f.fixedSet.setBackendHealthy("a", false));
        call("add-profile-null", "lb.addBackend(\"instance-9\", \"10.0.0.9\", 8000, 1, null)",
                f -> f.lb.addBackend("instance-9", "10.0.0.9", 8000, 1, null));
        call("add-all-id-taken", "lb.addBackends(List.of(BackendSpec.of(\"instance-9\", \"10.0.0.9\", 8000), "
                + "BackendSpec.of(\"instance-1\", \"10.0.0.1\", 8000)))",
                f -> f.lb.addBackends(List.of(BackendSpec.of("instance-9", "10.0.0.9", 8000),
                        BackendSpec.of("instance-1", "10.0.0.1", 8000))));
        call("add-all-id-draining", "lb.addBackends(List.of(BackendSpec.of(\"instance-4\", \"10.0.0.9\", 8000)))",
                f -> f.lb.addBackends(List.of(BackendSpec.of("instance-4", "10.0.0.9", 8000))));
        call("set-null", "lb.setBackends(null)", f -> f.lb.setBackends(null));
        call("set-element-null",
                "lb.setBackends(Arrays.asList(BackendSpec.of(\"instance-9\", \"10.0.0.9\", 8000), null))",
                f -> f.lb.setBackends(Arrays.asList(BackendSpec.of("instance-9", "10.0.0.9", 8000), null)));
        call("set-id-twice", "lb.setBackends(List.of(BackendSpec.of(\"instance-1\", \"10.0.0.1\", 8000), "
                + "BackendSpec.of(\"instance-1\", \"10.0.0.9\", 8000)))",
                f -> f.lb.setBackends(List.of(BackendSpec.of("instance-1", "10.0.0.1", 8000),
                        BackendSpec.of("instance-1", "10.0.0.9", 8000))));
        call("set-after-close", "closed.setBackends(List.of())", f -> f.closed.setBackends(List.of()));
        call("set-picker-fails", "fixedSet.setBackends(List.of(BackendSpec.of(\"a\", \"10.3.0.1\", 8000)"
                + ".withWeight(3), BackendSpec.of(\"b\", \"10.3.0.2\", 8000), "
                + "BackendSpec.of(\"c\", \"10.3.0.3\", 8000)))",
                f -> f.fixedSet.setBackends(List.of(BackendSpec.of("a", "10.3.0.1", 8000).withWeight(3),
                        BackendSpec.of("b", "10.3.0.2", 8000), BackendSpec.of("c", "10.3.0.3", 8000))));
        call("spec-host-port", "BackendSpec.of(\"instance-9\", \"10.0.0.9:8000\", 8000)",
                f -> BackendSpec.of("instance-9", "10.0.0.9:8000", 8000));
        call("spec-weight-zero", "BackendSpec.of(\"instance-9\", \"10.0.0.9\", 8000).withWeight(0)",
                f -> BackendSpec.of("instance-9", "10.0.0.9", 8000).withWeight(0));
        call("spec-profile-null", "BackendSpec.of(\"instance-9\", \"10.0.0.9\", 8000).withProfile(null)",
                f -> BackendSpec.of("instance-9", "10.0.0.9", 8000).withProfile(null));
        call("discover-null", "lb.discover(null)", f -> f.lb.discover(null));
        call("profile-model-blank", "BackendProfile.builder().model(\" \")",
                f -> BackendProfile.builder().model(" "));
        call("profile-adapter-line-break", "BackendProfile.builder().adapter(\"sql\\nv2\")",
                f -> BackendProfile.builder().adapter("sql\nv2"));
        call("profile-label-key-space", "BackendProfile.builder().label(\"gpu type\", \"h100\")",
                f -> BackendProfile.builder().label("gpu type", "h100"));
        call("set-profile-null", "lb.setProfile(\"instance-1\", null)",
                f -> f.lb.setProfile("instance-1", null));
        call("set-profile-unknown", "lb.setProfile(\"nope\", BackendProfile.none())",
                f -> f.lb.setProfile("nope", BackendProfile.none()));
        call("set-profile-while-removed", "lb.setProfile(\"instance-4\", BackendProfile.none())",
                f -> f.lb.setProfile("instance-4", BackendProfile.none()));
        call("set-profile-after-close", "closed.setProfile(\"instance-1\", BackendProfile.none())",
                f -> f.closed.setProfile("instance-1", BackendProfile.none()));
        call("stats-blank-id", "lb.getBackendStats(\"\")",
                f -> f.lb.getBackendStats(""));
        // Resources
        call("cpu-nan", "lb.updateBackendResources(\"instance-1\", Double.NaN, 0.5)",
                f -> f.lb.updateBackendResources("instance-1", Double.NaN, 0.5));
        call("cpu-above-one", "lb.updateBackendResources(\"instance-1\", 1.5, 0.5)",
                f -> f.lb.updateBackendResources("instance-1", 1.5, 0.5));
        call("memory-infinite", "lb.updateBackendResources(\"instance-1\", 0.5, Double.POSITIVE_INFINITY)",
                f -> f.lb.updateBackendResources("instance-1", 0.5, Double.POSITIVE_INFINITY));
        call("resources-removed", "lb.updateBackendResources(\"instance-3\", 0.5, 0.5)",
                f -> f.lb.updateBackendResources("instance-3", 0.5, 0.5));
        call("report-adapter-twice", "LoadReport.builder().runningAdapters(List.of(\"sql-v2\", \"sql-v2\"))",
                f -> LoadReport.builder().runningAdapters(List.of("sql-v2", "sql-v2")));
        call("report-max-adapters-negative", "LoadReport.builder().maxAdapters(-1)",
                f -> LoadReport.builder().maxAdapters(-1));
        call("discover-without-discovery", "lb.discoverModels()",
                f -> f.lb.discoverModels());
        // Requests and sessions
        call("select-null-request", "lb.selectBackend(null)",
                f -> f.lb.selectBackend(null));
        call("request-blank-id", "lb.selectBackend(new Request(\" \", \"192.168.1.100\", \"/v1/completions\"))",
                f -> f.lb.selectBackend(new Request(" ", "192.168.1.100", "/v1/completions")));
        call("request-null-client-ip", "lb.selectBackend(new Request(\"req-2\", null, \"/v1/completions\"))",
                f -> f.lb.selectBackend(new Request("req-2", null, "/v1/completions")));
        call("session-null", "lb.selectBackend(request, (String) null)",
                f -> f.lb.selectBackend(f.request, (String) null));
        call("session-blank", "lb.acquire(request, \" \")",
                f -> f.lb.acquire(f.request, " "));
        call("session-too-long", "lb.selectBackend(request, \"s\".repeat(257))",
                f -> f.lb.selectBackend(f.request, "s".repeat(257)));
        call("session-line-break", "lb.selectBackend(request, \"user-1\\r\\n\")",
                f -> f.lb.selectBackend(f.request, "user-1\r\n"));
        call("execute-null-call", "lb.execute(request, null)",
                f -> f.lb.execute(f.request, null));
        call("select-after-close", "closed.selectBackend(request)",
                f -> f.closed.selectBackend(f.request));
        call("execute-after-close", "closed.execute(request, backend -> \"never\")",
                f -> f.closed.execute(f.request, backend -> "never"));
        call("execute-async-null-call", "lb.executeAsync(request, null)",
                f -> f.lb.executeAsync(f.request, null));
        call("execute-async-null-options", "lb.executeAsync(request, attempt -> null, null)",
                f -> f.lb.executeAsync(f.request, attempt -> null, null));
        call("execute-async-after-close", "closed.executeAsync(request, attempt -> null)",
                f -> f.closed.executeAsync(f.request, attempt -> null));
        call("lease-after-close", "closed.acquire(request, \"user-1\")",
                f -> f.closed.acquire(f.request, "user-1"));
        call("picker-returns-foreign", "rogue.selectBackend(request)",
                f -> f.rogue.selectBackend(f.request));
        // Connections
        call("acquire-foreign", "lb.acquireConnection(foreign)",
                f -> f.lb.acquireConnection(f.foreign));
        call("release-foreign", "lb.releaseConnection(foreign, Duration.ofMillis(5), true)",
                f -> f.lb.releaseConnection(f.foreign, Duration.ofMillis(5), true));
        call("acquire-removed", "lb.acquireConnection(removed)",
                f -> f.lb.acquireConnection(f.removed));
        call("acquire-after-close", "closed.acquireConnection(closedBackend)",
                f -> f.closed.acquireConnection(f.closedBackend));
        call("release-twice", "lb.releaseConnection(two, Duration.ofMillis(5), true)",
                f -> f.lb.releaseConnection(f.two, Duration.ofMillis(5), true));
        call("release-null-time", "lb.releaseConnection(one, null, true)",
                f -> f.lb.releaseConnection(f.one, null, true));
        call("release-negative-time", "lb.releaseConnection(one, Duration.ofMillis(-5), true)",
                f -> f.lb.releaseConnection(f.one, Duration.ofMillis(-5), true));
        call("release-time-overflow", "lb.releaseConnection(one, Duration.ofDays(200_000), true)",
                f -> f.lb.releaseConnection(f.one, Duration.ofDays(200_000), true));
        call("release-negative-nanos", "lb.releaseConnection(one, -1L, true)",
                f -> f.lb.releaseConnection(f.one, -1L, true));
        call("release-time-above-a-day", "lb.releaseConnection(one, Duration.ofHours(25), true)",
                f -> f.lb.releaseConnection(f.one, Duration.ofHours(25), true));
        call("release-nanos-above-a-day", "lb.releaseConnection(one, Long.MAX_VALUE, true)",
                f -> f.lb.releaseConnection(f.one, Long.MAX_VALUE, true));
        call("release-request-time-above-a-day", "lb.releaseConnection(one, request, Duration.ofDays(2), true)",
                f -> f.lb.releaseConnection(f.one, f.request, Duration.ofDays(2), true));
        call("release-request-nanos-above-a-day", "lb.releaseConnection(one, request, 86_400_000_000_001L, true)",
                f -> f.lb.releaseConnection(f.one, f.request, 86_400_000_000_001L, true));
        // Strategies
        call("strategy-null", "lb.setStrategy(null)",
                f -> f.lb.setStrategy(null));
        call("strategy-unknown-name", "lb.setStrategy(BalancingStrategy.builtIn(\"least_connections\"))",
                f -> f.lb.setStrategy(BalancingStrategy.builtIn("least_connections")));
        call("strategy-name-blank", "lb.setStrategy(BalancingStrategy.named(\" \", BalancingStrategy.RANDOM))",
                f -> f.lb.setStrategy(BalancingStrategy.named(" ", BalancingStrategy.RANDOM)));
        call("strategy-name-line-break",
                "lb.setStrategy(BalancingStrategy.named(\"MINE\\nWARN forged\", BalancingStrategy.RANDOM))",
                f -> f.lb.setStrategy(BalancingStrategy.named("MINE\nWARN forged", BalancingStrategy.RANDOM)));
        call("strategy-selector-fails", "lb.setStrategy(NO_SELECTOR)",
                f -> f.lb.setStrategy(Fixture.NO_SELECTOR));
        call("strategy-picker-fails", "lb.setStrategy(NO_PICKER)",
                f -> f.lb.setStrategy(Fixture.NO_PICKER));
        call("resource-weight-negative",
                "lb.setStrategy(BalancingStrategy.resourceBased(-0.1, 0.3, 0.3, Duration.ofSeconds(30)))",
                f -> f.lb.setStrategy(BalancingStrategy.resourceBased(-0.1, 0.3, 0.3, Duration.ofSeconds(30))));
        call("resource-weights-zero",
                "lb.setStrategy(BalancingStrategy.resourceBased(0, 0, 0, Duration.ofSeconds(30)))",
                f -> f.lb.setStrategy(BalancingStrategy.resourceBased(0, 0, 0, Duration.ofSeconds(30))));
        call("resource-age-zero", "lb.setStrategy(BalancingStrategy.resourceBased(0.4, 0.3, 0.3, Duration.ZERO))",
                f -> f.lb.setStrategy(BalancingStrategy.resourceBased(0.4, 0.3, 0.3, Duration.ZERO)));
        call("resource-age-overflow",
                "lb.setStrategy(BalancingStrategy.resourceBased(0.4, 0.3, 0.3, Duration.ofDays(200_000)))",
                f -> f.lb.setStrategy(BalancingStrategy.resourceBased(0.4, 0.3, 0.3, Duration.ofDays(200_000))));
        call("prefix-block-zero", "lb.setStrategy(PrefixAffinity.builder().blockTokens(0).build())",
                f -> f.lb.setStrategy(PrefixAffinity.builder().blockTokens(0).build()));
        call("prefix-load-bound-below-one", "lb.setStrategy(PrefixAffinity.builder().loadBound(0.9).build())",
                f -> f.lb.setStrategy(PrefixAffinity.builder().loadBound(0.9).build()));
        call("prompt-too-long", "lb.selectBackend(request.withPrompt(\"x\".repeat(Request.MAX_PROMPT_CHARS + 1)))",
                f -> f.lb.selectBackend(f.request.withPrompt("x".repeat(Request.MAX_PROMPT_CHARS + 1))));
        // Settings
        call("setting-twice", "builder.strategy(BalancingStrategy.RANDOM)",
                f -> f.builder.strategy(BalancingStrategy.RANDOM));
        call("decay-overflow", "builder.responseTimeDecay(Duration.ofDays(200_000))",
                f -> f.builder.responseTimeDecay(Duration.ofDays(200_000)));
        call("check-interval-zero", "builder.healthCheckInterval(Duration.ZERO)",
                f -> f.builder.healthCheckInterval(Duration.ZERO));
        call("check-timeout-too-long", "builder.healthCheckTimeout(Duration.ofDays(2))",
                f -> f.builder.healthCheckTimeout(Duration.ofDays(2)));
        call("check-jitter-not-below-interval", "jittery.build()",
                f -> f.jittery.build());
        call("healthy-threshold-zero", "builder.healthyThreshold(0)",
                f -> f.builder.healthyThreshold(0));
        call("unhealthy-threshold-too-large", "builder.unhealthyThreshold(1001)",
                f -> f.builder.unhealthyThreshold(1001));
        call("check-path-relative", "builder.healthCheck(HealthCheck.http(\"health\"))",
                f -> f.builder.healthCheck(HealthCheck.http("health")));
        call("discover-interval-zero", "builder.discoverModels(ModelDiscovery.openAi(), Duration.ZERO)",
                f -> f.builder.discoverModels(ModelDiscovery.openAi(), Duration.ZERO));
        call("discover-path-relative", "ModelDiscovery.openAi(\"v1/models\")",
                f -> ModelDiscovery.openAi("v1/models"));
        call("probe-scheme-ftp", "HttpProbeOptions.builder().scheme(\"ftp\")",
                f -> HttpProbeOptions.builder().scheme("ftp"));
        call("probe-header-name-space", "HttpProbeOptions.builder().header(\"X Token\", \"abc\")",
                f -> HttpProbeOptions.builder().header("X Token", "abc"));
        call("probe-header-restricted", "HttpProbeOptions.builder().header(\"Host\", \"gpu-7\")",
                f -> HttpProbeOptions.builder().header("Host", "gpu-7"));
        call("probe-header-line-break",
                "HttpProbeOptions.builder().header(\"Authorization\", \"Bearer abc\\r\\nX-Forged: 1\")",
                f -> HttpProbeOptions.builder().header("Authorization", "Bearer abc\r\nX-Forged: 1"));
        call("probe-header-twice",
                "HttpProbeOptions.builder().bearerToken(() -> \"abc\").header(\"authorization\", \"Basic eA==\")",
                f -> HttpProbeOptions.builder().bearerToken(() -> "abc").header("authorization", "Basic eA=="));
        call("probe-tls-over-http", "HttpProbeOptions.builder().sslContext(SSLContext.getDefault()).build()",
                f -> HttpProbeOptions.builder().sslContext(SSLContext.getDefault()).build());
        // Admission
        call("limit-zero", "lb.setConnectionLimit(\"instance-1\", 0)",
                f -> f.lb.setConnectionLimit("instance-1", 0));
        call("limit-unknown", "lb.setConnectionLimit(\"nope\", 4)",
                f -> f.lb.setConnectionLimit("nope", 4));
        call("limit-after-close", "closed.setConnectionLimit(\"instance-1\", 4)",
                f -> f.closed.setConnectionLimit("instance-1", 4));
        call("wait-negative", "lb.acquire(request, Duration.ofSeconds(-1))",
                f -> f.lb.acquire(f.request, Duration.ofSeconds(-1)));
        call("async-null-request", "lb.acquireAsync(null)",
                f -> f.lb.acquireAsync(null));
        call("async-wait-too-long", "lb.acquireAsync(request, Duration.ofDays(2))",
                f -> f.lb.acquireAsync(f.request, Duration.ofDays(2)));
        call("async-after-close", "closed.acquireAsync(request)",
                f -> f.closed.acquireAsync(f.request));
        call("connection-limit-zero", "builder.connectionLimit(0)",
                f -> f.builder.connectionLimit(0));
        call("queue-capacity-negative", "builder.admissionQueue(-1, Duration.ofSeconds(10))",
                f -> f.builder.admissionQueue(-1, Duration.ofSeconds(10)));
        call("queue-wait-null", "builder.admissionQueue(100, null)",
                f -> f.builder.admissionQueue(100, null));
        call("max-sessions-zero", "builder.maxSessions(0)",
                f -> f.builder.maxSessions(0));
        call("ejection-failures-zero", "outliers.consecutiveFailures(0)",
                f -> f.outliers.consecutiveFailures(0));
        call("ejection-max-below-base", "outliers.build()",
                f -> f.outliers.build());
        call("slow-start-window-short", "builder.slowStart(Duration.ofMillis(500))",
                f -> f.builder.slowStart(Duration.ofMillis(500)));
        call("slow-start-null", "builder.slowStart((SlowStart) null)",
                f -> f.builder.slowStart((SlowStart) null));
        call("slow-start-aggression-zero", "SlowStart.of(Duration.ofMinutes(1)).withAggression(0)",
                f -> SlowStart.of(Duration.ofMinutes(1)).withAggression(0));
        call("slow-start-aggression-nan", "SlowStart.of(Duration.ofMinutes(1)).withAggression(Double.NaN)",
                f -> SlowStart.of(Duration.ofMinutes(1)).withAggression(Double.NaN));
        call("slow-start-min-weight-too-large", "SlowStart.of(Duration.ofMinutes(1)).withMinWeightPercent(150)",
                f -> SlowStart.of(Duration.ofMinutes(1)).withMinWeightPercent(150));
        call("retry-attempts-zero", "retries.maxAttempts(0)",
                f -> f.retries.maxAttempts(0));
        call("retry-hedge-budget-too-large", "retries.hedgeBudgetPercent(101)",
                f -> f.retries.hedgeBudgetPercent(101));
        call("retry-min-hedges-negative", "retries.minHedgesPerSecond(-1)",
                f -> f.retries.minHedgesPerSecond(-1));
        call("properties-customizer-null", "LoadBalancer.fromProperties(Map.of(), \"ailb.\", null)",
                f -> LoadBalancer.fromProperties(Map.of(), "ailb.", null));
        call("call-scheduler-null", "builder.callScheduler(null)",
                f -> f.builder.callScheduler(null));
        call("attempt-tracing-null", "builder.attemptTracing(null)",
                f -> f.builder.attemptTracing(null));
        call("call-deadline-zero", "CallOptions.builder().deadline(Duration.ZERO)",
                f -> CallOptions.builder().deadline(Duration.ZERO));
        call("call-first-token-negative", "CallOptions.builder().firstTokenDeadline(Duration.ofMillis(-1))",
                f -> CallOptions.builder().firstTokenDeadline(Duration.ofMillis(-1)));
        call("call-first-token-not-shorter", "CallOptions.builder().deadline(Duration.ofSeconds(1))"
                + ".firstTokenDeadline(Duration.ofSeconds(2)).build()",
                f -> CallOptions.builder().deadline(Duration.ofSeconds(1)).firstTokenDeadline(Duration.ofSeconds(2))
                        .build());
        call("call-deadline-twice", "CallOptions.builder().deadline(Duration.ofSeconds(1))"
                + ".deadline(Duration.ofSeconds(2))",
                f -> CallOptions.builder().deadline(Duration.ofSeconds(1)).deadline(Duration.ofSeconds(2)));
        call("call-hedging-null", "CallOptions.builder().hedging(null)",
                f -> CallOptions.builder().hedging(null));
        call("hedge-fixed-zero", "HedgeDelay.fixed(Duration.ZERO)",
                f -> HedgeDelay.fixed(Duration.ZERO));
        call("hedge-quantile-as-percent", "HedgeDelay.firstTokenPercentile(95, Duration.ofMillis(500))",
                f -> HedgeDelay.firstTokenPercentile(95, Duration.ofMillis(500)));
        call("hedge-fallback-null", "HedgeDelay.responseTimePercentile(0.95, null)",
                f -> HedgeDelay.responseTimePercentile(0.95, null));
        // Lifecycle
        call("strategy-after-close", "closed.setStrategy(BalancingStrategy.RANDOM)",
                f -> f.closed.setStrategy(BalancingStrategy.RANDOM));
        call("mark-after-close", "closed.setBackendHealthy(\"instance-1\", false)",
                f -> f.closed.setBackendHealthy("instance-1", false));
        call("resources-after-close", "closed.updateBackendResources(\"instance-1\", 0.5, 0.5)",
                f -> f.closed.updateBackendResources("instance-1", 0.5, 0.5));
        call("report-after-close",
                "closed.updateBackendResources(\"instance-1\", LoadReport.builder().cpu(0.5).build())",
                f -> f.closed.updateBackendResources("instance-1", LoadReport.builder().cpu(0.5).build()));
        call("listener-after-close", "closed.addListener(new LoadBalancerListener() {})",
                f -> f.closed.addListener(new LoadBalancerListener() {}));
        call("start-checker-after-close", "closed.startHealthChecker()",
                f -> f.closed.startHealthChecker());
        call("listener-null", "lb.addListener(null)",
                f -> f.lb.addListener(null));
        // The OpenAI Java SDK and Spring AI
        call("openai-base-path-relative", "OpenAiClients.builder(lb).basePath(\"v1\")",
                f -> OpenAiClients.builder(f.lb).basePath("v1"));
        call("openai-api-key-blank", "OpenAiClients.builder(lb).apiKey(\" \")",
                f -> OpenAiClients.builder(f.lb).apiKey(" "));
        call("openai-api-key-and-credential",
                "OpenAiClients.builder(lb).apiKey(\"sk-1\").credential(BearerTokenCredential.create(\"t\"))",
                f -> OpenAiClients.builder(f.lb).apiKey("sk-1").credential(BearerTokenCredential.create("t")));
        // DNS discovery
        call("dns-name-space", "DnsDiscovery.addresses(\"vllm fleet\", 8000)",
                f -> DnsDiscovery.addresses("vllm fleet", 8000));
        call("dns-name-with-port", "DnsDiscovery.srv(\"_llm._tcp.fleet.internal:53\")",
                f -> DnsDiscovery.srv("_llm._tcp.fleet.internal:53"));
        call("dns-port-zero", "DnsDiscovery.addresses(\"vllm.fleet.internal\", 0)",
                f -> DnsDiscovery.addresses("vllm.fleet.internal", 0));
        call("dns-server-name", "DnsDiscovery.srv(\"_llm._tcp.fleet.internal\").server(\"dns.internal\")",
                f -> DnsDiscovery.srv("_llm._tcp.fleet.internal").server("dns.internal"));
        call("dns-server-port-zero", "DnsDiscovery.srv(\"_llm._tcp.fleet.internal\").server(\"10.0.0.2:0\")",
                f -> DnsDiscovery.srv("_llm._tcp.fleet.internal").server("10.0.0.2:0"));
        call("dns-interval-zero", "DnsDiscovery.srv(\"_llm._tcp.fleet.internal\").interval(Duration.ZERO)",
                f -> DnsDiscovery.srv("_llm._tcp.fleet.internal").interval(Duration.ZERO));
        call("dns-timeout-too-long",
                "DnsDiscovery.srv(\"_llm._tcp.fleet.internal\").timeout(Duration.ofMinutes(2))",
                f -> DnsDiscovery.srv("_llm._tcp.fleet.internal").timeout(Duration.ofMinutes(2)));
        call("dns-family-null", "DnsDiscovery.srv(\"_llm._tcp.fleet.internal\").family(null)",
                f -> DnsDiscovery.srv("_llm._tcp.fleet.internal").family(null));
        call("dns-interval-twice",
                "DnsDiscovery.srv(\"_llm._tcp.fleet.internal\").interval(Duration.ofSeconds(10)).interval(Duration.ofSeconds(20))",
                f -> DnsDiscovery.srv("_llm._tcp.fleet.internal").interval(Duration.ofSeconds(10))
                        .interval(Duration.ofSeconds(20)));
    }

    @Test
    void everyRowHasACallAndEveryCallARow() throws IOException {
        List<Row> rows = readCatalogue();
        Set<String> keys = new LinkedHashSet<>();
        List<String> duplicated = new ArrayList<>();
        for (Row row : rows) {
            if (!keys.add(row.key())) {
                duplicated.add(row.key());
            }
        }
        List<String> withoutCall = keys.stream().filter(k -> !CALLS.containsKey(k)).collect(Collectors.toList());
        List<String> withoutRow = CALLS.keySet().stream().filter(k -> !keys.contains(k))
                .map(BadInputCatalogueTest::suggestedRow).collect(Collectors.toList());

        assertThat(duplicated).as("keys used by more than one catalogue row").isEmpty();
        assertThat(withoutCall).as("catalogue rows with no call in this test").isEmpty();
        assertThat(withoutRow).as("calls with no catalogue row; the rows they would need").isEmpty();
        assertThat(rows).hasSizeGreaterThanOrEqualTo(25);
    }

    @TestFactory
    Stream<DynamicTest> everyRowIsRejectedAsDocumentedAndChangesNothing() throws IOException {
        return readCatalogue().stream().filter(row -> CALLS.containsKey(row.key()))
                .map(row -> DynamicTest.dynamicTest(row.key(), () -> checkRow(row)));
    }

    private static void checkRow(Row row) throws Exception {
        Entry entry = CALLS.get(row.key());
        assertThat(row.code()).as("the call column of %s", row.key()).isEqualTo(entry.code());
        try (Fixture f = new Fixture()) {
            Map<String, Object> before = f.state();

            Throwable thrown = catchThrowable(() -> entry.call().run(f));

            assertThat(thrown).as("what %s throws", row.code()).isNotNull();
            assertThat(thrown.getClass().getSimpleName()).as("the exception of %s", row.code())
                    .isEqualTo(row.exception());
            assertThat(thrown.getMessage()).as("the message of %s", row.code()).isEqualTo(row.message());
            Map<String, Object> after = f.state();
            for (String part : before.keySet()) {
                assertThat(after.get(part)).as("%s after %s", part, row.code()).isEqualTo(before.get(part));
            }
        }
    }

    /** The row a call would need, with what it throws now, for the message of a failed check. */
    private static String suggestedRow(String key) {
        Entry entry = CALLS.get(key);
        Throwable thrown;
        try (Fixture f = new Fixture()) {
            thrown = catchThrowable(() -> entry.call().run(f));
        }
        return "| `" + key + "` | `" + entry.code() + "` | `"
                + (thrown == null ? "(nothing thrown)" : thrown.getClass().getSimpleName()) + "` | `"
                + (thrown == null ? "" : String.valueOf(thrown.getMessage()).replace("|", "\\|")) + "` |";
    }

    /** The rows of the first table after the {@code ## The catalogue} heading of the guide, header row excluded. */
    static List<Row> readCatalogue() throws IOException {
        assertThat(Docs.lines(GUIDE)).as("%s has a line %s", GUIDE, SECTION).contains(SECTION);
        List<Row> rows = new ArrayList<>();
        for (List<String> cells : Docs.firstTable(Docs.section(GUIDE, SECTION))) {
            assertThat(cells).as("cells of %s", cells).hasSize(4);
            rows.add(new Row(code(cells.get(0)), code(cells.get(1)), code(cells.get(2)), code(cells.get(3))));
        }
        return rows;
    }

    /** The text of a cell that holds one code span, with escaped pipes restored. */
    private static String code(String cell) {
        String trimmed = cell.trim();
        assertThat(trimmed).as("a cell in backticks").startsWith("`").endsWith("`").hasSizeGreaterThan(1);
        return trimmed.substring(1, trimmed.length() - 1).replace("\\|", "|");
    }

    /**
     * Balancers and builders in every state a rejected call may meet. {@code lb} (least
     * connections) holds instance-1 (weight 2, one request in flight, a load report),
     * instance-2 (one request completed, none in flight, a session bound to it), instance-3
     * (removed, gone) and instance-4 (removed, still draining one request, its drain timeout
     * queued); {@code other} is another balancer with a
     * backend of the same id; {@code closed} was closed with a request in flight; the strategy of
     * {@code fixedSet} builds no picker for any set but its first two backends; the strategy of
     * {@code rogue} picks a backend of {@code other}. Every timer goes to one manual scheduler.
     */
    static final class Fixture implements AutoCloseable {
        static final BalancingStrategy NO_SELECTOR = named("NO_SELECTOR", context -> {
            throw new UnsupportedOperationException("no selector here");
        });
        static final BalancingStrategy NO_PICKER = named("NO_PICKER", context -> available -> {
            throw new UnsupportedOperationException("no picker here");
        });

        final ManualTicker ticker = new ManualTicker();
        final ManualScheduler scheduler = new ManualScheduler(ticker);
        final Request request = new Request("req-1", "192.168.1.100", "/v1/completions");
        final LoadBalancer lb;
        final Backend one;
        final Backend two;
        final Backend removed;
        final LoadBalancer other;
        final Backend foreign;
        final LoadBalancer closed;
        final Backend closedBackend;
        final LoadBalancer fixedSet;
        final LoadBalancer rogue;
        final LoadBalancerBuilder builder = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS);
        final LoadBalancerBuilder jittery = LoadBalancer.builder().healthCheckInterval(Duration.ofSeconds(5))
                .healthCheckJitter(Duration.ofSeconds(5));
        final OutlierDetection.Builder outliers = OutlierDetection.builder().baseEjectionTime(Duration.ofSeconds(30))
                .maxEjectionTime(Duration.ofSeconds(10));
        final RetryPolicy.Builder retries = RetryPolicy.builder().budgetPercent(10);

        Fixture() {
            lb = balancer(BalancingStrategy.LEAST_CONNECTIONS);
            one = lb.addBackend("instance-1", "10.0.0.1", 8001, 2);
            two = lb.addBackend("instance-2", "10.0.0.2", 8002);
            removed = lb.addBackend("instance-3", "10.0.0.3", 8003);
            Backend draining = lb.addBackend("instance-4", "10.0.0.4", 8004);
            lb.acquireConnection(two);
            ticker.advance(Duration.ofMillis(40));
            lb.releaseConnection(two, Duration.ofMillis(40), true);
            lb.acquireConnection(one);
            lb.acquireConnection(draining);
            lb.updateBackendResources("instance-1", 0.5, 0.25);
            lb.removeBackend("instance-3");
            lb.removeBackend("instance-4");
            lb.selectBackend(request, "user-1");

            other = balancer(BalancingStrategy.ROUND_ROBIN);
            foreign = other.addBackend("instance-1", "10.1.0.1", 8001);
            other.acquireConnection(foreign);

            closed = balancer(BalancingStrategy.ROUND_ROBIN);
            closedBackend = closed.addBackend("instance-1", "10.2.0.1", 8001);
            closed.selectBackend(request);
            closed.acquireConnection(closedBackend);
            closed.close();

            FixedSet strategy = new FixedSet();
            fixedSet = balancer(strategy);
            fixedSet.addBackend("a", "10.3.0.1", 8000);
            fixedSet.addBackend("b", "10.3.0.2", 8000);
            strategy.fixed = true;

            rogue = balancer(named("ROGUE", context -> available -> r -> foreign));
            rogue.addBackend("instance-1", "10.4.0.1", 8001);
        }

        private LoadBalancer balancer(BalancingStrategy strategy) {
            return LoadBalancer.builder().strategy(strategy).ticker(ticker).random(new Random(7))
                    .healthCheckScheduler(scheduler).build();
        }

        /** Everything a rejected call must leave as it was. */
        Map<String, Object> state() {
            Map<String, Object> state = new LinkedHashMap<>();
            state.put("lb", Fingerprint.of(lb));
            state.put("other", Fingerprint.of(other));
            state.put("closed", Fingerprint.of(closed));
            state.put("fixedSet", Fingerprint.of(fixedSet));
            state.put("rogue", Fingerprint.of(rogue));
            state.put("instance-3, removed", Fingerprint.describe(removed));
            state.put("scheduled timers", scheduler.pendingTasks());
            state.put("builder", settings(builder));
            state.put("jittery", settings(jittery));
            state.put("outliers", settings(outliers));
            state.put("retries", settings(retries));
            return state;
        }

        @Override
        public void close() {
            for (LoadBalancer balancer : List.of(lb, other, closed, fixedSet, rogue)) {
                balancer.close();
            }
        }

        /** The values of a builder's fields, by name. */
        private static Map<String, Object> settings(Object builder) {
            Map<String, Object> values = new LinkedHashMap<>();
            for (Field field : builder.getClass().getDeclaredFields()) {
                if (Modifier.isStatic(field.getModifiers())) {
                    continue;
                }
                field.setAccessible(true);
                try {
                    values.put(field.getName(), field.get(builder));
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
            return values;
        }
    }

    /** A strategy under a fixed name, so that messages naming it are the same on every run. */
    static BalancingStrategy named(String name, BalancingStrategy strategy) {
        return new BalancingStrategy() {
            @Override
            public Selector newSelector(SelectionContext context) {
                return strategy.newSelector(context);
            }

            @Override
            public String name() {
                return name;
            }
        };
    }

    /** Builds pickers until {@link #fixed} is set, then refuses to build any for a changed set. */
    static final class FixedSet implements BalancingStrategy {
        volatile boolean fixed;

        @Override
        public Selector newSelector(SelectionContext context) {
            return available -> {
                if (fixed) {
                    throw new UnsupportedOperationException("the set of backends is fixed");
                }
                return request -> available.get(0);
            };
        }

        @Override
        public String name() {
            return "FIXED_SET";
        }
    }

    /**
     * Everything observable about a balancer, and some of what is not in its stats: the strategy
     * object itself, whether it is closed and checking health, and each backend's own state.
     */
    record Fingerprint(BalancingStrategy strategy, boolean closed, boolean checking, List<Backend> backends,
            List<Backend> available, List<String> backendStates, LoadBalancerStats stats) {
        static Fingerprint of(LoadBalancer lb) {
            List<String> states = lb.getBackends().stream().map(Fingerprint::describe).collect(Collectors.toList());
            return new Fingerprint(lb.getStrategy(), lb.isClosed(), lb.isHealthCheckerRunning(), lb.getBackends(),
                    lb.getAvailableBackends(), states, lb.getAllStats());
        }

        static String describe(Backend b) {
            return b.id() + " weight=" + b.weight() + " " + b.healthState() + " available=" + b.isAvailable() + " draining=" + b.isDraining()
                    + " removed=" + b.isRemoved() + " maintenance=" + b.isInMaintenance() + " active="
                    + b.activeConnections() + " ewma=" + b.responseTimeEwmaNanos() + " resources=" + b.loadReport();
        }
    }
}

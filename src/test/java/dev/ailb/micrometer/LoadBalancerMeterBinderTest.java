package dev.ailb.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadReport;
import dev.ailb.PromptCacheStats;
import dev.ailb.Request;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LoadBalancerMeterBinderTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");

    private final ManualTicker ticker = new ManualTicker();
    private final LoadBalancer lb = LoadBalancer.builder().ticker(ticker)
            .outlierDetection(OutlierDetection.builder().consecutiveFailures(2).build()).build();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @AfterEach
    void close() {
        lb.close();
        registry.close();
    }

    private double gauge(String name, String backend) {
        return registry.get(name).tags("pool", "chat", "backend", backend).gauge().value();
    }

    private double counter(String name, String backend) {
        return registry.get(name).tags("pool", "chat", "backend", backend).functionCounter().count();
    }

    @Test
    void theAdmissionQueueShowsItsDepthWaitsAndRejectionsByReason() {
        try (LoadBalancer limited = LoadBalancer.builder().ticker(ticker).connectionLimit(1)
                .admissionQueue(1, Duration.ofSeconds(10)).build()) {
            limited.addBackend("a", "10.0.0.1", 8000);
            new LoadBalancerMeterBinder(limited, Tags.of("pool", "chat")).bindTo(registry);
            Lease holder = limited.acquire(REQUEST);
            var waiter = limited.acquireAsync(REQUEST.withTenant("t1"));
            var refused = limited.acquireAsync(REQUEST.withTenant("t2"));
            var shed = limited.acquireAsync(REQUEST.withPriority(dev.ailb.Priority.SHEDDABLE));
            assertThat(refused).isCompletedExceptionally();
            assertThat(shed).isCompletedExceptionally();
            assertThat(registry.get("ailb.admission.waiting").tags("pool", "chat").gauge().value()).isEqualTo(1);

            ticker.advance(Duration.ofMillis(40));
            holder.success();
            waiter.join().success();

            assertThat(registry.get("ailb.admission.waiting").tags("pool", "chat").gauge().value()).isZero();
            assertThat(registry.get("ailb.admission.queued").functionCounter().count()).isEqualTo(1);
            assertThat(registry.get("ailb.admission.admitted").functionCounter().count()).isEqualTo(1);
            assertThat(registry.get("ailb.admission.withdrawn").functionCounter().count()).isZero();
            assertThat(registry.get("ailb.admission.rejections").tags("reason", "queue_full").functionCounter()
                    .count()).isEqualTo(1);
            assertThat(registry.get("ailb.admission.rejections").tags("reason", "shed").functionCounter().count())
                    .isEqualTo(1);
            assertThat(registry.get("ailb.admission.rejections").tags("reason", "deadline_passed")
                    .functionCounter().count()).isZero();
            assertThat(registry.get("ailb.admission.wait.percentile").tags("quantile", "0.99").timeGauge()
                    .value(TimeUnit.MILLISECONDS)).isCloseTo(40, within(2.0));
        }
    }

    @Test
    void bindingAClosedBalancerIsRefusedAndRegistersNothing() {
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.close();
        LoadBalancerMeterBinder binder = new LoadBalancerMeterBinder(lb, Tags.of("pool", "chat"));

        assertThatThrownBy(() -> binder.bindTo(registry))
                .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");

        assertThat(registry.getMeters()).isEmpty();
        assertThatThrownBy(() -> binder.bindTo(registry)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void everyMeterNamesItsBalancerUnlessTheCommonTagsDo() {
        try (LoadBalancer named = LoadBalancer.builder().name("chat-fleet").build()) {
            named.addBackend("a", "10.0.0.1", 8000);
            new LoadBalancerMeterBinder(named).bindTo(registry);

            assertThat(registry.getMeters()).isNotEmpty()
                    .allMatch(m -> "chat-fleet".equals(m.getId().getTag("balancer")));
            MeterRegistry other = new SimpleMeterRegistry();
            new LoadBalancerMeterBinder(named, Tags.of("balancer", "chat")).bindTo(other);
            assertThat(other.getMeters()).isNotEmpty()
                    .allMatch(m -> "chat".equals(m.getId().getTag("balancer")));
        }
    }

    @Test
    void everyBackendHasItsMetersTaggedWithItsId() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8000, 3);
        lb.addBackend("b", "10.0.0.2", 8000);
        new LoadBalancerMeterBinder(lb, Tags.of("pool", "chat")).bindTo(registry);

        lb.acquireConnection(a);
        lb.acquireConnection(a);
        lb.releaseConnection(a, Duration.ofMillis(10), true);
        lb.acquireConnection(a);
        lb.releaseConnection(a, Duration.ofMillis(30), false);
        lb.selectBackend(REQUEST, "session-1");

        assertThat(gauge("ailb.backend.active.connections", "a")).isEqualTo(1);
        assertThat(gauge("ailb.backend.weight", "a")).isEqualTo(3);
        assertThat(gauge("ailb.backend.healthy", "a")).isEqualTo(1);
        assertThat(gauge("ailb.backend.available", "a")).isEqualTo(1);
        assertThat(gauge("ailb.backend.sessions", "a") + gauge("ailb.backend.sessions", "b")).isEqualTo(1);
        assertThat(counter("ailb.backend.requests", "a") + counter("ailb.backend.requests", "b")).isEqualTo(1);
        assertThat(counter("ailb.backend.successes", "a")).isEqualTo(1);
        assertThat(counter("ailb.backend.failures", "a")).isEqualTo(1);
        FunctionTimer timer = registry.get("ailb.backend.response.time").tags("backend", "a").functionTimer();
        assertThat(timer.count()).isEqualTo(2);
        assertThat(timer.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(40.0);
        assertThat(registry.get("ailb.backend.response.time.percentile").tags("backend", "a", "quantile", "0.99")
                .timeGauge().value(TimeUnit.MILLISECONDS)).isCloseTo(30, within(1.0));
        assertThat(registry.get("ailb.backend.response.time.percentile").tags("backend", "a", "quantile", "0.5")
                .timeGauge().value(TimeUnit.MILLISECONDS)).isCloseTo(10, within(0.4));
        assertThat(registry.get("ailb.backends").tags("pool", "chat").gauge().value()).isEqualTo(2);
        assertThat(registry.get("ailb.backends.available").gauge().value()).isEqualTo(2);
    }

    private double promptCounter(String name, String backend, String source) {
        return registry.get(name).tags("backend", backend, "source", source).functionCounter().count();
    }

    private double hitRate(String backend, String source) {
        return registry.get("ailb.backend.prompt.cache.hit.rate").tags("backend", backend, "source", source)
                .gauge().value();
    }

    @Test
    void theServersPromptCacheReportsAreCountedPerBackend() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        new LoadBalancerMeterBinder(lb, Tags.of("pool", "chat")).bindTo(registry);
        assertThat(hitRate("a", "reported")).as("nothing reported yet").isZero();

        lb.setBackendHealthy("b", false); // every lease goes to a

        for (long[] usage : new long[][] {{1_000, 600}, {500, 0}, {2_500, 2_400}}) {
            try (Lease lease = lb.acquire(REQUEST)) {
                assertThat(lease.backend()).isSameAs(a);
                lease.reportCachedTokens(usage[0], usage[1]);
                lease.success();
            }
        }

        assertThat(promptCounter("ailb.backend.prompt.tokens", "a", "reported")).isEqualTo(4_000);
        assertThat(promptCounter("ailb.backend.prompt.cached.tokens", "a", "reported")).isEqualTo(3_000);
        assertThat(hitRate("a", "reported")).isEqualTo(0.75);
        assertThat(promptCounter("ailb.backend.prompt.tokens", "b", "reported")).isZero();
        assertThat(hitRate("b", "reported")).isZero();
        assertThat(a.promptCache()).isEqualTo(new PromptCacheStats(0, 0, 4_000, 3_000));
    }

    @Test
    void withoutPrefixAffinityNothingIsPredictedAndReportsDoNotLeakIn() {
        lb.addBackend("a", "10.0.0.1", 8000);
        new LoadBalancerMeterBinder(lb, Tags.of("pool", "chat")).bindTo(registry);

        try (Lease lease = lb.acquire(REQUEST.withPrompt("You are a careful assistant. ".repeat(40)))) {
            lease.reportCachedTokens(800, 800);
            lease.success();
        }

        assertThat(promptCounter("ailb.backend.prompt.tokens", "a", "predicted")).isZero();
        assertThat(promptCounter("ailb.backend.prompt.cached.tokens", "a", "predicted")).isZero();
        assertThat(hitRate("a", "predicted")).isZero();
        assertThat(promptCounter("ailb.backend.prompt.tokens", "a", "reported")).isEqualTo(800);
        assertThat(hitRate("a", "reported")).isEqualTo(1.0);
    }

    @Test
    void thePredictionsOfPrefixAffinityAreReadFromTheBackendsPromptCache() {
        try (LoadBalancer prefix = LoadBalancer.builder().strategy(BalancingStrategy.PREFIX_AFFINITY).build()) {
            Backend a = prefix.addBackend("a", "10.0.0.1", 8000);
            new LoadBalancerMeterBinder(prefix, Tags.of("pool", "chat")).bindTo(registry);
            Request request = REQUEST.withPrompt("You are a careful assistant. ".repeat(40));

            // the first time the prompt is new there; the second time its blocks are predicted cached
            for (int i = 0; i < 2; i++) {
                try (Lease lease = prefix.acquire(request)) {
                    lease.success();
                }
            }

            PromptCacheStats stats = a.promptCache();
            assertThat(stats.predictedCachedTokens()).isPositive();
            assertThat(stats.predictedPromptTokens()).isGreaterThan(stats.predictedCachedTokens());
            assertThat(promptCounter("ailb.backend.prompt.tokens", "a", "predicted"))
                    .isEqualTo(stats.predictedPromptTokens());
            assertThat(promptCounter("ailb.backend.prompt.cached.tokens", "a", "predicted"))
                    .isEqualTo(stats.predictedCachedTokens());
            assertThat(hitRate("a", "predicted")).isEqualTo(stats.predictedHitRate()).isBetween(0.0, 1.0);
            assertThat(promptCounter("ailb.backend.prompt.tokens", "a", "reported")).isZero();
        }
    }

    @Test
    void thePromptCacheMetersComeAndGoWithTheirBackend() {
        lb.addBackend("a", "10.0.0.1", 8000);
        new LoadBalancerMeterBinder(lb, Tags.of("pool", "chat")).bindTo(registry);

        lb.addBackend("b", "10.0.0.2", 8000);
        assertThat(registry.find("ailb.backend.prompt.cached.tokens").tags("backend", "b").functionCounters())
                .extracting(m -> m.getId().getTag("source")).containsExactlyInAnyOrder("predicted", "reported");
        lb.removeBackend("a");

        for (String name : List.of("ailb.backend.prompt.tokens", "ailb.backend.prompt.cached.tokens",
                "ailb.backend.prompt.cache.hit.rate")) {
            assertThat(registry.find(name).tags("backend", "a").meters()).as(name).isEmpty();
            assertThat(registry.find(name).tags("backend", "b").meters()).as(name).hasSize(2)
                    .allMatch(m -> "chat".equals(m.getId().getTag("pool")));
        }
    }

    @Test
    void theWeightGaugeFollowsAWeightChangedInPlace() {
        lb.addBackend("a", "10.0.0.1", 8000, 3);
        new LoadBalancerMeterBinder(lb, Tags.of("pool", "chat")).bindTo(registry);

        lb.setWeight("a", 8);

        assertThat(gauge("ailb.backend.weight", "a")).isEqualTo(8);
    }

    @Test
    void ejectionsAndHealthAreCounted() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.addBackend("c", "10.0.0.3", 8000);
        new LoadBalancerMeterBinder(lb, Tags.of("pool", "chat")).bindTo(registry);

        for (int i = 0; i < 2; i++) {
            lb.acquireConnection(a);
            lb.releaseConnection(a, Duration.ofMillis(1), false);
        }

        assertThat(counter("ailb.backend.ejections", "a")).isEqualTo(1);
        assertThat(gauge("ailb.backend.healthy", "a")).isZero();
        assertThat(gauge("ailb.backend.available", "a")).isZero();
        assertThat(registry.get("ailb.backends.available").gauge().value()).isEqualTo(2);
    }

    @Test
    void metersFollowBackendsThatComeAndGo() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        LoadBalancerMeterBinder binder = new LoadBalancerMeterBinder(lb);
        binder.bindTo(registry);
        int perBackend = binder.metersOf(registry, a).size();
        assertThat(perBackend).isEqualTo(23);

        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        assertThat(registry.find("ailb.backend.requests").tags("backend", "b").functionCounter()).isNotNull();

        lb.acquireConnection(a);
        lb.removeBackend("a");
        assertThat(registry.find("ailb.backend.requests").tags("backend", "a").functionCounter())
                .as("a draining backend keeps its meters").isNotNull();
        lb.releaseConnection(a, Duration.ofMillis(1), true);

        assertThat(registry.find("ailb.backend.requests").tags("backend", "a").functionCounter()).isNull();
        assertThat(binder.metersOf(registry, a)).isEmpty();
        List<Meter> left = registry.getMeters().stream()
                .filter(m -> "a".equals(m.getId().getTag("backend"))).toList();
        assertThat(left).isEmpty();
        assertThat(binder.metersOf(registry, b)).hasSize(perBackend);
    }

    @Test
    void oneBinderServesSeveralRegistries() {
        lb.addBackend("a", "10.0.0.1", 8000);
        LoadBalancerMeterBinder binder = new LoadBalancerMeterBinder(lb);
        MeterRegistry second = new SimpleMeterRegistry();
        binder.bindTo(registry);
        binder.bindTo(second);
        binder.bindTo(second); // a second bind to the same registry changes nothing

        lb.addBackend("b", "10.0.0.2", 8000);
        lb.removeBackend("a");

        for (MeterRegistry r : List.of(registry, second)) {
            assertThat(r.find("ailb.backend.weight").tags("backend", "b").gauge()).isNotNull();
            assertThat(r.find("ailb.backend.weight").tags("backend", "a").gauge()).isNull();
        }
        assertThat(second.getMeters()).hasSize(registry.getMeters().size());
    }

    @Test
    void saturationIsAGauge() {
        lb.addBackend("a", "10.0.0.1", 8000);
        new LoadBalancerMeterBinder(lb).bindTo(registry);
        assertThat(registry.get("ailb.saturated").gauge().value()).isZero();

        lb.updateBackendResources("a", LoadReport.builder().waitingRequests(12).build());

        assertThat(registry.get("ailb.saturated").gauge().value()).isOne();
    }

    @Test
    void badArgumentsAreRejectedNamingThem() {
        assertThatThrownBy(() -> new LoadBalancerMeterBinder(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("balancer");
        assertThatThrownBy(() -> new LoadBalancerMeterBinder(lb, null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("tags");
        assertThatThrownBy(() -> new LoadBalancerMeterBinder(lb).bindTo(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("registry");
    }
}

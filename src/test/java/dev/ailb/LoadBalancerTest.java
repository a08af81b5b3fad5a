package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.ailb.health.AllUnhealthyPolicy;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class LoadBalancerTest {
    private final ManualTicker ticker = new ManualTicker();

    private LoadBalancer balancer(BalancingStrategy strategy) {
        return LoadBalancer.builder().strategy(strategy).ticker(ticker).random(new Random(1)).build();
    }

    private static Request request(String id) {
        return new Request(id, "192.168.1.100", "/api/process");
    }

    @Test
    void defaultStrategyIsRoundRobin() {
        try (LoadBalancer lb = new LoadBalancer()) {
            assertThat(lb.getStrategy()).isSameAs(BalancingStrategy.ROUND_ROBIN);
            assertThat(lb.getAllStats().strategy()).isEqualTo("ROUND_ROBIN");
        }
    }

    @Test
    void activeConnectionsFollowAcquiresAndReleases() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            Backend b = lb.addBackend("instance-1", "192.168.1.1", 8001);

            lb.acquireConnection(b);
            lb.acquireConnection(b);
            assertThat(b.activeConnections()).isEqualTo(2);
            assertThat(lb.getAllStats().metrics().activeConnections()).isEqualTo(2);

            lb.releaseConnection(b, Duration.ofMillis(10), true);
            assertThat(b.activeConnections()).isEqualTo(1);
            assertThat(lb.getBackendStats("instance-1").activeConnections()).isEqualTo(1);

            lb.releaseConnection(b, Duration.ofMillis(10), true);
            assertThat(b.activeConnections()).isZero();
        }
    }

    @Test
    void statsCountRequestsOutcomesAndResponseTimes() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            Backend b = lb.addBackend("instance-1", "192.168.1.1", 8001);
            for (int i = 1; i <= 100; i++) {
                Backend picked = lb.selectBackend(request("r" + i));
                lb.acquireConnection(picked);
                lb.releaseConnection(picked, Duration.ofMillis(i), i % 10 != 0);
            }

            BackendStats s = lb.getBackendStats("instance-1");
            assertThat(s.totalRequests()).isEqualTo(100);
            assertThat(s.successes()).isEqualTo(90);
            assertThat(s.failures()).isEqualTo(10);
            assertThat(s.completedRequests()).isEqualTo(100);
            assertThat(s.successRate()).isEqualTo(0.9);
            assertThat(s.avgResponseTime()).isEqualTo(Duration.ofNanos(50_500_000));
            assertThat(s.p50ResponseTime().toNanos()).isCloseTo(50_000_000L, within(1_600_000L));
            assertThat(s.p95ResponseTime().toNanos()).isCloseTo(95_000_000L, within(3_000_000L));
            assertThat(s.p99ResponseTime().toNanos()).isCloseTo(99_000_000L, within(3_100_000L));
            assertThat(b.responseTimeEwmaNanos()).isPositive();

            LoadBalancerMetrics m = lb.getAllStats().metrics();
            assertThat(m.totalRequests()).isEqualTo(100);
            assertThat(m.successRate()).isEqualTo(0.9);
            assertThat(m.avgResponseTime()).isEqualTo(s.avgResponseTime());
            assertThat(m.p99ResponseTime()).isEqualTo(s.p99ResponseTime());
            assertThat(m.healthyBackends()).isEqualTo(1);
            assertThat(m.totalBackends()).isEqualTo(1);
        }
    }

    @Test
    void percentilesOfAnswersOfHoursAreReportedWithinThreePercent() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            Backend batch = lb.addBackend("batch", "192.168.1.1", 8001);
            Backend gone = lb.addBackend("gone", "192.168.1.2", 8001);
            Duration twoHours = Duration.ofHours(2);
            for (int i = 0; i < 100; i++) {
                lb.acquireConnection(batch);
                lb.releaseConnection(batch, twoHours, true);
            }
            lb.acquireConnection(gone);
            lb.releaseConnection(gone, LoadBalancer.MAX_RESPONSE_TIME, true);
            lb.removeBackend("gone"); // its answer now counts in the balancer's departed figures

            BackendStats stats = lb.getBackendStats("batch");
            assertThat(stats.avgResponseTime()).isEqualTo(twoHours);
            assertWithinThreePercent(stats.p50ResponseTime(), twoHours);
            assertWithinThreePercent(stats.p99ResponseTime(), twoHours);
            assertWithinThreePercent(batch.responseTimeAt(0.99), twoHours);
            LoadBalancerMetrics all = lb.getAllStats().metrics();
            assertWithinThreePercent(all.p50ResponseTime(), twoHours);
            assertWithinThreePercent(all.p99ResponseTime(), twoHours);
            assertWithinThreePercent(lb.getAllStats().backend("batch").orElseThrow().p99ResponseTime(), twoHours);
            // the slowest answer of all, a day, is the 100th percentile, not a cap
            assertThat(all.p99ResponseTime()).isLessThan(Duration.ofHours(3));
        }
    }

    private static void assertWithinThreePercent(Duration actual, Duration expected) {
        assertThat((double) actual.toNanos()).isCloseTo((double) expected.toNanos(),
                org.assertj.core.data.Percentage.withPercentage(3));
    }

    @Test
    void statsBeforeAnyTrafficAreZeroWithAPerfectSuccessRate() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            lb.addBackend("instance-1", "192.168.1.1", 8001);
            BackendStats s = lb.getBackendStats("instance-1");
            assertThat(s.totalRequests()).isZero();
            assertThat(s.successRate()).isEqualTo(1.0);
            assertThat(s.avgResponseTime()).isEqualTo(Duration.ZERO);
            assertThat(s.p99ResponseTime()).isEqualTo(Duration.ZERO);
            assertThat(s.loadReport()).isEmpty();
        }
    }

    @Test
    void overallTotalsKeepTheHistoryOfRemovedBackends() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            Backend gone = lb.addBackend("gone", "10.0.0.1", 8001);
            lb.addBackend("kept", "10.0.0.2", 8002);
            lb.acquireConnection(gone);
            lb.releaseConnection(gone, Duration.ofMillis(3), false);
            lb.selectBackend(request("r1"));
            lb.selectBackend(request("r2"));
            lb.removeBackend("gone");

            LoadBalancerStats all = lb.getAllStats();
            assertThat(all.backends()).extracting(BackendStats::id).containsExactly("kept");
            assertThat(all.metrics().failures()).isEqualTo(1);
            assertThat(all.metrics().totalRequests()).isEqualTo(2);
        }
    }

    @Test
    void removedBackendFinishesInFlightRequestsBeforeLeaving() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            Backend leaving = lb.addBackend("instance-1", "192.168.1.1", 8001);
            lb.addBackend("instance-2", "192.168.1.1", 8002);
            lb.acquireConnection(leaving);
            lb.acquireConnection(leaving);

            CompletableFuture<Void> removed = lb.removeBackend("instance-1");

            assertThat(removed).isNotDone();
            assertThat(leaving.isDraining()).isTrue();
            assertThat(leaving.isAvailable()).isFalse();
            assertThat(lb.getBackendStats("instance-1").draining()).isTrue();
            assertThat(lb.getAllStats().metrics().drainingBackends()).isEqualTo(1);
            assertThat(lb.getAllStats().metrics().availableBackends()).isEqualTo(1);
            for (int i = 0; i < 10; i++) {
                assertThat(lb.selectBackend(request("r" + i)).id()).isEqualTo("instance-2");
            }
            assertThat(lb.removeBackend("instance-1")).isNotDone();

            lb.releaseConnection(leaving, Duration.ofMillis(20), true);
            assertThat(removed).isNotDone();
            lb.releaseConnection(leaving, Duration.ofMillis(30), false);

            assertThat(removed).isCompleted();
            assertThat(leaving.isRemoved()).isTrue();
            assertThat(lb.getBackend("instance-1")).isEmpty();
            assertThat(lb.getAllStats().metrics().successes()).isEqualTo(1);
            assertThat(lb.getAllStats().metrics().failures()).isEqualTo(1);
        }
    }

    @Test
    void removingAnIdleBackendCompletesAtOnceAndTheIdCanBeReused() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            Backend old = lb.addBackend("instance-1", "192.168.1.1", 8001);

            assertThat(lb.removeBackend("instance-1")).isCompleted();
            Backend fresh = lb.addBackend("instance-1", "192.168.1.5", 9001, 3);

            assertThat(fresh).isNotSameAs(old);
            assertThat(lb.selectBackend(request("r"))).isSameAs(fresh);
            assertThat(lb.tryAcquireConnection(old)).isFalse();
        }
    }

    @Test
    void anIdStillDrainingCannotBeAddedAgain() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            Backend b = lb.addBackend("instance-1", "192.168.1.1", 8001);
            lb.acquireConnection(b);
            lb.removeBackend("instance-1");

            assertThatThrownBy(() -> lb.addBackend("instance-1", "192.168.1.1", 8001))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("still draining");
        }
    }

    @Test
    void drainingOnlyBackendsGiveAClearReason() {
        try (LoadBalancer lb = LoadBalancer.builder().allUnhealthyPolicy(AllUnhealthyPolicy.FAIL_CLOSED).build()) {
            Backend b = lb.addBackend("instance-1", "192.168.1.1", 8001);
            lb.addBackend("instance-2", "192.168.1.1", 8002);
            lb.acquireConnection(b);
            lb.removeBackend("instance-1");
            lb.setBackendHealthy("instance-2", false);

            assertThatThrownBy(() -> lb.selectBackend(request("r")))
                    .isInstanceOf(NoAvailableBackendException.class)
                    .hasMessage("no backend available: of 2 registered backends, 1 are unhealthy and 1 are out of service");

            lb.removeBackend("instance-2");
            assertThatThrownBy(() -> lb.selectBackend(request("r")))
                    .isInstanceOf(NoAvailableBackendException.class)
                    .extracting(e -> ((NoAvailableBackendException) e).reason())
                    .isEqualTo(NoAvailableBackendException.Reason.ALL_OUT_OF_SERVICE);
        }
    }

    @Test
    void unhealthyBackendGetsNoTrafficUntilItRecovers() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            lb.addBackend("a", "10.0.0.1", 8001);
            lb.addBackend("b", "10.0.0.2", 8002);

            assertThat(lb.setBackendHealthy("a", false)).isTrue();
            assertThat(lb.setBackendHealthy("a", false)).isFalse();
            assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("b");
            assertThat(lb.getAllStats().metrics().healthyBackends()).isEqualTo(1);
            for (int i = 0; i < 6; i++) {
                assertThat(lb.selectBackend(request("r" + i)).id()).isEqualTo("b");
            }

            lb.setBackendHealthy("a", true);
            assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("a", "b");
        }
    }

    @Test
    void strategyCanBeChangedAtRuntime() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            lb.addBackend("a", "10.0.0.1", 8001, 5);
            lb.addBackend("b", "10.0.0.2", 8002, 1);
            lb.setStrategy(BalancingStrategy.WEIGHTED_ROUND_ROBIN);

            StringBuilder seq = new StringBuilder();
            for (int i = 0; i < 6; i++) {
                seq.append(lb.selectBackend(request("r" + i)).id());
            }
            assertThat(seq).hasToString("aaabaa");
            assertThat(lb.getStrategy()).isSameAs(BalancingStrategy.WEIGHTED_ROUND_ROBIN);
        }
    }

    @Test
    void customStrategiesPlugIn() {
        BalancingStrategy lastRegistered = new BalancingStrategy() {
            @Override
            public Selector newSelector(SelectionContext context) {
                return available -> request -> available.get(available.size() - 1);
            }

            @Override
            public String name() {
                return "LAST";
            }
        };
        try (LoadBalancer lb = balancer(lastRegistered)) {
            lb.addBackend("a", "10.0.0.1", 8001);
            lb.addBackend("b", "10.0.0.2", 8002);
            assertThat(lb.selectBackend(request("r")).id()).isEqualTo("b");
            assertThat(lb.getAllStats().strategy()).isEqualTo("LAST");
        }
    }

    @Test
    void resourceReportsAreTimeStampedByTheTicker() {
        try (LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED)) {
            lb.addBackend("instance-1", "192.168.1.1", 8001);
            ticker.advance(Duration.ofSeconds(5));

            lb.updateBackendResources("instance-1", 0.8, 0.6);

            TimedLoadReport report = lb.getBackendStats("instance-1").loadReport().orElseThrow();
            assertThat(report.cpu()).isEqualTo(0.8);
            assertThat(report.memory()).isEqualTo(0.6);
            assertThat(report.reportedAtNanos()).isEqualTo(Duration.ofSeconds(5).toNanos());
            ticker.advance(Duration.ofSeconds(2));
            assertThat(report.ageNanos(ticker.read())).isEqualTo(Duration.ofSeconds(2).toNanos());
        }
    }

    @Test
    void responseTimeAverageJumpsToPeaksAndDecaysWithTime() {
        try (LoadBalancer lb = LoadBalancer.builder().ticker(ticker)
                .responseTimeDecay(Duration.ofSeconds(10)).build()) {
            Backend b = lb.addBackend("a", "10.0.0.1", 8001);
            assertThat(b.responseTimeEwmaNanos()).isNaN();

            lb.acquireConnection(b);
            lb.releaseConnection(b, Duration.ofMillis(100), true);
            assertThat(b.responseTimeEwmaNanos()).isEqualTo(100e6);

            // One decay time later, a fast answer keeps 1/e of the old value.
            ticker.advance(Duration.ofSeconds(10));
            lb.acquireConnection(b);
            lb.releaseConnection(b, Duration.ofMillis(10), true);
            double expected = 100e6 * Math.exp(-1) + 10e6 * (1 - Math.exp(-1));
            assertThat(b.responseTimeEwmaNanos()).isCloseTo(expected, within(1.0));

            // A slower answer is taken at once.
            lb.acquireConnection(b);
            lb.releaseConnection(b, Duration.ofMillis(500), true);
            assertThat(b.responseTimeEwmaNanos()).isEqualTo(500e6);
        }
    }

    @Test
    void closeIsIdempotent() {
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN);
        lb.close();
        lb.close();
        assertThat(lb.isClosed()).isTrue();
        assertThat(lb.toString()).contains("closed");
    }

    @Test
    void backendsAreListedInRegistrationOrder() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            lb.addBackend("c", "10.0.0.3", 8003);
            lb.addBackend("a", "10.0.0.1", 8001);
            lb.addBackend("b", "10.0.0.2", 8002);
            assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("c", "a", "b");
            assertThat(lb.getAllStats().backends()).extracting(BackendStats::id).containsExactly("c", "a", "b");
            assertThat(lb.getAllStats().backend("a")).isPresent();
            assertThat(lb.getAllStats().backend("zzz")).isEmpty();
        }
    }

    @Test
    void aDrainedBackendLeavesEvenWhenTheStrategyNoLongerBuildsPickers() {
        java.util.concurrent.atomic.AtomicBoolean broken = new java.util.concurrent.atomic.AtomicBoolean();
        BalancingStrategy fragile = firstAvailableUnless(broken);
        try (LoadBalancer lb = balancer(fragile)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8001);
            lb.addBackend("b", "10.0.0.2", 8002);
            lb.acquireConnection(a);
            CompletableFuture<Void> removed = lb.removeBackend("a");
            broken.set(true);

            lb.releaseConnection(a, Duration.ofMillis(1), true);

            assertThat(removed).isCompleted();
            assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("b");
            assertThat(lb.selectBackend(request("r")).id()).isEqualTo("b");
        }
    }

    @Test
    void aFailedHealthChangeLeavesTheBackendAsItWas() {
        java.util.concurrent.atomic.AtomicBoolean broken = new java.util.concurrent.atomic.AtomicBoolean();
        BalancingStrategy fragile = firstAvailableUnless(broken);
        try (LoadBalancer lb = balancer(fragile)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8001);
            lb.addBackend("b", "10.0.0.2", 8002);
            lb.setBackendHealthy("a", false);
            broken.set(true);

            assertThatThrownBy(() -> lb.setBackendHealthy("a", true))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("failed to build a picker");

            assertThat(a.isHealthy()).isFalse();
            assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("b");
        }
    }

    @Test
    void aBackendShunnedAfterASlowAnswerIsTriedAgainOnceItsAverageFades() {
        try (LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_RESPONSE_TIME)
                .ticker(ticker).random(new Random(3)).responseTimeDecay(Duration.ofSeconds(10)).build()) {
            Backend slow = lb.addBackend("slow", "10.0.0.1", 8001);
            Backend fast = lb.addBackend("fast", "10.0.0.2", 8002);
            lb.acquireConnection(slow);
            lb.releaseConnection(slow, Duration.ofMillis(100), true);
            lb.acquireConnection(fast);
            lb.releaseConnection(fast, Duration.ofMillis(10), true);

            // While the fast backend keeps answering in 10 ms, the slow one's 100 ms fades:
            // after 30 s it stands at 100 * e^-3, about 5 ms, and is worth another try.
            String chosen = "";
            for (int second = 1; second <= 30; second++) {
                ticker.advance(Duration.ofSeconds(1));
                Backend b = lb.selectBackend(request("r" + second));
                chosen = b.id();
                if (b == slow) {
                    break;
                }
                lb.acquireConnection(b);
                lb.releaseConnection(b, Duration.ofMillis(10), true);
            }

            assertThat(chosen).isEqualTo("slow");
            assertThat(slow.responseTimeEwmaNanos()).isEqualTo(100e6);
            assertThat(slow.responseTimeEwmaNanos(ticker.read())).isLessThan(fast.responseTimeEwmaNanos(ticker.read()));
        }
    }

    /** Picks the first available backend, and refuses to build pickers once {@code broken} is set. */
    private static BalancingStrategy firstAvailableUnless(java.util.concurrent.atomic.AtomicBoolean broken) {
        return context -> available -> {
            if (broken.get()) {
                throw new IllegalStateException("cannot build");
            }
            return request -> available.get(0);
        };
    }
}

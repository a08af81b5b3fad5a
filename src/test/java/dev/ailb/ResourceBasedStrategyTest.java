package dev.ailb;

import static dev.ailb.testing.Traffic.acquire;
import static dev.ailb.testing.Traffic.pickMany;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ResourceBasedStrategyTest {

    private static final Request REQUEST = new Request("req-1", "192.168.1.100", "/api/process");

    private final ManualTicker ticker = new ManualTicker();

    // ---------------------------------------------------------------- two backends: exact minimum

    @Test
    void withTwoBackendsTheLowerScoreIsAlwaysPicked() {
        // given
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 1);
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", 0.8, 0.7);
        lb.updateBackendResources("b", 0.2, 0.3);

        // when
        Map<String, Integer> picks = pickMany(lb, 200);

        // then
        assertThat(picks).containsOnly(Map.entry("b", 200));
    }

    @Test
    void withTwoBackendsANewReportTurnsThePickAround() {
        // given
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 2);
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", 0.8, 0.7);
        lb.updateBackendResources("b", 0.2, 0.3);
        assertThat(lb.selectBackend(REQUEST).id()).isEqualTo("b");

        // when
        lb.updateBackendResources("b", 0.9, 0.9);

        // then
        assertThat(pickMany(lb, 100)).containsOnly(Map.entry("a", 100));
    }

    @Test
    void scoreCombinesCpuMemoryAndLoadWithTheDefaultWeights() {
        // given
        ResourceBasedStrategy strategy = (ResourceBasedStrategy) BalancingStrategy.RESOURCE_BASED;
        LoadBalancer lb = balancer(strategy, 3);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000, 2);
        lb.updateBackendResources("a", 0.5, 0.25);
        acquire(lb, a, 2);

        // when
        double score = strategy.score(a, ticker.read());

        // then: load is x / (1 + x) with x = 2 connections / weight 2 = 1, so 0.5; the queue and
        // the KV cache are not reported and score 0.5 each
        assertThat(score).isCloseTo(0.4 * 0.5 + 0.3 * 0.25 + 0.3 * 0.5 + 0.3 * 0.5 + 0.3 * 0.5, within(1e-12));
    }

    // ---------------------------------------------------------------- live connections

    @Test
    void liveConnectionsCountInTheScore() {
        // given: a reports less (0.14) than b (0.21), but one connection adds 0.3 x 0.5 = 0.15 to a
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 4);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", 0.2, 0.2);
        lb.updateBackendResources("b", 0.3, 0.3);
        assertThat(lb.selectBackend(REQUEST).id()).isEqualTo("a");

        // when
        lb.acquireConnection(a);

        // then
        assertThat(pickMany(lb, 100)).containsOnly(Map.entry("b", 100));
    }

    @Test
    void liveConnectionsAreCountedPerUnitOfWeight() {
        // given: a's one connection over weight 4 adds 0.3 x 0.2 = 0.06, keeping it at 0.20 below b's 0.21
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 5);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000, 4);
        lb.addBackend("b", "10.0.0.2", 8000, 1);
        lb.updateBackendResources("a", 0.2, 0.2);
        lb.updateBackendResources("b", 0.3, 0.3);

        // when
        lb.acquireConnection(a);

        // then
        assertThat(pickMany(lb, 100)).containsOnly(Map.entry("a", 100));
    }

    @Test
    void connectionsAloneSpreadTrafficWhenNoBackendReports() {
        // given
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 6);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);

        // when: every picked backend keeps its connection open
        for (int i = 0; i < 100; i++) {
            lb.acquireConnection(lb.selectBackend(REQUEST));
        }

        // then
        assertThat(a.activeConnections()).isEqualTo(50);
        assertThat(b.activeConnections()).isEqualTo(50);
    }

    // ---------------------------------------------------------------- report age

    @Test
    void aReportOlderThanTheMaximumAgeIsTreatedAsUnknown() {
        // given: a reports very low usage; five seconds later b reports moderate usage
        LoadBalancer lb = balancer(BalancingStrategy.resourceBased(0.4, 0.3, 0.3, Duration.ofSeconds(5)), 7);
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", 0.1, 0.1);
        ticker.advance(Duration.ofSeconds(5));
        lb.updateBackendResources("b", 0.4, 0.4);
        assertThat(pickMany(lb, 50)).as("a's report is exactly the maximum age old")
                .containsOnly(Map.entry("a", 50));

        // when: a's report is one nanosecond too old and scores 0.5 for both
        ticker.advance(Duration.ofNanos(1));

        // then
        assertThat(pickMany(lb, 50)).containsOnly(Map.entry("b", 50));
    }

    @Test
    void staleReportScoresTheUnknownUtilisation() {
        // given
        ResourceBasedStrategy strategy =
                (ResourceBasedStrategy) BalancingStrategy.resourceBased(0.4, 0.3, 0.3, Duration.ofSeconds(5));
        LoadBalancer lb = balancer(strategy, 8);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        lb.updateBackendResources("a", 0.9, 0.8);
        assertThat(strategy.score(a, ticker.read())).isCloseTo(0.4 * 0.9 + 0.3 * 0.8, within(1e-12));

        // when
        ticker.advance(Duration.ofSeconds(6));

        // then
        double unknown = ResourceBasedStrategy.UNKNOWN_UTILISATION;
        assertThat(strategy.score(a, ticker.read())).isCloseTo(0.4 * unknown + 0.3 * unknown, within(1e-12));
    }

    @Test
    void aFreshReportIsTrustedAgainAfterAStaleOne() {
        // given
        LoadBalancer lb = balancer(BalancingStrategy.resourceBased(0.4, 0.3, 0.3, Duration.ofSeconds(5)), 9);
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", 0.1, 0.1);
        ticker.advance(Duration.ofSeconds(10));
        lb.updateBackendResources("b", 0.4, 0.4);
        assertThat(lb.selectBackend(REQUEST).id()).isEqualTo("b");

        // when
        lb.updateBackendResources("a", 0.1, 0.1);

        // then
        assertThat(pickMany(lb, 50)).containsOnly(Map.entry("a", 50));
    }

    @Test
    void aBackendWithoutReportRanksBetweenLightAndBusyReportingBackends() {
        // given: unknown scores 0.35; a light report 0.4/0.4 scores 0.28, a busy one 0.6/0.6 scores 0.42
        LoadBalancer busy = balancer(BalancingStrategy.RESOURCE_BASED, 10);
        busy.addBackend("silent", "10.0.0.1", 8000);
        busy.addBackend("reporting", "10.0.0.2", 8000);
        busy.updateBackendResources("reporting", 0.6, 0.6);
        LoadBalancer light = balancer(BalancingStrategy.RESOURCE_BASED, 11);
        light.addBackend("silent", "10.0.0.1", 8000);
        light.addBackend("reporting", "10.0.0.2", 8000);
        light.updateBackendResources("reporting", 0.4, 0.4);

        // when
        Map<String, Integer> againstBusy = pickMany(busy, 50);
        Map<String, Integer> againstLight = pickMany(light, 50);

        // then
        assertThat(againstBusy).containsOnly(Map.entry("silent", 50));
        assertThat(againstLight).containsOnly(Map.entry("reporting", 50));
    }

    // ---------------------------------------------------------------- three or more: two random choices

    @Test
    void withThreeOrMoreBackendsTheWorstScoredIsNeverPicked() {
        // given
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 12);
        double[] usage = {0.3, 0.1, 0.9, 0.5, 0.7};
        for (int i = 0; i < usage.length; i++) {
            lb.addBackend("b" + i, "10.0.0." + (i + 1), 8000);
            lb.updateBackendResources("b" + i, usage[i], usage[i]);
        }

        // when
        Map<String, Integer> picks = pickMany(lb, 20_000);

        // then
        assertThat(picks).doesNotContainKey("b2").containsOnlyKeys("b0", "b1", "b3", "b4");
    }

    @Test
    void withFiveBackendsEachIsPickedAsOftenAsItWinsRandomPairs() {
        // given: ranked best to worst b1, b0, b3, b4, b2
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 13);
        double[] usage = {0.3, 0.1, 0.9, 0.5, 0.7};
        for (int i = 0; i < usage.length; i++) {
            lb.addBackend("b" + i, "10.0.0." + (i + 1), 8000);
            lb.updateBackendResources("b" + i, usage[i], usage[i]);
        }
        int draws = 50_000;

        // when
        Map<String, Integer> picks = pickMany(lb, draws);

        // then: of the 10 equally likely pairs the k-th best wins 4, 3, 2, 1, 0; chi-square with 3
        // degrees of freedom, 30 being far beyond the 0.0001% critical value (27.9)
        Map<String, Double> expected = Map.of(
                "b1", draws * 4 / 10.0, "b0", draws * 3 / 10.0, "b3", draws * 2 / 10.0, "b4", draws * 1 / 10.0);
        double chiSquare = 0;
        for (Map.Entry<String, Double> e : expected.entrySet()) {
            double observed = picks.getOrDefault(e.getKey(), 0);
            chiSquare += (observed - e.getValue()) * (observed - e.getValue()) / e.getValue();
        }
        assertThat(picks).doesNotContainKey("b2");
        assertThat(chiSquare).isLessThan(30.0);
    }

    @Test
    void withThreeBackendsTheMiddleOneStillGetsTraffic() {
        // given
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 14);
        lb.addBackend("best", "10.0.0.1", 8000);
        lb.addBackend("middle", "10.0.0.2", 8000);
        lb.addBackend("worst", "10.0.0.3", 8000);
        lb.updateBackendResources("best", 0.1, 0.1);
        lb.updateBackendResources("middle", 0.5, 0.5);
        lb.updateBackendResources("worst", 0.9, 0.9);

        // when
        Map<String, Integer> picks = pickMany(lb, 30_000);

        // then: the middle one wins only the pair it forms with the worst, one pair in three
        assertThat(picks).containsOnlyKeys("best", "middle");
        assertThat(picks.get("middle") / 30_000.0).isBetween(0.30, 0.37);
    }

    @Test
    void aSingleBackendIsPickedWhateverItReports() {
        // given
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 15);
        lb.addBackend("only", "10.0.0.1", 8000);
        lb.updateBackendResources("only", 1.0, 1.0);

        // when
        Map<String, Integer> picks = pickMany(lb, 20);

        // then
        assertThat(picks).containsOnly(Map.entry("only", 20));
    }

    @Test
    void anUnhealthyBackendIsNeverPickedEvenWithTheBestScore() {
        // given
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 16);
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.addBackend("c", "10.0.0.3", 8000);
        lb.updateBackendResources("a", 0.0, 0.0);
        lb.updateBackendResources("b", 0.5, 0.5);
        lb.updateBackendResources("c", 0.6, 0.6);

        // when
        lb.setBackendHealthy("a", false);
        Map<String, Integer> picks = pickMany(lb, 200);

        // then: two remain, so the exact minimum applies
        assertThat(picks).containsOnly(Map.entry("b", 200));
    }

    // ---------------------------------------------------------------- arguments

    @Test
    void negativeWeightIsRejectedNamingTheParameter() {
        assertThatThrownBy(() -> BalancingStrategy.resourceBased(-0.1, 0.3, 0.3, Duration.ofSeconds(30)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cpuWeight")
                .hasMessageContaining("-0.1");
        assertThatThrownBy(() -> BalancingStrategy.resourceBased(0.4, -1, 0.3, Duration.ofSeconds(30)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("memoryWeight");
        assertThatThrownBy(() -> BalancingStrategy.resourceBased(0.4, 0.3, -0.5, Duration.ofSeconds(30)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("loadWeight");
    }

    @Test
    void nanOrInfiniteWeightIsRejectedNamingTheParameter() {
        assertThatThrownBy(() -> BalancingStrategy.resourceBased(Double.NaN, 0.3, 0.3, Duration.ofSeconds(30)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cpuWeight")
                .hasMessageContaining("NaN");
        assertThatThrownBy(() -> BalancingStrategy.resourceBased(0.4, Double.NaN, 0.3, Duration.ofSeconds(30)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("memoryWeight");
        assertThatThrownBy(() -> BalancingStrategy.resourceBased(
                        0.4, 0.3, Double.POSITIVE_INFINITY, Duration.ofSeconds(30)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("loadWeight");
    }

    @Test
    void allZeroWeightsAreRejectedNamingTheParameters() {
        assertThatThrownBy(() -> BalancingStrategy.resourceBased(0.0, 0.0, 0.0, Duration.ofSeconds(30)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cpuWeight")
                .hasMessageContaining("memoryWeight")
                .hasMessageContaining("loadWeight");
    }

    @Test
    void nonPositiveReportAgeIsRejectedNamingTheParameter() {
        assertThatThrownBy(() -> BalancingStrategy.resourceBased(0.4, 0.3, 0.3, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxReportAge");
        assertThatThrownBy(() -> BalancingStrategy.resourceBased(0.4, 0.3, 0.3, Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxReportAge");
    }

    @Test
    void missingReportAgeIsRejectedNamingTheParameter() {
        assertThatThrownBy(() -> BalancingStrategy.resourceBased(0.4, 0.3, 0.3, null))
                .isInstanceOf(NullPointerException.class)
                .hasMessageContaining("maxReportAge");
    }

    @Test
    void aSingleNonZeroWeightIsEnough() {
        // given
        BalancingStrategy cpuOnly = BalancingStrategy.resourceBased(1.0, 0.0, 0.0, Duration.ofMillis(1));
        LoadBalancer lb = balancer(cpuOnly, 17);
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", 0.6, 0.0);
        lb.updateBackendResources("b", 0.5, 1.0);

        // when
        Map<String, Integer> picks = pickMany(lb, 20);

        // then
        assertThat(picks).containsOnly(Map.entry("b", 20));
    }

    @Test
    void twoEqualBackendsShareTheTrafficEvenWithoutConnectionTracking() {
        // given: no reports, no connections: the two always tie
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 9);
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);

        // when
        Map<String, Integer> picks = pickMany(lb, 10_000);

        // then: chi-square with 1 degree of freedom, far above p = 0.001
        double expected = 5_000;
        double statistic = 0;
        for (int observed : picks.values()) {
            statistic += (observed - expected) * (observed - expected) / expected;
        }
        assertThat(picks.keySet()).containsOnly("a", "b");
        assertThat(statistic).isLessThan(15.0);
    }

    // ---------------------------------------------------------------- helpers

    // ---------------------------------------------------------------- inference signals

    @Test
    void theScoreWeighsEveryReportedSignal() {
        // given
        ResourceWeights weights = new ResourceWeights(0.1, 0.2, 0.3, 0.4, 0.5);
        ResourceBasedStrategy strategy =
                (ResourceBasedStrategy) BalancingStrategy.resourceBased(weights, Duration.ofSeconds(5));
        LoadBalancer lb = balancer(strategy, 30);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000, 2);
        lb.updateBackendResources("a", LoadReport.builder().cpu(0.6).memory(0.4).waitingRequests(6)
                .runningRequests(30).kvCacheUsage(0.9).build());
        acquire(lb, a, 1);

        // when
        double score = strategy.score(a, ticker.read());

        // then: the queue is 6 waiting / weight 2 = 3, so 0.75; the load 1 / 2, so 1/3
        assertThat(score).isCloseTo(0.1 * 0.6 + 0.2 * 0.4 + 0.3 * (1.0 / 3) + 0.4 * 0.75 + 0.5 * 0.9, within(1e-12));
        assertThat(strategy.weights()).isEqualTo(weights);
        assertThat(strategy.toString()).isEqualTo(
                "RESOURCE_BASED{cpu=0.1, memory=0.2, load=0.3, queue=0.4, kvCache=0.5, maxReportAge=PT5S}");
    }

    @Test
    void aStaleReportScoresEverySignalAsUnknown() {
        // given
        ResourceBasedStrategy strategy = (ResourceBasedStrategy) BalancingStrategy.resourceBased(
                new ResourceWeights(0, 0, 0, 1, 1), Duration.ofSeconds(5));
        LoadBalancer lb = balancer(strategy, 31);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        lb.updateBackendResources("a", LoadReport.builder().waitingRequests(0).kvCacheUsage(0.1).build());
        assertThat(strategy.score(a, ticker.read())).isCloseTo(0.1, within(1e-12));

        // when
        ticker.advance(Duration.ofSeconds(5).plusNanos(1));

        // then
        assertThat(strategy.score(a, ticker.read())).isCloseTo(1.0, within(1e-12));
    }

    @Test
    void aLongQueueTurnsTrafficAwayUnderTheDefaultWeights() {
        // given: the same CPU and memory, but b has 12 requests waiting
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 32);
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", LoadReport.builder().cpu(0.5).memory(0.5).waitingRequests(0).build());
        lb.updateBackendResources("b", LoadReport.builder().cpu(0.5).memory(0.5).waitingRequests(12).build());

        // when
        Map<String, Integer> picks = pickMany(lb, 100);

        // then
        assertThat(picks).containsOnly(Map.entry("a", 100));
    }

    @Test
    void aFullKvCacheTurnsTrafficAwayUnderTheDefaultWeights() {
        // given
        LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 33);
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", LoadReport.builder().kvCacheUsage(0.97).build());
        lb.updateBackendResources("b", LoadReport.builder().kvCacheUsage(0.35).build());

        // when
        Map<String, Integer> picks = pickMany(lb, 100);

        // then
        assertThat(picks).containsOnly(Map.entry("b", 100));
    }

    @Test
    void betweenReportsTheLiveLoadShiftsTrafficOffTheBackendThatLookedBest() {
        // given: a reports an empty queue and b a short one; then this balancer sends a requests
        LoadBalancer lb = balancer(BalancingStrategy.resourceBased(
                new ResourceWeights(0, 0, 1, 1, 0), Duration.ofSeconds(30)), 34);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", LoadReport.builder().waitingRequests(0).build());
        lb.updateBackendResources("b", LoadReport.builder().waitingRequests(1).build());
        assertThat(lb.selectBackend(REQUEST).id()).isEqualTo("a");

        // when: two requests in flight on a (load 2/3) outweigh b's queue (1/2)
        acquire(lb, a, 2);

        // then
        assertThat(pickMany(lb, 50)).containsOnly(Map.entry("b", 50));
    }

    private LoadBalancer balancer(BalancingStrategy strategy, long seed) {
        return LoadBalancer.builder().strategy(strategy).ticker(ticker).random(new Random(seed)).build();
    }
}

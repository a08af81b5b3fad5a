package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** setWeight: a backend's weight changed in place, seen by every strategy that weighs. */
class SetWeightTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");

    private final ManualTicker ticker = new ManualTicker();

    private LoadBalancer balancer(BalancingStrategy strategy, int... weights) {
        LoadBalancer lb = LoadBalancer.builder().strategy(strategy).ticker(ticker).random(new Random(5))
                .outlierDetection(OutlierDetection.disabled()).build();
        for (int i = 0; i < weights.length; i++) {
            lb.addBackend("b" + (i + 1), "10.0." + i / 250 + "." + (i % 250 + 1), 8001 + i, weights[i]);
        }
        return lb;
    }

    /** Index (from 0) of the backend a pick chose, by its port. */
    private static int indexOf(Backend b) {
        return b.port() - 8001;
    }

    // ---------------------------------------------------------------- weighted round robin

    @Test
    void weightedRoundRobinFollowsTheNewWeightsExactlyInEveryPeriodAfterTheChange() {
        try (LoadBalancer lb = balancer(BalancingStrategy.WEIGHTED_ROUND_ROBIN, 1, 1, 1)) {
            for (int i = 0; i < 4; i++) {
                lb.selectBackend(REQUEST); // the cursor is mid-period when the weight changes
            }

            int previous = lb.setWeight("b1", 5);

            assertThat(previous).isEqualTo(1);
            int[] picks = new int[7 * 20];
            for (int i = 0; i < picks.length; i++) {
                picks[i] = indexOf(lb.selectBackend(REQUEST));
            }
            // Every window of 7 consecutive picks, wherever it starts, holds 5, 1 and 1.
            for (int start = 0; start + 7 <= picks.length; start++) {
                int[] counts = new int[3];
                for (int k = start; k < start + 7; k++) {
                    counts[picks[k]]++;
                }
                assertThat(counts).as("picks %d..%d", start, start + 6).containsExactly(5, 1, 1);
            }
        }
    }

    @Test
    void weightedRoundRobinGoesBackToTheOldSequenceWhenTheWeightIsPutBack() {
        try (LoadBalancer lb = balancer(BalancingStrategy.WEIGHTED_ROUND_ROBIN, 2, 1)) {
            lb.setWeight("b2", 3);
            assertThat(lb.setWeight("b2", 1)).isEqualTo(3);

            int[] counts = new int[2];
            for (int i = 0; i < 3 * 50; i++) {
                counts[indexOf(lb.selectBackend(REQUEST))]++;
            }

            assertThat(counts).containsExactly(100, 50);
        }
    }

    @Test
    void aLaidOutGoldenRatioPeriodFollowsTheNewWeightExactly() {
        // Too costly a period for nginx's simulation, short enough to lay out as a sequence.
        int[] weights = new int[2_000];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = 1 + i % 30;
        }
        // Added under round robin: a weighted schedule built for each of 2,000 additions takes seconds.
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, weights)) {
            lb.setStrategy(BalancingStrategy.WEIGHTED_ROUND_ROBIN);
            weights[7] = 200;
            assertThat(SmoothWeightedSchedule.steps(weights)).isGreaterThan(SmoothWeightedSchedule.MAX_STEPS);
            long total = Arrays.stream(weights).sum();
            assertThat(total).isLessThanOrEqualTo(WeightedRoundRobinStrategy.SEQUENCE_MAX);
            for (int i = 0; i < 1_234; i++) {
                lb.selectBackend(REQUEST);
            }

            lb.setWeight("b8", 200);

            int[] counts = new int[weights.length];
            for (long i = 0; i < total; i++) {
                counts[indexOf(lb.selectBackend(REQUEST))]++;
            }
            assertThat(counts).containsExactly(weights);
        }
    }

    @Test
    void aSearchedGoldenRatioPeriodFollowsTheNewWeightExactly() {
        // A period of two million picks: beyond the laid-out sequences, a pick searches the schedule.
        try (LoadBalancer lb = balancer(BalancingStrategy.WEIGHTED_ROUND_ROBIN, 1_000_000, 999_999, 1)) {
            int[] weights = {1_000_000, 999_999, 7};
            long total = 1_000_000 + 999_999 + 7;
            assertThat(total).isGreaterThan(WeightedRoundRobinStrategy.SEQUENCE_MAX);
            for (int i = 0; i < 777; i++) {
                lb.selectBackend(REQUEST);
            }

            lb.setWeight("b3", 7);

            int[] counts = new int[3];
            for (long i = 0; i < total; i++) {
                counts[indexOf(lb.selectBackend(REQUEST))]++;
            }
            assertThat(counts).containsExactly(weights);
        }
    }

    // ---------------------------------------------------------------- strategies that weigh per pick

    @Test
    void leastConnectionsFillsBackendsInProportionToTheNewWeights() {
        try (LoadBalancer lb = balancer(BalancingStrategy.LEAST_CONNECTIONS, 1, 1)) {
            lb.setWeight("b1", 3);

            List<Lease> held = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                held.add(lb.acquire(REQUEST));
            }

            assertThat(lb.getBackend("b1").orElseThrow().activeConnections()).isEqualTo(6);
            assertThat(lb.getBackend("b2").orElseThrow().activeConnections()).isEqualTo(2);
            assertThat(lb.getBackend("b1").orElseThrow().loadPerWeight()).isEqualTo(2.0);
            held.forEach(Lease::close);
        }
    }

    @Test
    void resourceBasedScoresTheLoadPerUnitOfTheNewWeight() {
        try (LoadBalancer lb = balancer(BalancingStrategy.RESOURCE_BASED, 1, 1)) {
            Backend b1 = lb.getBackend("b1").orElseThrow();
            Backend b2 = lb.getBackend("b2").orElseThrow();
            lb.acquireConnection(b1);
            lb.acquireConnection(b1);
            lb.acquireConnection(b2);
            assertThat(lb.selectBackend(REQUEST)).isSameAs(b2); // 2 per unit of weight against 1

            lb.setWeight("b1", 4);

            assertThat(b1.loadPerWeight()).isEqualTo(0.5);
            assertThat(lb.selectBackend(REQUEST)).isSameAs(b1); // 0.5 against 1
        }
    }

    // ---------------------------------------------------------------- hashing

    @Test
    void aHeavierBackendOnTheHashRingTakesAddressesOnlyFromTheOthersAndGivesThemBackWhenLighter() {
        try (LoadBalancer lb = balancer(BalancingStrategy.IP_HASH, 1, 1, 1)) {
            Map<String, Backend> before = placeAddresses(lb);

            lb.setWeight("b2", 3);
            Map<String, Backend> heavier = placeAddresses(lb);
            lb.setWeight("b2", 1);
            Map<String, Backend> after = placeAddresses(lb);

            Backend b2 = lb.getBackend("b2").orElseThrow();
            int moved = 0;
            for (String address : before.keySet()) {
                if (heavier.get(address) != before.get(address)) {
                    assertThat(heavier.get(address)).as("where %s moved", address).isSameAs(b2);
                    moved++;
                }
            }
            long b2Before = before.values().stream().filter(b -> b == b2).count();
            long b2Heavier = heavier.values().stream().filter(b -> b == b2).count();
            // About a third of 20,000 addresses at weight 1 of 3, about three fifths at 3 of 5.
            assertThat(b2Before).isBetween(5_000L, 8_400L);
            assertThat(b2Heavier).isBetween(10_500L, 13_500L);
            assertThat(moved).isEqualTo((int) (b2Heavier - b2Before));
            assertThat(after).isEqualTo(before);
        }
    }

    @Test
    void consistentHashSessionsMoveOnlyToABackendGivenMoreWeight() {
        LoadBalancer lb = LoadBalancer.builder().sessionAffinity(SessionAffinity.CONSISTENT_HASH).ticker(ticker)
                .build();
        try (lb) {
            for (int i = 1; i <= 3; i++) {
                lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
            }
            Map<String, Backend> before = new HashMap<>();
            for (int i = 0; i < 5_000; i++) {
                before.put("s" + i, lb.selectBackend(REQUEST, "s" + i));
            }

            lb.setWeight("b3", 4);

            Backend b3 = lb.getBackend("b3").orElseThrow();
            int moved = 0;
            for (int i = 0; i < 5_000; i++) {
                Backend now = lb.selectBackend(REQUEST, "s" + i);
                if (now != before.get("s" + i)) {
                    assertThat(now).isSameAs(b3);
                    moved++;
                }
            }
            assertThat(moved).isBetween(1_000, 3_000);
        }
    }

    private static Map<String, Backend> placeAddresses(LoadBalancer lb) {
        Map<String, Backend> placed = new HashMap<>();
        for (int i = 0; i < 20_000; i++) {
            String address = "172.16." + (i >> 8) + "." + (i & 255);
            placed.put(address, lb.selectBackend(new Request("r" + i, address, "/v1/completions")));
        }
        return placed;
    }

    // ---------------------------------------------------------------- what it changes, what it does not

    @Test
    void theNewWeightShowsInTheBackendItsStatsAndItsDescription() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, 2, 1)) {
            Backend b1 = lb.getBackend("b1").orElseThrow();
            lb.acquireConnection(b1);
            lb.selectBackend(REQUEST, "user-1");

            lb.setWeight("b1", 9);

            assertThat(b1.weight()).isEqualTo(9);
            assertThat(lb.getBackendStats("b1").weight()).isEqualTo(9);
            assertThat(lb.getAllStats().backends()).extracting(BackendStats::weight).containsExactly(9, 1);
            assertThat(b1).hasToString("Backend{b1 10.0.0.1:8001, weight=9}");
            // The rest of the backend is as it was.
            assertThat(lb.getBackend("b1")).containsSame(b1);
            assertThat(b1.activeConnections()).isEqualTo(1);
            assertThat(lb.getAllStats().metrics().sessions()).isEqualTo(1);
            assertThat(lb.getAvailableBackends()).hasSize(2);
        }
    }

    @Test
    void settingTheWeightABackendHasBuildsNoPicker() {
        AtomicInteger builds = new AtomicInteger();
        BalancingStrategy counting = BalancingStrategy.named("COUNTING", context -> available -> {
            builds.incrementAndGet();
            return request -> available.get(0);
        });
        try (LoadBalancer lb = balancer(counting, 3, 1)) {
            int built = builds.get();

            assertThat(lb.setWeight("b1", 3)).isEqualTo(3);
            assertThat(builds.get()).isEqualTo(built);

            lb.setWeight("b1", 4);
            assertThat(builds.get()).isEqualTo(built + 1);
        }
    }

    @Test
    void aBackendOutOfServiceTakesTheWeightForWhenItIsBack() {
        try (LoadBalancer lb = balancer(BalancingStrategy.WEIGHTED_ROUND_ROBIN, 1, 1)) {
            lb.beginMaintenance("b1");

            assertThat(lb.setWeight("b1", 3)).isEqualTo(1);
            assertThat(lb.selectBackend(REQUEST).id()).isEqualTo("b2");
            lb.endMaintenance("b1");

            int[] counts = new int[2];
            for (int i = 0; i < 4 * 25; i++) {
                counts[indexOf(lb.selectBackend(REQUEST))]++;
            }
            assertThat(counts).containsExactly(75, 25);
        }
    }

    @Test
    void whenTheStrategyCannotBuildItsPickerTheWeightStaysAsItWas() {
        BalancingStrategy lightOnly = BalancingStrategy.named("LIGHT_ONLY", context -> available -> {
            for (Backend b : available) {
                if (b.weight() > 5) {
                    throw new IllegalArgumentException("weight " + b.weight() + " is too heavy");
                }
            }
            return request -> available.get(0);
        });
        try (LoadBalancer lb = balancer(lightOnly, 1, 1)) {
            assertThatThrownBy(() -> lb.setWeight("b1", 6))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("strategy LIGHT_ONLY failed to build a picker for 2 backends: "
                            + "java.lang.IllegalArgumentException: weight 6 is too heavy");

            assertThat(lb.getBackend("b1").orElseThrow().weight()).isEqualTo(1);
            assertThat(lb.getBackendStats("b1").weight()).isEqualTo(1);
            assertThat(lb.setWeight("b1", 5)).isEqualTo(1);
        }
    }

    // ---------------------------------------------------------------- refused

    @Test
    void badArgumentsAreRefusedNamingThem() {
        try (LoadBalancer lb = balancer(BalancingStrategy.WEIGHTED_ROUND_ROBIN, 2, 1)) {
            assertThatThrownBy(() -> lb.setWeight("b1", 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("weight: 0 (expected: 1..1000000)");
            assertThatThrownBy(() -> lb.setWeight("b1", LoadBalancer.MAX_WEIGHT + 1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("weight: 1000001 (expected: 1..1000000)");
            assertThatThrownBy(() -> lb.setWeight("b1", -3)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("weight: -3 (expected: 1..1000000)");
            assertThatThrownBy(() -> lb.setWeight(null, 2)).isInstanceOf(NullPointerException.class)
                    .hasMessage("id: null (expected: non-null)");
            assertThatThrownBy(() -> lb.setWeight(" ", 2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("id: \" \" (expected: not blank)");
            assertThatThrownBy(() -> lb.setWeight("nope", 2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("id: \"nope\" (expected: the id of a registered backend)");

            assertThat(lb.getBackends()).extracting(Backend::weight).containsExactly(2, 1);
        }
    }

    @Test
    void aBackendBeingRemovedOrGoneIsRefused() {
        ManualScheduler scheduler = new ManualScheduler(ticker);
        try (LoadBalancer lb = LoadBalancer.builder().ticker(ticker).healthCheckScheduler(scheduler).build()) {
            Backend draining = lb.addBackend("b1", "10.0.0.1", 8001);
            lb.addBackend("b2", "10.0.0.2", 8002);
            lb.acquireConnection(draining);
            lb.removeBackend("b1");

            assertThatThrownBy(() -> lb.setWeight("b1", 2)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("id: \"b1\" (expected: a backend not being removed)");

            lb.releaseConnection(draining, Duration.ofMillis(5), true);
            assertThatThrownBy(() -> lb.setWeight("b1", 2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("id: \"b1\" (expected: the id of a registered backend)");
            assertThat(draining.weight()).isEqualTo(1);
        }
    }

    @Test
    void aClosedBalancerRefusesIt() {
        LoadBalancer lb = balancer(BalancingStrategy.WEIGHTED_ROUND_ROBIN, 2, 1);
        lb.close();

        assertThatThrownBy(() -> lb.setWeight("b1", 3)).isInstanceOf(IllegalStateException.class)
                .hasMessage("load balancer is closed");
        assertThat(lb.getBackend("b1").orElseThrow().weight()).isEqualTo(2);
    }

    // ---------------------------------------------------------------- races

    @Test
    void weightsChangingUnderLeasesLoseNoConnectionAndNoCount() throws Exception {
        int workers = 3;
        int leasesEach = 20_000;
        try (LoadBalancer lb = balancer(BalancingStrategy.LEAST_CONNECTIONS, 1, 1, 1, 1)) {
            ExecutorService pool = Executors.newFixedThreadPool(workers + 1);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < workers; t++) {
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < leasesEach; i++) {
                        try (Lease lease = lb.acquire(REQUEST)) {
                            lease.success();
                        }
                    }
                    return null;
                }));
            }
            done.add(pool.submit(() -> {
                start.await();
                for (int i = 0; i < 2_000; i++) {
                    lb.setWeight("b1", 1 + i % 7);
                    lb.setWeight("b2", 7 - i % 7);
                }
                return null;
            }));
            start.countDown();
            for (Future<?> f : done) {
                f.get(2, TimeUnit.MINUTES);
            }
            pool.shutdown();

            LoadBalancerStats stats = lb.getAllStats();
            long total = (long) workers * leasesEach;
            assertThat(stats.metrics().totalRequests()).isEqualTo(total);
            assertThat(stats.metrics().successes()).isEqualTo(total);
            assertThat(stats.metrics().activeConnections()).isZero();
            assertThat(stats.backends()).extracting(BackendStats::activeConnections).containsOnly(0);
            assertThat(stats.backends().stream().mapToLong(BackendStats::totalRequests).sum()).isEqualTo(total);
            assertThat(stats.backends()).extracting(BackendStats::weight).containsExactly(5, 3, 1, 1); // as last set
        }
    }

    @Test
    void aWeightChangeRacingTheLastReleaseOfADrainEitherLandsOrIsRefused() throws Exception {
        int rounds = 300;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < rounds; round++) {
                ManualScheduler scheduler = new ManualScheduler(ticker);
                try (LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.WEIGHTED_ROUND_ROBIN)
                        .ticker(ticker).healthCheckScheduler(scheduler).build()) {
                    Backend leaving = lb.addBackend("b1", "10.0.0.1", 8001);
                    Backend staying = lb.addBackend("b2", "10.0.0.2", 8002);
                    lb.acquireConnection(leaving);
                    CyclicBarrier together = new CyclicBarrier(2);

                    Future<CompletableFuture<Void>> removal = pool.submit(() -> {
                        together.await();
                        CompletableFuture<Void> left = lb.removeBackend("b1");
                        lb.releaseConnection(leaving, Duration.ofMillis(5), true);
                        return left;
                    });
                    Future<String> change = pool.submit(() -> {
                        together.await();
                        try {
                            return "set from " + lb.setWeight("b1", 3);
                        } catch (IllegalStateException | IllegalArgumentException e) {
                            return e.getMessage();
                        }
                    });

                    assertThat(removal.get(1, TimeUnit.MINUTES)).isCompleted();
                    String outcome = change.get(1, TimeUnit.MINUTES);
                    assertThat(outcome).isIn("set from 1", "id: \"b1\" (expected: a backend not being removed)",
                            "id: \"b1\" (expected: the id of a registered backend)");
                    assertThat(lb.getBackends()).containsExactly(staying);
                    assertThat(lb.getAvailableBackends()).containsExactly(staying);
                    assertThat(leaving.isRemoved()).isTrue();
                    assertThat(leaving.activeConnections()).isZero();
                    assertThat(lb.selectBackend(REQUEST)).isSameAs(staying);
                    assertThat(lb.getAllStats().metrics().successes()).isEqualTo(1);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}

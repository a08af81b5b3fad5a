package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Slow start in virtual time: the factor of a new or recovered backend follows the curve step by
 * step and ends exactly at the window, and each strategy that weighs gives the backend the share
 * its ramped weight says.
 */
class SlowStartTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");
    /** 32 s: one step of the ramp is exactly one second. */
    private static final Duration WINDOW = Duration.ofSeconds(SlowStart.STEPS);
    private static final Duration STEP = Duration.ofSeconds(1);

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);

    private LoadBalancer balancer(BalancingStrategy strategy, SlowStart slowStart) {
        return LoadBalancer.builder().strategy(strategy).ticker(ticker).random(new Random(11))
                .healthCheckScheduler(scheduler).outlierDetection(OutlierDetection.disabled())
                .slowStart(slowStart).build();
    }

    /**
     * Four backends of weight 1, each having served one request of 100 ms at the same instant (so
     * that the response-time ranks are alike), then {@code b4} marked down and up again: it ramps
     * from here.
     */
    private LoadBalancer fleetWithRecoveredB4(BalancingStrategy strategy, SlowStart slowStart) {
        LoadBalancer lb = balancer(strategy, slowStart);
        for (int i = 1; i <= 4; i++) {
            lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
        }
        for (int i = 1; i <= 4; i++) {
            Backend b = lb.getBackend("b" + i).orElseThrow();
            lb.acquireConnection(b);
            lb.releaseConnection(b, Duration.ofMillis(100), true);
        }
        lb.setBackendHealthy("b4", false);
        lb.setBackendHealthy("b4", true);
        return lb;
    }

    private static double quantized(double factor) {
        return Math.round(factor * Backend.SHARE_UNIT) / (double) Backend.SHARE_UNIT;
    }

    private static double factorOf(LoadBalancer lb, String id) {
        return lb.getBackend(id).orElseThrow().slowStartFactor();
    }

    // ---------------------------------------------------------------- the curve

    @Test
    void aLinearRampStartsAtTheFloorClimbsStepByStepAndEndsExactlyAtTheWindow() {
        try (LoadBalancer lb = fleetWithRecoveredB4(BalancingStrategy.WEIGHTED_ROUND_ROBIN, SlowStart.of(WINDOW))) {
            assertThat(factorOf(lb, "b4")).isEqualTo(quantized(0.1));

            for (int k = 1; k < SlowStart.STEPS; k++) {
                scheduler.advance(STEP);
                assertThat(factorOf(lb, "b4")).as("step %d", k)
                        .isEqualTo(quantized(Math.max(0.1, k / (double) SlowStart.STEPS)));
                assertThat(factorOf(lb, "b1")).isEqualTo(1.0);
            }
            scheduler.advance(STEP.minusNanos(1));
            assertThat(factorOf(lb, "b4")).as("a nanosecond before the window ends").isLessThan(1.0);

            scheduler.advance(Duration.ofNanos(1));

            assertThat(factorOf(lb, "b4")).as("when the window ends").isEqualTo(1.0);
            assertThat(scheduler.pendingTasks()).as("no timer once no backend ramps").isZero();
        }
    }

    @Test
    void anAggressiveRampRisesFasterAtFirstThanALinearOne() {
        SlowStart aggressive = SlowStart.of(WINDOW).withAggression(2.0);
        try (LoadBalancer lb = fleetWithRecoveredB4(BalancingStrategy.LEAST_CONNECTIONS, aggressive)) {
            for (int k = 1; k < SlowStart.STEPS; k++) {
                scheduler.advance(STEP);
                double t = k / (double) SlowStart.STEPS;
                assertThat(factorOf(lb, "b4")).as("step %d", k).isEqualTo(quantized(Math.max(0.1, Math.sqrt(t))));
            }
            // A quarter into the window, the square-root curve already gives half the weight.
            assertThat(aggressive.factorAt(WINDOW.toNanos() / 4)).isEqualTo(0.5);
            assertThat(SlowStart.of(WINDOW).withAggression(0.5).factorAt(WINDOW.toNanos() / 2)).isEqualTo(0.25);
        }
    }

    @Test
    void theFloorHoldsUntilTheCurvePassesIt() {
        SlowStart floored = SlowStart.of(WINDOW).withMinWeightPercent(25);
        try (LoadBalancer lb = fleetWithRecoveredB4(BalancingStrategy.LEAST_CONNECTIONS, floored)) {
            assertThat(factorOf(lb, "b4")).isEqualTo(0.25);
            scheduler.advance(STEP.multipliedBy(7));
            assertThat(factorOf(lb, "b4")).as("7/32 is below the floor").isEqualTo(0.25);
            scheduler.advance(STEP.multipliedBy(2));
            assertThat(factorOf(lb, "b4")).isEqualTo(9 / 32.0);
        }
    }

    @Test
    void aFloorOfZeroStartsAtTheSmallestShare() {
        SlowStart none = SlowStart.of(WINDOW).withMinWeightPercent(0);
        try (LoadBalancer lb = fleetWithRecoveredB4(BalancingStrategy.LEAST_CONNECTIONS, none)) {
            assertThat(factorOf(lb, "b4")).isEqualTo(1.0 / Backend.SHARE_UNIT);
        }
    }

    // ---------------------------------------------------------------- the share, per strategy

    @ParameterizedTest(name = "step {0}")
    @MethodSource("steps")
    void weightedRoundRobinGivesTheRampingBackendItsRampedShareOfPicks(int step) {
        try (LoadBalancer lb = fleetWithRecoveredB4(BalancingStrategy.WEIGHTED_ROUND_ROBIN, SlowStart.of(WINDOW))) {
            scheduler.advance(STEP.multipliedBy(step));
            double f = factorOf(lb, "b4");
            int picks = 40_000;
            int toB4 = 0;
            for (int i = 0; i < picks; i++) {
                if (lb.selectBackend(REQUEST).id().equals("b4")) {
                    toB4++;
                }
            }
            // The schedule gives exact counts per period; 40,000 picks span many periods.
            assertThat(toB4 / (double) picks).isCloseTo(f / (3 + f), within(0.002));
        }
    }

    static Stream<Integer> steps() {
        return Stream.of(0, 4, 8, 16, 24, 31, 32);
    }

    static Stream<Arguments> loadAwareStrategiesAndSteps() {
        List<Arguments> cases = new ArrayList<>();
        Object[][] strategies = {
            {"LEAST_CONNECTIONS", BalancingStrategy.LEAST_CONNECTIONS, 0.01},
            {"LEAST_RESPONSE_TIME", BalancingStrategy.LEAST_RESPONSE_TIME, 0.01},
            {"PREFIX_AFFINITY", BalancingStrategy.PREFIX_AFFINITY, 0.01},
            // two random choices per pick: a looser bound, with the fixed seed
            {"RESOURCE_BASED", BalancingStrategy.RESOURCE_BASED, 0.03},
        };
        for (Object[] s : strategies) {
            for (int step : new int[] {0, 8, 16, 24, 32}) {
                cases.add(Arguments.of(s[0], s[1], s[2], step));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} at step {3}")
    @MethodSource("loadAwareStrategiesAndSteps")
    void aLoadAwareStrategyLoadsTheRampingBackendInProportionToItsFactor(String name, BalancingStrategy strategy,
            double tolerance, int step) {
        try (LoadBalancer lb = fleetWithRecoveredB4(strategy, SlowStart.of(WINDOW))) {
            scheduler.advance(STEP.multipliedBy(step));
            double f = factorOf(lb, "b4");
            int held = 1_000;
            int onB4 = 0;
            List<Lease> leases = new ArrayList<>();
            for (int i = 0; i < held; i++) {
                Lease lease = lb.acquire(REQUEST);
                leases.add(lease);
                if (lease.backend().id().equals("b4")) {
                    onB4++;
                }
            }
            // Requests held open: each pick goes where the load per ramped weight is least, so the
            // ramping backend carries f times the load of each of its three peers.
            assertThat(onB4 / (double) held).as("factor %s", f).isCloseTo(f / (3 + f), within(tolerance));
        }
    }

    @Test
    void roundRobinIsLeftAloneAndKeepsAnEqualRotation() {
        try (LoadBalancer lb = fleetWithRecoveredB4(BalancingStrategy.ROUND_ROBIN, SlowStart.of(WINDOW))) {
            assertThat(factorOf(lb, "b4")).isLessThan(1.0);
            int toB4 = 0;
            for (int i = 0; i < 400; i++) {
                if (lb.selectBackend(REQUEST).id().equals("b4")) {
                    toB4++;
                }
            }
            assertThat(toB4).isEqualTo(100);
        }
    }

    // ---------------------------------------------------------------- when a backend ramps

    @Test
    void theBackendsABalancerStartsWithTakeTheirFullShareAtOnce() {
        try (LoadBalancer lb = balancer(BalancingStrategy.LEAST_CONNECTIONS, SlowStart.of(WINDOW))) {
            lb.addBackend("b1", "10.0.0.1", 8001);
            lb.addBackend("b2", "10.0.0.2", 8002);
            lb.addBackend("b3", "10.0.0.3", 8003);

            assertThat(lb.getBackends()).allSatisfy(b -> assertThat(b.slowStartFactor()).isEqualTo(1.0));
            assertThat(scheduler.pendingTasks()).isZero();
        }
    }

    @Test
    void aBackendAddedWhileTheFleetServesRampsFromTheFloor() {
        try (LoadBalancer lb = balancer(BalancingStrategy.LEAST_CONNECTIONS, SlowStart.of(WINDOW))) {
            lb.addBackend("b1", "10.0.0.1", 8001);
            lb.addBackend("b2", "10.0.0.2", 8002);
            lb.acquire(REQUEST).close();

            lb.addBackend("b3", "10.0.0.3", 8003);

            assertThat(factorOf(lb, "b3")).isEqualTo(quantized(0.1));
            assertThat(factorOf(lb, "b1")).isEqualTo(1.0);
            scheduler.advance(WINDOW);
            assertThat(factorOf(lb, "b3")).isEqualTo(1.0);
        }
    }

    @Test
    void aMembershipSetOnAnEmptyBalancerStartsAtFullShareAndOneSetLaterRampsItsNewcomers() {
        try (LoadBalancer lb = balancer(BalancingStrategy.LEAST_CONNECTIONS, SlowStart.of(WINDOW))) {
            BackendSpec b1 = BackendSpec.of("b1", "10.0.0.1", 8001);
            BackendSpec b2 = BackendSpec.of("b2", "10.0.0.2", 8002);
            lb.setBackends(List.of(b1, b2));
            assertThat(lb.getBackends()).allSatisfy(b -> assertThat(b.slowStartFactor()).isEqualTo(1.0));
            lb.acquire(REQUEST).close();

            lb.setBackends(List.of(b1, b2, BackendSpec.of("b3", "10.0.0.3", 8003)));
            lb.addBackends(List.of(BackendSpec.of("b4", "10.0.0.4", 8004)));

            assertThat(factorOf(lb, "b3")).isEqualTo(quantized(0.1));
            assertThat(factorOf(lb, "b4")).isEqualTo(quantized(0.1));
            assertThat(factorOf(lb, "b1")).isEqualTo(1.0);
            scheduler.advance(WINDOW);
            assertThat(factorOf(lb, "b3")).isEqualTo(1.0);
            assertThat(factorOf(lb, "b4")).isEqualTo(1.0);
        }
    }

    @Test
    void aBackendBackFromMaintenanceRamps() {
        try (LoadBalancer lb = fleetWithRecoveredB4(BalancingStrategy.LEAST_CONNECTIONS, SlowStart.of(WINDOW))) {
            scheduler.advance(WINDOW);
            lb.beginMaintenance("b2");

            lb.endMaintenance("b2");

            assertThat(factorOf(lb, "b2")).isEqualTo(quantized(0.1));
        }
    }

    @Test
    void aBackendBackFromAnEjectionRampsFromWhenItsEjectionEnds() {
        OutlierDetection outliers = OutlierDetection.builder().consecutiveFailures(1)
                .baseEjectionTime(Duration.ofSeconds(10)).build();
        try (LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS).ticker(ticker)
                .random(new Random(11)).healthCheckScheduler(scheduler).outlierDetection(outliers)
                .slowStart(SlowStart.of(WINDOW)).build()) {
            Backend b1 = lb.addBackend("b1", "10.0.0.1", 8001);
            Backend b2 = lb.addBackend("b2", "10.0.0.2", 8002);
            lb.acquireConnection(b1);
            lb.releaseConnection(b1, Duration.ofMillis(100), true); // b1 serves
            lb.acquireConnection(b2);
            lb.releaseConnection(b2, Duration.ofMillis(100), false); // ejected for 10 s
            assertThat(b2.isAvailable()).isFalse();

            scheduler.advance(Duration.ofSeconds(10));
            lb.selectBackend(REQUEST); // a selection notices that the ejection is over

            assertThat(b2.isAvailable()).isTrue();
            assertThat(b2.slowStartFactor()).isEqualTo(quantized(0.1));
            scheduler.advance(WINDOW);
            assertThat(b2.slowStartFactor()).isEqualTo(1.0);
        }
    }

    @Test
    void aBackendThatComesBackWhileNoOtherIsAvailableTakesItsFullShare() {
        try (LoadBalancer lb = fleetWithRecoveredB4(BalancingStrategy.LEAST_CONNECTIONS, SlowStart.of(WINDOW))) {
            scheduler.advance(WINDOW);
            for (int i = 1; i <= 4; i++) {
                lb.setBackendHealthy("b" + i, false);
            }

            lb.setBackendHealthy("b1", true);

            assertThat(factorOf(lb, "b1")).as("nothing to ramp against").isEqualTo(1.0);
            lb.setBackendHealthy("b2", true);
            assertThat(factorOf(lb, "b2")).as("b1 now serves at full weight").isEqualTo(quantized(0.1));
        }
    }

    @Test
    void aBackendThatGoesDownDuringItsRampLeavesItAndStartsOverWhenBack() {
        try (LoadBalancer lb = fleetWithRecoveredB4(BalancingStrategy.LEAST_CONNECTIONS, SlowStart.of(WINDOW))) {
            scheduler.advance(STEP.multipliedBy(16));
            assertThat(factorOf(lb, "b4")).isEqualTo(0.5);

            lb.setBackendHealthy("b4", false);
            scheduler.advance(STEP);
            assertThat(factorOf(lb, "b4")).as("out of its ramp while down").isEqualTo(1.0);
            lb.setBackendHealthy("b4", true);

            assertThat(factorOf(lb, "b4")).as("a new ramp").isEqualTo(quantized(0.1));
            scheduler.advance(STEP.multipliedBy(16));
            assertThat(factorOf(lb, "b4")).isEqualTo(0.5);
            scheduler.advance(STEP.multipliedBy(16));
            assertThat(factorOf(lb, "b4")).isEqualTo(1.0);
        }
    }

    @Test
    void slowStartIsOffByDefault() {
        try (LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS).ticker(ticker)
                .healthCheckScheduler(scheduler).build()) {
            lb.addBackend("b1", "10.0.0.1", 8001);
            lb.acquire(REQUEST).close();
            lb.addBackend("b2", "10.0.0.2", 8002);

            assertThat(factorOf(lb, "b2")).isEqualTo(1.0);
            assertThat(scheduler.pendingTasks()).isZero();
        }
    }

    @Test
    void slowStartIsSetOnceAndItsValuesSayWhatTheyHold() {
        LoadBalancerBuilder builder = LoadBalancer.builder().slowStart(Duration.ofMinutes(1));

        assertThatThrownBy(() -> builder.slowStart(SlowStart.of(Duration.ofMinutes(2))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("slowStart was already set to SlowStart{window=PT1M, aggression=1.0, minWeightPercent=10.0}");
        SlowStart s = SlowStart.of(Duration.ofMinutes(2)).withAggression(3).withMinWeightPercent(5);
        assertThat(s.window()).isEqualTo(Duration.ofMinutes(2));
        assertThat(s.aggression()).isEqualTo(3.0);
        assertThat(s.minWeightPercent()).isEqualTo(5.0);
        assertThat(s).isEqualTo(SlowStart.of(Duration.ofMinutes(2)).withMinWeightPercent(5).withAggression(3))
                .hasSameHashCodeAs(SlowStart.of(Duration.ofMinutes(2)).withMinWeightPercent(5).withAggression(3))
                .isNotEqualTo(SlowStart.of(Duration.ofMinutes(2)));
        assertThat(s.factorAt(-5)).isEqualTo(0.05);
        assertThat(s.factorAt(Duration.ofMinutes(2).toNanos())).isEqualTo(1.0);
    }

    @Test
    void aNewWeightDuringARampIsRampedToo() {
        try (LoadBalancer lb = fleetWithRecoveredB4(BalancingStrategy.WEIGHTED_ROUND_ROBIN, SlowStart.of(WINDOW))) {
            scheduler.advance(STEP.multipliedBy(16)); // factor 1/2

            lb.setWeight("b4", 6); // ramped: 3, as much as the three others together

            int toB4 = 0;
            for (int i = 0; i < 6_000; i++) {
                if (lb.selectBackend(REQUEST).id().equals("b4")) {
                    toB4++;
                }
            }
            assertThat(toB4).isEqualTo(3_000);
        }
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.health.HealthState;
import dev.ailb.health.HealthStats;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Passive health checking: ejection after failed requests, its growing length, probation, the cap. */
class OutlierEjectionTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/completions");

    private final ManualTicker ticker = new ManualTicker();
    private final List<String> events = new ArrayList<>();

    private LoadBalancer balancer(OutlierDetection outliers, BalancingStrategy strategy, int backends) {
        LoadBalancer lb = LoadBalancer.builder().ticker(ticker).random(new Random(3)).strategy(strategy)
                .outlierDetection(outliers).build();
        lb.addListener(new LoadBalancerListener() {
            @Override
            public void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current,
                    String reason) {
                events.add(backend.id() + " " + previous + "->" + current + ": " + reason);
            }
        });
        for (int i = 1; i <= backends; i++) {
            lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
        }
        return lb;
    }

    private static void complete(LoadBalancer lb, String id, boolean success, int times) {
        Backend b = lb.getBackend(id).orElseThrow();
        for (int i = 0; i < times; i++) {
            lb.acquireConnection(b);
            lb.releaseConnection(b, 1_000_000L, success);
        }
    }

    private static HealthState state(LoadBalancer lb, String id) {
        return lb.getBackend(id).orElseThrow().healthState();
    }

    @Test
    void fiveFailedRequestsInARowEjectABackendForTheBaseTime() {
        try (LoadBalancer lb = balancer(OutlierDetection.defaults(), BalancingStrategy.ROUND_ROBIN, 3)) {
            complete(lb, "b1", false, 4);
            assertThat(state(lb, "b1")).isEqualTo(HealthState.HEALTHY);

            complete(lb, "b1", false, 1);

            assertThat(state(lb, "b1")).isEqualTo(HealthState.EJECTED);
            assertThat(lb.getBackend("b1").orElseThrow().isHealthy()).isFalse();
            assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("b2", "b3");
            for (int i = 0; i < 30; i++) {
                assertThat(lb.selectBackend(REQUEST).id()).isNotEqualTo("b1");
            }
            HealthStats health = lb.getBackendStats("b1").health();
            assertThat(health.ejections()).isEqualTo(1);
            assertThat(health.ejectionRemaining()).isEqualTo(Duration.ofSeconds(30));
            assertThat(health.lastFailureReason()).contains("5 failed requests in a row");
            assertThat(lb.getAllStats().metrics().ejectedBackends()).isEqualTo(1);
            assertThat(events).containsExactly(
                    "b1 HEALTHY->EJECTED: 5 failed requests in a row; ejected for PT30S (ejection 1)");
        }
    }

    @Test
    void aSuccessStartsTheFailureCountAgain() {
        try (LoadBalancer lb = balancer(OutlierDetection.defaults(), BalancingStrategy.ROUND_ROBIN, 2)) {
            complete(lb, "b1", false, 4);
            complete(lb, "b1", true, 1);
            complete(lb, "b1", false, 4);

            assertThat(state(lb, "b1")).isEqualTo(HealthState.HEALTHY);
            assertThat(lb.getBackendStats("b1").health().consecutiveRequestFailures()).isEqualTo(4);
        }
    }

    @Test
    void anEjectedBackendComesBackOnProbationWhenItsTimeIsOverAndAFailureThereEjectsItAtOnce() {
        try (LoadBalancer lb = balancer(OutlierDetection.defaults(), BalancingStrategy.ROUND_ROBIN, 2)) {
            complete(lb, "b1", false, 5);
            ticker.advance(Duration.ofSeconds(30).minusNanos(1));
            lb.selectBackend(REQUEST);
            assertThat(state(lb, "b1")).isEqualTo(HealthState.EJECTED);

            ticker.advance(Duration.ofNanos(1));
            lb.selectBackend(REQUEST); // the selection path notices the ejection is over

            assertThat(state(lb, "b1")).isEqualTo(HealthState.HEALTHY);
            assertThat(lb.getBackendStats("b1").health().onProbation()).isTrue();
            complete(lb, "b1", false, 1);
            assertThat(state(lb, "b1")).isEqualTo(HealthState.EJECTED);
            assertThat(lb.getBackendStats("b1").health().ejectionRemaining()).isEqualTo(Duration.ofSeconds(60));
            assertThat(events).containsExactly(
                    "b1 HEALTHY->EJECTED: 5 failed requests in a row; ejected for PT30S (ejection 1)",
                    "b1 EJECTED->HEALTHY: ejection over; back on probation",
                    "b1 HEALTHY->EJECTED: failed a request on probation; ejected for PT1M (ejection 2)");
        }
    }

    @Test
    void aSuccessOnProbationClearsIt() {
        try (LoadBalancer lb = balancer(OutlierDetection.defaults(), BalancingStrategy.ROUND_ROBIN, 2)) {
            complete(lb, "b1", false, 5);
            ticker.advance(Duration.ofSeconds(30));
            assertThat(lb.getAllStats().backend("b1").orElseThrow().health().onProbation()).isTrue();

            complete(lb, "b1", true, 1);
            complete(lb, "b1", false, 4);

            assertThat(state(lb, "b1")).isEqualTo(HealthState.HEALTHY);
            assertThat(lb.getBackendStats("b1").health().onProbation()).isFalse();
        }
    }

    @Test
    void repeatedEjectionsLastBaseTimesTheirCountUpToTheMaximum() {
        OutlierDetection outliers = OutlierDetection.builder().consecutiveFailures(1)
                .baseEjectionTime(Duration.ofSeconds(10)).maxEjectionTime(Duration.ofSeconds(35)).build();
        try (LoadBalancer lb = balancer(outliers, BalancingStrategy.ROUND_ROBIN, 2)) {
            List<Duration> lengths = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                complete(lb, "b1", false, 1); // on probation, or the first failure: ejected at once
                Duration length = lb.getBackendStats("b1").health().ejectionRemaining();
                lengths.add(length);
                ticker.advance(length);
                lb.selectBackend(REQUEST); // notices the ejection is over
            }

            assertThat(lengths).containsExactly(Duration.ofSeconds(10), Duration.ofSeconds(20), Duration.ofSeconds(30),
                    Duration.ofSeconds(35), Duration.ofSeconds(35));
            assertThat(lb.getBackendStats("b1").health().ejections()).isEqualTo(5);
        }
    }

    @Test
    void timeBackInServiceForgivesPastEjectionsOnePerBaseTime() {
        OutlierDetection outliers = OutlierDetection.builder().consecutiveFailures(1)
                .baseEjectionTime(Duration.ofSeconds(10)).build();
        try (LoadBalancer lb = balancer(outliers, BalancingStrategy.ROUND_ROBIN, 2)) {
            complete(lb, "b1", false, 1); // 10 s
            ticker.advance(Duration.ofSeconds(10));
            lb.selectBackend(REQUEST); // back, on probation
            complete(lb, "b1", false, 1); // 20 s
            ticker.advance(Duration.ofSeconds(20));
            lb.selectBackend(REQUEST); // back, on probation
            complete(lb, "b1", true, 1);

            ticker.advance(Duration.ofSeconds(10)); // forgives one of the two
            complete(lb, "b1", false, 1);
            assertThat(lb.getBackendStats("b1").health().ejectionRemaining()).isEqualTo(Duration.ofSeconds(20));

            ticker.advance(Duration.ofSeconds(20));
            lb.selectBackend(REQUEST);
            complete(lb, "b1", true, 1);
            ticker.advance(Duration.ofSeconds(25)); // forgives both
            complete(lb, "b1", false, 1);
            assertThat(lb.getBackendStats("b1").health().ejectionRemaining()).isEqualTo(Duration.ofSeconds(10));
        }
    }

    /** Sets the manual ticker to {@code Long.MAX_VALUE - beforeMax}, where its readings are about to wrap. */
    private void tickerAtMaxMinus(Duration beforeMax) {
        ticker.advance(Duration.ofNanos(Long.MAX_VALUE - beforeMax.toNanos()));
    }

    @Test
    void anEjectionEndsOnTimeWhileAnotherOneEndsAfterTheTickerWraps() {
        // given: b1 ejected 40 s before the ticker's readings wrap, b2 20 s later, so that b2's end
        // is the smaller reading although b1's comes first
        tickerAtMaxMinus(Duration.ofSeconds(40));
        try (LoadBalancer lb = balancer(OutlierDetection.defaults(), BalancingStrategy.ROUND_ROBIN, 4)) {
            complete(lb, "b1", false, 5);
            ticker.advance(Duration.ofSeconds(20));
            complete(lb, "b2", false, 5);
            assertThat(state(lb, "b2")).isEqualTo(HealthState.EJECTED);
            ticker.advance(Duration.ofSeconds(10).minusNanos(1));
            lb.selectBackend(REQUEST);
            assertThat(state(lb, "b1")).isEqualTo(HealthState.EJECTED);

            // when: b1's 30 s are over
            ticker.advance(Duration.ofNanos(1));
            lb.selectBackend(REQUEST);

            // then: the selection brings b1 back, and b2 stays out for its own 30 s
            assertThat(state(lb, "b1")).isEqualTo(HealthState.HEALTHY);
            assertThat(state(lb, "b2")).isEqualTo(HealthState.EJECTED);
            assertThat(lb.getBackendStats("b2").health().ejectionRemaining()).isEqualTo(Duration.ofSeconds(20));
            ticker.advance(Duration.ofSeconds(20));
            lb.selectBackend(REQUEST);
            assertThat(state(lb, "b2")).isEqualTo(HealthState.HEALTHY);
        }
    }

    @Test
    void anEjectionEndingAtTheLargestReadingEndsOnTime() {
        // given: an ejection of 30 s that ends exactly at the reading Long.MAX_VALUE
        tickerAtMaxMinus(Duration.ofSeconds(30));
        try (LoadBalancer lb = balancer(OutlierDetection.defaults(), BalancingStrategy.ROUND_ROBIN, 2)) {
            complete(lb, "b1", false, 5);
            ticker.advance(Duration.ofSeconds(30).minusNanos(1));
            lb.selectBackend(REQUEST);
            assertThat(state(lb, "b1")).isEqualTo(HealthState.EJECTED);

            // when
            ticker.advance(Duration.ofNanos(1));
            lb.selectBackend(REQUEST);

            // then
            assertThat(state(lb, "b1")).isEqualTo(HealthState.HEALTHY);
            assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("b1", "b2");
        }
    }

    @Test
    void timeBackInServiceAfterAnEjectionEndedByHandIsForgivenAcrossTheWrap() {
        // given: b1 ejected, then marked healthy by hand before the ticker's readings wrap
        OutlierDetection outliers = OutlierDetection.builder().consecutiveFailures(1)
                .baseEjectionTime(Duration.ofSeconds(10)).build();
        tickerAtMaxMinus(Duration.ofSeconds(60));
        try (LoadBalancer lb = balancer(outliers, BalancingStrategy.ROUND_ROBIN, 2)) {
            complete(lb, "b1", false, 1); // 10 s
            ticker.advance(Duration.ofSeconds(5));
            lb.setBackendHealthy("b1", true);

            // when: it fails again ten minutes later, after the wrap
            ticker.advance(Duration.ofMinutes(10));
            complete(lb, "b1", false, 1);

            // then: the ten minutes back in service forgave the first ejection
            assertThat(lb.getBackendStats("b1").health().ejectionRemaining()).isEqualTo(Duration.ofSeconds(10));
        }
    }

    @Test
    void neverEjectsMoreThanTheMaximumShareButAlwaysAllowsOne() {
        try (LoadBalancer lb = balancer(OutlierDetection.defaults(), BalancingStrategy.ROUND_ROBIN, 4)) {
            complete(lb, "b1", false, 5);
            complete(lb, "b2", false, 5);
            complete(lb, "b3", false, 5);

            assertThat(lb.getAllStats().metrics().ejectedBackends()).isEqualTo(2);
            assertThat(state(lb, "b3")).isEqualTo(HealthState.HEALTHY);
            assertThat(lb.getBackendStats("b3").health().consecutiveRequestFailures()).isZero();
        }
        OutlierDetection onePercent = OutlierDetection.builder().maxEjectionPercent(1).build();
        try (LoadBalancer lb = balancer(onePercent, BalancingStrategy.ROUND_ROBIN, 3)) {
            complete(lb, "b1", false, 5);
            complete(lb, "b2", false, 5);

            assertThat(state(lb, "b1")).isEqualTo(HealthState.EJECTED);
            assertThat(state(lb, "b2")).isEqualTo(HealthState.HEALTHY);
        }
    }

    @Test
    void disabledDetectionNeverEjects() {
        try (LoadBalancer lb = balancer(OutlierDetection.disabled(), BalancingStrategy.ROUND_ROBIN, 2)) {
            complete(lb, "b1", false, 100);

            assertThat(state(lb, "b1")).isEqualTo(HealthState.HEALTHY);
            assertThat(lb.getBackendStats("b1").failures()).isEqualTo(100);
            assertThat(events).isEmpty();
        }
    }

    @Test
    void aDrainingBackendIsNotEjected() {
        try (LoadBalancer lb = balancer(OutlierDetection.defaults(), BalancingStrategy.ROUND_ROBIN, 2)) {
            Backend b1 = lb.getBackend("b1").orElseThrow();
            for (int i = 0; i < 6; i++) {
                lb.acquireConnection(b1);
            }
            lb.removeBackend("b1");
            for (int i = 0; i < 6; i++) {
                lb.releaseConnection(b1, 1_000_000L, false);
            }

            assertThat(b1.healthState()).isEqualTo(HealthState.HEALTHY);
            assertThat(b1.isRemoved()).isTrue();
        }
    }

    @Test
    void ejectionEndsWhenMarkedHealthyByHand() {
        try (LoadBalancer lb = balancer(OutlierDetection.defaults(), BalancingStrategy.ROUND_ROBIN, 2)) {
            complete(lb, "b1", false, 5);

            assertThat(lb.setBackendHealthy("b1", true)).isTrue();

            assertThat(state(lb, "b1")).isEqualTo(HealthState.HEALTHY);
            assertThat(lb.getBackendStats("b1").health().ejectionRemaining()).isZero();
        }
    }

    /**
     * A "black hole" answers every request at once, with an error. Least connections loves it (it
     * never holds a connection) and so does least response time (it answers fastest). Ejection is
     * what keeps it from swallowing the traffic.
     */
    @ParameterizedTest
    @ValueSource(strings = {"LEAST_CONNECTIONS", "LEAST_RESPONSE_TIME"})
    void aBlackHoleDoesNotSwallowTheTrafficOfStrategiesThatFavourQuickAnswers(String strategy) {
        Map<String, Long> withDetection = blackHoleRun(OutlierDetection.defaults(), BalancingStrategy.builtIn(strategy));
        Map<String, Long> without = blackHoleRun(OutlierDetection.disabled(), BalancingStrategy.builtIn(strategy));

        assertThat(without.get("b1")).as("without ejection").isGreaterThan(2_000L);
        // Ejected after 5 failures, back after 30 s for one probation request, ejected for 60 s, ...
        assertThat(withDetection.get("b1")).as("with ejection").isLessThanOrEqualTo(10L);
        assertThat(withDetection.get("failed")).isEqualTo(withDetection.get("b1"));
    }

    private Map<String, Long> blackHoleRun(OutlierDetection outliers, BalancingStrategy strategy) {
        Map<String, Long> routed = new HashMap<>();
        try (LoadBalancer lb = balancer(outliers, strategy, 4)) {
            Deque<Backend> inFlight = new ArrayDeque<>();
            long failed = 0;
            // 4,000 requests, one every 25 ms (100 s in all); healthy backends take 100 ms.
            for (int i = 0; i < 4_000; i++) {
                ticker.advance(Duration.ofMillis(25));
                Backend b = lb.selectBackend(REQUEST);
                routed.merge(b.id(), 1L, Long::sum);
                lb.acquireConnection(b);
                if (b.id().equals("b1")) {
                    lb.releaseConnection(b, 200_000L, false);
                    failed++;
                } else {
                    inFlight.addLast(b);
                    if (inFlight.size() > 4) {
                        lb.releaseConnection(inFlight.removeFirst(), 100_000_000L, true);
                    }
                }
            }
            routed.put("failed", failed);
        }
        routed.putIfAbsent("b1", 0L);
        return routed;
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Percentage.withPercentage;

import dev.ailb.health.HealthCheck;
import dev.ailb.health.HealthCheckResult;
import dev.ailb.health.HealthState;
import dev.ailb.health.HealthStats;
import dev.ailb.health.LoadSource;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.ScriptedHealthCheck;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Active health checking in virtual time: thresholds, timing, timeouts and the checker's lifecycle. */
class HealthCheckerTest {
    private static final Duration INTERVAL = Duration.ofSeconds(10);
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private final ScriptedHealthCheck check = new ScriptedHealthCheck(ticker::read);
    private final List<String> events = new ArrayList<>();
    private LoadBalancer lb;

    private LoadBalancerBuilder builder() {
        return builder(check, TIMEOUT, Duration.ZERO);
    }

    private LoadBalancerBuilder builder(HealthCheck healthCheck, Duration timeout, Duration jitter) {
        return LoadBalancer.builder()
                .ticker(ticker)
                .random(new Random(42))
                .healthCheck(healthCheck)
                .healthCheckScheduler(scheduler)
                .healthCheckInterval(INTERVAL)
                .healthCheckTimeout(timeout)
                .healthCheckJitter(jitter);
    }

    private LoadBalancer start(LoadBalancerBuilder builder, String... ids) {
        lb = builder.build();
        lb.addListener(new LoadBalancerListener() {
            @Override
            public void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current,
                    String reason) {
                events.add(backend.id() + " " + previous + "->" + current + ": " + reason);
            }
        });
        for (int i = 0; i < ids.length; i++) {
            lb.addBackend(ids[i], "10.0.0." + (i + 1), 8000 + i);
        }
        assertThat(lb.startHealthChecker()).isTrue();
        return lb;
    }

    /** Runs the round due now, or the next one, and returns the state of {@code id} after it. */
    private HealthState round(String id) {
        scheduler.advance(scheduler.nextDelay().orElseThrow());
        return lb.getBackend(id).orElseThrow().healthState();
    }

    @AfterEach
    void close() {
        if (lb != null) {
            lb.close();
        }
    }

    @Test
    void backendGoesDownAfterExactlyFallFailedChecksAndBackAfterExactlyRisePassedOnes() {
        start(builder().unhealthyThreshold(3).healthyThreshold(2), "a", "b");
        check.fail("a", "HTTP 503 from GET /health");

        assertThat(round("a")).isEqualTo(HealthState.HEALTHY);
        assertThat(round("a")).isEqualTo(HealthState.HEALTHY);
        assertThat(lb.getBackendStats("a").health().consecutiveCheckFailures()).isEqualTo(2);
        assertThat(round("a")).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("b");

        check.pass("a");
        assertThat(round("a")).isEqualTo(HealthState.UNHEALTHY);
        assertThat(round("a")).isEqualTo(HealthState.HEALTHY);

        assertThat(lb.getBackend("b").orElseThrow().healthState()).isEqualTo(HealthState.HEALTHY);
        assertThat(events).containsExactly(
                "a HEALTHY->UNHEALTHY: 3 health checks failed in a row, the last with: HTTP 503 from GET /health",
                "a UNHEALTHY->HEALTHY: 2 health checks passed in a row");
        HealthStats health = lb.getBackendStats("a").health();
        assertThat(health.consecutiveCheckSuccesses()).isEqualTo(2);
        assertThat(health.consecutiveCheckFailures()).isZero();
        assertThat(health.lastFailureReason()).contains("HTTP 503 from GET /health");
        assertThat(health.sinceLastCheck()).contains(Duration.ZERO);
    }

    @Test
    void aPassedCheckInBetweenStartsTheFailureCountAgain() {
        start(builder().unhealthyThreshold(2), "a");
        check.fail("a", "down");
        round("a");
        check.pass("a");
        round("a");
        check.fail("a", "down");

        assertThat(round("a")).isEqualTo(HealthState.HEALTHY);
        assertThat(round("a")).isEqualTo(HealthState.UNHEALTHY);
    }

    @Test
    void roundsComeEveryIntervalWithTheirJitterAndTheFirstWithinOneJitter() {
        start(builder(check, TIMEOUT, Duration.ofSeconds(1)), "a");
        scheduler.advance(Duration.ofSeconds(1000));

        List<Long> at = check.checkedAt("a");
        assertThat(at.get(0)).isBetween(0L, Duration.ofSeconds(1).toNanos());
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < at.size(); i++) {
            gaps.add(at.get(i) - at.get(i - 1));
        }
        assertThat(gaps).hasSizeGreaterThan(85)
                .allSatisfy(gap -> assertThat(gap).isBetween(Duration.ofSeconds(9).toNanos(),
                        Duration.ofSeconds(11).toNanos()));
        assertThat(gaps.stream().distinct().count()).as("the waits vary").isGreaterThan(gaps.size() / 2);
        double mean = gaps.stream().mapToLong(Long::longValue).average().orElseThrow();
        assertThat(mean).isCloseTo(INTERVAL.toNanos(), withPercentage(2));
    }

    @Test
    void withoutJitterRoundsComeExactlyEveryInterval() {
        start(builder(), "a");
        scheduler.advance(Duration.ofSeconds(30));

        assertThat(check.checkedAt("a")).containsExactly(0L, INTERVAL.toNanos(), 2 * INTERVAL.toNanos(),
                3 * INTERVAL.toNanos());
    }

    @Test
    void aHangingCheckFailsAtItsTimeoutWithoutHoldingUpOtherBackendsOrTheNextRound() {
        start(builder().unhealthyThreshold(1), "a", "b");
        check.hang("a");

        scheduler.runDueTasks();
        assertThat(lb.getBackendStats("b").health().consecutiveCheckSuccesses()).isEqualTo(1);
        assertThat(lb.getBackend("a").orElseThrow().healthState()).isEqualTo(HealthState.HEALTHY);

        scheduler.advance(TIMEOUT.minusNanos(1));
        assertThat(lb.getBackend("a").orElseThrow().healthState()).isEqualTo(HealthState.HEALTHY);
        scheduler.advance(Duration.ofNanos(1));
        assertThat(lb.getBackend("a").orElseThrow().healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lb.getBackendStats("a").health().lastFailureReason()).contains("no verdict within PT2S");

        scheduler.advance(INTERVAL.minus(TIMEOUT));
        assertThat(check.checks("a")).isEqualTo(2);
        assertThat(check.checks("b")).isEqualTo(2);
        assertThat(lb.getBackendStats("b").health().consecutiveCheckSuccesses()).isEqualTo(2);
    }

    @Test
    void aLateAnswerAfterTheTimeoutIsNotCountedTwice() {
        start(builder().unhealthyThreshold(2), "a");
        check.hang("a");
        scheduler.runDueTasks();
        scheduler.advance(TIMEOUT);
        assertThat(lb.getBackendStats("a").health().consecutiveCheckFailures()).isEqualTo(1);

        check.answer("a", HealthCheckResult.healthy());

        HealthStats health = lb.getBackendStats("a").health();
        assertThat(health.consecutiveCheckFailures()).isEqualTo(1);
        assertThat(health.consecutiveCheckSuccesses()).isZero();
    }

    @Test
    void aCheckStillUnderWayIsNotStartedAgainByTheNextRound() {
        start(builder(check, Duration.ofSeconds(25), Duration.ZERO), "a");
        check.hang("a");

        scheduler.advance(Duration.ofSeconds(20)); // rounds at 0, 10 and 20 s
        assertThat(check.checks("a")).isEqualTo(1);

        check.pass("a");
        scheduler.advance(Duration.ofSeconds(10)); // times out at 25 s, checked anew at 30 s
        assertThat(check.checks("a")).isEqualTo(2);
        HealthStats health = lb.getBackendStats("a").health();
        assertThat(health.consecutiveCheckSuccesses()).isEqualTo(1);
        assertThat(health.lastFailureReason()).contains("no verdict within PT25S");
    }

    @Test
    void aCheckThatThrowsOrAnswersNothingCountsAsFailed() {
        HealthCheck throwing = (backend, context) -> {
            if (backend.id().equals("a")) {
                throw new IllegalStateException("probe bug");
            }
            return backend.id().equals("b") ? null : CompletableFuture.completedFuture(null);
        };
        start(builder(throwing, TIMEOUT, Duration.ZERO).unhealthyThreshold(1), "a", "b", "c");
        scheduler.runDueTasks();

        assertThat(lb.getBackendStats("a").health().lastFailureReason().orElseThrow())
                .contains("health check threw").contains("probe bug");
        assertThat(lb.getBackendStats("b").health().lastFailureReason()).contains("health check returned no result");
        assertThat(lb.getBackendStats("c").health().lastFailureReason()).contains("health check returned no result");
        assertThat(lb.getAllStats().metrics().healthyBackends()).isZero();
    }

    @Test
    void stoppingCancelsTheRoundsLeavesTheUsersSchedulerRunningAndMayBeStartedAgain() {
        start(builder(), "a");
        scheduler.advance(Duration.ofSeconds(10));
        assertThat(check.checks("a")).isEqualTo(2);

        assertThat(lb.stopHealthChecker()).isTrue();
        assertThat(lb.isHealthCheckerRunning()).isFalse();
        assertThat(lb.stopHealthChecker()).isFalse();
        scheduler.advance(Duration.ofMinutes(5));
        assertThat(check.checks("a")).isEqualTo(2);
        assertThat(scheduler.pendingTasks()).isZero();
        assertThat(scheduler.isShutdown()).isFalse();

        assertThat(lb.startHealthChecker()).isTrue();
        assertThat(lb.startHealthChecker()).isFalse();
        scheduler.advance(Duration.ofSeconds(10));
        assertThat(check.checks("a")).isEqualTo(4);
    }

    @Test
    void aResultArrivingAfterStopIsDropped() {
        start(builder().unhealthyThreshold(1), "a");
        check.hang("a");
        scheduler.runDueTasks();

        lb.stopHealthChecker();
        check.answer("a", HealthCheckResult.unhealthy("too late"));

        assertThat(lb.getBackend("a").orElseThrow().healthState()).isEqualTo(HealthState.HEALTHY);
        assertThat(lb.getBackendStats("a").health().consecutiveCheckFailures()).isZero();
    }

    @Test
    void closingStopsTheCheckerAndRefusesToStartItAgain() {
        start(builder(), "a");
        lb.close();

        assertThat(lb.isHealthCheckerRunning()).isFalse();
        scheduler.advance(Duration.ofMinutes(1));
        assertThat(check.checks("a")).isZero();
        assertThat(scheduler.isShutdown()).isFalse();
        assertThatThrownBy(() -> lb.startHealthChecker()).isInstanceOf(IllegalStateException.class)
                .hasMessage("load balancer is closed");
        assertThatThrownBy(() -> lb.performHealthChecks()).isInstanceOf(IllegalStateException.class)
                .hasMessage("load balancer is closed");
    }

    @Test
    void theResultOfABackendRemovedDuringItsCheckIsIgnored() {
        start(builder().unhealthyThreshold(1), "a", "b");
        check.hang("a");
        scheduler.runDueTasks();
        lb.removeBackend("a");

        check.answer("a", HealthCheckResult.unhealthy("gone"));

        assertThat(events).isEmpty();
        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("b");
    }

    @Test
    void aBackendMarkedDownByHandComesBackOnceChecksPassTheRiseThreshold() {
        start(builder().healthyThreshold(2), "a");
        lb.setBackendHealthy("a", false);

        assertThat(round("a")).isEqualTo(HealthState.UNHEALTHY);
        assertThat(round("a")).isEqualTo(HealthState.HEALTHY);
        assertThat(events).containsExactly("a HEALTHY->UNHEALTHY: marked unhealthy by hand",
                "a UNHEALTHY->HEALTHY: 2 health checks passed in a row");
    }

    @Test
    void backendsStartingUnhealthyComeUpOnTheirFirstPassingCheckHoweverManyFailedBefore() {
        start(builder().initiallyHealthy(false).healthyThreshold(3), "a", "b");
        check.fail("b", "HTTP 500 from GET /health");
        assertThat(lb.getAvailableBackends()).isEmpty();

        assertThat(round("a")).isEqualTo(HealthState.HEALTHY);
        assertThat(lb.getBackend("b").orElseThrow().healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lb.getBackendStats("b").health().lastFailureReason()).contains("HTTP 500 from GET /health");

        // b still loads its model: it fails a few more checks, then passes one and is up at once.
        assertThat(round("b")).isEqualTo(HealthState.UNHEALTHY);
        assertThat(round("b")).isEqualTo(HealthState.UNHEALTHY);
        check.pass("b");
        assertThat(round("b")).isEqualTo(HealthState.HEALTHY);
        assertThat(events).containsExactly("a UNHEALTHY->HEALTHY: passed a health check for the first time",
                "b UNHEALTHY->HEALTHY: passed a health check for the first time");

        // Once up, a backend that goes down needs the full rise to come back.
        check.fail("b", "HTTP 503 from GET /health");
        for (int i = 0; i < 3; i++) {
            round("b");
        }
        check.pass("b");
        assertThat(round("b")).isEqualTo(HealthState.UNHEALTHY);
        assertThat(round("b")).isEqualTo(HealthState.UNHEALTHY);
        assertThat(round("b")).isEqualTo(HealthState.HEALTHY);
    }

    @Test
    void withoutAnActiveCheckTheRoundsOnlyEndEjectionsOnTime() {
        lb = LoadBalancer.builder().ticker(ticker).healthCheckScheduler(scheduler).healthCheckInterval(INTERVAL)
                .healthCheckJitter(Duration.ZERO)
                .outlierDetection(OutlierDetection.builder().baseEjectionTime(Duration.ofSeconds(30)).build())
                .build();
        Backend a = lb.addBackend("a", "10.0.0.1", 8001);
        lb.addBackend("b", "10.0.0.2", 8002);
        for (int i = 0; i < 5; i++) {
            lb.acquireConnection(a);
            lb.releaseConnection(a, 1_000_000L, false);
        }
        assertThat(a.healthState()).isEqualTo(HealthState.EJECTED);
        lb.startHealthChecker();

        scheduler.advance(Duration.ofSeconds(29));
        assertThat(a.healthState()).isEqualTo(HealthState.EJECTED);
        scheduler.advance(Duration.ofSeconds(1)); // the round at 30 s ends it, without any selection
        assertThat(a.healthState()).isEqualTo(HealthState.HEALTHY);
        assertThat(lb.getBackendStats("a").health().onProbation()).isTrue();
    }

    @Test
    void performHealthChecksWaitsForVerdictsGivenOnOtherThreads() {
        HealthCheck elsewhere = HealthCheck.blocking(b -> b.id().equals("a")
                ? HealthCheckResult.unhealthy("model not loaded") : HealthCheckResult.healthy());
        lb = LoadBalancer.builder().ticker(ticker).healthCheck(elsewhere).unhealthyThreshold(2).build();
        lb.addBackend("a", "10.0.0.1", 8001);
        lb.addBackend("b", "10.0.0.2", 8002);

        lb.performHealthChecks();
        assertThat(lb.getBackendStats("a").health().consecutiveCheckFailures()).isEqualTo(1);
        assertThat(lb.getBackendStats("b").health().consecutiveCheckSuccesses()).isEqualTo(1);
        lb.performHealthChecks();

        assertThat(lb.getBackend("a").orElseThrow().healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lb.getBackendStats("a").health().lastFailureReason()).contains("model not loaded");
        assertThat(lb.getBackendStats("b").health().consecutiveCheckSuccesses()).isEqualTo(2);
    }

    @Test
    void aCheckThatThrowsAnErrorCountsAsFailedAndTheRoundsGoOn() {
        AtomicInteger calls = new AtomicInteger();
        HealthCheck brokenOnce = (backend, context) -> {
            if (calls.incrementAndGet() == 1) {
                throw new AssertionError("probe bug");
            }
            return check.check(backend, context);
        };
        start(builder(brokenOnce, TIMEOUT, Duration.ZERO).unhealthyThreshold(1), "a");

        assertThat(round("a")).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lb.getBackendStats("a").health().lastFailureReason())
                .hasValue("health check threw java.lang.AssertionError: probe bug");
        assertThat(round("a")).isEqualTo(HealthState.UNHEALTHY);
        assertThat(round("a")).isEqualTo(HealthState.HEALTHY);

        assertThat(calls).hasValue(3);
        assertThat(lb.isHealthCheckerRunning()).isTrue();
        assertThat(scheduler.pendingTasks()).as("the next round").isEqualTo(1);
    }

    @Test
    void aLoadSourceThatThrowsAnErrorRejectsThatPollAndThePollsGoOn() {
        AtomicInteger calls = new AtomicInteger();
        LoadSource brokenOnce = (backend, context) -> {
            if (calls.incrementAndGet() == 1) {
                throw new AssertionError("parser bug");
            }
            return CompletableFuture.completedFuture(LoadReport.builder().waitingRequests(calls.get()).build());
        };
        lb = LoadBalancer.builder().ticker(ticker).healthCheckScheduler(scheduler)
                .loadSource(brokenOnce, Duration.ofSeconds(1)).build();
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.startHealthChecker();

        scheduler.runDueTasks();
        assertThat(lb.getBackendStats("a").loadReport()).isEmpty();
        scheduler.advance(Duration.ofSeconds(1));
        scheduler.advance(Duration.ofSeconds(1));

        assertThat(calls).hasValue(3);
        assertThat(lb.getBackendStats("a").loadReport().orElseThrow().load().waitingRequests()).isEqualTo(3);
        assertThat(scheduler.pendingTasks()).as("the next round and the next poll").isEqualTo(2);
    }

    @Test
    void startingTheCheckerOrARoundRacingCloseLeavesNothingRunningAfterClose() throws InterruptedException {
        HealthCheck instant = (backend, context) -> CompletableFuture.completedFuture(HealthCheckResult.healthy());
        Set<Thread> before = checkerThreads();
        for (int i = 0; i < 300; i++) {
            LoadBalancer racing = LoadBalancer.builder().healthCheck(instant).healthCheckInterval(Duration.ofHours(1))
                    .build();
            racing.addBackend("a", "10.0.0.1", 8000);
            CountDownLatch gate = new CountDownLatch(1);
            Thread starter = new Thread(() -> {
                await(gate);
                try {
                    racing.startHealthChecker();
                } catch (IllegalStateException closed) {
                    // refused: closed first
                }
            });
            Thread prober = new Thread(() -> {
                await(gate);
                try {
                    racing.performHealthChecks();
                } catch (IllegalStateException closed) {
                    // refused: closed first
                }
            });
            starter.start();
            prober.start();
            gate.countDown();
            racing.close();
            starter.join();
            prober.join();

            assertThat(racing.isHealthCheckerRunning()).as("running after close, try %d", i).isFalse();
            Set<Thread> left = checkerThreads();
            left.removeAll(before);
            assertThat(left).as("threads left after close, try %d", i).isEmpty();
            assertThatThrownBy(racing::startHealthChecker).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(racing::performHealthChecks).isInstanceOf(IllegalStateException.class);
        }
    }

    private static void await(CountDownLatch gate) {
        try {
            gate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Set<Thread> checkerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("ailb-health-") && t.isAlive())
                .collect(Collectors.toSet());
    }

    @Test
    void aCheckCountedWhenTheTickerReadsTheSmallestLongIsStillACheck() {
        ticker.advance(Duration.ofNanos(Long.MAX_VALUE)).advance(Duration.ofNanos(1)); // Long.MIN_VALUE
        start(builder(), "a");
        assertThat(lb.getBackendStats("a").health().sinceLastCheck()).isEmpty();

        scheduler.runDueTasks();

        assertThat(ticker.read()).isEqualTo(Long.MIN_VALUE);
        assertThat(lb.getBackendStats("a").health().sinceLastCheck()).contains(Duration.ZERO);
    }
}

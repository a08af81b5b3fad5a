package dev.ailb.health;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpHandler;
import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerListener;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ScriptedEndpoint;
import dev.ailb.testing.Traffic;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Active health checks against real servers on loopback ({@link LoopbackServer}s): answering 200 or
 * 503, one that accepts and never answers, one stopped and restarted on the same port, and one
 * that only accepts connections for the TCP check. Every round is
 * {@link LoadBalancer#performHealthChecks()}, which returns once each verdict is counted, so the
 * counts asserted are exact.
 */
class LoopbackHealthCheckTest {
    private static final String LOOPBACK = LoopbackServer.HOST;
    private static final String HEALTH_PATH = "/health";
    /**
     * Short, so that a round with a hanging backend stays short. A warm JVM answers a check on
     * loopback in a few milliseconds; see {@link #warmUpTheHttpCheck()} for a cold one.
     */
    private static final Duration CHECK_TIMEOUT = Duration.ofMillis(500);
    /** For the tests where nothing hangs: a bound that no check on loopback comes near. */
    private static final Duration GENEROUS_TIMEOUT = Duration.ofSeconds(5);
    private static final String CHECKER_THREAD_PREFIX = "ailb-health";
    /** How long a restarted server keeps trying to bind its port again. */
    private static final Duration REBIND_TIMEOUT = Duration.ofSeconds(5);

    private final List<LoopbackServer> servers = new ArrayList<>();
    private final List<LoadBalancer> balancers = new ArrayList<>();
    private final List<ExecutorService> userExecutors = new ArrayList<>();
    private Set<Thread> checkerThreadsBefore;

    /**
     * The first HTTP check in a JVM loads the JDK's HTTP client classes, a few hundred milliseconds,
     * part of which falls within the request's own timeout. One check with a generous timeout here
     * keeps that one-off cost out of the tests that use the short timeout.
     */
    @BeforeAll
    static void warmUpTheHttpCheck() {
        try (LoopbackServer server = LoopbackServer.start("warm-up",
                        Map.of(HEALTH_PATH, ScriptedEndpoint.answering(200)));
                LoadBalancer lb = LoadBalancer.builder()
                        .healthCheck(HealthCheck.http(HEALTH_PATH))
                        .healthCheckTimeout(GENEROUS_TIMEOUT)
                        .build()) {
            lb.addBackend("warm-up", LOOPBACK, server.port());
            lb.performHealthChecks();
            assertThat(lb.getBackendStats("warm-up").health().consecutiveCheckSuccesses()).isEqualTo(1);
        }
    }

    @BeforeEach
    void noteCheckerThreadsOfOtherTests() {
        // Balancers of other test classes in this JVM may still have idle workers winding down.
        checkerThreadsBefore = liveCheckerThreads();
    }

    /** Closing a server ends its held requests, and fails if its threads do not end in time. */
    @AfterEach
    void stopEverything() throws Exception {
        for (LoadBalancer lb : balancers) {
            lb.close();
        }
        for (LoopbackServer server : servers) {
            server.close();
        }
        for (ExecutorService executor : userExecutors) {
            executor.shutdownNow();
            assertThat(executor.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    // ---------------------------------------------------------------- thresholds

    @Test
    void http503AndHangingBackendsStayHealthyForTwoFailedRoundsAndGoDownExactlyOnTheThird() {
        // given
        LoopbackServer healthy = startServer("healthy", ScriptedEndpoint.answering(200));
        LoopbackServer failing = startServer("failing", ScriptedEndpoint.answering(503));
        ScriptedEndpoint neverAnswering = hangingUntilTestEnds();
        LoopbackServer hanging = startServer("hanging", neverAnswering);
        LoadBalancer lb = track(LoadBalancer.builder()
                .healthCheck(HealthCheck.http(HEALTH_PATH))
                .healthCheckTimeout(CHECK_TIMEOUT)
                .unhealthyThreshold(3)
                .build());
        Backend up = lb.addBackend("healthy", LOOPBACK, healthy.port());
        Backend failing503 = lb.addBackend("failing", LOOPBACK, failing.port());
        Backend silent = lb.addBackend("hanging", LOOPBACK, hanging.port());

        for (int round = 1; round <= 3; round++) {
            // when
            lb.performHealthChecks();

            // then
            HealthState downOnlyOnRoundThree = round < 3 ? HealthState.HEALTHY : HealthState.UNHEALTHY;
            assertThat(failing503.healthState()).as("503 backend after round %d", round)
                    .isEqualTo(downOnlyOnRoundThree);
            assertThat(silent.healthState()).as("hanging backend after round %d", round)
                    .isEqualTo(downOnlyOnRoundThree);
            assertThat(up.healthState()).as("healthy backend after round %d", round).isEqualTo(HealthState.HEALTHY);

            HealthStats of503 = health(lb, "failing");
            assertThat(of503.consecutiveCheckFailures()).as("503 failures after round %d", round).isEqualTo(round);
            assertThat(of503.lastFailureReason()).hasValueSatisfying(
                    reason -> assertThat(reason).contains("HTTP 503"));

            HealthStats ofHanging = health(lb, "hanging");
            assertThat(ofHanging.consecutiveCheckFailures()).as("hanging failures after round %d", round)
                    .isEqualTo(round);
            assertThat(ofHanging.lastFailureReason()).hasValueSatisfying(
                    reason -> assertThat(reason).contains("within " + CHECK_TIMEOUT));

            HealthStats ofHealthy = health(lb, "healthy");
            assertThat(ofHealthy.consecutiveCheckSuccesses()).isEqualTo(round);
            assertThat(ofHealthy.consecutiveCheckFailures()).isZero();
            assertThat(ofHealthy.lastFailureReason()).isEmpty();
        }
        assertThat(neverAnswering.requests()).as("the hanging server did receive the checks").isPositive();
    }

    @Test
    void backendsDownByHealthCheckGetNoneOfTheSelectionsOfAnyStrategy() {
        // given: a fall of one, so that a single round takes the 503 and the hanging backend down
        LoopbackServer healthy = startServer("healthy", ScriptedEndpoint.answering(200));
        LoopbackServer failing = startServer("failing", ScriptedEndpoint.answering(503));
        LoopbackServer hanging = startServer("hanging", hangingUntilTestEnds());
        LoadBalancer lb = track(LoadBalancer.builder()
                .healthCheck(HealthCheck.http(HEALTH_PATH))
                .healthCheckTimeout(CHECK_TIMEOUT)
                .unhealthyThreshold(1)
                .random(new Random(7))
                .build());
        Backend up = lb.addBackend("healthy", LOOPBACK, healthy.port());
        lb.addBackend("failing", LOOPBACK, failing.port());
        lb.addBackend("hanging", LOOPBACK, hanging.port());
        lb.performHealthChecks();
        assertThat(lb.getBackends()).extracting(Backend::healthState)
                .containsExactly(HealthState.HEALTHY, HealthState.UNHEALTHY, HealthState.UNHEALTHY);

        for (BalancingStrategy strategy : BalancingStrategy.builtIns()) {
            lb.setStrategy(strategy);

            // when
            Map<String, Integer> picks = Traffic.pickMany(lb, 200);

            // then
            assertThat(picks).as("picks of %s", strategy.name()).containsExactly(Map.entry("healthy", 200));
            assertThat(lb.getAvailableBackends()).containsExactly(up);
        }
        assertThat(lb.getBackendStats("failing").totalRequests()).isZero();
        assertThat(lb.getBackendStats("hanging").totalRequests()).isZero();
        assertThat(lb.getBackendStats("healthy").totalRequests())
                .isEqualTo(200L * BalancingStrategy.builtIns().size());
    }

    // ---------------------------------------------------------------- stop and restart

    @Test
    void stoppedServerGoesDownAfterFallRoundsAndComesBackAfterRiseRoundsOnTheSamePort() throws InterruptedException {
        // given
        ScriptedEndpoint health = ScriptedEndpoint.answering(200);
        LoopbackServer server = startServer("restarting", health);
        LoadBalancer lb = track(LoadBalancer.builder()
                .healthCheck(HealthCheck.http(HEALTH_PATH))
                .healthCheckTimeout(GENEROUS_TIMEOUT)
                .unhealthyThreshold(3)
                .healthyThreshold(2)
                .build());
        HealthChanges changes = new HealthChanges();
        lb.addListener(changes);
        Backend backend = lb.addBackend("restarting", LOOPBACK, server.port());
        lb.performHealthChecks();
        assertThat(backend.healthState()).isEqualTo(HealthState.HEALTHY);
        assertThat(health(lb, "restarting").consecutiveCheckSuccesses()).isEqualTo(1);

        // when: the server stops
        server.stop();
        List<String> reasonsWhileStopped = new ArrayList<>();
        List<HealthState> statesWhileStopped = new ArrayList<>();
        for (int round = 1; round <= 3; round++) {
            lb.performHealthChecks();
            reasonsWhileStopped.add(health(lb, "restarting").lastFailureReason().orElse("(none)"));
            statesWhileStopped.add(backend.healthState());
        }

        // then
        assertThat(statesWhileStopped)
                .containsExactly(HealthState.HEALTHY, HealthState.HEALTHY, HealthState.UNHEALTHY);
        assertThat(reasonsWhileStopped).allSatisfy(reason -> assertThat(reason).contains("connection refused"));
        assertThat(health(lb, "restarting").consecutiveCheckFailures()).isEqualTo(3);

        // when: it starts again on the same port
        int requestsBeforeRestart = health.requests();
        server.restart(REBIND_TIMEOUT);
        lb.performHealthChecks();
        HealthState afterFirstRound = backend.healthState();
        int successesAfterFirstRound = health(lb, "restarting").consecutiveCheckSuccesses();
        lb.performHealthChecks();

        // then
        assertThat(health.requests() - requestsBeforeRestart).isEqualTo(2);
        assertThat(afterFirstRound).isEqualTo(HealthState.UNHEALTHY);
        assertThat(successesAfterFirstRound).isEqualTo(1);
        assertThat(backend.healthState()).isEqualTo(HealthState.HEALTHY);
        assertThat(health(lb, "restarting").consecutiveCheckFailures()).isZero();
        assertThat(changes.all()).hasSize(2);
        assertThat(changes.all().get(0)).satisfies(change -> {
            assertThat(change.backendId()).isEqualTo("restarting");
            assertThat(change.previous()).isEqualTo(HealthState.HEALTHY);
            assertThat(change.current()).isEqualTo(HealthState.UNHEALTHY);
            assertThat(change.reason()).contains("3 health checks failed in a row").contains("connection refused");
        });
        assertThat(changes.all().get(1)).satisfies(change -> {
            assertThat(change.backendId()).isEqualTo("restarting");
            assertThat(change.previous()).isEqualTo(HealthState.UNHEALTHY);
            assertThat(change.current()).isEqualTo(HealthState.HEALTHY);
            assertThat(change.reason()).contains("2 health checks passed in a row");
        });
    }

    // ---------------------------------------------------------------- TCP

    @Test
    void tcpCheckKeepsAnAcceptingPortUpAndTakesARefusingPortDownAfterFallRounds() {
        // given: a server with no context still accepts every connection
        LoopbackServer open = startServer("accepting", Map.of());
        int closedPort = LoopbackServer.closedPort();
        LoadBalancer lb = track(LoadBalancer.builder()
                .healthCheck(HealthCheck.tcp())
                .healthCheckTimeout(GENEROUS_TIMEOUT)
                .unhealthyThreshold(3)
                .build());
        Backend accepting = lb.addBackend("accepting", LOOPBACK, open.port());
        Backend refusing = lb.addBackend("refusing", LOOPBACK, closedPort);

        // when
        lb.performHealthChecks();
        lb.performHealthChecks();
        HealthState refusingAfterTwoRounds = refusing.healthState();
        lb.performHealthChecks();

        // then
        assertThat(refusingAfterTwoRounds).isEqualTo(HealthState.HEALTHY);
        assertThat(refusing.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(health(lb, "refusing").consecutiveCheckFailures()).isEqualTo(3);
        assertThat(health(lb, "refusing").lastFailureReason()).hasValueSatisfying(
                reason -> assertThat(reason).contains("connection refused"));
        assertThat(accepting.healthState()).isEqualTo(HealthState.HEALTHY);
        assertThat(health(lb, "accepting").consecutiveCheckSuccesses()).isEqualTo(3);
        assertThat(health(lb, "accepting").lastFailureReason()).isEmpty();
    }

    // ---------------------------------------------------------------- initially unhealthy

    @Test
    void initiallyUnhealthyBackendComesUpOnItsFirstPassingCheckWhileA503OneStaysDown() {
        // given
        LoopbackServer healthy = startServer("healthy", ScriptedEndpoint.answering(200));
        LoopbackServer failing = startServer("failing", ScriptedEndpoint.answering(503));
        LoadBalancer lb = track(LoadBalancer.builder()
                .healthCheck(HealthCheck.http(HEALTH_PATH))
                .healthCheckTimeout(GENEROUS_TIMEOUT)
                .healthyThreshold(2)
                .initiallyHealthy(false)
                .build());
        HealthChanges changes = new HealthChanges();
        lb.addListener(changes);
        Backend up = lb.addBackend("healthy", LOOPBACK, healthy.port());
        Backend down = lb.addBackend("failing", LOOPBACK, failing.port());
        assertThat(up.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(down.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lb.getAvailableBackends()).isEmpty();

        // when
        lb.performHealthChecks();

        // then
        assertThat(up.healthState()).isEqualTo(HealthState.HEALTHY);
        assertThat(down.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(lb.getAvailableBackends()).containsExactly(up);
        assertThat(health(lb, "failing").lastFailureReason()).hasValueSatisfying(
                reason -> assertThat(reason).contains("HTTP 503"));
        assertThat(changes.all()).containsExactly(new HealthChange("healthy", HealthState.UNHEALTHY,
                HealthState.HEALTHY, "passed a health check for the first time"));
    }

    // ---------------------------------------------------------------- threads

    @Test
    void stoppingTheCheckerEndsAllItsThreadsAndItCanBeStartedAgain() {
        // given: rounds a day apart, so that only the rounds the test runs count
        LoopbackServer failing = startServer("failing", ScriptedEndpoint.answering(503));
        LoadBalancer lb = track(LoadBalancer.builder()
                .healthCheck(HealthCheck.http(HEALTH_PATH))
                .healthCheckTimeout(GENEROUS_TIMEOUT)
                .healthCheckInterval(Duration.ofDays(1))
                .healthCheckJitter(Duration.ofHours(12))
                .random(new Random(42))
                .unhealthyThreshold(3)
                .build());
        lb.addBackend("failing", LOOPBACK, failing.port());
        assertThat(lb.startHealthChecker()).isTrue();
        lb.performHealthChecks();
        assertThat(newCheckerThreadNames()).anyMatch(name -> name.startsWith("ailb-health-worker-"))
                .anyMatch(name -> !name.startsWith("ailb-health-worker-"));

        // when
        assertThat(lb.stopHealthChecker()).isTrue();

        // then
        assertThat(newCheckerThreadNames()).isEmpty();
        assertThat(lb.isHealthCheckerRunning()).isFalse();
        assertThat(health(lb, "failing").consecutiveCheckFailures()).isEqualTo(1);

        // when: started again
        assertThat(lb.startHealthChecker()).isTrue();
        lb.performHealthChecks();

        // then
        assertThat(lb.isHealthCheckerRunning()).isTrue();
        assertThat(newCheckerThreadNames()).anyMatch(name -> !name.startsWith("ailb-health-worker-"));
        assertThat(health(lb, "failing").consecutiveCheckFailures()).isEqualTo(2);
    }

    @Test
    void closingTheBalancerEndsAllCheckerThreads() {
        // given
        LoopbackServer healthy = startServer("healthy", ScriptedEndpoint.answering(200));
        LoadBalancer lb = track(LoadBalancer.builder()
                .healthCheck(HealthCheck.http(HEALTH_PATH))
                .healthCheckTimeout(GENEROUS_TIMEOUT)
                .healthCheckInterval(Duration.ofDays(1))
                .healthCheckJitter(Duration.ofHours(12))
                .random(new Random(42))
                .build());
        lb.addBackend("healthy", LOOPBACK, healthy.port());
        lb.startHealthChecker();
        lb.performHealthChecks();
        assertThat(newCheckerThreadNames()).isNotEmpty();

        // when
        lb.close();

        // then
        assertThat(newCheckerThreadNames()).isEmpty();
        assertThat(lb.isHealthCheckerRunning()).isFalse();
    }

    @Test
    void aSchedulerGivenByTheUserOutlivesStopAndClose() throws Exception {
        // given
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
                task -> daemon(task, "user-scheduler"));
        userExecutors.add(scheduler);
        LoopbackServer healthy = startServer("healthy", ScriptedEndpoint.answering(200));
        LoadBalancer lb = track(LoadBalancer.builder()
                .healthCheck(HealthCheck.http(HEALTH_PATH))
                .healthCheckTimeout(GENEROUS_TIMEOUT)
                .healthCheckInterval(Duration.ofDays(1))
                .healthCheckJitter(Duration.ofHours(12))
                .random(new Random(42))
                .healthCheckScheduler(scheduler)
                .build());
        lb.addBackend("healthy", LOOPBACK, healthy.port());
        lb.startHealthChecker();
        lb.performHealthChecks();

        // when
        lb.stopHealthChecker();

        // then
        assertThat(scheduler.isShutdown()).isFalse();
        assertThat(scheduler.submit(() -> "still running").get(5, TimeUnit.SECONDS)).isEqualTo("still running");
        assertThat(newCheckerThreadNames()).isEmpty();

        // when
        lb.startHealthChecker();
        lb.performHealthChecks();
        lb.close();

        // then
        assertThat(scheduler.isShutdown()).isFalse();
        assertThat(scheduler.submit(() -> "still running").get(5, TimeUnit.SECONDS)).isEqualTo("still running");
        assertThat(newCheckerThreadNames()).isEmpty();
        assertThat(health(lb, "healthy").consecutiveCheckSuccesses()).isEqualTo(2);
    }

    // ---------------------------------------------------------------- custom checks

    @Test
    void aCustomCheckThatThrowsCountsAsAFailureNamingTheException() {
        // given
        LoadBalancer lb = track(LoadBalancer.builder()
                .healthCheck(HealthCheck.blocking(backend -> {
                    throw new IllegalStateException("model not loaded");
                }))
                .healthCheckTimeout(GENEROUS_TIMEOUT)
                .unhealthyThreshold(1)
                .build());
        Backend backend = lb.addBackend("custom", LOOPBACK, 9);

        // when
        lb.performHealthChecks();

        // then
        assertThat(backend.healthState()).isEqualTo(HealthState.UNHEALTHY);
        HealthStats stats = health(lb, "custom");
        assertThat(stats.consecutiveCheckFailures()).isEqualTo(1);
        assertThat(stats.lastFailureReason()).hasValueSatisfying(reason -> assertThat(reason)
                .contains("IllegalStateException").contains("model not loaded"));
    }

    @Test
    void aCustomCheckThatReturnsNoResultCountsAsAFailure() {
        // given
        LoadBalancer lb = track(LoadBalancer.builder()
                .healthCheck(HealthCheck.blocking(backend -> null))
                .healthCheckTimeout(GENEROUS_TIMEOUT)
                .unhealthyThreshold(1)
                .build());
        Backend backend = lb.addBackend("custom", LOOPBACK, 9);

        // when
        lb.performHealthChecks();

        // then
        assertThat(backend.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(health(lb, "custom").lastFailureReason()).hasValueSatisfying(
                reason -> assertThat(reason).contains("returned no result"));
    }

    @Test
    void aCustomCheckThatReturnsNoStageCountsAsAFailure() {
        // given
        LoadBalancer lb = track(LoadBalancer.builder()
                .healthCheck((backend, context) -> null)
                .healthCheckTimeout(GENEROUS_TIMEOUT)
                .unhealthyThreshold(1)
                .build());
        Backend backend = lb.addBackend("custom", LOOPBACK, 9);

        // when
        lb.performHealthChecks();

        // then
        assertThat(backend.healthState()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(health(lb, "custom").lastFailureReason()).hasValueSatisfying(
                reason -> assertThat(reason).contains("returned no result"));
    }

    // ---------------------------------------------------------------- helpers

    private LoadBalancer track(LoadBalancer lb) {
        balancers.add(lb);
        return lb;
    }

    private static HealthStats health(LoadBalancer lb, String id) {
        return lb.getBackendStats(id).health();
    }

    private static Set<Thread> liveCheckerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith(CHECKER_THREAD_PREFIX) && t.isAlive())
                .collect(Collectors.toSet());
    }

    /**
     * Checker threads alive now that were not alive when the test began. Read right after
     * {@code stopHealthChecker()} or {@code close()} without waiting: both promise that the
     * threads they stop have ended when they return.
     */
    private List<String> newCheckerThreadNames() {
        return liveCheckerThreads().stream()
                .filter(t -> !checkerThreadsBefore.contains(t))
                .map(Thread::getName)
                .sorted()
                .collect(Collectors.toList());
    }

    private LoopbackServer startServer(String name, ScriptedEndpoint health) {
        return startServer(name, Map.of(HEALTH_PATH, health));
    }

    private LoopbackServer startServer(String name, Map<String, HttpHandler> contexts) {
        LoopbackServer server = LoopbackServer.start(name, contexts);
        servers.add(server);
        return server;
    }

    /** Accepts the checks and answers none of them; {@link #stopEverything} ends them. */
    private static ScriptedEndpoint hangingUntilTestEnds() {
        return ScriptedEndpoint.answering(200).hold();
    }

    private static Thread daemon(Runnable task, String name) {
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        return thread;
    }

    /** One health change a listener heard. */
    private record HealthChange(String backendId, HealthState previous, HealthState current, String reason) {}

    /** Records every health change, from whichever thread reports it. */
    private static final class HealthChanges implements LoadBalancerListener {
        private final List<HealthChange> changes = new CopyOnWriteArrayList<>();

        @Override
        public void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current,
                String reason) {
            changes.add(new HealthChange(backend.id(), previous, current, reason));
        }

        List<HealthChange> all() {
            return List.copyOf(changes);
        }
    }
}

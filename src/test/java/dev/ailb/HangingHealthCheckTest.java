package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.health.HealthCheck;
import dev.ailb.health.HealthCheckContext;
import dev.ailb.health.HealthCheckResult;
import dev.ailb.health.HealthState;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.ScriptedHealthCheck;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Health checks that never answer, over a thousand rounds in virtual time: each backend has at most
 * one check under way, the blocking ones hold one worker thread per backend and no more, and the
 * backends whose checks do answer are still checked every round, however many others hang.
 */
class HangingHealthCheckTest {
    private static final Duration INTERVAL = Duration.ofSeconds(5);
    private static final Duration TIMEOUT = Duration.ofSeconds(2);
    private static final int ROUNDS = 1_000;

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private final CountDownLatch never = new CountDownLatch(1);
    private LoadBalancer lb;

    @AfterEach
    void release() {
        never.countDown();
        if (lb != null) {
            lb.close();
        }
    }

    private LoadBalancerBuilder builder(HealthCheck check) {
        return LoadBalancer.builder()
                .ticker(ticker)
                .healthCheck(check)
                .healthCheckScheduler(scheduler)
                .healthCheckInterval(INTERVAL)
                .healthCheckJitter(Duration.ZERO)
                .healthCheckTimeout(TIMEOUT);
    }

    private void runRounds(int rounds) {
        for (int i = 0; i < rounds; i++) {
            scheduler.advance(INTERVAL);
        }
    }

    @Test
    void blockingChecksThatNeverReturnStartOncePerBackendAndHoldOneWorkerEach() {
        BlockingUnlessHealthy check = new BlockingUnlessHealthy(never, "ok-1", "ok-2");
        lb = builder(check).build();
        for (int i = 1; i <= 20; i++) {
            lb.addBackend("hung-" + i, "10.0.1." + i, 8000);
        }
        lb.addBackend("ok-1", "10.0.2.1", 8000);
        lb.addBackend("ok-2", "10.0.2.2", 8000);
        Set<Thread> workersBefore = workerThreads();

        lb.startHealthChecker();
        scheduler.runDueTasks();
        assertThat(check.blocked()).as("every hung check started its work").isEqualTo(20);
        runRounds(ROUNDS);

        for (int i = 1; i <= 20; i++) {
            String id = "hung-" + i;
            assertThat(check.calls(id)).as("checks started for %s", id).isEqualTo(1);
            assertThat(lb.getBackend(id).orElseThrow().healthState()).isEqualTo(HealthState.UNHEALTHY);
            assertThat(lb.getBackendStats(id).health().consecutiveCheckFailures()).isEqualTo(ROUNDS + 1);
        }
        assertThat(check.blocked()).as("blocking calls running").isEqualTo(20);
        Set<Thread> started = workerThreads();
        started.removeAll(workersBefore);
        assertThat(started).hasSize(20);
        for (String id : new String[] {"ok-1", "ok-2"}) {
            assertThat(check.calls(id)).isEqualTo(ROUNDS + 1);
            assertThat(lb.getBackendStats(id).health().consecutiveCheckSuccesses()).isEqualTo(ROUNDS + 1);
            assertThat(lb.getBackend(id).orElseThrow().isAvailable()).isTrue();
        }
        assertThat(scheduler.pendingTasks()).as("the next round and nothing else").isEqualTo(1);
    }

    @Test
    void blockingChecksOfHealthyBackendsStillRunBesideAFewThatNeverReturn() {
        BlockingUnlessHealthy check = new BlockingUnlessHealthy(never, "ok-1", "ok-2").answeringOnAWorker();
        lb = builder(check).build();
        for (int i = 1; i <= 3; i++) {
            lb.addBackend("hung-" + i, "10.0.1." + i, 8000);
        }
        lb.addBackend("ok-1", "10.0.2.1", 8000);
        lb.addBackend("ok-2", "10.0.2.2", 8000);

        lb.startHealthChecker();
        scheduler.runDueTasks();
        assertThat(check.blocked()).as("every hung check started its work").isEqualTo(3);
        for (int round = 1; round <= ROUNDS; round++) {
            int passed = round;
            assertThat(spinUntil(() -> successes("ok-1") == passed && successes("ok-2") == passed))
                    .as("both healthy backends answered round %d", round).isTrue();
            scheduler.advance(INTERVAL);
        }

        for (int i = 1; i <= 3; i++) {
            assertThat(check.calls("hung-" + i)).isEqualTo(1);
            assertThat(lb.getBackend("hung-" + i).orElseThrow().healthState()).isEqualTo(HealthState.UNHEALTHY);
        }
        assertThat(check.blocked()).isEqualTo(3);
        assertThat(lb.getAllStats().metrics().healthyBackends()).isEqualTo(2);
    }

    @Test
    void sixteenHungBlockingChecksDoNotHoldUpAHealthyBackendsBlockingCheckEvenInTheFirstRound() {
        BlockingUnlessHealthy check = new BlockingUnlessHealthy(never, "ok").answeringOnAWorker();
        lb = builder(check).unhealthyThreshold(1).build();
        for (int i = 1; i <= 16; i++) {
            lb.addBackend("hung-" + i, "10.0.1." + i, 8000);
        }
        lb.addBackend("ok", "10.0.2.1", 8000);

        lb.startHealthChecker();
        scheduler.runDueTasks();
        assertThat(check.blocked()).as("every hung check started its work").isEqualTo(16);
        for (int round = 1; round <= 100; round++) {
            int passed = round;
            assertThat(spinUntil(() -> successes("ok") == passed)).as("ok answered round %d", round).isTrue();
            scheduler.advance(INTERVAL);
        }

        assertThat(check.blocked()).isEqualTo(16);
        assertThat(lb.getBackendStats("ok").health().consecutiveCheckFailures()).isZero();
        assertThat(lb.getBackend("ok").orElseThrow().isAvailable()).isTrue();
        for (int i = 1; i <= 16; i++) {
            assertThat(lb.getBackend("hung-" + i).orElseThrow().healthState()).isEqualTo(HealthState.UNHEALTHY);
        }
    }

    @Test
    void onDemandRoundsCountOneVerdictPerBackendEachWhileSixteenBlockingChecksHang() {
        BlockingUnlessHealthy check = new BlockingUnlessHealthy(never, "ok");
        lb = LoadBalancer.builder().healthCheck(check).healthCheckTimeout(Duration.ofMillis(100))
                .unhealthyThreshold(5).build();
        for (int i = 1; i <= 16; i++) {
            lb.addBackend("hung-" + i, "10.0.1." + i, 8000);
        }
        lb.addBackend("ok", "10.0.2.1", 8000);

        for (int round = 1; round <= 3; round++) {
            lb.performHealthChecks();
        }

        for (int i = 1; i <= 16; i++) {
            assertThat(lb.getBackendStats("hung-" + i).health().consecutiveCheckFailures())
                    .as("hung-%d", i).isEqualTo(3);
        }
        assertThat(check.calls("hung-1")).isEqualTo(1);
        assertThat(successes("ok")).isEqualTo(3);
    }

    @Test
    void aBlockingCheckThatEndsLateFreesItsBackendForTheNextRound() {
        CountDownLatch slow = new CountDownLatch(1);
        BlockingUnlessHealthy check = new BlockingUnlessHealthy(slow);
        lb = builder(check).unhealthyThreshold(1).healthyThreshold(1).build();
        lb.addBackend("slow", "10.0.3.1", 8000);

        lb.startHealthChecker();
        scheduler.runDueTasks(); // the round at 0 s: the check blocks
        assertThat(check.blocked()).isEqualTo(1); // a check cancelled before its work began holds nothing
        scheduler.advance(TIMEOUT);
        assertThat(lb.getBackendStats("slow").health().lastFailureReason()).contains("no verdict within PT2S");

        scheduler.advance(INTERVAL.minus(TIMEOUT)); // back on the rounds' beat: 5 s
        runRounds(2);
        assertThat(check.calls("slow")).isEqualTo(1);
        assertThat(lb.getBackendStats("slow").health().consecutiveCheckFailures()).isEqualTo(4);
        assertThat(lb.getBackendStats("slow").health().lastFailureReason().orElseThrow())
                .isEqualTo("previous health check still under way, past its timeout of PT2S");

        slow.countDown();
        // The next round that finds the first check ended starts a second one, which passes at once;
        // time stops at that round, before the second check's timeout, until its verdict is in.
        assertThat(spinUntil(() -> {
            if (check.calls("slow") < 2) {
                runRounds(1);
            }
            // The state is the last thing a verdict changes; the streaks are visible a moment before.
            return check.calls("slow") == 2
                    && lb.getBackend("slow").orElseThrow().healthState() == HealthState.HEALTHY;
        })).as("checks %d, %s", check.calls("slow"), lb.getBackendStats("slow").health()).isTrue();
        assertThat(successes("slow")).isEqualTo(1);
    }

    private int successes(String id) {
        return lb.getBackendStats(id).health().consecutiveCheckSuccesses();
    }

    @Test
    void asynchronousChecksThatNeverAnswerKeepOneCheckPerBackendAndNoThread() {
        ScriptedHealthCheck check = new ScriptedHealthCheck(ticker::read);
        lb = builder(check).build();
        lb.addBackend("hung", "10.0.4.1", 8000);
        lb.addBackend("ok", "10.0.4.2", 8000);
        check.hang("hung");
        Set<Thread> workersBefore = workerThreads();

        lb.startHealthChecker();
        scheduler.runDueTasks();
        for (int i = 0; i < ROUNDS; i++) {
            scheduler.advance(TIMEOUT.minusNanos(1));
            assertThat(scheduler.pendingTasks()).as("the next round and one timeout").isEqualTo(2);
            scheduler.advance(INTERVAL.minus(TIMEOUT).plusNanos(1));
        }

        assertThat(check.checks("hung")).isEqualTo(ROUNDS + 1);
        assertThat(lb.getBackendStats("hung").health().consecutiveCheckFailures()).isEqualTo(ROUNDS);
        assertThat(lb.getBackendStats("ok").health().consecutiveCheckSuccesses()).isEqualTo(ROUNDS + 1);
        Set<Thread> started = workerThreads();
        started.removeAll(workersBefore);
        assertThat(started).isEmpty();
    }

    private static Set<Thread> workerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("ailb-health-worker-"))
                .collect(Collectors.toSet());
    }

    /**
     * Answers healthy for the backends named healthy, at once or from a worker thread; for the
     * others it blocks a worker thread on a latch. Counts the checks started per backend and the
     * calls blocked right now.
     */
    private static final class BlockingUnlessHealthy implements HealthCheck {
        private final CountDownLatch latch;
        private final Set<String> healthy;
        private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
        private final AtomicInteger blocked = new AtomicInteger();
        private final AtomicInteger running = new AtomicInteger();
        private boolean onAWorker;

        BlockingUnlessHealthy(CountDownLatch latch, String... healthy) {
            this.latch = latch;
            this.healthy = Set.of(healthy);
        }

        BlockingUnlessHealthy answeringOnAWorker() {
            onAWorker = true;
            return this;
        }

        @Override
        public CompletionStage<HealthCheckResult> check(Backend backend, HealthCheckContext context) {
            calls.computeIfAbsent(backend.id(), id -> new AtomicInteger()).incrementAndGet();
            if (healthy.contains(backend.id())) {
                return onAWorker
                        ? CompletableFuture.supplyAsync(HealthCheckResult::healthy, context.executor())
                        : CompletableFuture.completedFuture(HealthCheckResult.healthy());
            }
            running.incrementAndGet();
            return CompletableFuture.supplyAsync(() -> {
                blocked.incrementAndGet();
                try {
                    latch.await();
                    return HealthCheckResult.healthy();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return HealthCheckResult.unhealthy("interrupted");
                } finally {
                    blocked.decrementAndGet();
                    running.decrementAndGet();
                }
            }, context.executor());
        }

        int calls(String id) {
            AtomicInteger n = calls.get(id);
            return n == null ? 0 : n.get();
        }

        /** How many calls are inside the blocking wait now; waits until every started call got there. */
        int blocked() {
            return spinUntil(() -> blocked.get() >= running.get())
                    ? blocked.get() : -1;
        }
    }

    /** Polls until the condition holds; false if it still does not after a generous 10 s. */
    private static boolean spinUntil(BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.yield(); // the awaited work runs on other threads: let them have the CPU
        }
        return true;
    }
}

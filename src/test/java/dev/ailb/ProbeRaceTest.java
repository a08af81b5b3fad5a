package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.health.HealthCheck;
import dev.ailb.health.HealthCheckResult;
import dev.ailb.health.HealthState;
import dev.ailb.health.HealthStats;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Periodic and on-demand rounds that meet one probe of a backend from different threads: the
 * moment a forced outcome is applied, a call that has not returned yet, a round whose caller was
 * interrupted. Each time there is one probe of the backend under way, and its outcome is counted
 * by its own timeout, never before.
 */
class ProbeRaceTest {
    private final CountDownLatch never = new CountDownLatch(1);
    private LoadBalancer lb;

    @AfterEach
    void release() {
        never.countDown();
        if (lb != null) {
            lb.close();
        }
    }

    @Test
    void aRoundRunWhileATimedOutVerdictIsAppliedFindsTheBackendBusyAndStartsNothing() {
        ManualTicker ticker = new ManualTicker();
        ManualScheduler scheduler = new ManualScheduler(ticker);
        AtomicInteger calls = new AtomicInteger();
        AtomicInteger blocked = new AtomicInteger();
        HealthCheck hanging = (backend, context) -> {
            calls.incrementAndGet();
            return CompletableFuture.supplyAsync(() -> {
                blocked.incrementAndGet();
                try {
                    never.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return HealthCheckResult.healthy();
            }, context.executor());
        };
        lb = LoadBalancer.builder().ticker(ticker).healthCheckScheduler(scheduler).healthCheck(hanging)
                .healthCheckInterval(Duration.ofSeconds(5)).healthCheckJitter(Duration.ZERO)
                .healthCheckTimeout(Duration.ofSeconds(2)).unhealthyThreshold(1).build();
        AtomicBoolean probedFromListener = new AtomicBoolean();
        lb.addListener(new LoadBalancerListener() {
            @Override
            public void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current,
                    String reason) {
                // An on-demand round at the very moment the timed-out verdict is being applied.
                if (probedFromListener.compareAndSet(false, true)) {
                    lb.performHealthChecks();
                }
            }
        });
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.startHealthChecker();
        scheduler.runDueTasks();
        assertThat(spinUntil(() -> blocked.get() == 1)).isTrue();

        scheduler.advance(Duration.ofSeconds(2)); // the timeout: its verdict's listener runs a round

        assertThat(probedFromListener).isTrue();
        assertThat(calls).as("checks started").hasValue(1);
        HealthStats health = lb.getBackendStats("a").health();
        assertThat(health.consecutiveCheckFailures()).isEqualTo(2);
        assertThat(health.lastFailureReason()).hasValue("previous health check still under way, past its timeout of PT2S");
    }

    @Test
    void anOnDemandRoundJoiningACheckWhoseCallHasNotReturnedWaitsForItsVerdict() throws InterruptedException {
        ManualTicker ticker = new ManualTicker();
        ManualScheduler scheduler = new ManualScheduler(ticker);
        CountDownLatch inCall = new CountDownLatch(1);
        CountDownLatch returnFromCall = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        HealthCheck slowFirstCall = (backend, context) -> {
            if (calls.incrementAndGet() == 1) {
                inCall.countDown(); // the first call is slow to return, as one creating a client is
                await(returnFromCall);
            }
            return CompletableFuture.completedFuture(HealthCheckResult.healthy());
        };
        lb = LoadBalancer.builder().ticker(ticker).healthCheckScheduler(scheduler).healthCheck(slowFirstCall)
                .healthCheckInterval(Duration.ofSeconds(60)).healthCheckJitter(Duration.ZERO)
                .healthCheckTimeout(Duration.ofMillis(20)).initiallyHealthy(false).build();
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.startHealthChecker();
        Thread periodic = new Thread(scheduler::runDueTasks, "periodic-round");
        periodic.start();
        await(inCall);

        Thread onDemand = new Thread(lb::performHealthChecks, "on-demand-round");
        onDemand.start();
        // The on-demand round joins the check under way (its launch is over, its worker idle) and
        // waits for that check's call to return.
        assertThat(spinUntil(() -> onDemand.getState() == Thread.State.TIMED_WAITING && workersIdle())).isTrue();
        assertThat(lb.getBackendStats("a").health().consecutiveCheckFailures()).isZero();
        returnFromCall.countDown();
        periodic.join();
        onDemand.join();

        HealthStats health = lb.getBackendStats("a").health();
        assertThat(calls).hasValue(1);
        assertThat(health.consecutiveCheckFailures()).isZero();
        assertThat(health.consecutiveCheckSuccesses()).isEqualTo(1);
        assertThat(lb.getBackend("a").orElseThrow().isHealthy()).isTrue();
    }

    @Test
    void aCheckLeftWithoutATimerByAnInterruptedRoundIsExpiredByThePeriodicRounds() {
        AtomicInteger calls = new AtomicInteger();
        HealthCheck neverAnswers = (backend, context) -> {
            calls.incrementAndGet();
            return new CompletableFuture<>();
        };
        lb = LoadBalancer.builder().healthCheck(neverAnswers).healthCheckTimeout(Duration.ofMillis(50))
                .healthCheckInterval(Duration.ofMillis(20)).healthCheckJitter(Duration.ZERO).build();
        lb.addBackend("a", "10.0.0.1", 8000);
        Thread.currentThread().interrupt();
        lb.performHealthChecks(); // no scheduler yet, so no timer: only this round's wait bounds it
        assertThat(Thread.interrupted()).isTrue();
        assertThat(spinUntil(() -> calls.get() == 1)).as("the interrupted round's check started").isTrue();

        lb.startHealthChecker();

        assertThat(spinUntil(() -> lb.getBackendStats("a").health().consecutiveCheckFailures() >= 2))
                .as("%s after %d checks", lb.getBackendStats("a").health(), calls.get()).isTrue();
        assertThat(lb.getBackendStats("a").health().lastFailureReason()).hasValue("no verdict within PT0.05S");
    }

    private static boolean workersIdle() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("ailb-health-worker-"))
                .noneMatch(t -> t.getState() == Thread.State.RUNNABLE);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Polls until the condition holds; false if it still does not after a generous 10 s. */
    private static boolean spinUntil(BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.yield();
        }
        return true;
    }
}

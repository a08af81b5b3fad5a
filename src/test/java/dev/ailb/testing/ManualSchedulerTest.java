package dev.ailb.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The virtual-time scheduler runs exactly what is due, exactly when the test moves time, and nothing else. */
class ManualSchedulerTest {
    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    /** What ran, in order; each entry is a label, or a label and the virtual second it ran at. */
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    private Runnable record(String label) {
        return () -> log.add(label + "@" + seconds());
    }

    private long seconds() {
        return TimeUnit.NANOSECONDS.toSeconds(ticker.read());
    }

    @Test
    void runsTasksInDueOrderWithTiesInSubmissionOrder() {
        scheduler.schedule(record("c"), 3, TimeUnit.SECONDS);
        scheduler.schedule(record("b1"), 2, TimeUnit.SECONDS);
        scheduler.schedule(record("a"), 1, TimeUnit.SECONDS);
        scheduler.schedule(record("b2"), 2000, TimeUnit.MILLISECONDS);
        scheduler.execute(record("now"));
        scheduler.schedule(record("b3"), 2, TimeUnit.SECONDS);

        assertThat(scheduler.advance(Duration.ofSeconds(5))).isEqualTo(6);

        assertThat(log).containsExactly("now@0", "a@1", "b1@2", "b2@2", "b3@2", "c@3");
        assertThat(ticker.read()).isEqualTo(Duration.ofSeconds(5).toNanos());
        assertThat(scheduler.pendingTasks()).isZero();
        assertThat(scheduler.nextDelay()).isEmpty();
    }

    @Test
    void nothingRunsUntilTheTestMovesTime() {
        scheduler.execute(record("now"));
        scheduler.schedule(record("later"), 10, TimeUnit.SECONDS);

        assertThat(log).isEmpty();
        assertThat(scheduler.pendingTasks()).isEqualTo(2);
        assertThat(scheduler.nextDelay()).contains(Duration.ZERO);

        assertThat(scheduler.runDueTasks()).isEqualTo(1);
        assertThat(log).containsExactly("now@0");
        assertThat(ticker.read()).isZero();

        assertThat(scheduler.advance(Duration.ofSeconds(9))).isZero();
        assertThat(log).containsExactly("now@0");
        assertThat(scheduler.nextDelay()).contains(Duration.ofSeconds(1));

        assertThat(scheduler.advance(Duration.ofSeconds(1))).isEqualTo(1);
        assertThat(log).containsExactly("now@0", "later@10");
    }

    @Test
    void runDueTasksRunsWhatBecameDueWhenTheTickerWasMovedDirectly() {
        scheduler.schedule(record("a"), 1, TimeUnit.SECONDS);
        scheduler.schedule(record("b"), 2, TimeUnit.SECONDS);
        scheduler.schedule(record("c"), 3, TimeUnit.SECONDS);

        ticker.advance(Duration.ofSeconds(2));
        assertThat(log).isEmpty();
        assertThat(scheduler.nextDelay()).contains(Duration.ZERO);

        assertThat(scheduler.runDueTasks()).isEqualTo(2);
        assertThat(log).containsExactly("a@2", "b@2");
        assertThat(ticker.read()).isEqualTo(Duration.ofSeconds(2).toNanos());
        assertThat(scheduler.nextDelay()).contains(Duration.ofSeconds(1));
    }

    @Test
    void fixedRateRunsEveryPeriodFromTheInitialDelay() {
        ScheduledFuture<?> future = scheduler.scheduleAtFixedRate(record("tick"), 5, 10, TimeUnit.SECONDS);

        assertThat(scheduler.advance(Duration.ofSeconds(30))).isEqualTo(3);

        assertThat(log).containsExactly("tick@5", "tick@15", "tick@25");
        assertThat(future.isDone()).isFalse();
        assertThat(future.getDelay(TimeUnit.SECONDS)).isEqualTo(5);
        assertThat(scheduler.pendingTasks()).isEqualTo(1);
        assertThat(scheduler.nextDelay()).contains(Duration.ofSeconds(5));
    }

    @Test
    void fixedRateKeepsItsBeatWhenARunTakesTime() {
        // A task that moves the ticker stands for one that takes that long to run.
        scheduler.scheduleAtFixedRate(() -> {
            log.add("tick@" + seconds());
            ticker.advance(Duration.ofSeconds(3));
        }, 5, 10, TimeUnit.SECONDS);

        assertThat(scheduler.advance(Duration.ofSeconds(30))).isEqualTo(3);

        assertThat(log).containsExactly("tick@5", "tick@15", "tick@25");
        assertThat(ticker.read()).isEqualTo(Duration.ofSeconds(30).toNanos());
    }

    @Test
    void fixedDelayWaitsThePeriodAfterEachRunEnds() {
        // A task that moves the ticker stands for one that takes that long to run.
        ScheduledFuture<?> future = scheduler.scheduleWithFixedDelay(() -> {
            log.add("tick@" + seconds());
            ticker.advance(Duration.ofSeconds(3));
        }, 5, 10, TimeUnit.SECONDS);

        assertThat(scheduler.advance(Duration.ofSeconds(30))).isEqualTo(2);

        assertThat(log).containsExactly("tick@5", "tick@18");
        assertThat(ticker.read()).isEqualTo(Duration.ofSeconds(30).toNanos());
        assertThat(future.getDelay(TimeUnit.SECONDS)).isEqualTo(1);
    }

    @Test
    void fixedDelayWithInstantRunsKeepsThePeriod() {
        scheduler.scheduleWithFixedDelay(record("tick"), 0, 7, TimeUnit.SECONDS);

        assertThat(scheduler.advance(Duration.ofSeconds(21))).isEqualTo(4);

        assertThat(log).containsExactly("tick@0", "tick@7", "tick@14", "tick@21");
    }

    @Test
    void periodsMustBePositive() {
        assertThatThrownBy(() -> scheduler.scheduleAtFixedRate(record("x"), 0, 0, TimeUnit.SECONDS))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> scheduler.scheduleWithFixedDelay(record("x"), 0, -1, TimeUnit.SECONDS))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(scheduler.pendingTasks()).isZero();
    }

    @Test
    void aCancelledTaskIsTakenOutOfTheQueueAndNeverRuns() {
        ScheduledFuture<?> cancelled = scheduler.schedule(record("cancelled"), 1, TimeUnit.SECONDS);
        scheduler.schedule(record("kept"), 2, TimeUnit.SECONDS);

        assertThat(cancelled.cancel(false)).isTrue();

        assertThat(cancelled.isCancelled()).isTrue();
        assertThat(cancelled.isDone()).isTrue();
        assertThat(scheduler.pendingTasks()).isEqualTo(1);
        assertThat(scheduler.nextDelay()).contains(Duration.ofSeconds(2));
        assertThat(scheduler.advance(Duration.ofSeconds(5))).isEqualTo(1);
        assertThat(log).containsExactly("kept@2");
        assertThatThrownBy(cancelled::get).isInstanceOf(CancellationException.class);
        assertThat(cancelled.cancel(true)).isFalse();
    }

    @Test
    void cancellingAPeriodicTaskStopsItsRuns() {
        ScheduledFuture<?> future = scheduler.scheduleAtFixedRate(record("tick"), 1, 1, TimeUnit.SECONDS);
        scheduler.advance(Duration.ofSeconds(2));

        assertThat(future.cancel(true)).isTrue();

        assertThat(scheduler.advance(Duration.ofSeconds(5))).isZero();
        assertThat(log).containsExactly("tick@1", "tick@2");
        assertThat(future.isCancelled()).isTrue();
        assertThat(scheduler.pendingTasks()).isZero();
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
    }

    @Test
    void aPeriodicTaskMayCancelItselfWithoutInterruptingTheThreadThatAdvances() {
        List<ScheduledFuture<?>> self = new ArrayList<>();
        AtomicInteger runs = new AtomicInteger();
        self.add(scheduler.scheduleAtFixedRate(() -> {
            if (runs.incrementAndGet() == 2) {
                self.get(0).cancel(true);
            }
        }, 1, 1, TimeUnit.SECONDS));

        assertThat(scheduler.advance(Duration.ofSeconds(5))).isEqualTo(2);

        assertThat(runs).hasValue(2);
        assertThat(self.get(0).isCancelled()).isTrue();
        assertThat(Thread.interrupted()).isFalse();
    }

    @Test
    void aCompletedTaskGivesItsValue() throws Exception {
        ScheduledFuture<String> future = scheduler.schedule(() -> "done@" + seconds(), 4, TimeUnit.SECONDS);
        assertThat(future.isDone()).isFalse();
        assertThat(future.getDelay(TimeUnit.SECONDS)).isEqualTo(4);

        scheduler.advance(Duration.ofSeconds(10));

        assertThat(future.isDone()).isTrue();
        assertThat(future.isCancelled()).isFalse();
        assertThat(future.get()).isEqualTo("done@4");
        assertThat(future.getDelay(TimeUnit.SECONDS)).isEqualTo(-6);
        assertThat(future.cancel(false)).isFalse();
    }

    @Test
    void anExceptionFromAOneShotTaskIsKeptInItsFuture() {
        IllegalStateException boom = new IllegalStateException("boom");
        ScheduledFuture<Object> failing = scheduler.schedule(() -> {
            throw boom;
        }, 1, TimeUnit.SECONDS);
        Future<?> failingRunnable = scheduler.submit(() -> {
            throw boom;
        });
        scheduler.schedule(record("after"), 2, TimeUnit.SECONDS);

        assertThat(scheduler.advance(Duration.ofSeconds(3))).isEqualTo(3);

        assertThat(log).containsExactly("after@2");
        for (Future<?> future : List.of(failing, failingRunnable)) {
            assertThat(future.isDone()).isTrue();
            assertThat(future.isCancelled()).isFalse();
            assertThatThrownBy(future::get).isInstanceOf(ExecutionException.class).hasCause(boom);
        }
    }

    @Test
    void anExceptionFromAPeriodicTaskEndsItsRunsAndIsKeptInItsFuture() {
        IllegalStateException boom = new IllegalStateException("boom");
        AtomicInteger runs = new AtomicInteger();
        ScheduledFuture<?> future = scheduler.scheduleAtFixedRate(() -> {
            if (runs.incrementAndGet() == 3) {
                throw boom;
            }
        }, 1, 1, TimeUnit.SECONDS);
        scheduler.schedule(record("other"), 5, TimeUnit.SECONDS);

        assertThat(scheduler.advance(Duration.ofSeconds(10))).isEqualTo(4);

        assertThat(runs).hasValue(3);
        assertThat(log).containsExactly("other@5");
        assertThat(future.isDone()).isTrue();
        assertThat(future.isCancelled()).isFalse();
        assertThatThrownBy(future::get).isInstanceOf(ExecutionException.class).hasCause(boom);
        assertThat(scheduler.pendingTasks()).isZero();
    }

    @Test
    void tasksScheduledByTasksRunIfTheyFallDueWithinTheWindow() {
        scheduler.schedule(() -> {
            log.add("outer@" + seconds());
            scheduler.schedule(record("inner"), 2, TimeUnit.SECONDS);
            scheduler.schedule(record("beyond"), 10, TimeUnit.SECONDS);
            scheduler.execute(record("immediate"));
        }, 1, TimeUnit.SECONDS);
        scheduler.schedule(record("sibling"), 3, TimeUnit.SECONDS);

        assertThat(scheduler.advance(Duration.ofSeconds(5))).isEqualTo(4);

        // "inner" ties with "sibling" at 3s and was submitted after it.
        assertThat(log).containsExactly("outer@1", "immediate@1", "sibling@3", "inner@3");
        assertThat(scheduler.pendingTasks()).isEqualTo(1);
        assertThat(scheduler.nextDelay()).contains(Duration.ofSeconds(6));
    }

    @Test
    void runDueTasksAlsoRunsTasksThatRunningTasksMakeDue() {
        scheduler.execute(() -> {
            log.add("first@" + seconds());
            scheduler.execute(record("second"));
            scheduler.schedule(record("later"), 1, TimeUnit.SECONDS);
        });

        assertThat(scheduler.runDueTasks()).isEqualTo(2);

        assertThat(log).containsExactly("first@0", "second@0");
        assertThat(scheduler.pendingTasks()).isEqualTo(1);
    }

    @Test
    void submitQueuesATaskDueNow() throws Exception {
        Future<Integer> callable = scheduler.submit(() -> 42);
        Future<String> withResult = scheduler.submit(record("runnable"), "result");
        Future<?> plain = scheduler.submit(record("plain"));
        assertThat(callable.isDone()).isFalse();

        assertThat(scheduler.advance(Duration.ZERO)).isEqualTo(3);

        assertThat(callable.get()).isEqualTo(42);
        assertThat(withResult.get()).isEqualTo("result");
        assertThat(plain.get()).isNull();
        assertThat(log).containsExactly("runnable@0", "plain@0");
    }

    @Test
    void futuresCompareByDueTime() {
        ScheduledFuture<?> late = scheduler.schedule(record("late"), 2, TimeUnit.SECONDS);
        ScheduledFuture<?> early = scheduler.schedule(record("early"), 1, TimeUnit.SECONDS);

        assertThat(early.compareTo(late)).isNegative();
        assertThat(late.compareTo(early)).isPositive();
        assertThat(early.compareTo(early)).isZero();

        ticker.advance(Duration.ofMillis(1500));
        assertThat(early.getDelay(TimeUnit.MILLISECONDS)).isEqualTo(-500);
        assertThat(late.getDelay(TimeUnit.MILLISECONDS)).isEqualTo(500);
    }

    @Test
    void shutdownRejectsNewTasksAndDropsQueuedOnes() {
        ScheduledFuture<?> oneShot = scheduler.schedule(record("one-shot"), 1, TimeUnit.SECONDS);
        ScheduledFuture<?> periodic = scheduler.scheduleAtFixedRate(record("periodic"), 0, 1, TimeUnit.SECONDS);
        scheduler.runDueTasks();

        scheduler.shutdown();

        assertThat(scheduler.isShutdown()).isTrue();
        assertThat(scheduler.wasShutDown()).isTrue();
        assertThat(scheduler.isTerminated()).isTrue();
        assertThat(scheduler.awaitTermination(1, TimeUnit.DAYS)).isTrue();
        assertThat(oneShot.isCancelled()).isTrue();
        assertThat(periodic.isCancelled()).isTrue();
        assertThat(scheduler.pendingTasks()).isZero();
        assertThat(scheduler.nextDelay()).isEmpty();
        assertThatThrownBy(() -> scheduler.execute(record("x"))).isInstanceOf(RejectedExecutionException.class);
        assertThatThrownBy(() -> scheduler.submit(() -> 1)).isInstanceOf(RejectedExecutionException.class);
        assertThatThrownBy(() -> scheduler.schedule(record("x"), 1, TimeUnit.SECONDS))
                .isInstanceOf(RejectedExecutionException.class);
        assertThatThrownBy(() -> scheduler.scheduleWithFixedDelay(record("x"), 1, 1, TimeUnit.SECONDS))
                .isInstanceOf(RejectedExecutionException.class);

        assertThat(scheduler.advance(Duration.ofSeconds(10))).isZero();
        assertThat(log).containsExactly("periodic@0");
    }

    @Test
    void aPeriodicTaskThatShutsTheSchedulerDownIsNotRunAgain() {
        AtomicInteger runs = new AtomicInteger();
        ScheduledFuture<?> future = scheduler.scheduleAtFixedRate(() -> {
            runs.incrementAndGet();
            scheduler.shutdown();
        }, 1, 1, TimeUnit.SECONDS);

        assertThat(scheduler.advance(Duration.ofSeconds(5))).isEqualTo(1);

        assertThat(runs).hasValue(1);
        assertThat(future.isCancelled()).isTrue();
        assertThat(scheduler.pendingTasks()).isZero();
    }

    @Test
    void shutdownNowReturnsTheQueuedTasksInDueOrder() {
        ScheduledFuture<?> second = scheduler.schedule(record("second"), 2, TimeUnit.SECONDS);
        ScheduledFuture<?> first = scheduler.schedule(record("first"), 1, TimeUnit.SECONDS);
        scheduler.execute(record("ran"));
        scheduler.runDueTasks();

        List<Object> pending = List.copyOf(scheduler.shutdownNow());

        assertThat(pending).containsExactly(first, second);
        assertThat(first.isCancelled()).isTrue();
        assertThat(second.isCancelled()).isTrue();
        assertThat(scheduler.wasShutDown()).isTrue();
        assertThat(scheduler.isTerminated()).isTrue();
        assertThat(scheduler.advance(Duration.ofSeconds(5))).isZero();
        assertThat(log).containsExactly("ran@0");
    }

    @Test
    void advanceRejectsANegativeDuration() {
        assertThatThrownBy(() -> scheduler.advance(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(ticker.read()).isZero();
    }

    @Test
    void tasksMayBeScheduledFromOtherThreads() throws InterruptedException {
        int threads = 4;
        int perThread = 250;
        AtomicInteger runs = new AtomicInteger();
        List<Thread> submitters = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int offset = t;
            submitters.add(new Thread(() -> {
                for (int i = 0; i < perThread; i++) {
                    scheduler.schedule(runs::incrementAndGet, offset + i % 10, TimeUnit.SECONDS);
                }
            }));
        }
        submitters.forEach(Thread::start);
        for (Thread submitter : submitters) {
            submitter.join();
        }

        assertThat(scheduler.pendingTasks()).isEqualTo(threads * perThread);
        assertThat(scheduler.advance(Duration.ofSeconds(20))).isEqualTo(threads * perThread);
        assertThat(runs).hasValue(threads * perThread);
    }
}

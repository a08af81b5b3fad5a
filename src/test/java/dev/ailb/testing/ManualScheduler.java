package dev.ailb.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RunnableScheduledFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A {@link ScheduledExecutorService} that runs on virtual time: the reading of a {@link ManualTicker}.
 *
 * <p>It lets a test of code that schedules work (timeouts, periodic probes, delayed retries) decide
 * exactly when that work happens, without threads, sleeps or wall-clock timing. Nothing ever runs on
 * its own: queued tasks run only when the test calls {@link #advance(Duration)} or
 * {@link #runDueTasks()}, and they run right there, on the calling thread, one after another in due
 * order (ties in submission order). {@link #execute} and {@code submit} queue a task due now.
 *
 * <p>The futures it returns behave like the JDK's: {@code cancel} takes the task out of the queue,
 * {@code get()} of a finished task returns its value or throws {@code ExecutionException}, and an
 * exception from a periodic task ends its runs and becomes its future's outcome. A task's exception
 * never escapes {@code advance} or {@code runDueTasks}.
 *
 * <p>{@link #shutdown()} rejects new tasks and, unlike {@code ScheduledThreadPoolExecutor}, drops and
 * cancels every queued task, delayed one-shots included; nothing runs in the background, so the
 * scheduler is terminated as soon as it is shut down.
 *
 * <p>Tasks may be scheduled from any thread; the queue is guarded by a lock that is never held while a
 * task runs, so tasks may schedule or cancel tasks. Time itself should be driven by one thread at a
 * time. A blocking {@code get()} on an unfinished future, and the inherited {@code invokeAll} and
 * {@code invokeAny}, wait until some other thread advances time: called from the thread that drives
 * time, they wait forever.
 */
public final class ManualScheduler extends AbstractExecutorService implements ScheduledExecutorService {
    private final ManualTicker ticker;
    private final Object lock = new Object();
    // Guarded by lock. Ordered by due time, then by sequence number; cancel() removes a task eagerly.
    private final PriorityQueue<Task<?>> queue = new PriorityQueue<>();
    private long nextSequence;
    private boolean shutdown;

    /**
     * Creates a scheduler whose clock is {@code ticker}.
     *
     * @param ticker the ticker whose reading is the current time; {@link #advance(Duration)} moves it
     */
    public ManualScheduler(ManualTicker ticker) {
        this.ticker = Objects.requireNonNull(ticker, "ticker");
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        Objects.requireNonNull(command, "command");
        return enqueue(new Task<Void>(command, dueAfter(delay, unit), 0, false));
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        Objects.requireNonNull(callable, "callable");
        return enqueue(new Task<>(callable, dueAfter(delay, unit)));
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        return schedulePeriodic(command, initialDelay, period, unit, true);
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        return schedulePeriodic(command, initialDelay, delay, unit, false);
    }

    @Override
    public void execute(Runnable command) {
        schedule(command, 0, TimeUnit.NANOSECONDS);
    }

    // The three submits are overridden so that the future handed out is the queued task itself, whose
    // cancel() takes it out of the queue; the inherited ones would wrap it in a second future.
    @Override
    public Future<?> submit(Runnable task) {
        return schedule(task, 0, TimeUnit.NANOSECONDS);
    }

    @Override
    public <T> Future<T> submit(Runnable task, T result) {
        Objects.requireNonNull(task, "task");
        return schedule(Executors.callable(task, result), 0, TimeUnit.NANOSECONDS);
    }

    @Override
    public <T> Future<T> submit(Callable<T> task) {
        return schedule(task, 0, TimeUnit.NANOSECONDS);
    }

    /** Rejects new tasks from now on, and drops and cancels every queued task. */
    @Override
    public void shutdown() {
        for (Task<?> task : drainOnShutdown()) {
            task.cancel(false);
        }
    }

    /**
     * Rejects new tasks from now on, and drops and cancels every queued task.
     *
     * @return the tasks that were waiting in the queue, in due order; they are the futures handed out
     *     for them, already cancelled (nothing here would ever run them, and a cancelled future fails
     *     fast in {@code get()} instead of blocking forever)
     */
    @Override
    public List<Runnable> shutdownNow() {
        List<Task<?>> dropped = drainOnShutdown();
        for (Task<?> task : dropped) {
            task.cancel(false);
        }
        return new ArrayList<>(dropped);
    }

    @Override
    public boolean isShutdown() {
        synchronized (lock) {
            return shutdown;
        }
    }

    /** Same as {@link #isShutdown()}: no task ever runs in the background, so nothing is left to finish. */
    @Override
    public boolean isTerminated() {
        return isShutdown();
    }

    /** Returns {@link #isTerminated()} at once: waiting could never change it. */
    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        Objects.requireNonNull(unit, "unit");
        return isTerminated();
    }

    /**
     * Moves time forward by {@code by}, stopping at the due time of each task that falls due within
     * that window to run it on the calling thread, in due order, ties in submission order. Tasks that
     * running tasks schedule are run too if they fall due within the window, and so are the next runs
     * of periodic tasks. Ends with the ticker at the start reading plus {@code by} (or later, if a task
     * moved the ticker further itself).
     *
     * @param by how far to move time; zero runs the tasks due now, like {@link #runDueTasks()}
     * @return the number of tasks run, counting each run of a periodic task
     * @throws IllegalArgumentException if {@code by} is negative
     */
    public int advance(Duration by) {
        Objects.requireNonNull(by, "by");
        if (by.isNegative()) {
            throw new IllegalArgumentException("by must not be negative: " + by);
        }
        long end = saturatedAdd(ticker.read(), by.toNanos());
        int ran = 0;
        for (Task<?> task = pollDueBy(end); task != null; task = pollDueBy(end)) {
            moveTickerTo(task.due);
            task.run();
            ran++;
        }
        moveTickerTo(end);
        return ran;
    }

    /**
     * Runs, on the calling thread, every task due at the current reading of the ticker, including tasks
     * that fall due meanwhile (submitted by running tasks, or because a task moved the ticker). Does not
     * move the ticker; use it after a test has advanced the ticker directly.
     *
     * @return the number of tasks run
     */
    public int runDueTasks() {
        int ran = 0;
        // The ticker is read again for each task, since a running task may have moved it.
        for (Task<?> task = pollDueBy(ticker.read()); task != null; task = pollDueBy(ticker.read())) {
            task.run();
            ran++;
        }
        return ran;
    }

    /**
     * Returns the number of queued tasks, not counting cancelled ones. A periodic task counts once.
     *
     * @return the number of tasks waiting to run
     */
    public int pendingTasks() {
        synchronized (lock) {
            int pending = 0;
            for (Task<?> task : queue) {
                if (!task.isCancelled()) {
                    pending++;
                }
            }
            return pending;
        }
    }

    /**
     * Returns the time from now until the first queued task is due, zero if it is already due.
     *
     * @return the delay until the next task, or empty if no task is queued
     */
    public Optional<Duration> nextDelay() {
        synchronized (lock) {
            long now = ticker.read();
            return queue.stream()
                    .filter(task -> !task.isCancelled())
                    .min(Delayed::compareTo)
                    .map(task -> Duration.ofNanos(Math.max(0, task.due - now)));
        }
    }

    /**
     * Same as {@link #isShutdown()}, for assertions that read better this way.
     *
     * @return whether {@link #shutdown()} or {@link #shutdownNow()} has been called
     */
    public boolean wasShutDown() {
        return isShutdown();
    }

    private ScheduledFuture<?> schedulePeriodic(
            Runnable command, long initialDelay, long period, TimeUnit unit, boolean fixedRate) {
        Objects.requireNonNull(command, "command");
        if (period <= 0) {
            throw new IllegalArgumentException("period must be positive: " + period);
        }
        // At least one nanosecond, so that a period that rounds down to zero cannot loop within advance().
        long periodNanos = Math.max(1, unit.toNanos(period));
        return enqueue(new Task<Void>(command, dueAfter(initialDelay, unit), periodNanos, fixedRate));
    }

    private long dueAfter(long delay, TimeUnit unit) {
        Objects.requireNonNull(unit, "unit");
        // A negative delay means "now", as in the JDK's executors.
        return saturatedAdd(ticker.read(), Math.max(0, unit.toNanos(delay)));
    }

    private <V> Task<V> enqueue(Task<V> task) {
        synchronized (lock) {
            if (shutdown) {
                throw new RejectedExecutionException("ManualScheduler has been shut down");
            }
            task.sequence = nextSequence++;
            queue.add(task);
        }
        return task;
    }

    /** Puts a periodic task back for its next run, or cancels it if the scheduler was shut down. */
    private void requeue(Task<?> task) {
        boolean drop;
        synchronized (lock) {
            drop = shutdown;
            // Checked under the lock: a cancel() that wins the race removes the task after this add.
            if (!drop && !task.isCancelled()) {
                queue.add(task);
            }
        }
        if (drop) {
            task.cancel(false);
        }
    }

    private Task<?> pollDueBy(long time) {
        synchronized (lock) {
            for (Task<?> head = queue.peek(); head != null && head.due <= time; head = queue.peek()) {
                queue.poll();
                // A task cancelled by another thread may still be queued for a moment; skip it.
                if (!head.isCancelled()) {
                    return head;
                }
            }
            return null;
        }
    }

    private List<Task<?>> drainOnShutdown() {
        List<Task<?>> dropped = new ArrayList<>();
        synchronized (lock) {
            shutdown = true;
            for (Task<?> task = queue.poll(); task != null; task = queue.poll()) {
                dropped.add(task);
            }
        }
        return dropped;
    }

    private void moveTickerTo(long time) {
        long behind = time - ticker.read();
        // Never backwards: a task may have moved the ticker past this point already.
        if (behind > 0) {
            ticker.advance(Duration.ofNanos(behind));
        }
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        // Overflow only if both have the same sign and the sum's sign differs; a huge delay means "never".
        if (((a ^ sum) & (b ^ sum)) < 0) {
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return sum;
    }

    /** A queued task and the future handed out for it. */
    private final class Task<V> extends FutureTask<V> implements RunnableScheduledFuture<V> {
        /** Zero for a one-shot task. */
        private final long periodNanos;
        private final boolean fixedRate;
        /** Changed only while the task is out of the queue, between runs of a periodic task. */
        private volatile long due;
        /** Set under the lock on first enqueue; kept by periodic runs, as the JDK does, for ties. */
        private long sequence;

        Task(Callable<V> callable, long due) {
            super(callable);
            this.periodNanos = 0;
            this.fixedRate = false;
            this.due = due;
        }

        Task(Runnable runnable, long due, long periodNanos, boolean fixedRate) {
            super(runnable, null);
            this.periodNanos = periodNanos;
            this.fixedRate = fixedRate;
            this.due = due;
        }

        @Override
        public boolean isPeriodic() {
            return periodNanos != 0;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(due - ticker.read(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed other) {
            if (other == this) {
                return 0;
            }
            if (other instanceof ManualScheduler.Task<?> that) {
                int byDue = Long.compare(due, that.due);
                return byDue != 0 ? byDue : Long.compare(sequence, that.sequence);
            }
            return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
        }

        /**
         * Cancels the task and takes it out of the queue. Never interrupts: the only thread that ever
         * runs a task here is the one that called advance(), the test's own thread.
         */
        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean cancelled = super.cancel(false);
            if (cancelled) {
                synchronized (lock) {
                    queue.remove(this);
                }
            }
            return cancelled;
        }

        @Override
        public void run() {
            if (!isPeriodic()) {
                super.run();
                return;
            }
            // False if the task threw (the exception is now this future's outcome) or was cancelled.
            if (runAndReset()) {
                due = fixedRate ? saturatedAdd(due, periodNanos) : saturatedAdd(ticker.read(), periodNanos);
                requeue(this);
            }
        }
    }
}

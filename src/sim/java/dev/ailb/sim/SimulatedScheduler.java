package dev.ailb.sim;

import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RunnableScheduledFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A {@link ScheduledExecutorService} whose tasks are events of an {@link EventQueue}: a task due in
 * 2 s runs when the simulation's clock reaches it, on the simulation's thread, in its turn among
 * the arrivals and completions. A balancer given it (as its call scheduler, or the scheduler of
 * its health checker) times its deadlines and hedges on the simulated clock.
 *
 * <p>A cancelled task stays in the queue and does nothing when its time comes. Not thread-safe: a
 * simulation runs on one thread.
 */
final class SimulatedScheduler extends AbstractExecutorService implements ScheduledExecutorService {
    private final EventQueue events;
    private boolean shutdown;

    SimulatedScheduler(EventQueue events) {
        this.events = events;
    }

    /** A task and its event: due at a time, once or again after each run. */
    private final class Task<V> extends FutureTask<V> implements RunnableScheduledFuture<V> {
        private final long periodNanos;
        private final boolean fixedRate;
        private long dueNanos;

        Task(Callable<V> callable, long dueNanos) {
            super(callable);
            this.dueNanos = dueNanos;
            this.periodNanos = 0;
            this.fixedRate = false;
        }

        Task(Runnable runnable, long dueNanos, long periodNanos, boolean fixedRate) {
            super(runnable, null);
            this.dueNanos = dueNanos;
            this.periodNanos = periodNanos;
            this.fixedRate = fixedRate;
        }

        void enqueue() {
            events.schedule(Math.max(events.now(), dueNanos / 1e9), new EventQueue.Event() {
                @Override
                void fire() {
                    if (!isDone()) {
                        run();
                    }
                }
            });
        }

        @Override
        public boolean isPeriodic() {
            return periodNanos > 0;
        }

        @Override
        public void run() {
            if (!isPeriodic()) {
                super.run();
            } else if (runAndReset() && !shutdown) {
                dueNanos = fixedRate ? dueNanos + periodNanos : nowNanos() + periodNanos;
                enqueue();
            }
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(dueNanos - nowNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed other) {
            return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
        }
    }

    private long nowNanos() {
        return events.ticker().read();
    }

    private <V> Task<V> submitTask(Task<V> task) {
        if (shutdown) {
            throw new RejectedExecutionException("the simulation's scheduler is shut down");
        }
        task.enqueue();
        return task;
    }

    private long dueAfter(long delay, TimeUnit unit) {
        return nowNanos() + Math.max(0, unit.toNanos(delay));
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        return submitTask(new Task<Void>(command, dueAfter(delay, unit), 0, false));
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        return submitTask(new Task<>(callable, dueAfter(delay, unit)));
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        if (period <= 0) {
            throw new IllegalArgumentException("period: " + period + " (expected: > 0)");
        }
        return submitTask(new Task<Void>(command, dueAfter(initialDelay, unit), unit.toNanos(period), true));
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        if (delay <= 0) {
            throw new IllegalArgumentException("delay: " + delay + " (expected: > 0)");
        }
        return submitTask(new Task<Void>(command, dueAfter(initialDelay, unit), unit.toNanos(delay), false));
    }

    @Override
    public void execute(Runnable command) {
        submitTask(new Task<>(Executors.callable(command, null), nowNanos()));
    }

    @Override
    public void shutdown() {
        shutdown = true;
    }

    @Override
    public List<Runnable> shutdownNow() {
        shutdown = true;
        return List.of();
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return shutdown;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return shutdown;
    }
}

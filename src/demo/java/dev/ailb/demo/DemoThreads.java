package dev.ailb.demo;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The demo's threads: it names every one it starts, and waits for each to end before it returns.
 * Also the bounded waits of the scenarios. Thread-safe.
 */
final class DemoThreads {

    /** How long the demo waits for the threads of an executor, or of the health checkers, to end. */
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(5);
    /** The longest the health scenario waits for one state, on top of 20 check intervals. */
    static final Duration STATE_WAIT = Duration.ofSeconds(10);
    /** How long the health scenario parks between two looks at the state it waits for. */
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    private DemoThreads() {}

    /**
     * Returns once {@code condition} holds, looking every {@link #POLL_NANOS}.
     *
     * @throws IllegalStateException if it still does not hold after {@code max}
     * @throws InterruptedException  if the thread is interrupted meanwhile
     */
    static void await(String what, Duration max, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("gave up waiting for " + what + " after " + max.toSeconds() + " s");
            }
            LockSupport.parkNanos(POLL_NANOS);
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted while waiting for " + what);
            }
        }
    }

    /** The live threads a balancer started for its health checker. */
    static Set<Thread> healthThreads() {
        Set<Thread> found = new LinkedHashSet<>();
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.isAlive() && thread.getName().startsWith(Demo.HEALTH_THREAD_PREFIX)) {
                found.add(thread);
            }
        }
        return found;
    }

    /**
     * Waits, up to {@link #SHUTDOWN_TIMEOUT}, until the health checker threads started since
     * {@code before} was taken have ended. The balancers have stopped them already and waited for
     * their pools to terminate; a pool terminates as its last thread returns, so a thread may be
     * alive a moment longer. An interrupt does not cut the wait short; it is restored afterwards.
     */
    static void awaitHealthThreads(Set<Thread> before) {
        long deadline = System.nanoTime() + SHUTDOWN_TIMEOUT.toNanos();
        boolean interrupted = false;
        List<String> alive = new ArrayList<>();
        for (Thread thread : healthThreads()) {
            if (before.contains(thread)) {
                continue;
            }
            for (;;) {
                try {
                    long left = deadline - System.nanoTime();
                    if (left > 0) {
                        TimeUnit.NANOSECONDS.timedJoin(thread, left);
                    }
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (thread.isAlive()) {
                alive.add(thread.getName());
            }
        }
        if (!alive.isEmpty()) {
            System.err.println("demo: health checker threads " + alive + " did not stop within "
                    + SHUTDOWN_TIMEOUT.toSeconds() + " s");
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops an executor and waits, up to {@link #SHUTDOWN_TIMEOUT}, for its threads to end. An
     * interrupt does not cut the wait short; it is restored afterwards.
     */
    static void shutdown(ExecutorService executor, NamedThreadFactory threads) {
        executor.shutdownNow();
        long deadline = System.nanoTime() + SHUTDOWN_TIMEOUT.toNanos();
        boolean interrupted = false;
        boolean stopped = false;
        for (;;) {
            try {
                stopped = executor.awaitTermination(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)
                        && threads.joinAll(deadline);
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (!stopped) {
            System.err.println("demo: threads " + threads.prefix + "* did not stop within "
                    + SHUTDOWN_TIMEOUT.toSeconds() + " s");
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}

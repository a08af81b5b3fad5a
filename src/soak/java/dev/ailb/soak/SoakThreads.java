package dev.ailb.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Every thread the soak starts itself: named daemon threads whose names begin with {@code soak-},
 * remembered while alive so that the end of the run can stop their pools and join each of them.
 * Thread-safe.
 */
final class SoakThreads {
    private static final long SHUTDOWN_SECONDS = 10;

    private final List<Thread> created = new ArrayList<>(); // guarded by this

    /** A factory of daemon threads named {@code prefix1}, {@code prefix2}, ... */
    ThreadFactory factory(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return task -> newThread(task, prefix + count.incrementAndGet());
    }

    /** A daemon thread with this name, not started. */
    synchronized Thread newThread(Runnable task, String name) {
        // Pools retire idle threads and start new ones all run long: keep only the live ones, so
        // that this list does not grow with the length of the run.
        created.removeIf(t -> t.getState() == Thread.State.TERMINATED);
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        created.add(thread);
        return thread;
    }

    /** Interrupts the pool's work, stops it and waits for it to terminate. */
    void shutdown(ExecutorService pool) {
        pool.shutdownNow();
        boolean interrupted = false;
        try {
            for (;;) {
                try {
                    if (!pool.awaitTermination(SHUTDOWN_SECONDS, TimeUnit.SECONDS)) {
                        System.err.println("soak: a pool did not stop within " + SHUTDOWN_SECONDS + " s");
                    }
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Waits until every thread started so far has ended, or the time is up.
     *
     * @return the names of those still alive
     */
    List<String> joinAll(long millis) throws InterruptedException {
        List<Thread> all;
        synchronized (this) {
            all = new ArrayList<>(created);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        List<String> alive = new ArrayList<>();
        for (Thread thread : all) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                TimeUnit.NANOSECONDS.timedJoin(thread, left);
            }
            if (thread.isAlive()) {
                alive.add(thread.getName());
            }
        }
        return alive;
    }

}

package dev.ailb.internal.probe;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Names the daemon threads of one pool of a {@link Session} and remembers them, so that closing the
 * session can wait for every one. Numbers run on across sessions and probers in the JVM:
 * {@code <prefix>-1}, {@code <prefix>-2}, ... for schedulers, {@code <prefix>-worker-1}, ... for
 * workers.
 */
final class ProberThreads implements ThreadFactory {
    private static final AtomicInteger SCHEDULER_THREADS = new AtomicInteger();
    private static final AtomicInteger WORKER_THREADS = new AtomicInteger();

    private final String prefix;
    private final AtomicInteger counter;
    private final List<Thread> started = new ArrayList<>(); // guarded by this

    private ProberThreads(String prefix, AtomicInteger counter) {
        this.prefix = prefix;
        this.counter = counter;
    }

    static ProberThreads schedulers(String prefix) {
        return new ProberThreads(prefix + "-", SCHEDULER_THREADS);
    }

    static ProberThreads workers(String prefix) {
        return new ProberThreads(prefix + "-worker-", WORKER_THREADS);
    }

    /** Whether the thread is one that a prober started, which must never wait for itself to end. */
    static boolean isProberThread(Thread thread) {
        return thread instanceof ProberThread;
    }

    @Override
    public synchronized Thread newThread(Runnable task) {
        started.removeIf(t -> t.getState() == Thread.State.TERMINATED);
        Thread thread = new ProberThread(task, prefix + counter.incrementAndGet());
        started.add(thread);
        return thread;
    }

    synchronized List<Thread> started() {
        return new ArrayList<>(started);
    }

    private static final class ProberThread extends Thread {
        ProberThread(Runnable task, String name) {
            super(task, name);
            setDaemon(true);
        }
    }
}

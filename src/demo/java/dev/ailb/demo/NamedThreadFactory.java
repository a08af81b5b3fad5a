package dev.ailb.demo;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Creates named daemon threads and remembers them, so they can be joined. */
final class NamedThreadFactory implements ThreadFactory {
    final String prefix;
    private final AtomicInteger count = new AtomicInteger();
    private final Queue<Thread> created = new ConcurrentLinkedQueue<>();

    NamedThreadFactory(String prefix) {
        this.prefix = prefix;
    }

    @Override
    public Thread newThread(Runnable task) {
        Thread thread = new Thread(task, prefix + count.incrementAndGet());
        thread.setDaemon(true);
        created.add(thread);
        return thread;
    }

    /** Waits until every thread created so far has ended, or the deadline passes. */
    boolean joinAll(long deadlineNanos) throws InterruptedException {
        for (Thread thread : created) {
            long left = deadlineNanos - System.nanoTime();
            if (left > 0) {
                TimeUnit.NANOSECONDS.timedJoin(thread, left);
            }
            if (thread.isAlive()) {
                return false;
            }
        }
        return true;
    }
}

package dev.ailb.internal;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads for work that an integration hands off and that nothing may wait for when the
 * application ends: daemon threads named {@code <prefix><n>}, made as tasks need them (a task
 * never waits in a queue) and ended after a minute idle, so that an executor no one shuts down
 * costs nothing once its work stops. Thread-safe, as is each executor it makes.
 */
public final class IdleDaemonThreads {
    private static final long IDLE_SECONDS = 60;

    private IdleDaemonThreads() {}

    /**
     * A new executor of such threads.
     *
     * @param prefix the threads' name before their number, such as {@code ailb-openai-}
     * @return the executor; shutting it down ends its threads once their tasks are done
     */
    public static ExecutorService named(String prefix) {
        Preconditions.checkNotNull(prefix, "prefix");
        AtomicInteger count = new AtomicInteger();
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, IDLE_SECONDS, TimeUnit.SECONDS, new SynchronousQueue<>(),
                task -> {
                    Thread thread = new Thread(task, prefix + count.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                });
    }
}

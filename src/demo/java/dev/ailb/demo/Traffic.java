package dev.ailb.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.LongAdder;

/** Requests flowing from every client thread until {@link #stop()}, and how they ended. */
final class Traffic {
    final LongAdder sent = new LongAdder();
    final LongAdder succeeded = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder rejected = new LongAdder();
    final LongAdder transportErrors = new LongAdder();
    /** Every leased request, once answered; filled only by leased traffic. */
    final Queue<Routed> routes = new ConcurrentLinkedQueue<>();
    /** The leased requests under way, by index, as they began. */
    final Map<Integer, Routed> open = new ConcurrentHashMap<>();
    final List<Future<Void>> running = new ArrayList<>();
    volatile boolean stopping;

    /** Requests that have ended, one way or another. */
    long completed() {
        return succeeded.sum() + failed.sum() + rejected.sum();
    }

    /** Lets every client thread finish the request it is sending, and waits for them. */
    void stop() throws InterruptedException {
        stopping = true;
        for (Future<Void> f : running) {
            try {
                f.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("a client thread failed: " + e.getCause(), e.getCause());
            }
        }
    }
}

package dev.ailb.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A simulated inference instance, shaped like an LLM server: at most {@code maxBatch} requests run
 * at once and share the accelerator, the rest wait in a FIFO queue. Each running request needs an
 * amount of work (seconds at batch size 1: its prefill plus its decode), and all running requests
 * progress at {@code speed / (1 + batchPenalty * (running - 1))}: a fuller batch serves more
 * requests at once but each of them more slowly.
 *
 * <p>It can fail fast (every request fails after {@link #FAIL_FAST_SECONDS}, taking no slot), and
 * keeps a cache of the sessions whose prompts it has seen: a repeat request of a cached session
 * skips most of its prefill.
 */
final class Instance {
    static final double FAIL_FAST_SECONDS = 0.001;
    /** Work left below this (1 ns at batch size 1) counts as done: time sums in doubles are not exact. */
    private static final double EPSILON = 1e-9;

    final String id;
    final int maxBatch;
    final double batchPenalty;
    private double speed;
    boolean failing;
    private final int sessionCacheSize;
    private final Map<String, Boolean> sessionCache;

    private final ArrayDeque<Job> queue = new ArrayDeque<>();
    private final List<Job> running = new ArrayList<>();
    private double lastUpdate;
    /** Bumped on every change, so that a completion event scheduled before it is ignored. */
    long version;

    Instance(String id, int maxBatch, double speed, double batchPenalty, int sessionCacheSize) {
        this.id = id;
        this.maxBatch = maxBatch;
        this.speed = speed;
        this.batchPenalty = batchPenalty;
        this.sessionCacheSize = sessionCacheSize;
        this.sessionCache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                return size() > Instance.this.sessionCacheSize;
            }
        };
    }

    /** A request on this instance: its remaining work, and when it arrived. */
    static final class Job {
        final Object tag;
        final double arrivedAt;
        double remaining;
        final boolean fails;

        Job(Object tag, double arrivedAt, double work, boolean fails) {
            this.tag = tag;
            this.arrivedAt = arrivedAt;
            this.remaining = work;
            this.fails = fails;
        }
    }

    /** Whether a request of this session finds its prompt in the cache (and marks it used). */
    boolean promptCached(String session) {
        if (session == null || sessionCacheSize == 0) {
            return false;
        }
        boolean hit = sessionCache.containsKey(session);
        sessionCache.put(session, Boolean.TRUE);
        return hit;
    }

    private double rate() {
        int b = running.size();
        return b == 0 ? speed : speed / (1.0 + batchPenalty * (b - 1));
    }

    private void advanceTo(double now) {
        double elapsed = now - lastUpdate;
        if (elapsed > 0 && !running.isEmpty()) {
            double done = elapsed * rate();
            for (Job j : running) {
                j.remaining -= done;
            }
        }
        lastUpdate = now;
    }

    /** Takes a request; returns the job, which runs at once or waits. */
    Job admit(Object tag, double now, double work) {
        advanceTo(now);
        version++;
        if (failing) {
            return new Job(tag, now, 0, true); // answered at once with an error, no slot taken
        }
        Job job = new Job(tag, now, work, false);
        if (running.size() < maxBatch) {
            running.add(job);
        } else {
            queue.add(job);
        }
        return job;
    }

    /** The time of the next completion, or infinity when nothing runs. */
    double nextCompletion() {
        if (running.isEmpty()) {
            return Double.POSITIVE_INFINITY;
        }
        double least = Double.POSITIVE_INFINITY;
        for (Job j : running) {
            least = Math.min(least, j.remaining);
        }
        return lastUpdate + Math.max(0, least) / rate();
    }

    /** Ends the jobs finished by {@code now} and starts waiting ones in their slots. */
    List<Job> complete(double now) {
        advanceTo(now);
        version++;
        List<Job> done = new ArrayList<>(1);
        for (int i = running.size() - 1; i >= 0; i--) {
            if (running.get(i).remaining <= EPSILON) {
                done.add(running.remove(i));
            }
        }
        while (running.size() < maxBatch && !queue.isEmpty()) {
            running.add(queue.poll());
        }
        return done;
    }

    /** Changes the speed from {@code now} on (a degrading accelerator, a noisy neighbour). */
    void setSpeed(double now, double newSpeed) {
        advanceTo(now);
        version++;
        speed = newSpeed;
    }

    int waiting() {
        return queue.size();
    }

    int runningCount() {
        return running.size();
    }

    /** Waiting plus running: what a join-the-shortest-queue oracle compares. */
    int outstanding() {
        return queue.size() + running.size();
    }
}

package dev.ailb.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

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
 *
 * <p>An instance built with a {@link PrefixCache} also takes requests by their prompt and output
 * tokens: the work of such a request is set when its prefill starts (it leaves the queue for the
 * batch), from the prompt's tokens not found in the cache at that moment and its output tokens,
 * and its first token comes when the prefill part of that work is done; the prompt's blocks are
 * then stored in the cache.
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
    private final PrefixCache prefixCache;
    private final TokenCosts costs;

    private final ArrayDeque<Job> queue = new ArrayDeque<>();
    private final List<Job> running = new ArrayList<>();
    private double lastUpdate;
    /** Bumped on every change, so that a completion event scheduled before it is ignored. */
    long version;

    Instance(String id, int maxBatch, double speed, double batchPenalty, int sessionCacheSize) {
        this(id, maxBatch, speed, batchPenalty, sessionCacheSize, null, null);
    }

    /** An instance with a prefix cache, whose requests' work comes from their tokens. */
    Instance(String id, int maxBatch, double speed, double batchPenalty, PrefixCache prefixCache, TokenCosts costs) {
        this(id, maxBatch, speed, batchPenalty, 0, prefixCache, costs);
    }

    private Instance(String id, int maxBatch, double speed, double batchPenalty, int sessionCacheSize,
            PrefixCache prefixCache, TokenCosts costs) {
        this.id = id;
        this.prefixCache = prefixCache;
        this.costs = costs;
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

    /** What a request costs in seconds of work per token, at batch size 1 and speed 1. */
    record TokenCosts(double prefillSecondsPerToken, double decodeSecondsPerToken) {
        double work(int uncachedPromptTokens, int outputTokens) {
            return uncachedPromptTokens * prefillSecondsPerToken + decodeWork(outputTokens);
        }

        double decodeWork(int outputTokens) {
            return outputTokens * decodeSecondsPerToken;
        }
    }

    /**
     * A request on this instance: its remaining work, and when it arrived. A request taken by its
     * tokens also has its prompt, its output tokens and, once its prefill has started, the prompt
     * tokens found in the cache; once its prefill has ended, the time of its first token.
     */
    static final class Job {
        final Object tag;
        final double arrivedAt;
        double remaining;
        final boolean fails;
        final Prompt prompt;
        final int outputTokens;
        /** The work left once the prefill is done; negative for a job without a first-token time. */
        private double decodeWork = -1;
        private int cachedTokens;
        private double startedAt = Double.NaN;
        private double firstTokenAt = Double.NaN;

        Job(Object tag, double arrivedAt, double work, boolean fails) {
            this(tag, arrivedAt, work, fails, null, 0);
        }

        private Job(Object tag, double arrivedAt, double work, boolean fails, Prompt prompt, int outputTokens) {
            this.tag = tag;
            this.arrivedAt = arrivedAt;
            this.remaining = work;
            this.fails = fails;
            this.prompt = prompt;
            this.outputTokens = outputTokens;
        }

        /** The prompt tokens its prefill found in the cache. */
        int cachedTokens() {
            return cachedTokens;
        }

        /** When it left the queue for the batch; NaN before. */
        double startedAt() {
            return startedAt;
        }

        /** When its prefill ended and its first token came; NaN before. */
        double firstTokenAt() {
            return firstTokenAt;
        }

        private boolean inPrefill() {
            return decodeWork >= 0 && Double.isNaN(firstTokenAt);
        }

        /** The work left until its next milestone: the end of its prefill, else its end. */
        private double untilMilestone() {
            return inPrefill() ? remaining - decodeWork : remaining;
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
        return rateWith(running.size());
    }

    /** The rate of each running request with {@code b} of them running. */
    private double rateWith(int b) {
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
        return enter(new Job(tag, now, work, false));
    }

    /**
     * Takes a request by its tokens; returns the job, which runs at once or waits. Its work is set
     * when it starts.
     */
    Job admit(Object tag, double now, Prompt prompt, int outputTokens) {
        if (prefixCache == null) {
            throw new IllegalStateException(id + " has no prefix cache: admit the request by its work");
        }
        advanceTo(now);
        version++;
        if (failing) {
            return new Job(tag, now, 0, true);
        }
        return enter(new Job(tag, now, 0, false, prompt, outputTokens));
    }

    private Job enter(Job job) {
        if (running.size() < maxBatch) {
            start(job, job.arrivedAt);
        } else {
            queue.add(job);
        }
        return job;
    }

    private void start(Job job, double now) {
        job.startedAt = now;
        if (job.prompt != null) {
            job.cachedTokens = prefixCache.useCachedTokens(job.prompt);
            job.decodeWork = costs.decodeWork(job.outputTokens);
            job.remaining = costs.work(job.prompt.length() - job.cachedTokens, job.outputTokens);
        }
        running.add(job);
    }

    /**
     * The time of the next completion or end of a prefill, or infinity when nothing runs. Since
     * every running job progresses at the same rate, it is the job with the least work left to
     * its milestone.
     */
    double nextCompletion() {
        if (running.isEmpty()) {
            return Double.POSITIVE_INFINITY;
        }
        double least = Double.POSITIVE_INFINITY;
        for (Job j : running) {
            least = Math.min(least, j.untilMilestone());
        }
        return lastUpdate + Math.max(0, least) / rate();
    }

    /**
     * Ends the prefills and the jobs finished by {@code now} and starts waiting ones in their
     * slots. A prefill that ends stores its prompt in the cache.
     */
    List<Job> complete(double now) {
        advanceTo(now);
        version++;
        for (Job j : running) {
            if (j.inPrefill() && j.remaining - j.decodeWork <= EPSILON) {
                j.firstTokenAt = now;
                prefixCache.store(j.prompt);
            }
        }
        List<Job> done = new ArrayList<>(1);
        for (int i = running.size() - 1; i >= 0; i--) {
            if (running.get(i).remaining <= EPSILON) {
                done.add(running.remove(i));
            }
        }
        while (running.size() < maxBatch && !queue.isEmpty()) {
            start(queue.poll(), now);
        }
        return done;
    }

    /**
     * The time to first token a request with this prompt would see if it came now, as an oracle
     * that sees the instance's true state estimates it: the wait for a slot, then the prefill of
     * the prompt's tokens not cached now. While a slot is free there is no wait, and the prefill
     * runs at the rate of the batch it joins. Otherwise the batch stays full until its turn, so
     * every request runs at the full batch's rate: the slots free up as the running requests end
     * (their work left is known), each waiting request in turn takes the first one free and holds
     * it for its whole work (its prompt's uncached tokens now and its output), and this request
     * takes the first slot free after them.
     */
    double estimatedTimeToFirstToken(Prompt prompt, double now) {
        advanceTo(now); // the running jobs' work left, as of now: no completion moves
        double prefill = costs.work(prompt.length() - prefixCache.cachedTokens(prompt), 0);
        if (running.size() < maxBatch) {
            return prefill / rateWith(running.size() + 1);
        }
        double fullRate = rateWith(maxBatch);
        PriorityQueue<Double> slotsFree = new PriorityQueue<>(maxBatch);
        for (Job j : running) {
            slotsFree.add(j.remaining);
        }
        for (Job q : queue) {
            double work = q.prompt == null ? q.remaining
                    : costs.work(q.prompt.length() - prefixCache.cachedTokens(q.prompt), q.outputTokens);
            slotsFree.add(slotsFree.poll() + work);
        }
        return (Math.max(0, slotsFree.peek()) + prefill) / fullRate;
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

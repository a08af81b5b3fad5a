package dev.ailb.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

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
 *
 * <p>An instance built with adapter slots serves LoRA adapters as vLLM does with
 * {@code --max-loras}: the requests of the batch use at most that many distinct adapters, and a
 * waiting request whose adapter would exceed it is passed over for the next one that fits (vLLM's
 * scheduler skips it the same way). The adapters of the last requests started stay loaded in the
 * slots; a request whose adapter is not loaded loads it when it starts, in place of the least
 * recently used adapter that no running request uses, and the whole batch stands still while it
 * loads (the engine loads adapters in its step, before it runs the batch).
 *
 * <p>A request taken by its work may also have its first token timed: its prefill part of the
 * work, then its decode part. A request can be cancelled, waiting or running: it leaves at once,
 * and the work it got is counted as done.
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
    /** The end of the adapter loads under way; no request progresses before it. */
    private double stalledUntil = Double.NEGATIVE_INFINITY;
    /** Distinct adapters the batch may use at once; 0 for an instance that serves none. */
    final int adapterSlots;
    private final double adapterLoadSeconds;
    /** The adapters in the slots, least recently started first. */
    private final LinkedHashMap<String, Boolean> loadedAdapters = new LinkedHashMap<>(16, 0.75f, true);
    /** The running requests of each adapter in the batch. */
    private final Map<String, Integer> runningAdapters = new HashMap<>();
    private long adapterLoads;
    /** The requests whose first token came at the last {@link #complete}. */
    private final List<Job> firstTokens = new ArrayList<>(1);
    /** Bumped on every change, so that a completion event scheduled before it is ignored. */
    long version;

    Instance(String id, int maxBatch, double speed, double batchPenalty, int sessionCacheSize) {
        this(id, maxBatch, speed, batchPenalty, sessionCacheSize, null, null, 0, 0);
    }

    /** An instance with a prefix cache, whose requests' work comes from their tokens. */
    Instance(String id, int maxBatch, double speed, double batchPenalty, PrefixCache prefixCache, TokenCosts costs) {
        this(id, maxBatch, speed, batchPenalty, 0, prefixCache, costs, 0, 0);
    }

    /**
     * An instance whose batch uses at most {@code adapterSlots} distinct LoRA adapters (none when
     * 0), each loaded in {@code adapterLoadSeconds} when a request needs it and no slot has it.
     */
    Instance(String id, int maxBatch, double speed, double batchPenalty, int adapterSlots,
            double adapterLoadSeconds) {
        this(id, maxBatch, speed, batchPenalty, 0, null, null, adapterSlots, adapterLoadSeconds);
    }

    private Instance(String id, int maxBatch, double speed, double batchPenalty, int sessionCacheSize,
            PrefixCache prefixCache, TokenCosts costs, int adapterSlots, double adapterLoadSeconds) {
        this.id = id;
        this.adapterSlots = adapterSlots;
        this.adapterLoadSeconds = adapterLoadSeconds;
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
        /** The LoRA adapter it runs with; null for the base model. */
        final String adapter;
        private double work;
        private boolean loadedItsAdapter;
        /** The work left once the prefill is done; negative for a job without a first-token time. */
        private double decodeWork = -1;
        private int cachedTokens;
        private double startedAt = Double.NaN;
        private double firstTokenAt = Double.NaN;

        Job(Object tag, double arrivedAt, double work, boolean fails) {
            this(tag, arrivedAt, work, fails, null, 0, null);
        }

        private Job(Object tag, double arrivedAt, double work, boolean fails, Prompt prompt, int outputTokens,
                String adapter) {
            this.tag = tag;
            this.arrivedAt = arrivedAt;
            this.remaining = work;
            this.work = work;
            this.fails = fails;
            this.prompt = prompt;
            this.outputTokens = outputTokens;
            this.adapter = adapter;
        }

        /** Whether it had to load its adapter when it started: a cold start. */
        boolean loadedItsAdapter() {
            return loadedItsAdapter;
        }

        /** The work it got so far, in seconds at batch size 1 and speed 1 (all of it once done). */
        double workDone() {
            return Double.isNaN(startedAt) ? 0 : work - Math.max(0, remaining);
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
        // a stall starts at an update, so only its part after the last update is left out
        double elapsed = now - Math.max(lastUpdate, stalledUntil);
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
     * Takes a request by its work, of which {@code prefillWork} comes before its first token, for
     * the base model ({@code adapter} null) or an adapter; returns the job, which runs at once or
     * waits.
     */
    Job admit(Object tag, double now, double prefillWork, double decodeWork, String adapter) {
        if (adapter != null && adapterSlots == 0) {
            throw new IllegalStateException(id + " serves no adapter: " + adapter);
        }
        advanceTo(now);
        version++;
        if (failing) {
            return new Job(tag, now, 0, true);
        }
        Job job = new Job(tag, now, prefillWork + decodeWork, false, null, 0, adapter);
        job.decodeWork = decodeWork;
        return enter(job);
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
        return enter(new Job(tag, now, 0, false, prompt, outputTokens, null));
    }

    private Job enter(Job job) {
        queue.add(job);
        fill(job.arrivedAt);
        return job;
    }

    /**
     * Starts waiting requests in the free slots of the batch, in order, passing over those whose
     * adapter would exceed the adapter slots.
     */
    private void fill(double now) {
        for (Iterator<Job> it = queue.iterator(); running.size() < maxBatch && it.hasNext();) {
            Job job = it.next();
            if (job.adapter == null || runningAdapters.containsKey(job.adapter)
                    || runningAdapters.size() < adapterSlots) {
                it.remove();
                start(job, now);
            }
        }
    }

    private void start(Job job, double now) {
        job.startedAt = now;
        if (job.prompt != null) {
            job.cachedTokens = prefixCache.useCachedTokens(job.prompt);
            job.decodeWork = costs.decodeWork(job.outputTokens);
            job.remaining = costs.work(job.prompt.length() - job.cachedTokens, job.outputTokens);
            job.work = job.remaining;
        }
        if (job.adapter != null) {
            useAdapter(job, now);
        }
        running.add(job);
    }

    private void useAdapter(Job job, double now) {
        if (loadedAdapters.get(job.adapter) == null) { // a get, so that a hit counts as a use
            if (loadedAdapters.size() == adapterSlots) {
                // fill() admits a new adapter only below the slots in use, so one of them is idle
                for (Iterator<String> it = loadedAdapters.keySet().iterator(); it.hasNext();) {
                    if (!runningAdapters.containsKey(it.next())) {
                        it.remove();
                        break;
                    }
                }
            }
            loadedAdapters.put(job.adapter, Boolean.TRUE);
            adapterLoads++;
            job.loadedItsAdapter = true;
            stalledUntil = Math.max(now, stalledUntil) + adapterLoadSeconds;
        }
        runningAdapters.merge(job.adapter, 1, Integer::sum);
    }

    private void leave(Job job) {
        if (job.adapter != null) {
            runningAdapters.computeIfPresent(job.adapter, (a, n) -> n == 1 ? null : n - 1);
        }
    }

    /**
     * Takes a request away, waiting or running, as a client that gives up or a hedge that lost
     * does; the requests waiting behind it may start in its slot. Returns whether it was there.
     */
    boolean cancel(Job job, double now) {
        advanceTo(now);
        version++;
        if (queue.remove(job)) {
            return true;
        }
        if (!running.remove(job)) {
            return false;
        }
        leave(job);
        fill(now);
        return true;
    }

    /**
     * Schedules on {@code events} the moment of this instance's {@linkplain #nextCompletion next
     * completion}, if anything runs. When it comes, {@code onCompletion} runs (it completes the jobs
     * due and schedules again), unless the instance changed meanwhile: a newer event then stands for it.
     */
    void scheduleNextCompletion(EventQueue events, Runnable onCompletion) {
        double at = nextCompletion();
        if (at == Double.POSITIVE_INFINITY) {
            return;
        }
        long scheduledAt = version;
        events.schedule(Math.max(at, events.now()), new EventQueue.Event() {
            @Override
            void fire() {
                if (version == scheduledAt) {
                    onCompletion.run();
                }
            }
        });
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
        return Math.max(lastUpdate, stalledUntil) + Math.max(0, least) / rate();
    }

    /**
     * Ends the prefills and the jobs finished by {@code now} and starts waiting ones in their
     * slots. A prefill that ends stores its prompt in the cache.
     */
    List<Job> complete(double now) {
        advanceTo(now);
        version++;
        firstTokens.clear();
        for (Job j : running) {
            if (j.inPrefill() && j.remaining - j.decodeWork <= EPSILON) {
                j.firstTokenAt = now;
                firstTokens.add(j);
                if (j.prompt != null) {
                    prefixCache.store(j.prompt);
                }
            }
        }
        List<Job> done = new ArrayList<>(1);
        for (int i = running.size() - 1; i >= 0; i--) {
            if (running.get(i).remaining <= EPSILON) {
                Job j = running.remove(i);
                leave(j);
                done.add(j);
            }
        }
        fill(now);
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

    /**
     * Stands still for {@code seconds} from {@code now} (or from the end of a stall under way): no
     * request progresses, none leaves, waiting ones may still arrive.
     */
    void stall(double now, double seconds) {
        advanceTo(now);
        version++;
        stalledUntil = Math.max(now, stalledUntil) + seconds;
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

    /** The requests whose first token came at the last {@link #complete}, some of them maybe done too. */
    List<Job> firstTokens() {
        return firstTokens;
    }

    /** Adapter loads so far: the cold starts. */
    long adapterLoads() {
        return adapterLoads;
    }

    /** The adapters of the running requests, as vLLM lists them in {@code running_lora_adapters}. */
    Set<String> runningAdapters() {
        return new LinkedHashSet<>(runningAdapters.keySet());
    }

    /** The adapters of the waiting requests, as vLLM lists them in {@code waiting_lora_adapters}. */
    Set<String> waitingAdapters() {
        Set<String> waiting = new LinkedHashSet<>();
        for (Job j : queue) {
            if (j.adapter != null) {
                waiting.add(j.adapter);
            }
        }
        return waiting;
    }

    int runningCount() {
        return running.size();
    }

    /** Waiting plus running: what a join-the-shortest-queue oracle compares. */
    int outstanding() {
        return queue.size() + running.size();
    }
}

package dev.ailb;

import dev.ailb.internal.PrefixIndex;
import dev.ailb.internal.PromptHashes;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * One balancer's state for {@link PrefixAffinity}: an index per available backend of the prefixes
 * routed there, and the pickers over them; see {@link PrefixAffinity} for what a pick does.
 *
 * <h2>Where the work happens</h2>
 * A pick only reads: loads, the indexes (without locking), and the prompt's block hashes. The
 * selection that stands is recorded afterwards, through {@link PrefixRecorder}: the request path
 * calls {@link #recordSelection} once it has counted the selection (after an acquisition that
 * could still fail, a session's binding, or a retry's choice among untried backends), so a pick
 * that was abandoned never enters an index and a request is predicted exactly once. The hashes of
 * a prompt are kept per thread with the prompt they belong to, so the pick, the record and a
 * retry of the same request on the same thread hash it once.
 *
 * <p>{@link #newPicker} runs under the balancer's lock, one call at a time; the indexes map it
 * publishes is never changed afterwards.
 */
final class PrefixAffinitySelector implements IncrementalSelector, PrefixRecorder {
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final PrefixAffinity settings;
    private final SelectionContext context;
    /** The index of each backend of the current picker; replaced whole by {@link #newPicker}. */
    private volatile IdentityHashMap<Backend, PrefixIndex> indexes = new IdentityHashMap<>();
    /** The last picker built and the set it was built for, which a change of one backend starts from. */
    private PrefixPicker last;
    private List<Backend> lastGiven;

    PrefixAffinitySelector(PrefixAffinity settings, SelectionContext context) {
        this.settings = settings;
        this.context = context;
    }

    @Override
    public Picker newPicker(List<Backend> available) {
        // A backend that left the set loses its index: its server has likely restarted, or will.
        Map<Backend, PrefixIndex> previous = indexes;
        IdentityHashMap<Backend, PrefixIndex> next = new IdentityHashMap<>();
        Backend[] backends = available.toArray(new Backend[0]);
        PrefixIndex[] byPosition = new PrefixIndex[backends.length];
        long[] ids = new long[backends.length];
        boolean equalWeights = true;
        for (int i = 0; i < backends.length; i++) {
            Backend b = backends[i];
            PrefixIndex index = previous.get(b);
            if (index == null) {
                index = new PrefixIndex(settings.indexBlocks());
            }
            next.put(b, index);
            byPosition[i] = index;
            ids[i] = PromptHashes.ofName(b.id());
            equalWeights &= b.weight() == backends[0].weight();
        }
        indexes = next;
        return remember(available, picker(backends, byPosition, ids, available, equalWeights));
    }

    /**
     * The picker after one backend joined, left or changed weight: the last picker's arrays with
     * that backend's entry put in or taken out (a copy of references), every other backend keeping
     * its index; the map of indexes is copied whole (one array) and changed for that backend alone.
     * The backend's id is hashed only when it joins.
     */
    @Override
    public Picker newPicker(List<Backend> previous, List<Backend> available, Backend changed) {
        PrefixPicker from = last;
        if (from == null || previous != lastGiven) {
            return newPicker(available);
        }
        if (available == previous) {
            return remember(available, picker(from.backends, from.indexes, from.ids, available,
                    equalWeights(from.backends)));
        }
        int n = from.backends.length;
        boolean joined = available.size() == n + 1;
        int at = joined ? available.indexOf(changed) : previous.indexOf(changed);
        if (at < 0 || (!joined && available.size() != n - 1)) {
            return newPicker(available);
        }
        IdentityHashMap<Backend, PrefixIndex> next = cloned(indexes);
        Backend[] backends;
        PrefixIndex[] byPosition;
        long[] ids;
        if (joined) {
            PrefixIndex index = new PrefixIndex(settings.indexBlocks());
            next.put(changed, index);
            backends = inserted(from.backends, at, changed, new Backend[n + 1]);
            byPosition = inserted(from.indexes, at, index, new PrefixIndex[n + 1]);
            ids = new long[n + 1];
            System.arraycopy(from.ids, 0, ids, 0, at);
            ids[at] = PromptHashes.ofName(changed.id());
            System.arraycopy(from.ids, at, ids, at + 1, n - at);
        } else {
            next.remove(changed);
            backends = removed(from.backends, at, new Backend[n - 1]);
            byPosition = removed(from.indexes, at, new PrefixIndex[n - 1]);
            ids = new long[n - 1];
            System.arraycopy(from.ids, 0, ids, 0, at);
            System.arraycopy(from.ids, at + 1, ids, at, n - at - 1);
        }
        indexes = next;
        return remember(available, picker(backends, byPosition, ids, available, equalWeights(backends)));
    }

    /**
     * A picker over these arrays (in the order of {@code available}). While a backend is in slow
     * start its weight counts times its factor, in the bound, the average and the placement alike;
     * a new picker is built at each step of the ramp.
     */
    private PrefixPicker picker(Backend[] backends, PrefixIndex[] byPosition, long[] ids,
            List<Backend> available, boolean equalWeights) {
        int[] weights = RampedWeights.of(available);
        if (weights != null) {
            equalWeights = false;
        } else {
            weights = new int[backends.length];
            for (int i = 0; i < backends.length; i++) {
                weights[i] = backends[i].weight();
            }
        }
        return new PrefixPicker(backends, byPosition, ids, weights, equalWeights);
    }

    private PrefixPicker remember(List<Backend> available, PrefixPicker picker) {
        last = picker;
        lastGiven = available;
        return picker;
    }

    @SuppressWarnings("unchecked")
    private static IdentityHashMap<Backend, PrefixIndex> cloned(IdentityHashMap<Backend, PrefixIndex> map) {
        return (IdentityHashMap<Backend, PrefixIndex>) map.clone();
    }

    private static boolean equalWeights(Backend[] backends) {
        for (Backend b : backends) {
            if (b.weight() != backends[0].weight()) {
                return false;
            }
        }
        return true;
    }

    private static <T> T[] inserted(T[] from, int at, T value, T[] into) {
        System.arraycopy(from, 0, into, 0, at);
        into[at] = value;
        System.arraycopy(from, at, into, at + 1, from.length - at);
        return into;
    }

    private static <T> T[] removed(T[] from, int at, T[] into) {
        System.arraycopy(from, 0, into, 0, at);
        System.arraycopy(from, at + 1, into, at, from.length - at - 1);
        return into;
    }

    // ---------------------------------------------------------------- the record of a selection

    @Override
    public long recordSelection(Backend backend, Request request) {
        Scratch s = SCRATCH.get();
        s.forget();
        PrefixIndex index = indexes.get(backend);
        if (index == null || !request.hasPrompt()) {
            return NO_PREDICTION;
        }
        int count = s.hash(request.prompt(), settings);
        if (count == 0) {
            return NO_PREDICTION;
        }
        sizeFromReport(index, backend);
        long[] stamps = s.stamps(count);
        index.record(s.hashes, count, stamps);
        int matched = 0;
        while (matched < count && stamps[matched] >= 0) {
            matched++;
        }
        long cached = Math.min((long) matched * settings.blockTokens(), s.promptTokens);
        s.remember(this, request, backend, index, matched);
        return s.promptTokens << 32 | cached; // both below 2^31: a prompt has at most 2^24 characters
    }

    /**
     * Bounds the index by the KV-cache capacity the backend's server reports, where it does: a
     * larger index would trust prefixes the server cannot hold.
     */
    private void sizeFromReport(PrefixIndex index, Backend backend) {
        TimedLoadReport report = backend.loadReport().orElse(null);
        if (report == null || !report.load().hasKvCacheCapacity()) {
            return;
        }
        long blocks = report.load().kvCacheCapacityTokens() / settings.blockTokens();
        int wanted = (int) Math.max(1, Math.min(blocks, PrefixIndex.MAX_ENTRIES));
        if (index.maxEntries() != wanted) {
            index.resize(wanted);
        }
    }

    @Override
    public PrefixPrediction claim(Backend backend, Request request) {
        Scratch s = SCRATCH.get();
        if (s.lastSelector != this || s.lastRequest != request || s.lastBackend != backend) {
            return null;
        }
        PrefixPrediction prediction = new PrefixPrediction(s.lastIndex, Arrays.copyOf(s.hashes, s.count),
                s.lastMatched, Arrays.copyOf(s.stamps, s.lastMatched), s.promptUnits,
                s.tokenized ? settings.blockTokens() : settings.blockChars(), s.tokenized);
        s.forget();
        return prediction;
    }

    // ---------------------------------------------------------------- the pick

    private final class PrefixPicker implements Picker {
        private final Backend[] backends;
        private final PrefixIndex[] indexes;
        private final long[] ids;
        /** The backends' weights as the picker was built, ramped while one is in slow start. */
        private final int[] weights;
        private final boolean equalWeights;

        PrefixPicker(Backend[] backends, PrefixIndex[] indexes, long[] ids, int[] weights, boolean equalWeights) {
            this.backends = backends;
            this.indexes = indexes;
            this.ids = ids;
            this.weights = weights;
            this.equalWeights = equalWeights;
        }

        @Override
        public Backend pick(Request request) {
            int n = backends.length;
            if (n == 1) {
                return backends[0];
            }
            Scratch s = SCRATCH.get();
            int[] cand = s.candidates(n);
            long[] loads = s.loads(n);
            long[] own = s.own(n);
            long now = Long.MIN_VALUE; // read once, and only if some backend has a report
            int c = 0;
            for (int i = 0; i < n; i++) {
                Backend b = backends[i];
                TimedLoadReport report = b.loadReport().orElse(null);
                long active = b.activeConnections();
                own[i] = active;
                loads[i] = active;
                boolean saturated = false;
                if (report != null) {
                    if (now == Long.MIN_VALUE) {
                        now = context.ticker().read();
                    }
                    if (report.ageNanos(now) <= settings.maxReportAgeNanos()) {
                        LoadReport load = report.load();
                        // saturated: its queue says it cannot take more now
                        saturated = load.hasWaitingRequests() && load.waitingRequests() >= settings.saturatedQueue();
                        loads[i] = Math.max(active, reportedLoad(load));
                    }
                }
                if (!saturated) {
                    cand[c++] = i;
                }
            }
            if (c == 0) { // every backend saturated: leaving them all out would route nowhere
                for (int i = 0; i < n; i++) {
                    cand[i] = i;
                }
                c = n;
            }
            long totalLoad = 0;
            long totalWeight = 0;
            double least = Double.MAX_VALUE;
            double most = 0;
            for (int k = 0; k < c; k++) {
                int i = cand[k];
                int weight = weights[i];
                totalLoad += loads[i];
                totalWeight += weight;
                double perWeight = (double) loads[i] / weight;
                least = Math.min(least, perWeight);
                most = Math.max(most, perWeight);
            }
            if (most - least > settings.imbalanceAbsolute() && most > settings.imbalanceRelative() * least
                    || !request.hasPrompt()) {
                return leastLoaded(cand, c, loads);
            }
            int blocks = s.hash(request.prompt(), settings);
            if (blocks == 0) {
                return leastLoaded(cand, c, loads);
            }
            // Bounded load: below loadBound times the average per unit of weight, this request
            // included. The least loaded is always below it, so someone is eligible.
            double bound = settings.loadBound() * (totalLoad + 1) / totalWeight;
            long[] hashes = s.hashes;
            int first = -1; // the longest match, and where
            int firstAt = -1;
            int second = -1; // the longest among the others
            int eligible = 0;
            for (int k = 0; k < c; k++) {
                int i = cand[k];
                if (loads[i] >= bound * weights[i]) {
                    continue;
                }
                cand[eligible++] = i;
                int matched = indexes[i].match(hashes, blocks);
                if (matched > first) {
                    second = first;
                    first = matched;
                    firstAt = i;
                } else if (matched > second) {
                    second = matched;
                }
            }
            if (eligible == 0) { // cannot happen: the least loaded is below the bound
                return leastLoaded(cand, c, loads);
            }
            if (first > second && second >= 0) {
                return backends[firstAt]; // holds more of the prompt than any other
            }
            if (eligible == 1) {
                return backends[cand[0]];
            }
            if (first == 0) {
                // Nobody holds any of it: a prompt new to this balancer. Its placement only matters
                // for the prompts that will share its beginning, so it is placed among the backends
                // at or below the average of this balancer's own live counts (reports are seconds
                // old): a fleet whose prompts share nothing is then routed close to least loaded,
                // and queues about as little as under LEAST_CONNECTIONS.
                eligible = atOrBelowAverage(cand, eligible, own);
                return backends[rendezvous(hashes[0], cand, eligible)];
            }
            // Several hold the longest known prefix alike (a system prompt many conversations
            // share): place by the first block beyond it, which names this conversation.
            long key = hashes[Math.min(blocks, first + 1) - 1];
            return backends[rendezvous(key, cand, eligible)];
        }

        /** Keeps, at the front of {@code cand}, those of its first {@code count} at or below their average load. */
        private int atOrBelowAverage(int[] cand, int count, long[] loads) {
            long totalLoad = 0;
            long totalWeight = 0;
            for (int k = 0; k < count; k++) {
                totalLoad += loads[cand[k]];
                totalWeight += weights[cand[k]];
            }
            int kept = 0;
            for (int k = 0; k < count; k++) {
                int i = cand[k];
                // load / weight <= totalLoad / totalWeight, by cross multiplication
                if (loads[i] * totalWeight <= totalLoad * weights[i]) {
                    cand[kept++] = i;
                }
            }
            return kept > 0 ? kept : count;
        }

        /** The position, among the first {@code count} of {@code cand}, that ranks first for the key. */
        private int rendezvous(long key, int[] cand, int count) {
            int best = cand[0];
            if (equalWeights) {
                long top = PromptHashes.mix(key, ids[best]);
                for (int k = 1; k < count; k++) {
                    long score = PromptHashes.mix(key, ids[cand[k]]);
                    if (Long.compareUnsigned(score, top) > 0) {
                        top = score;
                        best = cand[k];
                    }
                }
                return best;
            }
            // Weighted rendezvous: the largest w / -ln(u), u uniform in (0, 1) from the hash.
            double top = -1;
            for (int k = 0; k < count; k++) {
                int i = cand[k];
                double u = ((PromptHashes.mix(key, ids[i]) >>> 11) + 0.5) * 0x1.0p-53;
                double score = weights[i] / -Math.log(u);
                if (score > top) {
                    top = score;
                    best = i;
                }
            }
            return best;
        }

        /** The least loaded per unit of weight among the first {@code count} of {@code cand}; ties at random. */
        private Backend leastLoaded(int[] cand, int count, long[] loads) {
            RandomGenerator random = context.random();
            int best = cand[0];
            long bestLoad = loads[best];
            long bestWeight = weights[best];
            int ties = 1;
            for (int k = 1; k < count; k++) {
                int i = cand[k];
                long load = loads[i];
                long lhs = load * bestWeight;
                long rhs = bestLoad * weights[i];
                if (lhs < rhs) {
                    best = i;
                    bestLoad = load;
                    bestWeight = weights[i];
                    ties = 1;
                } else if (lhs == rhs && random.nextInt(++ties) == 0) {
                    best = i; // each of the tied is kept with probability 1 / ties: uniform
                    bestLoad = load;
                    bestWeight = weights[i];
                }
            }
            return backends[best];
        }
    }

    /** The requests a report says the backend runs and queues, from every client of its server. */
    private static long reportedLoad(LoadReport load) {
        return (load.hasRunningRequests() ? load.runningRequests() : 0)
                + (load.hasWaitingRequests() ? load.waitingRequests() : 0);
    }

    @Override
    public String toString() {
        return "PrefixAffinitySelector{" + settings + ", backends=" + indexes.size() + '}';
    }

    // ---------------------------------------------------------------- per-thread buffers

    /**
     * One thread's buffers: the hashes of the last prompt hashed, with that prompt, and the last
     * selection recorded, for a lease to claim. Never shared between threads.
     */
    static final class Scratch {
        long[] hashes = new long[64];
        long[] stamps = new long[64];
        char[] chars = new char[256];
        int[] candidates = new int[16];
        int count;
        String prompt;
        PrefixAffinity hashedWith;
        long promptTokens;
        long promptUnits;
        boolean tokenized;

        PrefixAffinitySelector lastSelector;
        Request lastRequest;
        Backend lastBackend;
        PrefixIndex lastIndex;
        int lastMatched;

        long[] loads = new long[16];
        long[] own = new long[16];

        long[] own(int n) {
            if (own.length < n) {
                own = new long[Math.max(n, own.length * 2)];
            }
            return own;
        }

        long[] loads(int n) {
            if (loads.length < n) {
                loads = new long[Math.max(n, loads.length * 2)];
            }
            return loads;
        }

        int[] candidates(int n) {
            if (candidates.length < n) {
                candidates = new int[Math.max(n, candidates.length * 2)];
            }
            return candidates;
        }

        long[] stamps(int count) {
            if (stamps.length < count) {
                stamps = new long[Math.max(count, stamps.length * 2)];
            }
            return stamps;
        }

        /** The block hashes of this prompt under these settings, into {@link #hashes}; their count. */
        int hash(String text, PrefixAffinity settings) {
            if (text == prompt && settings == hashedWith) { // the same String: the same content
                return count;
            }
            Tokenizer tokenizer = settings.tokenizerOrNull();
            int blocks;
            if (tokenizer == null) {
                int blockChars = settings.blockChars();
                blocks = Math.min(text.length() / blockChars, settings.maxPromptBlocks());
                ensureHashes(blocks);
                if (chars.length < blockChars) {
                    chars = new char[blockChars];
                }
                count = PromptHashes.ofText(text, blockChars, blocks, hashes, chars);
                promptUnits = text.length();
                promptTokens = (text.length() + settings.charsPerToken() - 1) / settings.charsPerToken();
                tokenized = false;
            } else {
                int[] tokens = tokenizer.encode(text);
                if (tokens == null) {
                    throw new IllegalStateException("tokenizer " + tokenizer + " returned null for a prompt of "
                            + text.length() + " characters");
                }
                blocks = Math.min(tokens.length / settings.blockTokens(), settings.maxPromptBlocks());
                ensureHashes(blocks);
                count = PromptHashes.ofTokens(tokens, settings.blockTokens(), blocks, hashes);
                promptUnits = tokens.length;
                promptTokens = tokens.length;
                tokenized = true;
            }
            prompt = text;
            hashedWith = settings;
            return count;
        }

        private void ensureHashes(int blocks) {
            if (hashes.length < blocks) {
                hashes = new long[Math.max(blocks, hashes.length * 2)];
            }
        }

        void remember(PrefixAffinitySelector selector, Request request, Backend backend, PrefixIndex index,
                int matched) {
            lastSelector = selector;
            lastRequest = request;
            lastBackend = backend;
            lastIndex = index;
            lastMatched = matched;
        }

        void forget() {
            lastSelector = null;
            lastRequest = null;
            lastBackend = null;
            lastIndex = null;
        }
    }
}

package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkPositiveNanos;
import static dev.ailb.internal.Preconditions.checkRange;

import dev.ailb.internal.PrefixIndex;
import java.time.Duration;
import java.util.Optional;

/**
 * Prefix-cache-aware routing: a request whose prompt starts like one routed before goes where that
 * prefix is likely still in the KV cache, so the instance skips most of its prefill, while no
 * backend is loaded beyond a bounded share. {@link BalancingStrategy#PREFIX_AFFINITY} is this
 * strategy with the defaults below; {@link #builder()} makes one with other settings.
 *
 * <pre>{@code
 * LoadBalancer lb = new LoadBalancer(BalancingStrategy.PREFIX_AFFINITY);
 * Request r = new Request("req-1", clientIp, "/v1/chat/completions").withPrompt(promptText);
 * try (Lease lease = lb.acquire(r)) { ... }
 * }</pre>
 *
 * <h2>A pick</h2>
 * A backend's load is its requests in flight from this balancer, or, when higher, the running and
 * waiting requests of its last load report younger than {@link #maxReportAge()}: with several
 * application replicas in front of one fleet, the report is what shows the others' requests.
 * <ol>
 *   <li><b>Saturated backends out.</b> A backend whose report, younger than
 *       {@link #maxReportAge()}, shows at least {@link #saturatedQueue()} waiting requests is left
 *       out, unless every backend is. A high KV-cache usage alone does not count: a cache kept
 *       full is what this strategy works with, and leaving out every backend above a usage line
 *       between two reports sends all traffic to the few below it.</li>
 *   <li><b>Imbalance: load alone.</b> When the most loaded of the rest exceeds the least loaded by
 *       more than {@link #imbalanceAbsolute()} and by a factor of more than
 *       {@link #imbalanceRelative()}, the least loaded takes the request, whatever its prompt. The
 *       same for a request without a prompt, or with one shorter than a block.</li>
 *   <li><b>Bounded load.</b> Only backends whose in-flight load per unit of weight is below
 *       {@link #loadBound()} times the average, counting this request, are eligible (consistent
 *       hashing with bounded loads, Mirrokni et al.): one popular prefix cannot melt one backend;
 *       its overflow spills to the next backend in its placement order, which then caches it too.</li>
 *   <li><b>Longest cached prefix.</b> The prompt is cut into blocks of {@link #blockTokens()} tokens
 *       (or {@code blockTokens * charsPerToken} characters without a {@link Tokenizer}), hashed as a
 *       chain so that a hash names a whole prefix, and looked up in each eligible backend's index of
 *       the prefixes this balancer routed there. If one backend holds a longer prefix than every
 *       other, it takes the request.</li>
 *   <li><b>Placement.</b> Otherwise, when several backends hold the longest known prefix alike
 *       (a system prompt that many conversations share), the request is placed by weighted
 *       rendezvous hashing of its first block beyond that shared prefix, which names the
 *       conversation. Placement depends only on the prompt, the backends' ids and weights, and the
 *       shared prefixes: balancers in separate application replicas, which share nothing, place a
 *       new conversation on the same backend, and its next turn, arriving at another replica,
 *       follows it there. A prompt no eligible backend holds any block of is placed the same way by
 *       its first block, but only among the backends at or below the average load: nothing is
 *       cached to gain, and a fleet whose prompts share nothing then queues no more than under
 *       least-connections routing.</li>
 * </ol>
 * The backend chosen records the prompt's blocks in its index, which is bounded (LRU) to
 * {@link #indexBlocks()} blocks per backend, about 32 bytes per block, or, where the backend's
 * load reports give its KV-cache capacity ({@link LoadReport#kvCacheCapacityTokens()}, which
 * {@link dev.ailb.health.PrometheusLoadSource#vllm()} reads from vLLM's {@code /metrics}), to that
 * capacity divided by {@link #blockTokens()}. A backend that leaves the
 * available set (unhealthy, removed, in maintenance) loses its index: its server has likely
 * restarted or will.
 *
 * <h2>Feedback</h2>
 * {@link Lease#reportCachedTokens} tells what the server really had cached. A prediction that did
 * not materialise drops the index entries at least as old as the first block that was missing
 * (the server's LRU evicted those first); one that did refreshes the prompt's blocks. The
 * predicted and reported rates are in {@link BackendStats#promptCache()}.
 *
 * <h2>Cost</h2>
 * A pick hashes the prompt once (reused by retries of the same request on the thread: about a
 * microsecond per thousand tokens), scans the eligible backends once, and probes each backend's
 * index for as many blocks as it holds of the prompt, plus one. The backend chosen records the
 * prompt under its index's write lock; the lookups never lock. Made for fleets of up to a few
 * hundred backends: a pick's cost grows with their number.
 *
 * <p>Immutable and thread-safe; each balancer that uses it keeps its own indexes.
 */
public final class PrefixAffinity implements BalancingStrategy {
    /** The default block: 64 tokens. See {@link Builder#blockTokens}. */
    public static final int DEFAULT_BLOCK_TOKENS = 64;
    /** The default characters per token without a tokenizer: 4. See {@link Builder#charsPerToken}. */
    public static final int DEFAULT_CHARS_PER_TOKEN = 4;
    /** The default number of a prompt's blocks that are hashed: 2,048. See {@link Builder#maxPromptBlocks}. */
    public static final int DEFAULT_MAX_PROMPT_BLOCKS = 2048;
    /** The default index bound per backend: 8,192 blocks. See {@link Builder#indexBlocks}. */
    public static final int DEFAULT_INDEX_BLOCKS = 8192;
    /** The default load bound: 1.25 times the average. See {@link Builder#loadBound}. */
    public static final double DEFAULT_LOAD_BOUND = 1.25;
    /** The default absolute imbalance: 32. See {@link Builder#imbalance}. */
    public static final double DEFAULT_IMBALANCE_ABSOLUTE = 32;
    /** The default relative imbalance: 1.5. See {@link Builder#imbalance}. */
    public static final double DEFAULT_IMBALANCE_RELATIVE = 1.5;
    /** The default queue that makes a backend saturated: 5 waiting requests. See {@link Builder#saturatedQueue}. */
    public static final int DEFAULT_SATURATED_QUEUE = 5;
    /** How long a load report's queue counts by default: 5 seconds. See {@link Builder#maxReportAge}. */
    public static final Duration DEFAULT_MAX_REPORT_AGE = Duration.ofSeconds(5);

    static final int MAX_BLOCK_TOKENS = 65_536;
    static final int MAX_CHARS_PER_TOKEN = 64;
    static final int MAX_PROMPT_BLOCKS = 65_536;

    private final int blockTokens;
    private final int charsPerToken;
    private final int maxPromptBlocks;
    private final int indexBlocks;
    private final double loadBound;
    private final double imbalanceAbsolute;
    private final double imbalanceRelative;
    private final int saturatedQueue;
    private final Duration maxReportAge;
    private final Tokenizer tokenizer;

    private PrefixAffinity(Builder b) {
        this.blockTokens = b.blockTokens;
        this.charsPerToken = b.charsPerToken;
        this.maxPromptBlocks = b.maxPromptBlocks;
        this.indexBlocks = b.indexBlocks;
        this.loadBound = b.loadBound;
        this.imbalanceAbsolute = b.imbalanceAbsolute;
        this.imbalanceRelative = b.imbalanceRelative;
        this.saturatedQueue = b.saturatedQueue;
        this.maxReportAge = b.maxReportAge;
        this.tokenizer = b.tokenizer;
    }

    /**
     * A builder with every setting at its default.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Selector newSelector(SelectionContext context) {
        return new PrefixAffinitySelector(this, context);
    }

    /**
     * {@code "PREFIX_AFFINITY"}, whatever the settings.
     *
     * @return the name
     */
    @Override
    public String name() {
        return "PREFIX_AFFINITY";
    }

    /** @return tokens per block */
    public int blockTokens() {
        return blockTokens;
    }

    /** @return characters per token, used without a tokenizer */
    public int charsPerToken() {
        return charsPerToken;
    }

    /** @return the most blocks of a prompt that are hashed */
    public int maxPromptBlocks() {
        return maxPromptBlocks;
    }

    /** @return the bound of each backend's index, in blocks */
    public int indexBlocks() {
        return indexBlocks;
    }

    /** @return the load bound, a multiple of the average load */
    public double loadBound() {
        return loadBound;
    }

    /** @return the absolute imbalance, in the balancer's unit of load per unit of weight */
    public double imbalanceAbsolute() {
        return imbalanceAbsolute;
    }

    /** @return the relative imbalance, a ratio of the most to the least loaded */
    public double imbalanceRelative() {
        return imbalanceRelative;
    }

    /** @return the waiting requests of a fresh report from which a backend is left out */
    public int saturatedQueue() {
        return saturatedQueue;
    }

    /** @return how long a load report's running and waiting requests count in a backend's load */
    public Duration maxReportAge() {
        return maxReportAge;
    }

    long maxReportAgeNanos() {
        return maxReportAge.toNanos();
    }

    /** @return the tokenizer, if one was given */
    public Optional<Tokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    /** Characters per block without a tokenizer. */
    int blockChars() {
        return blockTokens * charsPerToken;
    }

    Tokenizer tokenizerOrNull() {
        return tokenizer;
    }

    @Override
    public String toString() {
        return "PREFIX_AFFINITY{blockTokens=" + blockTokens + ", charsPerToken=" + charsPerToken + ", maxPromptBlocks="
                + maxPromptBlocks + ", indexBlocks=" + indexBlocks + ", loadBound=" + loadBound + ", imbalance="
                + imbalanceAbsolute + "/" + imbalanceRelative + ", saturatedQueue=" + saturatedQueue
                + ", maxReportAge=" + maxReportAge
                + (tokenizer == null ? "" : ", tokenizer=" + tokenizer)
                + '}';
    }

    /**
     * Settings of a {@link PrefixAffinity} strategy; a setting set twice keeps the last. Not thread-safe.
     */
    public static final class Builder {
        private int blockTokens = DEFAULT_BLOCK_TOKENS;
        private int charsPerToken = DEFAULT_CHARS_PER_TOKEN;
        private int maxPromptBlocks = DEFAULT_MAX_PROMPT_BLOCKS;
        private int indexBlocks = DEFAULT_INDEX_BLOCKS;
        private double loadBound = DEFAULT_LOAD_BOUND;
        private double imbalanceAbsolute = DEFAULT_IMBALANCE_ABSOLUTE;
        private double imbalanceRelative = DEFAULT_IMBALANCE_RELATIVE;
        private int saturatedQueue = DEFAULT_SATURATED_QUEUE;
        private Duration maxReportAge = DEFAULT_MAX_REPORT_AGE;
        private Tokenizer tokenizer;

        private Builder() {}

        /**
         * Tokens per block. Default 64: a pick over an 8,000-token prompt looks up 125 blocks, and
         * a match misses at most 63 tokens of a cached prefix, under 1% of a long prompt; a multiple
         * of vLLM's 16-token cache block, so that a block counted cached is whole on the server.
         *
         * @param blockTokens 1..65,536
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder blockTokens(int blockTokens) {
            this.blockTokens = checkRange(blockTokens, 1, MAX_BLOCK_TOKENS, "blockTokens");
            return this;
        }

        /**
         * Characters per token, to cut a prompt into blocks without a tokenizer. Default 4, the
         * usual ratio of English text under the tokenizers of today's models; what matters is that
         * every balancer cuts alike, not that a block is exactly its token count.
         *
         * @param charsPerToken 1..64
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder charsPerToken(int charsPerToken) {
            this.charsPerToken = checkRange(charsPerToken, 1, MAX_CHARS_PER_TOKEN, "charsPerToken");
            return this;
        }

        /**
         * The most blocks of a prompt that are hashed and looked up; the rest of a longer prompt
         * does not affect routing. Default 2,048 blocks (131,072 tokens at the default block), the
         * context window of most models served today: it bounds a pick's cost for any input.
         *
         * @param maxPromptBlocks 1..65,536
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder maxPromptBlocks(int maxPromptBlocks) {
            this.maxPromptBlocks = checkRange(maxPromptBlocks, 1, MAX_PROMPT_BLOCKS, "maxPromptBlocks");
            return this;
        }

        /**
         * The bound of each backend's index, in blocks, unless the backend reports its KV-cache
         * capacity, which then sets it. Default 8,192 blocks (524,288 tokens at the
         * default block, about what one 80 GB accelerator holds for an 8-billion-parameter model),
         * about 256 KiB of heap per backend when full. Too large an index trusts prefixes the
         * server has evicted; the feedback of {@link Lease#reportCachedTokens} corrects that.
         *
         * @param indexBlocks 1..16,777,216
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder indexBlocks(int indexBlocks) {
            this.indexBlocks = checkRange(indexBlocks, 1, PrefixIndex.MAX_ENTRIES, "indexBlocks");
            return this;
        }

        /**
         * How far above the average load a backend may be and still take a request for its cache.
         * Default 1.25: a backend holding a hot prefix carries at most a quarter more than its share
         * before the prefix spills to the next; lower spreads load more evenly, higher keeps more
         * hits.
         *
         * @param loadBound at least 1.0, finite
         * @return this builder
         * @throws IllegalArgumentException if below 1 or not finite
         */
        public Builder loadBound(double loadBound) {
            if (!(loadBound >= 1.0) || Double.isInfinite(loadBound)) {
                throw new IllegalArgumentException("loadBound: " + loadBound + " (expected: a finite number >= 1.0)");
            }
            this.loadBound = loadBound;
            return this;
        }

        /**
         * When the fleet counts as imbalanced, and the least loaded backend takes every request
         * until it is not: the most loaded exceeds the least loaded by more than {@code absolute}
         * and by a factor of more than {@code relative}. Loads are in-flight requests (or tokens,
         * when the balancer counts tokens) per unit of weight. Defaults 32 and 1.5: far enough
         * from balance that the bounded load above has not kept it, which happens when backends
         * differ in speed or other balancers send to the same fleet. Set the absolute threshold in
         * tokens when counting tokens.
         *
         * @param absolute at least 0, finite
         * @param relative at least 1.0, finite
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder imbalance(double absolute, double relative) {
            if (!(absolute >= 0) || Double.isInfinite(absolute)) {
                throw new IllegalArgumentException("absolute: " + absolute + " (expected: a finite number >= 0)");
            }
            if (!(relative >= 1.0) || Double.isInfinite(relative)) {
                throw new IllegalArgumentException("relative: " + relative + " (expected: a finite number >= 1.0)");
            }
            this.imbalanceAbsolute = absolute;
            this.imbalanceRelative = relative;
            return this;
        }

        /**
         * The waiting requests in a fresh load report from which a backend takes no request while
         * another does not. Default 5, the balancer's own saturation default
         * ({@link LoadBalancerBuilder#saturation}): a queue that long means the instance is full
         * now, whatever it holds in its cache.
         *
         * @param waitingRequests at least 1
         * @return this builder
         * @throws IllegalArgumentException if below 1
         */
        public Builder saturatedQueue(int waitingRequests) {
            if (waitingRequests < 1) {
                throw new IllegalArgumentException("waitingRequests: " + waitingRequests + " (expected: >= 1)");
            }
            this.saturatedQueue = waitingRequests;
            return this;
        }

        /**
         * How long a backend's load report counts: its queue for {@link #saturatedQueue}, and
         * its running and waiting requests, which come from every client of the server (other
         * application replicas included), make its load when they exceed this balancer's own count
         * of requests in flight there. Default 5 s:
         * a few intervals of a {@code /metrics} poller, after which the queue it saw has likely
         * turned over.
         *
         * @param maxReportAge > 0, at most {@code Duration.ofNanos(Long.MAX_VALUE)}
         * @return this builder
         * @throws NullPointerException     if {@code maxReportAge} is null
         * @throws IllegalArgumentException if not positive or too long
         */
        public Builder maxReportAge(Duration maxReportAge) {
            this.maxReportAge = checkPositiveNanos(maxReportAge, "maxReportAge");
            return this;
        }

        /**
         * Cuts prompts into blocks of real tokens. Default none: blocks of characters.
         *
         * @param tokenizer the model's tokenizer
         * @return this builder
         * @throws NullPointerException if {@code tokenizer} is null
         */
        public Builder tokenizer(Tokenizer tokenizer) {
            this.tokenizer = checkNotNull(tokenizer, "tokenizer");
            return this;
        }

        /**
         * The strategy.
         *
         * @return a new strategy with these settings
         */
        public PrefixAffinity build() {
            return new PrefixAffinity(this);
        }
    }
}

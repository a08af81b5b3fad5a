package dev.ailb;

import dev.ailb.internal.Preconditions;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/**
 * How a balancer chooses a backend for each request: the eight built-in strategies below, or
 * your own.
 *
 * <p>A strategy is an immutable description, safe to share between balancers: it holds no state
 * of its own. Each balancer that uses it calls {@link #newSelector} once and keeps its cursors and
 * tables there. Only available backends (healthy, neither draining nor removed) are ever offered to
 * a strategy.
 *
 * <p>A custom strategy is three small functions; for example, "always the first available":
 * <pre>{@code
 * BalancingStrategy first = BalancingStrategy.named("FIRST_AVAILABLE",
 *         context -> available -> request -> available.get(0));
 * }</pre>
 * Without {@link #named}, a lambda's {@link #name()} is its generated class name, which logs and
 * exceptions then show.
 */
@FunctionalInterface
public interface BalancingStrategy {

    /**
     * Strict rotation over the available backends: over {@code k * n} consecutive picks from a
     * stable set of {@code n}, each backend is picked exactly {@code k} times. A pick is one atomic
     * increment of a cursor that every thread shares and one array index, at any size; that
     * cursor is what threads contend on.
     */
    BalancingStrategy ROUND_ROBIN = new RoundRobinStrategy();

    /**
     * The backend with the fewest active connections relative to its weight (or the fewest tokens
     * in flight, when the balancer {@linkplain LoadBalancerBuilder#countTokens(long) counts
     * tokens}); ties are broken uniformly at random, so equal backends share the traffic. Exact over up to 32 available
     * backends (one pass over them, which also marks the tied ones); beyond, the less loaded of
     * two backends drawn at random (power of two choices), so a pick costs the same at 10,000
     * backends as at 33.
     */
    BalancingStrategy LEAST_CONNECTIONS = new LeastConnectionsStrategy();

    /**
     * Smooth weighted round robin: over any {@code T} consecutive picks, {@code T} the sum of the
     * weights divided by their greatest common divisor, each backend is picked exactly its weight
     * divided by that divisor (the proportions are exact, whatever the weights), and the picks
     * are interleaved. For small weights, while {@code T} times the number of distinct weights is
     * at most 2^18 (64 backends of weights up to 60, or 10,000 of weights 1 to 3, say), the
     * sequence is nginx's, computed once per set of backends, and a pick is one atomic increment
     * of a shared cursor and one index into it. Beyond, picks follow a golden-ratio schedule: laid
     * out as a sequence while {@code T} is at most 2^18 (the same one-read pick), else a pick is
     * one atomic add and a binary search over the backends; a backend's picks in any run of
     * consecutive picks stay within a few of its share (within 6 at 64 backends of weights up to
     * 1,000,000, measured), no backend waiting more than 2.5 times its ideal gap. Either way the
     * picker for a new set of backends, built under the balancer's lock, costs a bounded amount of
     * work: about 10 µs at 64 backends of huge weights, about a millisecond at most.
     */
    BalancingStrategy WEIGHTED_ROUND_ROBIN = new WeightedRoundRobinStrategy();

    /**
     * Consistent hashing of the client address on a ring: the same address goes to the same backend
     * while the set is unchanged, and a change of the set moves only the addresses it must. A pick
     * hashes the address and searches one slice of an index over the ring (a few points), so it
     * costs about the same at any size; the ring and its index are built when the set changes.
     */
    BalancingStrategy IP_HASH = new IpHashStrategy();

    /**
     * The lowest expected latency: the backend's peak EWMA response time, decayed to the present,
     * times its active connections plus one. Backends not yet measured are tried first. Exact over
     * up to 32 available backends; beyond, the cheaper of two backends drawn at random. A pick
     * reads no clock: it compares {@linkplain Backend#responseTimeRank() ranks}, which order the
     * decayed averages without computing them.
     */
    BalancingStrategy LEAST_RESPONSE_TIME = new LeastResponseTimeStrategy();

    /**
     * A uniformly random available backend, drawn from the balancer's random source: one draw and
     * one array index at any size, with no state shared between threads.
     */
    BalancingStrategy RANDOM = new RandomStrategy();

    /**
     * The lower-scored of two randomly drawn backends, where the score combines what the backends
     * report (CPU, memory, queued requests, KV-cache usage) with the balancer's own live count of
     * requests in flight per unit of weight; see {@link #resourceBased(ResourceWeights, Duration)}.
     * Uses {@link ResourceWeights#DEFAULT} and trusts a report for 30 seconds. Two backends at any
     * size; a pick reads the ticker once, to tell fresh reports from stale ones.
     */
    BalancingStrategy RESOURCE_BASED = new ResourceBasedStrategy(
            ResourceWeights.DEFAULT, ResourceBasedStrategy.DEFAULT_MAX_REPORT_AGE);

    /**
     * Prefix-cache-aware routing for LLM fleets: a request carrying a
     * {@linkplain Request#withPrompt prompt} goes to the backend that holds the longest prefix of it
     * in its KV cache, as far as this balancer knows, unless that backend is loaded beyond 1.25 times
     * the average; a new prompt is placed by rendezvous hashing of its leading blocks, so that
     * balancers in separate replicas agree; saturated backends are left out and an imbalanced fleet
     * is routed by load alone. A request without a prompt goes to the least loaded backend.
     * The server's reports on leases ({@link Lease#reportCachedTokens}) correct the index. See
     * {@link PrefixAffinity} for the pick step by step, the defaults and their reasons, and
     * {@link PrefixAffinity#builder()} for other settings.
     */
    BalancingStrategy PREFIX_AFFINITY = PrefixAffinity.builder().build();

    /**
     * The eight built-in strategies, in the order they are declared here.
     *
     * @return an immutable list of the constants above
     */
    static List<BalancingStrategy> builtIns() {
        return List.of(ROUND_ROBIN, LEAST_CONNECTIONS, WEIGHTED_ROUND_ROBIN, IP_HASH, LEAST_RESPONSE_TIME,
                RANDOM, RESOURCE_BASED, PREFIX_AFFINITY);
    }

    /**
     * The built-in strategy with this name, e.g. {@code "LEAST_CONNECTIONS"}, for configuration
     * read from text.
     *
     * @param name the name of one of the constants above, in upper case
     * @return that constant
     * @throws NullPointerException     if {@code name} is null
     * @throws IllegalArgumentException if no built-in strategy has this name
     */
    static BalancingStrategy builtIn(String name) {
        Preconditions.checkNotNull(name, "name");
        for (BalancingStrategy s : builtIns()) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("name: " + Preconditions.quote(name) + " (expected: one of "
                + builtIns().stream().map(BalancingStrategy::name).collect(Collectors.joining(", ")) + ")");
    }

    /**
     * Creates the per-balancer state of this strategy. Called when a balancer starts using it.
     *
     * @param context the balancer's ticker and random source
     * @return a new selector for that balancer, never null
     */
    Selector newSelector(SelectionContext context);

    /**
     * A short name for logs, exceptions and stats; the constants answer with their own names, and
     * a strategy made with {@link #named} with the name given there.
     *
     * @return the name; by default the simple name of the implementing class (for a lambda, a
     *         generated name such as {@code Examples$$Lambda$20/0x...})
     */
    default String name() {
        return getClass().getSimpleName();
    }

    /**
     * The same strategy under a name of your choice, for logs, exceptions and stats: a lambda has
     * no readable name of its own. The result builds its selectors with {@code strategy}, holds no
     * state, and is as safe to share between balancers as {@code strategy} is.
     *
     * <pre>{@code
     * BalancingStrategy first = BalancingStrategy.named("FIRST_AVAILABLE",
     *         context -> available -> request -> available.get(0));
     * }</pre>
     *
     * @param name     the name, checked as backend ids are: not blank, at most 256 characters,
     *                 no control characters
     * @param strategy the strategy to name
     * @return a strategy that delegates to {@code strategy} and answers {@code name}
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code name} is blank, too long or holds a control
     *                                  character
     */
    static BalancingStrategy named(String name, BalancingStrategy strategy) {
        Preconditions.checkId(name, "name");
        Preconditions.checkNotNull(strategy, "strategy");
        return new NamedStrategy(name, strategy);
    }

    /**
     * A {@link #RESOURCE_BASED} strategy with its own weights. The score of a backend is
     * {@code cpuWeight * cpu + memoryWeight * memory + loadWeight * load}, where {@code load} is
     * {@code x / (1 + x)} of {@code x = activeConnections / weight}. A backend with no report, or a
     * report older than {@code maxReportAge}, scores 0.5 for both CPU and memory: worse than a
     * lightly loaded backend that reports, better than a busy one.
     *
     * @param cpuWeight    weight of CPU utilisation, finite and >= 0
     * @param memoryWeight weight of memory utilisation, finite and >= 0
     * @param loadWeight   weight of live connections, finite and >= 0
     * @param maxReportAge age after which a report is no longer trusted, > 0 and at most
     *                     {@code Duration.ofNanos(Long.MAX_VALUE)}
     * @return a new strategy with these weights
     * @throws NullPointerException     if {@code maxReportAge} is null
     * @throws IllegalArgumentException if a weight is negative or not finite, all are zero, or the
     *                                  age is not positive or too long to count in nanoseconds
     */
    static BalancingStrategy resourceBased(
            double cpuWeight, double memoryWeight, double loadWeight, Duration maxReportAge) {
        return new ResourceBasedStrategy(cpuWeight, memoryWeight, loadWeight, maxReportAge);
    }

    /**
     * A {@link #RESOURCE_BASED} strategy with its own weights for every signal. The score of a
     * backend, lower is better, is the weighted sum of five signals, each in [0, 1]:
     * <ul>
     *   <li>{@code cpu}, {@code memory} and {@code kvCache}: the reported utilisations;</li>
     *   <li>{@code queue}: {@code x / (1 + x)} of {@code x = waitingRequests / weight}, the
     *       reported queue (1 waiting request per unit of weight scores 0.5);</li>
     *   <li>{@code load}: {@code x / (1 + x)} of {@link Backend#loadPerWeight()}, the balancer's
     *       own count of requests (or tokens) in flight, which is live between two reports.</li>
     * </ul>
     * A signal the report lacks, or every signal of a report older than {@code maxReportAge},
     * scores 0.5. A pick compares two backends drawn at random and takes the lower score, so
     * balancers acting on the same reports do not all herd onto the same backend.
     *
     * @param weights      the weights of the signals
     * @param maxReportAge age after which a report is no longer trusted, > 0 and at most
     *                     {@code Duration.ofNanos(Long.MAX_VALUE)}
     * @return a new strategy with these weights
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the age is not positive or too long to count in
     *                                  nanoseconds
     */
    static BalancingStrategy resourceBased(ResourceWeights weights, Duration maxReportAge) {
        return new ResourceBasedStrategy(weights, maxReportAge);
    }
}

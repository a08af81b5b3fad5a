package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNonNegativeFinite;
import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkPositiveNanos;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Lowest combined score of reported CPU, memory, queue and KV-cache usage and the balancer's own
 * count of requests in flight; see {@link BalancingStrategy#resourceBased(ResourceWeights, Duration)}.
 * Immutable.
 *
 * <p>Reports arrive seconds apart, and sending every request to the backend that looked least
 * loaded at the last report herds traffic onto it until the next one (Mitzenmacher, "How useful is
 * old information?"). Two things counter that: the live count of active connections is part of
 * the score, so the balancer's own traffic shows up at once; and each pick compares two backends
 * drawn at random (the power of two choices) rather than taking the global minimum, so many
 * balancers acting on the same stale reports still spread their traffic. The most loaded backend
 * is never chosen while there are three or more; with two, the pick is the exact minimum.
 */
final class ResourceBasedStrategy implements BalancingStrategy {
    static final double DEFAULT_CPU_WEIGHT = ResourceWeights.DEFAULT.cpu();
    static final double DEFAULT_MEMORY_WEIGHT = ResourceWeights.DEFAULT.memory();
    static final double DEFAULT_LOAD_WEIGHT = ResourceWeights.DEFAULT.load();
    static final Duration DEFAULT_MAX_REPORT_AGE = Duration.ofSeconds(30);
    /** The score of a signal that is missing, or whose report is too old: a middling load. */
    static final double UNKNOWN_UTILISATION = 0.5;

    private final ResourceWeights weights;
    private final double cpuWeight;
    private final double memoryWeight;
    private final double loadWeight;
    private final double queueWeight;
    private final double kvCacheWeight;
    private final long maxReportAgeNanos;

    /** The strategy of {@code BalancingStrategy.resourceBased(cpu, memory, load, maxReportAge)}. */
    ResourceBasedStrategy(double cpuWeight, double memoryWeight, double loadWeight, Duration maxReportAge) {
        this(threeWeights(cpuWeight, memoryWeight, loadWeight), maxReportAge);
    }

    ResourceBasedStrategy(ResourceWeights weights, Duration maxReportAge) {
        this.weights = checkNotNull(weights, "weights");
        this.cpuWeight = weights.cpu();
        this.memoryWeight = weights.memory();
        this.loadWeight = weights.load();
        this.queueWeight = weights.queue();
        this.kvCacheWeight = weights.kvCache();
        this.maxReportAgeNanos = checkPositiveNanos(maxReportAge, "maxReportAge").toNanos();
    }

    private static ResourceWeights threeWeights(double cpuWeight, double memoryWeight, double loadWeight) {
        checkNonNegativeFinite(cpuWeight, "cpuWeight");
        checkNonNegativeFinite(memoryWeight, "memoryWeight");
        checkNonNegativeFinite(loadWeight, "loadWeight");
        if (cpuWeight + memoryWeight + loadWeight == 0.0) {
            throw new IllegalArgumentException(
                    "cpuWeight + memoryWeight + loadWeight: 0.0 (expected: > 0)");
        }
        return new ResourceWeights(cpuWeight, memoryWeight, loadWeight, 0.0, 0.0);
    }

    @Override
    public Selector newSelector(SelectionContext context) {
        RandomGenerator random = context.random();
        Ticker ticker = context.ticker();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            int n = backends.length;
            double[] factors = RampedWeights.factorsOf(available);
            if (factors != null && n > 1) {
                // A backend in slow start: its load per unit of weight counts as divided by its
                // factor, read once here; the balancer builds a new picker at each step.
                return request -> {
                    long pair = TwoChoices.draw(random, n);
                    long now = ticker.read();
                    int a = TwoChoices.first(pair);
                    int b = TwoChoices.second(pair);
                    return score(backends[b], now, factors[b]) < score(backends[a], now, factors[a])
                            ? backends[b] : backends[a];
                };
            }
            return request -> {
                if (n == 1) {
                    return backends[0];
                }
                // With two backends this is both in random order, so a tie does not always go to
                // the first.
                long pair = TwoChoices.draw(random, n);
                long now = ticker.read();
                Backend a = backends[TwoChoices.first(pair)];
                Backend b = backends[TwoChoices.second(pair)];
                return score(b, now, 1.0) < score(a, now, 1.0) ? b : a;
            };
        };
    }

    /**
     * The score of a backend at {@code nowNanos}; lower is better. Each signal is in [0, 1]: CPU,
     * memory and KV-cache usage as reported; the queue as {@code x / (1 + x)} of the waiting
     * requests per unit of weight; the load as {@code x / (1 + x)} of the balancer's own
     * {@linkplain Backend#inFlightLoad() in-flight load} per unit of weight. A signal missing from
     * the report, or of a report older than the maximum age, scores {@link #UNKNOWN_UTILISATION}.
     * A backend in slow start is scored with its weight times its factor.
     */
    double score(Backend backend, long nowNanos) {
        return score(backend, nowNanos, backend.slowStartFactor());
    }

    /**
     * The score of a backend whose weight counts as multiplied by {@code rampFactor}, its
     * slow-start factor (1 outside a ramp): the per-weight signals, queue and load, grow by
     * {@code 1 / rampFactor}; what the server reports of its CPU, memory and KV cache does not.
     */
    double score(Backend backend, long nowNanos, double rampFactor) {
        double cpu = UNKNOWN_UTILISATION;
        double memory = UNKNOWN_UTILISATION;
        double queue = UNKNOWN_UTILISATION;
        double kvCache = UNKNOWN_UTILISATION;
        TimedLoadReport report = backend.loadReport().orElse(null);
        if (report != null && report.ageNanos(nowNanos) <= maxReportAgeNanos) {
            LoadReport load = report.load();
            if (load.hasCpu()) {
                cpu = load.cpu();
            }
            if (load.hasMemory()) {
                memory = load.memory();
            }
            if (load.hasWaitingRequests()) {
                double perWeight = (double) load.waitingRequests() / backend.weight();
                if (rampFactor != 1.0) {
                    perWeight /= rampFactor;
                }
                queue = perWeight / (1.0 + perWeight);
            }
            if (load.hasKvCacheUsage()) {
                kvCache = load.kvCacheUsage();
            }
        }
        double perWeight = backend.loadPerWeight();
        if (rampFactor != 1.0) {
            perWeight /= rampFactor;
        }
        double live = perWeight / (1.0 + perWeight);
        return cpuWeight * cpu + memoryWeight * memory + loadWeight * live + queueWeight * queue
                + kvCacheWeight * kvCache;
    }

    /**
     * The weights of the signals.
     *
     * @return the weights
     */
    ResourceWeights weights() {
        return weights;
    }

    @Override
    public String name() {
        return "RESOURCE_BASED";
    }

    @Override
    public String toString() {
        return name() + "{cpu=" + cpuWeight + ", memory=" + memoryWeight + ", load=" + loadWeight
                + ", queue=" + queueWeight + ", kvCache=" + kvCacheWeight
                + ", maxReportAge=" + Duration.ofNanos(maxReportAgeNanos) + '}';
    }
}

package dev.ailb.strategy;

import static dev.ailb.internal.Preconditions.checkNonNegativeFinite;
import static dev.ailb.internal.Preconditions.checkPositiveNanos;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.ResourceReport;
import dev.ailb.SelectionContext;
import dev.ailb.Selector;
import dev.ailb.Ticker;
import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Lowest combined score of CPU, memory and live load; see
 * {@link BalancingStrategy#resourceBased(double, double, double, Duration)}. Immutable.
 *
 * <p>Reports arrive seconds apart, and sending every request to the backend that looked least
 * loaded at the last report herds traffic onto it until the next one (Mitzenmacher, "How useful is
 * old information?"). Two things counter that: the live count of active connections is part of
 * the score, so the balancer's own traffic shows up at once; and each pick compares two backends
 * drawn at random (the power of two choices) rather than taking the global minimum, so many
 * balancers acting on the same stale reports still spread their traffic. The most loaded backend
 * is never chosen while there are three or more; with two, the pick is the exact minimum.
 */
public final class ResourceBasedStrategy implements BalancingStrategy {
    public static final double DEFAULT_CPU_WEIGHT = 0.4;
    public static final double DEFAULT_MEMORY_WEIGHT = 0.3;
    public static final double DEFAULT_LOAD_WEIGHT = 0.3;
    public static final Duration DEFAULT_MAX_REPORT_AGE = Duration.ofSeconds(30);
    /** The CPU and memory score of a backend whose report is missing or too old. */
    public static final double UNKNOWN_UTILISATION = 0.5;

    private final double cpuWeight;
    private final double memoryWeight;
    private final double loadWeight;
    private final long maxReportAgeNanos;

    public ResourceBasedStrategy(double cpuWeight, double memoryWeight, double loadWeight, Duration maxReportAge) {
        this.cpuWeight = checkNonNegativeFinite(cpuWeight, "cpuWeight");
        this.memoryWeight = checkNonNegativeFinite(memoryWeight, "memoryWeight");
        this.loadWeight = checkNonNegativeFinite(loadWeight, "loadWeight");
        if (cpuWeight + memoryWeight + loadWeight == 0.0) {
            throw new IllegalArgumentException(
                    "cpuWeight + memoryWeight + loadWeight: 0.0 (expected: > 0)");
        }
        this.maxReportAgeNanos = checkPositiveNanos(maxReportAge, "maxReportAge").toNanos();
    }

    @Override
    public Selector newSelector(SelectionContext context) {
        RandomGenerator random = context.random();
        Ticker ticker = context.ticker();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            int n = backends.length;
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
                return score(b, now) < score(a, now) ? b : a;
            };
        };
    }

    /** The score of a backend at {@code nowNanos}; lower is better. */
    public double score(Backend backend, long nowNanos) {
        double cpu = UNKNOWN_UTILISATION;
        double memory = UNKNOWN_UTILISATION;
        ResourceReport report = backend.resources().orElse(null);
        if (report != null && report.ageNanos(nowNanos) <= maxReportAgeNanos) {
            cpu = report.cpu();
            memory = report.memory();
        }
        double perWeight = (double) backend.activeConnections() / backend.weight();
        double load = perWeight / (1.0 + perWeight);
        return cpuWeight * cpu + memoryWeight * memory + loadWeight * load;
    }

    @Override
    public String name() {
        return "RESOURCE_BASED";
    }

    @Override
    public String toString() {
        return name() + "{cpu=" + cpuWeight + ", memory=" + memoryWeight + ", load=" + loadWeight
                + ", maxReportAge=" + Duration.ofNanos(maxReportAgeNanos) + '}';
    }
}

package dev.ailb;

import static dev.ailb.internal.Preconditions.checkBetween;

import java.time.Duration;
import java.util.Locale;

/**
 * Slow start: a backend that joins a balancer already serving traffic, or comes back after being
 * unhealthy, ejected or in maintenance, takes a growing share of the traffic over a window instead
 * of its full share at once. A new inference instance starts with an empty prefix cache and kernels
 * that are not yet compiled or warmed; sending it a full share in its first seconds queues
 * requests on it while it is at its slowest.
 *
 * <p>During its ramp a backend's weight is multiplied by a factor that grows with the time
 * {@code t} since it became available, as Envoy's slow start does:
 * <pre>
 *   factor = max(minWeightPercent / 100, (t / window) ^ (1 / aggression))
 * </pre>
 * An aggression of 1 (the default) ramps linearly; above 1 the share rises fast at first and
 * flattens toward the end; below 1 it stays low for longer and rises late. At {@code t = window}
 * the ramp ends and the backend takes its full weight. The balancer steps the factor on its timer
 * every 1/{@value #STEPS} of the window (and at the end of each ramp), publishing a view whose
 * pickers are built with the new factors, so that a pick reads no clock; between two steps the
 * factor is the one of the last step.
 *
 * <p>What the factor scales is the weight wherever a strategy uses one: the share of picks under
 * {@link BalancingStrategy#WEIGHTED_ROUND_ROBIN}, the in-flight load per unit of weight under
 * {@link BalancingStrategy#LEAST_CONNECTIONS}, {@link BalancingStrategy#RESOURCE_BASED} and the
 * load-aware part of {@link BalancingStrategy#PREFIX_AFFINITY} (so a warming backend carries
 * that fraction of its peers' load), and the cost under
 * {@link BalancingStrategy#LEAST_RESPONSE_TIME}, which weighs no weight but divides a warming
 * backend's expected latency by the factor. {@link BalancingStrategy#ROUND_ROBIN} and
 * {@link BalancingStrategy#RANDOM} give every available backend the same share by definition and
 * ignore weights, and {@link BalancingStrategy#IP_HASH} keeps each client on its backend: a ramp
 * would move clients at every step and rebuild the ring each time. Those three are left alone; use
 * {@code WEIGHTED_ROUND_ROBIN}, which rotates like round robin when weights are equal, for a
 * rotation that ramps. A custom strategy can follow the ramp through
 * {@link Backend#slowStartFactor()}.
 *
 * <p>A backend ramps only when there is something to ramp against: when it becomes available
 * (registered by {@link LoadBalancer#addBackend}, {@link LoadBalancer#addBackends},
 * {@link LoadBalancer#setBackends} or a {@link DiscoverySource}, or back in service)
 * while another available backend is out of its own ramp and has already taken requests. The
 * backends a balancer starts with, and any backend that comes back while no other is available,
 * take their full share at once. Envoy puts every endpoint of a new cluster in slow start
 * together, which changes no endpoint's share since all weights are scaled alike; this balancer
 * says so by not ramping them at all. A backend that goes down during its ramp leaves it, and
 * starts a new one when it comes back.
 *
 * <p>Immutable and thread-safe.
 */
public final class SlowStart {
    /** How many steps a ramp takes: the factor is recomputed every 1/32 of the window. */
    public static final int STEPS = 32;
    static final double DEFAULT_AGGRESSION = 1.0;
    static final double DEFAULT_MIN_WEIGHT_PERCENT = 10.0;
    /** The largest aggression: beyond it the curve is a step at the start of the window anyway. */
    static final double MAX_AGGRESSION = 100.0;
    private static final Duration SHORTEST = Duration.ofSeconds(1);
    private static final Duration LONGEST = Duration.ofDays(1);

    private final Duration window;
    private final double aggression;
    private final double minWeightPercent;

    private SlowStart(Duration window, double aggression, double minWeightPercent) {
        this.window = window;
        this.aggression = aggression;
        this.minWeightPercent = minWeightPercent;
    }

    /**
     * A linear ramp over {@code window}, starting at 10% of the weight.
     *
     * @param window how long a ramp lasts, 1 s..1 day
     * @return the settings
     * @throws NullPointerException     if {@code window} is null
     * @throws IllegalArgumentException if {@code window} is out of range
     */
    public static SlowStart of(Duration window) {
        return new SlowStart(checkBetween(window, SHORTEST, LONGEST, "window"), DEFAULT_AGGRESSION,
                DEFAULT_MIN_WEIGHT_PERCENT);
    }

    /**
     * These settings with another curve: 1 is linear, 2 rises like a square root (half the
     * weight a quarter into the window), 0.5 like a square (a quarter of the weight half-way).
     *
     * @param aggression the exponent's inverse, finite, {@code > 0} and at most 100
     * @return the new settings
     * @throws IllegalArgumentException if {@code aggression} is out of range, NaN or infinite
     */
    public SlowStart withAggression(double aggression) {
        if (!(aggression > 0.0 && aggression <= MAX_AGGRESSION)) {
            throw new IllegalArgumentException("aggression: " + aggression + " (expected: > 0 and <= "
                    + MAX_AGGRESSION + ")");
        }
        return new SlowStart(window, aggression, minWeightPercent);
    }

    /**
     * These settings with another floor: the share of its weight a backend takes at the start of
     * its ramp, whatever the curve says; default 10, as Envoy's. A floor of 0 starts the ramp at
     * the smallest share the balancer tells apart, 1/1024 of the weight.
     *
     * @param percent the floor in percent of the weight, 0..100
     * @return the new settings
     * @throws IllegalArgumentException if {@code percent} is out of range or NaN
     */
    public SlowStart withMinWeightPercent(double percent) {
        if (!(percent >= 0.0 && percent <= 100.0)) {
            throw new IllegalArgumentException("minWeightPercent: " + percent + " (expected: 0..100)");
        }
        return new SlowStart(window, aggression, percent);
    }

    /**
     * How long a ramp lasts.
     *
     * @return the window, 1 s..1 day
     */
    public Duration window() {
        return window;
    }

    /**
     * The curve's aggression: 1 linear, above 1 faster at first, below 1 slower at first.
     *
     * @return the aggression, {@code > 0}
     */
    public double aggression() {
        return aggression;
    }

    /**
     * The floor of the factor, in percent of the weight.
     *
     * @return the floor, 0..100
     */
    public double minWeightPercent() {
        return minWeightPercent;
    }

    /**
     * The factor a backend's weight is multiplied by {@code elapsedNanos} into its ramp: the
     * curve, never below the floor, and 1 from the end of the window on.
     *
     * @param elapsedNanos the time since the backend became available; negative counts as 0
     * @return the factor, in (0, 1]
     */
    public double factorAt(long elapsedNanos) {
        long windowNanos = window.toNanos();
        if (elapsedNanos >= windowNanos) {
            return 1.0;
        }
        double t = Math.max(0L, elapsedNanos) / (double) windowNanos;
        double curve = aggression == 1.0 ? t : Math.pow(t, 1.0 / aggression);
        return Math.max(minWeightPercent / 100.0, curve);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SlowStart s && window.equals(s.window)
                && Double.compare(aggression, s.aggression) == 0
                && Double.compare(minWeightPercent, s.minWeightPercent) == 0;
    }

    @Override
    public int hashCode() {
        return (window.hashCode() * 31 + Double.hashCode(aggression)) * 31 + Double.hashCode(minWeightPercent);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "SlowStart{window=%s, aggression=%s, minWeightPercent=%s}", window,
                aggression, minWeightPercent);
    }
}

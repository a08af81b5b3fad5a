package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkPositiveNanos;
import static dev.ailb.internal.Preconditions.checkUnitInterval;

import java.time.Duration;

/**
 * How long {@link LoadBalancer#executeAsync} waits for an attempt's first token before it sends a
 * hedge, a second attempt to another backend: a fixed delay, or a percentile of what the first
 * attempt's backend has measured, its time to first byte ({@link Lease#firstByte()},
 * {@link Attempt#firstToken()}) or its response time.
 *
 * <p>A percentile read from a backend with fewer than {@link #MIN_SAMPLES} measurements is not
 * worth trusting: the fallback delay is used instead. The percentile is read from the backend's
 * histogram as it stands when the call starts (within about 3%), over everything the backend has
 * measured since it was added, without copying the histogram. Cancelled attempts
 * ({@link Lease#cancel()}) add nothing to either histogram, so the losers of earlier hedges do not
 * pull the delay down.
 *
 * <pre>{@code
 * CallOptions options = CallOptions.builder()
 *         .hedging(HedgeDelay.firstTokenPercentile(0.95, Duration.ofMillis(500)))
 *         .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class HedgeDelay {
    /** The fewest measurements a percentile delay is read from; with fewer, the fallback is used. */
    public static final int MIN_SAMPLES = 20;

    private enum Source { FIXED, FIRST_TOKEN, RESPONSE_TIME }

    private final Source source;
    private final double quantile;
    private final long fixedNanos;

    private HedgeDelay(Source source, double quantile, Duration fixed) {
        this.source = source;
        this.quantile = quantile;
        this.fixedNanos = fixed.toNanos();
    }

    /**
     * Hedges after the same delay whatever the backend.
     *
     * @param delay how long to wait for the first token, more than zero
     * @return the hedge delay
     * @throws NullPointerException     if {@code delay} is null
     * @throws IllegalArgumentException if {@code delay} is not positive
     */
    public static HedgeDelay fixed(Duration delay) {
        return new HedgeDelay(Source.FIXED, 0, checkPositiveNanos(delay, "delay"));
    }

    /**
     * Hedges after the given percentile of the backend's times to first byte (or first token),
     * for instance 0.95 for its p95: one request in twenty is hedged when the backend behaves as
     * it has so far.
     *
     * @param quantile the percentile as a fraction, 0.0..1.0
     * @param fallback the delay while the backend has fewer than {@link #MIN_SAMPLES} times
     * @return the hedge delay
     * @throws NullPointerException     if {@code fallback} is null
     * @throws IllegalArgumentException if {@code quantile} is out of range or {@code fallback} not
     *                                  positive
     */
    public static HedgeDelay firstTokenPercentile(double quantile, Duration fallback) {
        checkUnitInterval(quantile, "quantile");
        return new HedgeDelay(Source.FIRST_TOKEN, quantile, checkPositiveNanos(fallback, "fallback"));
    }

    /**
     * Hedges after the given percentile of the backend's response times, for answers that do not
     * stream.
     *
     * @param quantile the percentile as a fraction, 0.0..1.0
     * @param fallback the delay while the backend has fewer than {@link #MIN_SAMPLES} completions
     * @return the hedge delay
     * @throws NullPointerException     if {@code fallback} is null
     * @throws IllegalArgumentException if {@code quantile} is out of range or {@code fallback} not
     *                                  positive
     */
    public static HedgeDelay responseTimePercentile(double quantile, Duration fallback) {
        checkUnitInterval(quantile, "quantile");
        return new HedgeDelay(Source.RESPONSE_TIME, quantile, checkPositiveNanos(fallback, "fallback"));
    }

    /**
     * The delay for a call whose first attempt goes to this backend.
     *
     * @param backend the first attempt's backend
     * @return the delay, more than zero
     * @throws NullPointerException if {@code backend} is null
     */
    public Duration delayFor(Backend backend) {
        checkNotNull(backend, "backend");
        return Duration.ofNanos(nanosFor(backend));
    }

    /** {@link #delayFor} in nanoseconds, at least 1. */
    long nanosFor(Backend backend) {
        long measured = switch (source) {
            case FIXED -> -1;
            case FIRST_TOKEN -> backend.completions.firstByteAt(quantile, MIN_SAMPLES);
            case RESPONSE_TIME -> backend.completions.responseTimeAt(quantile, MIN_SAMPLES);
        };
        return measured < 0 ? fixedNanos : Math.max(1, measured);
    }

    @Override
    public String toString() {
        return switch (source) {
            case FIXED -> "HedgeDelay{" + Duration.ofNanos(fixedNanos) + '}';
            case FIRST_TOKEN -> "HedgeDelay{firstToken p" + quantile * 100 + ", fallback " + Duration.ofNanos(fixedNanos)
                    + '}';
            case RESPONSE_TIME -> "HedgeDelay{responseTime p" + quantile * 100 + ", fallback "
                    + Duration.ofNanos(fixedNanos) + '}';
        };
    }
}

package dev.ailb;

/**
 * The resource usage a backend last reported, and when (by the balancer's {@link Ticker}).
 *
 * <p>Immutable and thread-safe.
 *
 * @param cpu             CPU utilisation in [0, 1]
 * @param memory          memory utilisation in [0, 1]
 * @param reportedAtNanos the ticker reading when the report was recorded
 */
public record ResourceReport(double cpu, double memory, long reportedAtNanos) {

    /**
     * Returns how long ago, by {@code nowNanos}, this report was recorded.
     *
     * @param nowNanos a reading of the same ticker
     * @return {@code nowNanos - reportedAtNanos}, in nanoseconds; negative if {@code nowNanos} is
     *         the earlier reading
     */
    public long ageNanos(long nowNanos) {
        return nowNanos - reportedAtNanos;
    }
}

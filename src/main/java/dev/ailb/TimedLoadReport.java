package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNotNull;

/**
 * The load a backend last reported, and when (by the balancer's {@link Ticker}).
 *
 * <p>Immutable and thread-safe.
 *
 * @param load            the report
 * @param reportedAtNanos the ticker reading when the report was recorded
 */
public record TimedLoadReport(LoadReport load, long reportedAtNanos) {

    /**
     * Checks the report.
     *
     * @param load            the report
     * @param reportedAtNanos the ticker reading when it was recorded
     * @throws NullPointerException if {@code load} is null
     */
    public TimedLoadReport {
        checkNotNull(load, "load");
    }

    /**
     * A report of CPU and memory utilisation only.
     *
     * @param cpu             CPU utilisation in [0, 1]
     * @param memory          memory utilisation in [0, 1]
     * @param reportedAtNanos the ticker reading when the report was recorded
     * @throws IllegalArgumentException if a utilisation is NaN or out of range
     */
    public TimedLoadReport(double cpu, double memory, long reportedAtNanos) {
        this(LoadReport.builder().cpu(cpu).memory(memory).build(), reportedAtNanos);
    }

    /**
     * The reported CPU utilisation.
     *
     * @return CPU utilisation in [0, 1], or NaN if not reported
     */
    public double cpu() {
        return load.cpu();
    }

    /**
     * The reported memory utilisation.
     *
     * @return memory utilisation in [0, 1], or NaN if not reported
     */
    public double memory() {
        return load.memory();
    }

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

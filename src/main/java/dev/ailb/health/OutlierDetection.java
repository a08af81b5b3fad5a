package dev.ailb.health;

import static dev.ailb.internal.Preconditions.checkBetween;
import static dev.ailb.internal.Preconditions.checkRange;
import static dev.ailb.internal.Preconditions.requireUnset;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of passive health checking (outlier ejection), which watches the outcomes reported to
 * {@code releaseConnection}: after {@link #consecutiveFailures()} failed requests in a row a
 * backend is ejected, i.e. gets no new requests, for {@link #baseEjectionTime()} times the number
 * of times it was ejected recently, at most {@link #maxEjectionTime()}. Then it comes back on
 * probation: its next failure ejects it again at once, its next success clears the probation.
 * Every base ejection time it then spends without being ejected takes one off its count. No more
 * than {@link #maxEjectionPercent()} percent of the backends (but always at least one) are
 * ejected at the same time.
 *
 * <p>This is what keeps a "black hole" (an instance that fails every request fast) from drawing
 * traffic under least-connections or least-response-time, which favour whoever answers soonest.
 * The defaults follow Envoy's: 5 failures, 30 s base, 300 s cap; the cap on the share ejected is
 * 50% instead of Envoy's 10% because fleets of inference instances are small: with 10% of six
 * instances, a second broken one could never be ejected.
 *
 * <p>Immutable and thread-safe.
 */
public final class OutlierDetection {
    static final int DEFAULT_CONSECUTIVE_FAILURES = 5;
    static final Duration DEFAULT_BASE_EJECTION_TIME = Duration.ofSeconds(30);
    static final Duration DEFAULT_MAX_EJECTION_TIME = Duration.ofSeconds(300);
    static final int DEFAULT_MAX_EJECTION_PERCENT = 50;
    private static final Duration SHORTEST = Duration.ofMillis(1);
    private static final Duration LONGEST = Duration.ofDays(1);

    private static final OutlierDetection DEFAULTS = builder().build();
    private static final OutlierDetection DISABLED = new OutlierDetection(false, DEFAULT_CONSECUTIVE_FAILURES,
            DEFAULT_BASE_EJECTION_TIME, DEFAULT_MAX_EJECTION_TIME, DEFAULT_MAX_EJECTION_PERCENT);

    private final boolean enabled;
    private final int consecutiveFailures;
    private final Duration baseEjectionTime;
    private final Duration maxEjectionTime;
    private final int maxEjectionPercent;

    private OutlierDetection(boolean enabled, int consecutiveFailures, Duration baseEjectionTime,
            Duration maxEjectionTime, int maxEjectionPercent) {
        this.enabled = enabled;
        this.consecutiveFailures = consecutiveFailures;
        this.baseEjectionTime = baseEjectionTime;
        this.maxEjectionTime = maxEjectionTime;
        this.maxEjectionPercent = maxEjectionPercent;
    }

    /**
     * Outlier detection with the defaults: 5 consecutive failures, 30 s base ejection, 300 s at
     * most, at most 50% of the backends ejected.
     *
     * @return the default settings
     */
    public static OutlierDetection defaults() {
        return DEFAULTS;
    }

    /**
     * No outlier detection: request outcomes are counted but never eject a backend.
     *
     * @return the disabled settings
     */
    public static OutlierDetection disabled() {
        return DISABLED;
    }

    /**
     * A builder starting from the defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Whether outcomes may eject backends.
     *
     * @return {@code false} only for {@link #disabled()}
     */
    public boolean isEnabled() {
        return enabled;
    }

    /**
     * Failed requests in a row that eject a backend.
     *
     * @return the threshold, at least 1
     */
    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    /**
     * The ejection time of a first ejection; repeated ejections last a multiple of it.
     *
     * @return the base ejection time, positive
     */
    public Duration baseEjectionTime() {
        return baseEjectionTime;
    }

    /**
     * The longest an ejection lasts however often the backend was ejected.
     *
     * @return the cap, at least the base ejection time
     */
    public Duration maxEjectionTime() {
        return maxEjectionTime;
    }

    /**
     * The largest share of the backends (not counting draining ones) ejected at the same time, in
     * percent; one backend may always be ejected.
     *
     * @return the share in percent, 1..100
     */
    public int maxEjectionPercent() {
        return maxEjectionPercent;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof OutlierDetection)) {
            return false;
        }
        OutlierDetection that = (OutlierDetection) o;
        return enabled == that.enabled && consecutiveFailures == that.consecutiveFailures
                && baseEjectionTime.equals(that.baseEjectionTime) && maxEjectionTime.equals(that.maxEjectionTime)
                && maxEjectionPercent == that.maxEjectionPercent;
    }

    @Override
    public int hashCode() {
        return Objects.hash(enabled, consecutiveFailures, baseEjectionTime, maxEjectionTime, maxEjectionPercent);
    }

    @Override
    public String toString() {
        if (!enabled) {
            return "OutlierDetection{disabled}";
        }
        return "OutlierDetection{consecutiveFailures=" + consecutiveFailures + ", baseEjectionTime="
                + baseEjectionTime + ", maxEjectionTime=" + maxEjectionTime + ", maxEjectionPercent="
                + maxEjectionPercent + '}';
    }

    /**
     * Builds {@link OutlierDetection} settings; unset values keep their defaults. Each setting may
     * be given once; a second call throws {@link IllegalStateException}. Not thread-safe.
     */
    public static final class Builder {
        private Integer consecutiveFailures;
        private Duration baseEjectionTime;
        private Duration maxEjectionTime;
        private Integer maxEjectionPercent;

        private Builder() {}

        /**
         * Failed requests in a row that eject a backend; default 5.
         *
         * @param failures the threshold, 1..10,000
         * @return this builder
         * @throws IllegalArgumentException if {@code failures} is out of range
         * @throws IllegalStateException    if it was already set
         */
        public Builder consecutiveFailures(int failures) {
            requireUnset(consecutiveFailures, "consecutiveFailures");
            this.consecutiveFailures = checkRange(failures, 1, 10_000, "consecutiveFailures");
            return this;
        }

        /**
         * The length of a first ejection; default 30 seconds.
         *
         * @param time the base ejection time, 1 ms..1 day
         * @return this builder
         * @throws NullPointerException     if {@code time} is null
         * @throws IllegalArgumentException if {@code time} is out of range
         * @throws IllegalStateException    if it was already set
         */
        public Builder baseEjectionTime(Duration time) {
            requireUnset(baseEjectionTime, "baseEjectionTime");
            this.baseEjectionTime = checkBetween(time, SHORTEST, LONGEST, "baseEjectionTime");
            return this;
        }

        /**
         * The longest an ejection lasts; default the larger of 300 seconds and the base ejection
         * time.
         *
         * @param time the cap, 1 ms..1 day, and at least the base ejection time
         * @return this builder
         * @throws NullPointerException     if {@code time} is null
         * @throws IllegalArgumentException if {@code time} is out of range
         * @throws IllegalStateException    if it was already set
         */
        public Builder maxEjectionTime(Duration time) {
            requireUnset(maxEjectionTime, "maxEjectionTime");
            this.maxEjectionTime = checkBetween(time, SHORTEST, LONGEST, "maxEjectionTime");
            return this;
        }

        /**
         * The largest share of backends ejected at once, in percent; default 50. One backend may
         * always be ejected, whatever the share.
         *
         * @param percent the share, 1..100
         * @return this builder
         * @throws IllegalArgumentException if {@code percent} is out of range
         * @throws IllegalStateException    if it was already set
         */
        public Builder maxEjectionPercent(int percent) {
            requireUnset(maxEjectionPercent, "maxEjectionPercent");
            this.maxEjectionPercent = checkRange(percent, 1, 100, "maxEjectionPercent");
            return this;
        }

        /**
         * Builds the settings.
         *
         * @return the settings
         * @throws IllegalArgumentException if the maximum ejection time is below the base
         */
        public OutlierDetection build() {
            Duration base = baseEjectionTime != null ? baseEjectionTime : DEFAULT_BASE_EJECTION_TIME;
            Duration max;
            if (maxEjectionTime != null) {
                max = maxEjectionTime;
                if (max.compareTo(base) < 0) {
                    throw new IllegalArgumentException("maxEjectionTime: " + max
                            + " (expected: >= baseEjectionTime " + base + ")");
                }
            } else {
                max = base.compareTo(DEFAULT_MAX_EJECTION_TIME) > 0 ? base : DEFAULT_MAX_EJECTION_TIME;
            }
            return new OutlierDetection(true,
                    consecutiveFailures != null ? consecutiveFailures : DEFAULT_CONSECUTIVE_FAILURES,
                    base, max, maxEjectionPercent != null ? maxEjectionPercent : DEFAULT_MAX_EJECTION_PERCENT);
        }

    }
}

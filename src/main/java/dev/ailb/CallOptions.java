package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkPositiveNanos;
import static dev.ailb.internal.Preconditions.requireUnset;

import java.time.Duration;
import java.util.Optional;

/**
 * The deadlines and hedging of one {@link LoadBalancer#executeAsync} call; each is off unless set.
 *
 * <ul>
 *   <li>{@link Builder#deadline deadline}: the whole call, every attempt included; when it passes,
 *       the attempts still running are cancelled and the call fails with a
 *       {@link DeadlineExceededException} of kind {@link DeadlineExceededException.Kind#CALL}.</li>
 *   <li>{@link Builder#firstTokenDeadline firstTokenDeadline}: how long each attempt may take to
 *       its first token ({@link Attempt#firstToken()}, or its answer); an attempt that misses it
 *       is abandoned, counted as its backend's failure, and retried on another backend as the
 *       retry policy's attempts and budget allow.</li>
 *   <li>{@link Builder#hedging hedging}: when the first attempt has no first token after the
 *       {@link HedgeDelay}, a second attempt goes to another backend, budget permitting; the first
 *       of them to give a first token (or an answer) wins, and the other is cancelled.</li>
 * </ul>
 *
 * <pre>{@code
 * CallOptions options = CallOptions.builder()
 *         .deadline(Duration.ofSeconds(30))
 *         .firstTokenDeadline(Duration.ofSeconds(2))
 *         .hedging(HedgeDelay.firstTokenPercentile(0.95, Duration.ofMillis(500)))
 *         .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class CallOptions {
    private static final CallOptions NONE = new CallOptions(null, null, null);

    private final Duration deadline;
    private final Duration firstTokenDeadline;
    private final HedgeDelay hedging;

    private CallOptions(Duration deadline, Duration firstTokenDeadline, HedgeDelay hedging) {
        this.deadline = deadline;
        this.firstTokenDeadline = firstTokenDeadline;
        this.hedging = hedging;
    }

    /**
     * No deadline and no hedging: a call made with these options runs its attempts and retries as
     * long as they take.
     *
     * @return the options with nothing set
     */
    public static CallOptions none() {
        return NONE;
    }

    /**
     * A builder with nothing set.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The deadline of the whole call.
     *
     * @return the deadline, or empty for none
     */
    public Optional<Duration> deadline() {
        return Optional.ofNullable(deadline);
    }

    /**
     * The deadline of each attempt's first token.
     *
     * @return the deadline, or empty for none
     */
    public Optional<Duration> firstTokenDeadline() {
        return Optional.ofNullable(firstTokenDeadline);
    }

    /**
     * When to hedge.
     *
     * @return the hedge delay, or empty when the call does not hedge
     */
    public Optional<HedgeDelay> hedging() {
        return Optional.ofNullable(hedging);
    }

    /** The deadline in nanoseconds, or -1. */
    long deadlineNanos() {
        return deadline == null ? -1 : deadline.toNanos();
    }

    /** The first-token deadline in nanoseconds, or -1. */
    long firstTokenNanos() {
        return firstTokenDeadline == null ? -1 : firstTokenDeadline.toNanos();
    }

    /** Whether a call with these options schedules anything. */
    boolean needsTimers() {
        return deadline != null || firstTokenDeadline != null || hedging != null;
    }

    HedgeDelay hedgeDelay() {
        return hedging;
    }

    @Override
    public String toString() {
        return "CallOptions{deadline=" + deadline + ", firstTokenDeadline=" + firstTokenDeadline + ", hedging="
                + hedging + '}';
    }

    /**
     * Builds {@link CallOptions}. Each setting may be given once; a second call throws
     * {@link IllegalStateException}. Not thread-safe.
     */
    public static final class Builder {
        private Duration deadline;
        private Duration firstTokenDeadline;
        private HedgeDelay hedging;

        private Builder() {}

        /**
         * The deadline of the whole call, from {@code executeAsync} to its answer.
         *
         * @param deadline more than zero
         * @return this builder
         * @throws NullPointerException     if {@code deadline} is null
         * @throws IllegalArgumentException if it is not positive
         * @throws IllegalStateException    if it was already set
         */
        public Builder deadline(Duration deadline) {
            requireUnset(this.deadline, "deadline");
            this.deadline = checkPositiveNanos(deadline, "deadline");
            return this;
        }

        /**
         * How long each attempt may take to its first token before it is abandoned and tried on
         * another backend.
         *
         * @param deadline more than zero, and shorter than the call's deadline if both are set
         * @return this builder
         * @throws NullPointerException     if {@code deadline} is null
         * @throws IllegalArgumentException if it is not positive
         * @throws IllegalStateException    if it was already set
         */
        public Builder firstTokenDeadline(Duration deadline) {
            requireUnset(this.firstTokenDeadline, "firstTokenDeadline");
            this.firstTokenDeadline = checkPositiveNanos(deadline, "firstTokenDeadline");
            return this;
        }

        /**
         * Hedges the call: a second attempt to another backend when the first has no first token
         * after this delay.
         *
         * @param delay when to hedge
         * @return this builder
         * @throws NullPointerException  if {@code delay} is null
         * @throws IllegalStateException if it was already set
         */
        public Builder hedging(HedgeDelay delay) {
            requireUnset(this.hedging, "hedging");
            this.hedging = checkNotNull(delay, "hedging");
            return this;
        }

        /**
         * The options.
         *
         * @return new options with these settings
         * @throws IllegalStateException if the first-token deadline is not shorter than the
         *                               call's deadline: it could never fire
         */
        public CallOptions build() {
            if (deadline != null && firstTokenDeadline != null && firstTokenDeadline.compareTo(deadline) >= 0) {
                throw new IllegalStateException("firstTokenDeadline: " + firstTokenDeadline
                        + " (expected: shorter than the deadline, " + deadline + ")");
            }
            return new CallOptions(deadline, firstTokenDeadline, hedging);
        }
    }
}

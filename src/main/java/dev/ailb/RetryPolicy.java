package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkRange;
import static dev.ailb.internal.Preconditions.requireUnset;

import java.util.function.Predicate;

/**
 * How {@link LoadBalancer#execute} retries a failed call: on which failures, how many attempts in
 * all, and how many retries the balancer may spend relative to its traffic (the retry budget),
 * so that an outage does not turn into a storm of retries.
 *
 * <p>The default makes at most 3 attempts, each on a backend not tried yet, retries any
 * {@link Exception}, and lets retries add at most 20% to the requests of the last 10 seconds, plus
 * 10 per second so that light traffic can still retry (the budget of Finagle's defaults).
 *
 * <p>The hedges of {@link LoadBalancer#executeAsync} spend the same budget: a hedge is allowed
 * only while retries and hedges together stay within the retry budget, and hedges alone within
 * the hedge budget, by default 5% of the requests of the last 10 seconds and no floor. A retry
 * needs only the retry budget, so hedges use up room retries would have had, never the other way
 * round past the retry budget; when failures spend the retry budget, hedging stops first.
 * (The budget is described in full in the reliability guide.)
 *
 * <p>Immutable and thread-safe.
 */
public final class RetryPolicy {
    private static final RetryPolicy DEFAULTS = builder().build();

    private final int maxAttempts;
    private final Predicate<? super Throwable> retryOn;
    private final int budgetPercent;
    private final int minRetriesPerSecond;
    private final int hedgeBudgetPercent;
    private final int minHedgesPerSecond;

    private RetryPolicy(int maxAttempts, Predicate<? super Throwable> retryOn, int budgetPercent,
            int minRetriesPerSecond, int hedgeBudgetPercent, int minHedgesPerSecond) {
        this.maxAttempts = maxAttempts;
        this.retryOn = retryOn;
        this.budgetPercent = budgetPercent;
        this.minRetriesPerSecond = minRetriesPerSecond;
        this.hedgeBudgetPercent = hedgeBudgetPercent;
        this.minHedgesPerSecond = minHedgesPerSecond;
    }

    /**
     * The default policy: 3 attempts, retry on any exception, a 20% budget plus 10 per second.
     *
     * @return the default policy
     */
    public static RetryPolicy defaults() {
        return DEFAULTS;
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
     * Attempts in all, the first included.
     *
     * @return the maximum number of attempts, 1..10
     */
    public int maxAttempts() {
        return maxAttempts;
    }

    /**
     * Whether a failure may be retried on another backend.
     *
     * @param failure what the attempt threw
     * @return {@code true} if it is retryable
     */
    public boolean isRetryable(Throwable failure) {
        return retryOn.test(failure);
    }

    /**
     * The share of recent requests that retries may add, in percent.
     *
     * @return the budget, 0..100
     */
    public int budgetPercent() {
        return budgetPercent;
    }

    /**
     * Retries per second always allowed, whatever the traffic.
     *
     * @return the floor, 0..10,000
     */
    public int minRetriesPerSecond() {
        return minRetriesPerSecond;
    }

    /**
     * The share of recent requests that hedges may add, in percent; hedges also count against
     * {@link #budgetPercent()} together with retries.
     *
     * @return the hedge budget, 0..100
     */
    public int hedgeBudgetPercent() {
        return hedgeBudgetPercent;
    }

    /**
     * Hedges per second always allowed by the hedge budget, whatever the traffic (they still need
     * room in the retry budget).
     *
     * @return the floor, 0..10,000
     */
    public int minHedgesPerSecond() {
        return minHedgesPerSecond;
    }

    @Override
    public String toString() {
        return "RetryPolicy{maxAttempts=" + maxAttempts + ", budgetPercent=" + budgetPercent
                + ", minRetriesPerSecond=" + minRetriesPerSecond + ", hedgeBudgetPercent=" + hedgeBudgetPercent
                + ", minHedgesPerSecond=" + minHedgesPerSecond + '}';
    }

    /**
     * Builds a {@link RetryPolicy}; unset values keep their defaults. Each setting may be given
     * once; a second call throws {@link IllegalStateException}. Not thread-safe.
     */
    public static final class Builder {
        private Integer maxAttempts;
        private Predicate<? super Throwable> retryOn;
        private Integer budgetPercent;
        private Integer minRetriesPerSecond;
        private Integer hedgeBudgetPercent;
        private Integer minHedgesPerSecond;

        private Builder() {}

        /**
         * Attempts in all, the first included; default 3. With 1 a call is never retried.
         *
         * @param attempts the maximum, 1..10
         * @return this builder
         * @throws IllegalArgumentException if {@code attempts} is out of range
         * @throws IllegalStateException    if it was already set
         */
        public Builder maxAttempts(int attempts) {
            requireUnset(maxAttempts, "maxAttempts");
            this.maxAttempts = checkRange(attempts, 1, 10, "maxAttempts");
            return this;
        }

        /**
         * Which failures are retried; default every {@link Exception}. Errors are never retried:
         * they end the call at once.
         *
         * @param retryable true for a failure worth another attempt elsewhere
         * @return this builder
         * @throws NullPointerException  if {@code retryable} is null
         * @throws IllegalStateException if it was already set
         */
        public Builder retryOn(Predicate<? super Throwable> retryable) {
            requireUnset(retryOn, "retryOn");
            this.retryOn = checkNotNull(retryable, "retryOn");
            return this;
        }

        /**
         * The share of the requests of the last 10 seconds that retries may add; default 20.
         *
         * @param percent the budget, 0..100
         * @return this builder
         * @throws IllegalArgumentException if {@code percent} is out of range
         * @throws IllegalStateException    if it was already set
         */
        public Builder budgetPercent(int percent) {
            requireUnset(budgetPercent, "budgetPercent");
            this.budgetPercent = checkRange(percent, 0, 100, "budgetPercent");
            return this;
        }

        /**
         * Retries per second allowed whatever the traffic; default 10.
         *
         * @param retries the floor, 0..10,000
         * @return this builder
         * @throws IllegalArgumentException if {@code retries} is out of range
         * @throws IllegalStateException    if it was already set
         */
        public Builder minRetriesPerSecond(int retries) {
            requireUnset(minRetriesPerSecond, "minRetriesPerSecond");
            this.minRetriesPerSecond = checkRange(retries, 0, 10_000, "minRetriesPerSecond");
            return this;
        }

        /**
         * The share of the requests of the last 10 seconds that hedges may add; default 5. A hedge
         * also needs room in the retry budget ({@link #budgetPercent}), which retries and hedges
         * share. 0 turns hedging off (unless {@link #minHedgesPerSecond} allows some).
         *
         * @param percent the hedge budget, 0..100
         * @return this builder
         * @throws IllegalArgumentException if {@code percent} is out of range
         * @throws IllegalStateException    if it was already set
         */
        public Builder hedgeBudgetPercent(int percent) {
            requireUnset(hedgeBudgetPercent, "hedgeBudgetPercent");
            this.hedgeBudgetPercent = checkRange(percent, 0, 100, "hedgeBudgetPercent");
            return this;
        }

        /**
         * Hedges per second the hedge budget allows whatever the traffic; default 0, so that
         * hedges never add more than {@link #hedgeBudgetPercent} of the requests.
         *
         * @param hedges the floor, 0..10,000
         * @return this builder
         * @throws IllegalArgumentException if {@code hedges} is out of range
         * @throws IllegalStateException    if it was already set
         */
        public Builder minHedgesPerSecond(int hedges) {
            requireUnset(minHedgesPerSecond, "minHedgesPerSecond");
            this.minHedgesPerSecond = checkRange(hedges, 0, 10_000, "minHedgesPerSecond");
            return this;
        }

        /**
         * Builds the policy.
         *
         * @return the policy
         */
        public RetryPolicy build() {
            return new RetryPolicy(maxAttempts != null ? maxAttempts : 3,
                    retryOn != null ? retryOn : failure -> failure instanceof Exception,
                    budgetPercent != null ? budgetPercent : 20,
                    minRetriesPerSecond != null ? minRetriesPerSecond : 10,
                    hedgeBudgetPercent != null ? hedgeBudgetPercent : 5,
                    minHedgesPerSecond != null ? minHedgesPerSecond : 0);
        }
    }
}

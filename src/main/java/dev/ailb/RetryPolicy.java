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
 * <p>Immutable and thread-safe.
 */
public final class RetryPolicy {
    private static final RetryPolicy DEFAULTS = builder().build();

    private final int maxAttempts;
    private final Predicate<? super Throwable> retryOn;
    private final int budgetPercent;
    private final int minRetriesPerSecond;

    private RetryPolicy(int maxAttempts, Predicate<? super Throwable> retryOn, int budgetPercent,
            int minRetriesPerSecond) {
        this.maxAttempts = maxAttempts;
        this.retryOn = retryOn;
        this.budgetPercent = budgetPercent;
        this.minRetriesPerSecond = minRetriesPerSecond;
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

    @Override
    public String toString() {
        return "RetryPolicy{maxAttempts=" + maxAttempts + ", budgetPercent=" + budgetPercent
                + ", minRetriesPerSecond=" + minRetriesPerSecond + '}';
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
         * Builds the policy.
         *
         * @return the policy
         */
        public RetryPolicy build() {
            return new RetryPolicy(maxAttempts != null ? maxAttempts : 3,
                    retryOn != null ? retryOn : failure -> failure instanceof Exception,
                    budgetPercent != null ? budgetPercent : 20,
                    minRetriesPerSecond != null ? minRetriesPerSecond : 10);
        }
    }
}

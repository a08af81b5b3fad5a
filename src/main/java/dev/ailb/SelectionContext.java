package dev.ailb;

import java.util.random.RandomGenerator;

/**
 * What a balancer lends to the strategy it runs: its clock and its random source. Strategies read
 * time and draw random numbers only through this, so that tests can drive both.
 *
 * <p>Thread-safe: both members may be used from any thread.
 */
public interface SelectionContext {

    /**
     * The balancer's ticker.
     *
     * @return the ticker
     */
    Ticker ticker();

    /**
     * The balancer's random source; shared by all threads that select.
     *
     * @return the random source
     */
    RandomGenerator random();

    /**
     * Whether the balancer calls this backend saturated by its last load report: a fresh report of
     * a queue or a KV-cache usage at or above the balancer's
     * {@linkplain LoadBalancerBuilder#saturation thresholds}. A strategy may route around such
     * backends; {@link BalancingStrategy#PREFIX_AFFINITY} does while any other is not.
     *
     * @param backend one of the backends offered to the strategy
     * @return {@code true} if it is saturated; by default, {@code false}
     */
    default boolean isSaturated(Backend backend) {
        return false;
    }
}

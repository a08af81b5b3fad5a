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
}

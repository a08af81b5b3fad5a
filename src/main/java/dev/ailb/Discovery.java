package dev.ailb;

/**
 * A {@link DiscoverySource} running for a balancer, as {@link LoadBalancer#discover} started it.
 * Closing it closes the source and leaves the membership as it is; closing the balancer closes it
 * too.
 *
 * <p>Thread-safe.
 */
public interface Discovery extends AutoCloseable {

    /**
     * The source this discovery runs.
     *
     * @return the source
     */
    DiscoverySource source();

    /**
     * How many memberships the source delivered and the balancer applied (changed or not).
     *
     * @return the count
     */
    long updates();

    /**
     * How many times the source could not tell the membership, its rejected updates included.
     *
     * @return the count
     */
    long failures();

    /**
     * Whether the source is failing now: its last word was a failure.
     *
     * @return {@code true} from a failure until the next update applied
     */
    boolean isFailing();

    /**
     * Whether the discovery is closed.
     *
     * @return {@code true} once it, or its balancer, is closed
     */
    boolean isClosed();

    /** Closes the source; the membership stays as it is. Idempotent. */
    @Override
    void close();
}

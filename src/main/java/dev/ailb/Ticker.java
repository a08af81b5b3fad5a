package dev.ailb;

/**
 * A source of monotonic time in nanoseconds, read wherever the balancer needs elapsed time
 * (decay of response-time averages, age of load reports). Inject a manual ticker in tests to
 * drive time by hand.
 *
 * <p>Implementations must be thread-safe; only differences between two readings are meaningful.
 */
@FunctionalInterface
public interface Ticker {

    /**
     * Returns the current reading in nanoseconds.
     *
     * @return the current reading, in nanoseconds
     */
    long read();

    /**
     * The ticker backed by {@link System#nanoTime()}.
     *
     * @return a ticker that reads {@link System#nanoTime()}
     */
    static Ticker system() {
        return System::nanoTime;
    }
}

package dev.ailb;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A backend's tokens in flight, counted beside its connections when the balancer
 * {@linkplain LoadBalancer.Builder#countTokens(long) counts tokens}: each acquired connection adds
 * its request's estimate, its release takes them off again. When the balancer counts connections
 * ({@code defaultTokens == 0}) the tokens stay at zero and acquisition and release touch only the
 * connection count.
 *
 * <h2>Tokens before the connection, the connection before the tokens</h2>
 * Acquisition adds the tokens before it counts the connection, and a release claims the connection
 * before it takes the tokens. So under correct use the tokens of every counted connection are in
 * flight, a release that claimed a connection always finds its tokens, and of two releases racing
 * for the last connection the loser finds no connection, whatever the tokens. A release with the
 * wrong request (more tokens than are in flight) is refused and changes nothing.
 *
 * <p>A superclass of {@link Backend} only to keep its fields inline (see {@link LifecycleWord}).
 * Thread-safe.
 */
abstract sealed class InFlightTokens extends LifecycleWord permits SelectionCount {
    /**
     * The most tokens a backend may have in flight: 2^42, so that a count times a weight (at most
     * 2^20) never overflows in the comparisons of {@link BalancingStrategy#LEAST_CONNECTIONS}.
     */
    static final long MAX_TOKENS_IN_FLIGHT = 1L << 42;

    private static final VarHandle TOKENS;

    static {
        try {
            TOKENS = MethodHandles.lookup().findVarHandle(InFlightTokens.class, "tokens", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The tokens of a request without an estimate when the balancer counts tokens; 0 when it counts connections. */
    final long defaultTokens;
    @SuppressWarnings("unused") // accessed through TOKENS
    private volatile long tokens;

    InFlightTokens(long defaultTokens, double decayNanos, long originNanos) {
        super(decayNanos, originNanos);
        this.defaultTokens = defaultTokens;
    }

    /** The tokens in flight; always 0 when the balancer counts connections. */
    final long tokens() {
        return (long) TOKENS.getVolatile(this);
    }

    /**
     * Counts one more connection, and {@code requestTokens} more tokens in flight when the balancer
     * counts them, unless the backend was removed.
     *
     * @throws IllegalStateException if the tokens or the connections would pass their bound
     *                               (nothing is changed then)
     */
    final boolean tryAcquire(long requestTokens) {
        return tryAcquire(requestTokens, Long.MAX_VALUE);
    }

    /**
     * Like {@link #tryAcquire(long)}, but also refused (nothing changed) when the backend already
     * has {@code limit} connections; see {@link LifecycleWord#tryAddConnection(long)}.
     */
    final boolean tryAcquire(long requestTokens, long limit) {
        if (defaultTokens == 0) {
            return tryAddConnection(limit);
        }
        for (;;) {
            long t = (long) TOKENS.getVolatile(this);
            if (t > MAX_TOKENS_IN_FLIGHT - requestTokens) {
                throw new IllegalStateException("backend " + id() + ": too many tokens in flight ("
                        + t + " + " + requestTokens + ", at most " + MAX_TOKENS_IN_FLIGHT + ")");
            }
            if (TOKENS.compareAndSet(this, t, t + requestTokens)) {
                break;
            }
        }
        boolean acquired = false;
        try {
            acquired = tryAddConnection(limit);
        } finally {
            if (!acquired) {
                TOKENS.getAndAdd(this, -requestTokens);
            }
        }
        return acquired;
    }

    /**
     * Counts one connection less and, when the balancer counts tokens, takes {@code requestTokens}
     * off the tokens in flight. Returns the new lifecycle word, or {@link #NO_CONNECTION} when there
     * was no connection to release (nothing is changed then).
     *
     * @throws IllegalArgumentException if a connection is held but fewer tokens than
     *                                  {@code requestTokens} are in flight (nothing is changed then)
     */
    final long tryRelease(long requestTokens) {
        if (defaultTokens == 0) {
            return tryRemoveConnection();
        }
        // A release with the wrong request is refused before the count is touched: claiming the
        // connection and giving it back would show a draining backend drained for an instant.
        long before = (long) TOKENS.getVolatile(this);
        if (before < requestTokens && connections() > 0) {
            throw tooFewTokens(requestTokens, before);
        }
        long c = tryRemoveConnection();
        if (c == NO_CONNECTION) {
            return c;
        }
        for (;;) {
            long t = (long) TOKENS.getVolatile(this);
            if (t < requestTokens) {
                // Another release with the wrong request took the tokens since the check above.
                restoreConnection();
                throw tooFewTokens(requestTokens, t);
            }
            if (TOKENS.compareAndSet(this, t, t - requestTokens)) {
                return c;
            }
        }
    }

    private IllegalArgumentException tooFewTokens(long requestTokens, long inFlight) {
        return new IllegalArgumentException("tokens: " + requestTokens + " (expected: at most the " + inFlight
                + " tokens in flight on backend " + id() + "; release with the request it was acquired for)");
    }
}

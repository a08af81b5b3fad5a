package dev.ailb;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A backend's lifecycle word: its active connection count and its lifecycle flags, in one
 * {@code int} updated by compare-and-set.
 *
 * <h2>The word</h2>
 * The low 29 bits ({@link #COUNT_MASK}) count the connections acquired and not yet released; the
 * three high bits are the flags. The states they make:
 * <ul>
 *   <li>no flag: in service;</li>
 *   <li>{@link #MAINTENANCE}: registered, taking no new requests, its in-flight ones going on;
 *       set and cleared by {@link #setMaintenance}, and cleared by a removal, which supersedes it;</li>
 *   <li>{@link #DRAINING}: removed from its balancer and finishing its in-flight requests
 *       ({@link #markDraining});</li>
 *   <li>{@code DRAINING | REMOVED}: gone for good, set once, either by the release that found the
 *       count at zero ({@link #tryFinishDrain}) or by the drain timeout ({@link #tryForceRemoval}).
 *       {@link #REMOVED} never appears alone and is never cleared.</li>
 * </ul>
 * Because the count and the flags are one word, "count a connection unless removed" and "finish
 * the drain when the last connection goes" are single atomic transitions: the release that takes a
 * draining backend's count to zero leaves the word equal to {@code DRAINING}, and only one
 * compare-and-set from {@code DRAINING} to {@code DRAINING | REMOVED} can succeed, so a drain
 * completes exactly once, whatever races it. A draining backend still counts new connections (a
 * caller may hold it from an earlier selection); only a removed one refuses them. After a forced
 * removal the count is kept, so that the late releases count down to zero and never below.
 *
 * <p>Which backends a selection may see, and the order in which a writer publishes a view and
 * sets these flags, is {@link RoutingTable}'s design note. {@code MAINTENANCE} and {@code DRAINING}
 * change under the balancer's lock; the count and {@code REMOVED} on any thread.
 *
 * <h2>Why a superclass</h2>
 * This class, {@link InFlightTokens} and {@link PeakEwma} are one chain of superclasses of
 * {@link Backend}, each owning its own fields, so that those fields sit inline in the backend
 * object: the strategies read the count, the tokens and the response-time rank of every backend
 * they look at, and a field in a separate holder would cost one more dependent load per backend
 * per pick. Nothing else extends them.
 *
 * <p>Thread-safe.
 */
abstract sealed class LifecycleWord permits InFlightTokens {
    static final int COUNT_MASK = (1 << 29) - 1;
    static final int MAINTENANCE = 1 << 29;
    static final int DRAINING = 1 << 30;
    static final int REMOVED = 1 << 31;
    /**
     * What {@link #tryRemoveConnection()} returns when there was nothing to release; never a valid
     * word, since {@code MAINTENANCE} is cleared when {@code DRAINING} is set.
     */
    static final int NO_CONNECTION = -1;

    private static final VarHandle CTL;

    static {
        try {
            CTL = MethodHandles.lookup().findVarHandle(LifecycleWord.class, "ctl", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through CTL
    private volatile int ctl;

    /** The backend's id, for the messages of the exceptions thrown here and in the subclasses. */
    abstract String id();

    /** The word as it stands: count and flags. */
    final int lifecycle() {
        return (int) CTL.getVolatile(this);
    }

    /** The active connection count. */
    final int connections() {
        return lifecycle() & COUNT_MASK;
    }

    /** Counts one more connection, unless the backend was removed. */
    final boolean tryAddConnection() {
        for (;;) {
            int c = (int) CTL.getVolatile(this);
            if ((c & REMOVED) != 0) {
                return false;
            }
            if ((c & COUNT_MASK) == COUNT_MASK) {
                throw new IllegalStateException("backend " + id() + ": too many active connections ("
                        + COUNT_MASK + ")");
            }
            if (CTL.compareAndSet(this, c, c + 1)) {
                return true;
            }
        }
    }

    /**
     * Counts one connection less. Returns the new word, or {@link #NO_CONNECTION} when there was no
     * connection to release (nothing is changed then).
     */
    final int tryRemoveConnection() {
        for (;;) {
            int c = (int) CTL.getVolatile(this);
            if ((c & COUNT_MASK) == 0) {
                return NO_CONNECTION;
            }
            if (CTL.compareAndSet(this, c, c - 1)) {
                return c - 1;
            }
        }
    }

    /** Gives back a connection that {@link #tryRemoveConnection()} took and the release then refused. */
    final void restoreConnection() {
        CTL.getAndAdd(this, 1);
    }

    /**
     * Sets the draining flag, ending maintenance (a removal supersedes it); returns false if it was
     * already draining or removed.
     */
    final boolean markDraining() {
        for (;;) {
            int c = (int) CTL.getVolatile(this);
            if ((c & (DRAINING | REMOVED)) != 0) {
                return false;
            }
            if (CTL.compareAndSet(this, c, (c & ~MAINTENANCE) | DRAINING)) {
                return true;
            }
        }
    }

    /** Moves a draining backend with no connections to removed; true for exactly one caller. */
    final boolean tryFinishDrain() {
        return CTL.compareAndSet(this, DRAINING, DRAINING | REMOVED);
    }

    /**
     * Moves a draining backend to removed whatever its connections, when its drain timed out; true
     * for exactly one caller, and false if the drain finished first. The count is kept.
     */
    final boolean tryForceRemoval() {
        for (;;) {
            int c = (int) CTL.getVolatile(this);
            if ((c & DRAINING) == 0 || (c & REMOVED) != 0) {
                return false;
            }
            if (CTL.compareAndSet(this, c, c | REMOVED)) {
                return true;
            }
        }
    }

    /** Sets or clears the maintenance flag; false if it already had that value or is draining or removed. */
    final boolean setMaintenance(boolean on) {
        for (;;) {
            int c = (int) CTL.getVolatile(this);
            if ((c & (DRAINING | REMOVED)) != 0 || ((c & MAINTENANCE) != 0) == on) {
                return false;
            }
            if (CTL.compareAndSet(this, c, on ? c | MAINTENANCE : c & ~MAINTENANCE)) {
                return true;
            }
        }
    }
}

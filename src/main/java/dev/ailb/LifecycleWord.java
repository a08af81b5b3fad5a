package dev.ailb;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A backend's lifecycle word: its active connection count and its lifecycle flags, in one word
 * updated by compare-and-set.
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
 * <h2>Why a superclass, and why a {@code long}</h2>
 * {@link PeakEwma}, this class, {@link InFlightTokens} and {@link SelectionCount} are one sealed
 * chain of superclasses of {@link Backend}, in that order, each owning its own fields, so that
 * those fields sit inline in the backend object: the strategies read the count, the tokens and the
 * response-time rank of every backend they look at, the pick path counts its request on the one it
 * picked, and a field in a separate holder would cost one more dependent load, and in a large
 * fleet one more cache miss, per backend per pick. HotSpot lays out a superclass's fields before
 * its subclass's, so the order of the chain is the order in memory, and it puts the fields a pick
 * reads together: the rank (declared last in {@code PeakEwma}), this word, the tokens, the
 * selection count, then the backend's weight, owner and health state, which the pick path reads
 * right after. In a fleet too large for the processor's caches, each cache line a pick touches on a
 * backend is a miss. The word is a {@code long} although it uses 32 bits: an {@code int} would be
 * placed in the 4-byte gap after the object header, away from the rest; the gap is left to the
 * reference to the selection count's striped cells, which a pick does not read. A change to
 * these fields is worth a look at the layout ({@code Unsafe.objectFieldOffset}) and a run of
 * {@code SelectBenchmark} over 10,000 backends.
 *
 * <p>Thread-safe.
 */
abstract sealed class LifecycleWord extends PeakEwma permits InFlightTokens {
    static final long COUNT_MASK = (1L << 29) - 1;
    static final long MAINTENANCE = 1L << 29;
    static final long DRAINING = 1L << 30;
    static final long REMOVED = 1L << 31;
    /**
     * What {@link #tryRemoveConnection()} returns when there was nothing to release; never a valid
     * word, whose bits above {@code REMOVED} are always clear.
     */
    static final long NO_CONNECTION = -1L;

    private static final VarHandle CTL;

    static {
        try {
            CTL = MethodHandles.lookup().findVarHandle(LifecycleWord.class, "ctl", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through CTL
    private volatile long ctl;

    LifecycleWord(double decayNanos, long originNanos) {
        super(decayNanos, originNanos);
    }

    /** The backend's id, for the messages of the exceptions thrown here and in the subclasses. */
    abstract String id();

    /** The word as it stands: count and flags. */
    final long lifecycle() {
        return (long) CTL.getVolatile(this);
    }

    /** The active connection count. */
    final int connections() {
        return (int) (lifecycle() & COUNT_MASK);
    }

    /**
     * Counts one more connection, unless the backend was removed or already has {@code limit}
     * connections; the limit is checked in the same compare-and-set as the count, so concurrent
     * acquisitions never take a backend past it. {@link Long#MAX_VALUE} for no limit.
     */
    final boolean tryAddConnection(long limit) {
        for (;;) {
            long c = (long) CTL.getVolatile(this);
            if ((c & REMOVED) != 0 || (c & COUNT_MASK) >= limit) {
                return false;
            }
            if ((c & COUNT_MASK) == COUNT_MASK) {
                throw new IllegalStateException("backend " + id() + ": too many active connections ("
                        + COUNT_MASK + ")");
            }
            if (CTL.compareAndSet(this, c, c + 1L)) {
                return true;
            }
        }
    }

    /**
     * Counts one connection less. Returns the new word, or {@link #NO_CONNECTION} when there was no
     * connection to release (nothing is changed then).
     */
    final long tryRemoveConnection() {
        for (;;) {
            long c = (long) CTL.getVolatile(this);
            if ((c & COUNT_MASK) == 0) {
                return NO_CONNECTION;
            }
            if (CTL.compareAndSet(this, c, c - 1L)) {
                return c - 1L;
            }
        }
    }

    /** Gives back a connection that {@link #tryRemoveConnection()} took and the release then refused. */
    final void restoreConnection() {
        CTL.getAndAdd(this, 1L);
    }

    /**
     * Sets the draining flag, ending maintenance (a removal supersedes it); returns false if it was
     * already draining or removed.
     */
    final boolean markDraining() {
        for (;;) {
            long c = (long) CTL.getVolatile(this);
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
            long c = (long) CTL.getVolatile(this);
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
            long c = (long) CTL.getVolatile(this);
            if ((c & (DRAINING | REMOVED)) != 0 || ((c & MAINTENANCE) != 0) == on) {
                return false;
            }
            if (CTL.compareAndSet(this, c, on ? c | MAINTENANCE : c & ~MAINTENANCE)) {
                return true;
            }
        }
    }
}

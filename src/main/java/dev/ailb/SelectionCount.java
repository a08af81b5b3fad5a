package dev.ailb;

import dev.ailb.internal.FoldableCounter;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A backend's count of the requests routed to it, kept so that counting one costs a pick no cache
 * line beyond the backend's own: the first word of the count sits inline in the backend object,
 * and its striped cells are made only once two threads collide on it.
 *
 * <p>It counts as {@link FoldableCounter} does and can be folded once into the balancer's total
 * when the backend leaves ({@link TrafficFigures#fold}): every increment is either in the count the
 * fold returned or reports that it came after it, and is then counted by the caller in the
 * balancer's total. Uncontended, an increment is one compare-and-set on the inline word, whose top
 * bit is the fold mark. The first increment that fails its compare-and-set installs a
 * {@link FoldableCounter} (one compare-and-set on a reference, so a lost race makes no second one),
 * and every increment goes there from then on; that counter stripes itself in turn when threads
 * collide on it. The fold marks the inline word, then either folds the installed counter or, if
 * there is none, installs one already folded, so that no counter can appear after the fold and
 * take increments it would miss.
 *
 * <p>A superclass of {@link Backend} only to keep its word inline, after the connection count and
 * the tokens (see {@link LifecycleWord} for the layout). Thread-safe; readers never lock.
 */
abstract sealed class SelectionCount extends InFlightTokens permits Backend {
    private static final long FOLDED = Long.MIN_VALUE;
    /** Set in {@link #count} once {@link #striped} is installed: where increments go from then on. */
    private static final long STRIPED_FLAG = 1L << 62;
    private static final long VALUE = STRIPED_FLAG - 1;

    private static final VarHandle COUNT;
    private static final VarHandle STRIPED;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            COUNT = lookup.findVarHandle(SelectionCount.class, "count", long.class);
            STRIPED = lookup.findVarHandle(SelectionCount.class, "striped", FoldableCounter.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through COUNT
    private volatile long count;
    /** Where increments go once two threads collided on {@link #count}; null until then. */
    @SuppressWarnings("unused") // accessed through STRIPED
    private volatile FoldableCounter striped;

    SelectionCount(long defaultTokens, double decayNanos, long originNanos) {
        super(defaultTokens, decayNanos, originNanos);
    }

    /**
     * Counts one request routed here. Returns false if the count had already been folded into the
     * balancer's total: the caller then counts the request there.
     */
    final boolean recordSelection() {
        long c = (long) COUNT.getVolatile(this);
        if ((c & STRIPED_FLAG) != 0) { // set only after the counter was installed
            return ((FoldableCounter) STRIPED.getVolatile(this)).increment();
        }
        if (COUNT.compareAndSet(this, c, c + 1L)) {
            return (c & FOLDED) == 0;
        }
        return stripedCounter().increment();
    }

    /**
     * The striped counter, installed by this call if no other thread or fold did it first. The
     * flag only steers later increments away from the inline word: an increment that still lands
     * there is counted all the same.
     */
    private FoldableCounter stripedCounter() {
        FoldableCounter s = (FoldableCounter) STRIPED.getVolatile(this);
        if (s == null) {
            FoldableCounter made = new FoldableCounter();
            FoldableCounter witness = (FoldableCounter) STRIPED.compareAndExchange(this, null, made);
            s = witness == null ? made : witness;
        }
        COUNT.getAndBitwiseOr(this, STRIPED_FLAG);
        return s;
    }

    /** The requests routed here, those counted after the fold included. */
    final long selections() {
        long inline = (long) COUNT.getVolatile(this) & VALUE;
        FoldableCounter s = (FoldableCounter) STRIPED.getVolatile(this);
        return s == null ? inline : inline + s.sum();
    }

    /**
     * Marks the count folded and returns it as of that instant; every later
     * {@link #recordSelection()} returns false. Called once, under the balancer's lock.
     *
     * @throws IllegalStateException if the count was folded already
     */
    final long foldSelections() {
        long c = (long) COUNT.getAndBitwiseOr(this, FOLDED);
        if ((c & FOLDED) != 0) {
            throw new IllegalStateException("selections of backend " + id() + " folded already");
        }
        FoldableCounter closed = new FoldableCounter();
        closed.fold();
        FoldableCounter s = (FoldableCounter) STRIPED.compareAndExchange(this, null, closed);
        return s == null ? c & VALUE : (c & VALUE) + s.fold();
    }
}

package dev.ailb.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A striped 64-bit counter that can be folded once: {@link #fold()} returns the count at one
 * instant, and every increment either is in that count or reports that it came after it. A
 * balancer keeps one per backend and derives its overall total from them, the folded sums of the
 * backends that left and the increments that came after their folds, so that a selection costs
 * one atomic increment rather than two and the total stays exact when a selection races the
 * backend's removal.
 *
 * <p>Uncontended, an increment is one compare-and-set on a base word. When two threads first
 * collide there, the counter creates its cells, one per processor (rounded up to a power of two),
 * each alone on its cache lines, and a thread then increments the cell its identity hash selects;
 * a thread that collides on a cell changes the counter's salt, which moves every thread to another
 * cell. The top bit of every word is the fold mark, so the mark and the count change together and
 * an increment learns from the value it replaced whether the fold had happened.
 *
 * <p>Thread-safe. {@link #sum()} is exact once increments stop and otherwise includes some of the
 * racing ones, as {@link java.util.concurrent.atomic.LongAdder#sum()} does.
 */
public final class FoldableCounter {
    private static final long FOLDED = Long.MIN_VALUE;
    private static final long COUNT = Long.MAX_VALUE;
    private static final int STRIDE = ThreadStripes.STRIDE;
    private static final int CELLS = ThreadStripes.CELLS;

    private static final VarHandle BASE;
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);

    static {
        try {
            BASE = MethodHandles.lookup().findVarHandle(FoldableCounter.class, "base", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through BASE
    private volatile long base;
    /** Cell i is element (i + 1) * STRIDE, padded on both sides; null until the first collision. */
    private volatile long[] cells;
    /** Mixed into the identity hash to choose a cell; changed by a thread that collides. */
    private volatile int salt;

    /**
     * Adds one.
     *
     * @return {@code true} if the increment is in the count {@link #fold()} returned or will
     *         return, {@code false} if the counter had already been folded (the caller then
     *         accounts for it elsewhere)
     */
    public boolean increment() {
        long[] cs = cells;
        if (cs == null) {
            long b = (long) BASE.getVolatile(this);
            if (BASE.compareAndSet(this, b, b + 1)) {
                return (b & FOLDED) == 0;
            }
            return incrementContended();
        }
        int at = (ThreadStripes.of(salt, CELLS) + 1) * STRIDE;
        long c = (long) CELL.getVolatile(cs, at);
        if (CELL.compareAndSet(cs, at, c, c + 1)) {
            return (c & FOLDED) == 0;
        }
        return incrementContended();
    }

    private boolean incrementContended() {
        for (;;) {
            long[] cs = cells;
            if (cs == null) {
                createCells();
                cs = cells;
                if (cs == null) { // folded before any cell existed: the base is the only word
                    return (((long) BASE.getAndAdd(this, 1L)) & FOLDED) == 0;
                }
            } else {
                salt = ThreadLocalRandom.current().nextInt(); // collided on a cell: move the threads
            }
            int at = (ThreadStripes.of(salt, CELLS) + 1) * STRIDE;
            long c = (long) CELL.getVolatile(cs, at);
            if (CELL.compareAndSet(cs, at, c, c + 1)) {
                return (c & FOLDED) == 0;
            }
        }
    }

    /** Creates the cells, unless another thread did or the counter is folded (then there are none). */
    private synchronized void createCells() {
        if (cells == null && ((long) BASE.getVolatile(this) & FOLDED) == 0) {
            cells = new long[(CELLS + 2) * STRIDE];
        }
    }

    /**
     * The count: every increment made so far, those after the fold included.
     *
     * @return the count, {@code >= 0}
     */
    public long sum() {
        long total = (long) BASE.getVolatile(this) & COUNT;
        long[] cs = cells;
        if (cs != null) {
            for (int i = 1; i <= CELLS; i++) {
                total += (long) CELL.getVolatile(cs, i * STRIDE) & COUNT;
            }
        }
        return total;
    }

    /**
     * Marks the counter folded and returns its count at that instant. Every later
     * {@link #increment()} returns {@code false}; every earlier one is in the result.
     *
     * @return the count at the fold
     * @throws IllegalStateException if the counter was folded already
     */
    public synchronized long fold() {
        long b = (long) BASE.getAndBitwiseOr(this, FOLDED);
        if ((b & FOLDED) != 0) {
            throw new IllegalStateException("folded already");
        }
        long total = b;
        long[] cs = cells;
        if (cs != null) {
            for (int i = 1; i <= CELLS; i++) {
                total += (long) CELL.getAndBitwiseOr(cs, i * STRIDE, FOLDED) & COUNT;
            }
        }
        return total;
    }

    @Override
    public String toString() {
        return Long.toString(sum());
    }
}

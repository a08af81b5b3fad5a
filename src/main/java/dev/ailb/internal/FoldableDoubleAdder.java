package dev.ailb.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A striped sum of non-negative doubles that can be folded once, as {@link FoldableCounter} is
 * for counts: {@link #fold()} returns the sum at one instant, and every {@link #add(double)}
 * either is in that sum or reports that it came after it. A backend sums its response times in
 * one, so that the balancer's overall sum is derived from the backends' without a second atomic
 * update per response, and stays exact when a response races the backend's removal.
 *
 * <p>Every word holds the raw bits of a non-negative double, whose sign bit is free: it is the
 * fold mark, so the mark and the sum change in one compare-and-set. Striping follows
 * {@link FoldableCounter}: a base word, and on the first collision one cell per processor.
 *
 * <p>Thread-safe. {@link #sum()} is exact once additions stop and otherwise includes some of the
 * racing ones.
 */
public final class FoldableDoubleAdder {
    private static final long FOLDED = Long.MIN_VALUE;
    private static final long MAGNITUDE = Long.MAX_VALUE;
    private static final int STRIDE = ThreadStripes.STRIDE;
    private static final int CELLS = ThreadStripes.CELLS;

    private static final VarHandle BASE;
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);

    static {
        try {
            BASE = MethodHandles.lookup().findVarHandle(FoldableDoubleAdder.class, "base", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through BASE; 0L is the bits of +0.0
    private volatile long base;
    /** Cell i is element (i + 1) * STRIDE, padded on both sides; null until the first collision. */
    private volatile long[] cells;
    private volatile int salt;

    /**
     * Adds {@code x}.
     *
     * @param x a value {@code >= 0}; the caller checks it
     * @return {@code true} if the addition is in the sum {@link #fold()} returned or will return,
     *         {@code false} if the adder had already been folded
     */
    public boolean add(double x) {
        long[] cs = cells;
        if (cs == null) {
            long b = (long) BASE.getVolatile(this);
            if (BASE.compareAndSet(this, b, plus(b, x))) {
                return (b & FOLDED) == 0;
            }
            return addContended(x);
        }
        int at = (ThreadStripes.of(salt, CELLS) + 1) * STRIDE;
        long c = (long) CELL.getVolatile(cs, at);
        if (CELL.compareAndSet(cs, at, c, plus(c, x))) {
            return (c & FOLDED) == 0;
        }
        return addContended(x);
    }

    private static long plus(long word, double x) {
        return Double.doubleToRawLongBits(Double.longBitsToDouble(word & MAGNITUDE) + x) | (word & FOLDED);
    }

    private boolean addContended(double x) {
        for (;;) {
            long[] cs = cells;
            if (cs == null) {
                createCells();
                cs = cells;
                if (cs == null) { // folded before any cell existed: the base is the only word
                    for (;;) {
                        long b = (long) BASE.getVolatile(this);
                        if (BASE.compareAndSet(this, b, plus(b, x))) {
                            return (b & FOLDED) == 0;
                        }
                    }
                }
            } else {
                salt = ThreadLocalRandom.current().nextInt();
            }
            int at = (ThreadStripes.of(salt, CELLS) + 1) * STRIDE;
            long c = (long) CELL.getVolatile(cs, at);
            if (CELL.compareAndSet(cs, at, c, plus(c, x))) {
                return (c & FOLDED) == 0;
            }
        }
    }

    private synchronized void createCells() {
        if (cells == null && ((long) BASE.getVolatile(this) & FOLDED) == 0) {
            cells = new long[(CELLS + 2) * STRIDE];
        }
    }

    /**
     * The sum of every addition so far, those after the fold included.
     *
     * @return the sum, {@code >= 0}
     */
    public double sum() {
        double total = Double.longBitsToDouble((long) BASE.getVolatile(this) & MAGNITUDE);
        long[] cs = cells;
        if (cs != null) {
            for (int i = 1; i <= CELLS; i++) {
                total += Double.longBitsToDouble((long) CELL.getVolatile(cs, i * STRIDE) & MAGNITUDE);
            }
        }
        return total;
    }

    /**
     * Marks the adder folded and returns its sum at that instant. Every later {@link #add(double)}
     * returns {@code false}; every earlier one is in the result.
     *
     * @return the sum at the fold
     * @throws IllegalStateException if the adder was folded already
     */
    public synchronized double fold() {
        long b = (long) BASE.getAndBitwiseOr(this, FOLDED);
        if ((b & FOLDED) != 0) {
            throw new IllegalStateException("folded already");
        }
        double total = Double.longBitsToDouble(b);
        long[] cs = cells;
        if (cs != null) {
            for (int i = 1; i <= CELLS; i++) {
                total += Double.longBitsToDouble((long) CELL.getAndBitwiseOr(cs, i * STRIDE, FOLDED) & MAGNITUDE);
            }
        }
        return total;
    }

    @Override
    public String toString() {
        return Double.toString(sum());
    }
}

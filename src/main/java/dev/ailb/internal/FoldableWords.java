package dev.ailb.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The striping and folding that {@link FoldableCounter} and {@link FoldableDoubleAdder} share: a
 * value kept as 64-bit words that are summed when read, which can be folded once.
 *
 * <p>Uncontended, an update is one compare-and-set on a base word. When two threads first collide
 * there, the cells are created, one per processor (rounded up to a power of two), each alone on
 * its cache lines, and a thread then updates the cell its identity hash selects; a thread that
 * collides on a cell changes the salt, which moves every thread to another cell. The top bit of
 * every word is the fold mark, so the mark and the value change together and an update learns
 * from the word it replaced whether the fold had happened. What a word's other 63 bits mean, and
 * how an operand is added to them, is the subclass's.
 */
abstract class FoldableWords {
    static final long FOLDED = Long.MIN_VALUE;
    static final long VALUE = Long.MAX_VALUE;
    private static final int STRIDE = ThreadStripes.STRIDE;
    private static final int CELLS = ThreadStripes.CELLS;

    private static final VarHandle BASE;
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);

    static {
        try {
            BASE = MethodHandles.lookup().findVarHandle(FoldableWords.class, "base", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through BASE; 0 is the empty value of both subclasses
    private volatile long base;
    /** Cell i is element (i + 1) * STRIDE, padded on both sides; null until the first collision. */
    private volatile long[] cells;
    /** Mixed into the identity hash to choose a cell; changed by a thread that collides. */
    private volatile int salt;

    /** The word after adding {@code operand} to {@code word}, the fold mark kept as it was. */
    abstract long plus(long word, long operand);

    /**
     * Adds an operand to one of the words.
     *
     * @return {@code true} if the update is in the values {@link #foldValues()} returned or will
     *         return, {@code false} if the words had already been folded
     */
    final boolean update(long operand) {
        long[] cs = cells;
        if (cs == null) {
            long b = (long) BASE.getVolatile(this);
            if (BASE.compareAndSet(this, b, plus(b, operand))) {
                return (b & FOLDED) == 0;
            }
            return updateContended(operand);
        }
        int at = (ThreadStripes.of(salt, CELLS) + 1) * STRIDE;
        long c = (long) CELL.getVolatile(cs, at);
        if (CELL.compareAndSet(cs, at, c, plus(c, operand))) {
            return (c & FOLDED) == 0;
        }
        return updateContended(operand);
    }

    private boolean updateContended(long operand) {
        for (;;) {
            long[] cs = cells;
            if (cs == null) {
                createCells();
                cs = cells;
                if (cs == null) { // folded before any cell existed: the base is the only word
                    long b = (long) BASE.getVolatile(this);
                    if (BASE.compareAndSet(this, b, plus(b, operand))) {
                        return (b & FOLDED) == 0;
                    }
                    continue;
                }
            } else {
                salt = ThreadLocalRandom.current().nextInt(); // collided on a cell: move the threads
            }
            int at = (ThreadStripes.of(salt, CELLS) + 1) * STRIDE;
            long c = (long) CELL.getVolatile(cs, at);
            if (CELL.compareAndSet(cs, at, c, plus(c, operand))) {
                return (c & FOLDED) == 0;
            }
        }
    }

    /** Creates the cells, unless another thread did or the words are folded (then there are none). */
    private synchronized void createCells() {
        if (cells == null && ((long) BASE.getVolatile(this) & FOLDED) == 0) {
            cells = new long[(CELLS + 2) * STRIDE];
        }
    }

    /** The words, fold mark cleared: the base first, then the cells if there are any. */
    final long[] values() {
        long[] cs = cells;
        long[] values = new long[cs == null ? 1 : CELLS + 1];
        values[0] = (long) BASE.getVolatile(this) & VALUE;
        for (int i = 1; i < values.length; i++) {
            values[i] = (long) CELL.getVolatile(cs, i * STRIDE) & VALUE;
        }
        return values;
    }

    /**
     * Marks every word folded and returns the words at that instant, fold mark cleared.
     *
     * @throws IllegalStateException if the words were folded already
     */
    final synchronized long[] foldValues() {
        long b = (long) BASE.getAndBitwiseOr(this, FOLDED);
        if ((b & FOLDED) != 0) {
            throw new IllegalStateException("folded already");
        }
        long[] cs = cells; // no cell appears once the base is marked: createCells checks it
        long[] values = new long[cs == null ? 1 : CELLS + 1];
        values[0] = b;
        for (int i = 1; i < values.length; i++) {
            values[i] = (long) CELL.getAndBitwiseOr(cs, i * STRIDE, FOLDED) & VALUE;
        }
        return values;
    }
}

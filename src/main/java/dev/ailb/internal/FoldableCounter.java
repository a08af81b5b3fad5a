package dev.ailb.internal;

/**
 * A striped 64-bit counter that can be folded once: {@link #fold()} returns the count at one
 * instant, and every increment either is in that count or reports that it came after it. A
 * balancer keeps one per backend and derives its overall total from them, the folded sums of the
 * backends that left and the increments that came after their folds, so that a selection costs
 * one atomic increment rather than two and the total stays exact when a selection races the
 * backend's removal. Striping and the fold mark are described in {@link FoldableWords}.
 *
 * <p>Thread-safe. {@link #sum()} is exact once increments stop and otherwise includes some of the
 * racing ones, as {@link java.util.concurrent.atomic.LongAdder#sum()} does.
 */
public final class FoldableCounter extends FoldableWords {

    @Override
    long plus(long word, long operand) {
        return word + operand; // a count never reaches the fold mark
    }

    /**
     * Adds one.
     *
     * @return {@code true} if the increment is in the count {@link #fold()} returned or will
     *         return, {@code false} if the counter had already been folded (the caller then
     *         accounts for it elsewhere)
     */
    public boolean increment() {
        return update(1L);
    }

    /**
     * The count: every increment made so far, those after the fold included.
     *
     * @return the count, {@code >= 0}
     */
    public long sum() {
        return total(values());
    }

    /**
     * Marks the counter folded and returns its count at that instant. Every later
     * {@link #increment()} returns {@code false}; every earlier one is in the result.
     *
     * @return the count at the fold
     * @throws IllegalStateException if the counter was folded already
     */
    public long fold() {
        return total(foldValues());
    }

    private static long total(long[] values) {
        long total = 0;
        for (long v : values) {
            total += v;
        }
        return total;
    }

    @Override
    public String toString() {
        return Long.toString(sum());
    }
}

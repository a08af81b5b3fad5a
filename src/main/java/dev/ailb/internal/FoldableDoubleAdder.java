package dev.ailb.internal;

/**
 * A striped sum of non-negative doubles that can be folded once, as {@link FoldableCounter} is
 * for counts: {@link #fold()} returns the sum at one instant, and every {@link #add(double)}
 * either is in that sum or reports that it came after it. A backend sums its response times in
 * one, so that the balancer's overall sum is derived from the backends' without a second atomic
 * update per response, and stays exact when a response races the backend's removal.
 *
 * <p>Every word holds the raw bits of a non-negative double, whose sign bit is free: it is the
 * fold mark of {@link FoldableWords}, so the mark and the sum change in one compare-and-set.
 *
 * <p>Thread-safe. {@link #sum()} is exact once additions stop and otherwise includes some of the
 * racing ones.
 */
public final class FoldableDoubleAdder extends FoldableWords {

    @Override
    long plus(long word, long operand) {
        double sum = Double.longBitsToDouble(word & VALUE) + Double.longBitsToDouble(operand);
        return Double.doubleToRawLongBits(sum) | (word & FOLDED);
    }

    /**
     * Adds {@code x}.
     *
     * @param x a value {@code >= 0}; the caller checks it
     * @return {@code true} if the addition is in the sum {@link #fold()} returned or will return,
     *         {@code false} if the adder had already been folded
     */
    public boolean add(double x) {
        return update(Double.doubleToRawLongBits(x));
    }

    /**
     * The sum of every addition so far, those after the fold included.
     *
     * @return the sum, {@code >= 0}
     */
    public double sum() {
        return total(values());
    }

    /**
     * Marks the adder folded and returns its sum at that instant. Every later {@link #add(double)}
     * returns {@code false}; every earlier one is in the result.
     *
     * @return the sum at the fold
     * @throws IllegalStateException if the adder was folded already
     */
    public double fold() {
        return total(foldValues());
    }

    private static double total(long[] words) {
        double total = 0;
        for (long w : words) {
            total += Double.longBitsToDouble(w);
        }
        return total;
    }

    @Override
    public String toString() {
        return Double.toString(sum());
    }
}

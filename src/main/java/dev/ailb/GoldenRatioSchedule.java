package dev.ailb;

import java.util.Arrays;

/**
 * A smooth weighted schedule that needs no precomputed period, for weights whose nginx period
 * would be too long to compute when the set of backends changes (see
 * {@link SmoothWeightedSchedule#MAX_STEPS}). Building it costs {@code O(n)} plus a bounded search;
 * a pick costs one atomic add and a binary search over the {@code n} backends, or one array read
 * when the period is short enough to lay out as a {@link #sequence()}.
 *
 * <p>With the weights divided by their greatest common divisor and {@code T} their sum, backend
 * {@code i} owns the positions {@code [w[0] + ... + w[i-1], w[0] + ... + w[i])} of a circle of
 * {@code T} positions. The k-th pick lands on position {@code (c + k * step) mod T}, where the
 * step is coprime to {@code T}, so {@code T} consecutive picks land on every position exactly once:
 * each backend gets exactly its reduced weight per {@code T} picks, whatever the pick they start
 * from. The step is close to {@code T / φ} (φ the golden ratio), the ratio that spreads successive
 * points around a circle most evenly, and it is chosen so that the continued fraction of
 * {@code step / T} has only small partial quotients, which is what keeps the spread even over
 * windows of every length, not only short ones. Measured at 64 backends of weights from 1 to
 * 1,000,000 (and 128 of weights 4,000 to 8,700): every backend's count in any window of
 * consecutive picks within 6 of its share, and no backend waiting more than 2.5 times its ideal
 * spacing ({@code T / w}) between two picks; the tests hold it to both.
 *
 * <p>Immutable and thread-safe. The cursor lives in the picker, so the only shared write of a pick
 * is one atomic add.
 */
final class GoldenRatioSchedule {
    private static final double INVERSE_GOLDEN_RATIO = (Math.sqrt(5.0) - 1.0) / 2.0;
    /** How many steps around {@code T / φ} are tried; each costs one run of Euclid's algorithm. */
    private static final int CANDIDATES = 256;
    /**
     * A step whose partial quotients all stay at or below this is taken at once. Such steps are
     * dense near {@code T / φ}; without one among the candidates, the one with the smallest
     * largest quotient is taken.
     */
    private static final long GOOD_QUOTIENT = 4;

    /** {@code ends[i]}: one past the last position of backend {@code i}; strictly increasing. */
    private final long[] ends;
    private final long total;
    private final long step;

    private GoldenRatioSchedule(long[] ends, long total, long step) {
        this.ends = ends;
        this.total = total;
        this.step = step;
    }

    /** The schedule for these weights, each at least 1. */
    static GoldenRatioSchedule of(int[] weights) {
        int[] w = SmoothWeightedSchedule.reduce(weights);
        long[] ends = new long[w.length];
        long total = 0;
        for (int i = 0; i < w.length; i++) {
            total += w[i];
            ends[i] = total;
        }
        return new GoldenRatioSchedule(ends, total, stepFor(total));
    }

    /** The amount a picker adds to its cursor per pick. */
    long step() {
        return step;
    }

    /** The period: the sum of the reduced weights. */
    long total() {
        return total;
    }

    /**
     * The index of the backend that owns the position a cursor value stands for. A cursor that
     * wraps past {@code Long.MAX_VALUE} (after some 2^63 / step picks) starts the circle again
     * from another position, once.
     */
    int indexAt(long cursor) {
        long position = (cursor & Long.MAX_VALUE) % total;
        int found = Arrays.binarySearch(ends, position);
        return found >= 0 ? found + 1 : -found - 1;
    }

    /**
     * One period of picks in order, from the cursor value 0: entry {@code k} is the index of the
     * backend at position {@code k * step mod T}. Costs {@code O(T)} time and memory, so a caller
     * builds it only for a short period, and then picks with one array read instead of a search.
     */
    int[] sequence() {
        if (total > Integer.MAX_VALUE) {
            throw new IllegalStateException("period of " + total + " positions is too long for a sequence");
        }
        int length = (int) total;
        int[] owner = new int[length];
        int position = 0;
        for (int i = 0; i < ends.length; i++) {
            while (position < ends[i]) {
                owner[position++] = i;
            }
        }
        int[] sequence = new int[length];
        long at = 0;
        for (int k = 0; k < length; k++) {
            sequence[k] = owner[(int) at];
            at += step;
            if (at >= total) {
                at -= total;
            }
        }
        return sequence;
    }

    /** A step coprime to {@code total}, near {@code total / φ}, with small partial quotients. */
    static long stepFor(long total) {
        if (total <= 2) {
            return 1;
        }
        long center = Math.round(total * INVERSE_GOLDEN_RATIO);
        long best = 1;
        long bestQuotient = Long.MAX_VALUE;
        for (int i = 0; i < CANDIDATES; i++) {
            // center, center - 1, center + 1, center - 2, ...
            long candidate = (i & 1) == 0 ? center + i / 2 : center - i / 2 - 1;
            if (candidate <= 0 || candidate >= total) {
                continue;
            }
            long quotient = largestQuotient(candidate, total);
            if (quotient < bestQuotient) {
                best = candidate;
                bestQuotient = quotient;
                if (quotient <= GOOD_QUOTIENT) {
                    break;
                }
            }
        }
        return best;
    }

    /**
     * The largest partial quotient of the continued fraction of {@code step / total}, or
     * {@code Long.MAX_VALUE} if they share a factor: one run of Euclid's algorithm yields both.
     */
    static long largestQuotient(long step, long total) {
        long a = total;
        long b = step;
        long largest = 0;
        while (b != 0) {
            long q = a / b;
            largest = Math.max(largest, q);
            long r = a - q * b;
            a = b;
            b = r;
        }
        return a == 1 ? largest : Long.MAX_VALUE;
    }
}

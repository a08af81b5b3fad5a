package dev.ailb;

import java.util.Arrays;
import java.util.TreeMap;

/**
 * Computes one period of a smooth weighted round-robin schedule, so that a pick is one array read.
 *
 * <p>The schedule is the one nginx's algorithm produces: before each pick every backend's current
 * weight grows by its weight, the largest current weight wins (the first in order on a tie) and
 * loses the total. After {@code t} steps backend {@code i} has {@code t*w[i] - total*picks[i]}, so
 * the period is {@code total} picks long and holds each backend exactly {@code w[i]} times.
 * Weights are first divided by their greatest common divisor, which leaves the sequence unchanged
 * and shortens the period.
 *
 * <p>Backends of equal weight always leave in index order, so the simulation tracks one entry per
 * distinct weight and costs {@link #steps} = {@code total * distinctWeights}. The picker is built
 * under the balancer's lock whenever the set of backends changes, so the strategy computes this
 * period only while that cost is at most {@link #MAX_STEPS}, which covers small weights (64
 * backends of weights up to 60, or 10,000 of weights 1 to 3, say); beyond, it uses
 * {@link GoldenRatioSchedule}, which needs no period. nginx's order visits backends of one weight
 * in index order, which a large fleet's caches favour over the golden ratio's spread.
 */
final class SmoothWeightedSchedule {
    /**
     * The most simulation steps a picker build spends on the nginx period: under a millisecond, and
     * a period of at most this many slots.
     */
    static final long MAX_STEPS = 1 << 18;

    private SmoothWeightedSchedule() {}

    /** What {@link #period} costs for these weights (each >= 1): its length times its distinct weights. */
    static long steps(int[] weights) {
        int[] w = reduce(weights);
        int[] sorted = w.clone();
        Arrays.sort(sorted);
        long distinct = 0;
        for (int i = 0; i < sorted.length; i++) {
            if (i == 0 || sorted[i] != sorted[i - 1]) {
                distinct++;
            }
        }
        return sum(w) * distinct;
    }

    /**
     * Returns the indices of one period of picks for the given weights (each >= 1), in
     * {@link #steps} steps; the caller bounds those.
     */
    static int[] period(int[] weights) {
        int[] w = reduce(weights);
        long total = sum(w);
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("weights: total " + total + " (expected: a period an array can hold)");
        }
        return nginx((int) total, classesByWeight(w));
    }

    private static int[] nginx(int total, TreeMap<Integer, int[]> classes) {
        int k = classes.size();
        long[] classWeight = new long[k];
        int[][] members = new int[k][];
        int c = 0;
        for (var e : classes.entrySet()) {
            classWeight[c] = e.getKey();
            members[c] = e.getValue();
            c++;
        }
        // Per class: how many times each member has been picked, and which member is next. Kept
        // as counters rather than derived from the class's picks by division, the dearest
        // operation of the inner loop.
        long[] picksEach = new long[k];
        int[] nextMember = new int[k];
        int[] out = new int[total];
        for (int t = 1; t <= total; t++) {
            int bestClass = -1;
            long bestCurrent = 0;
            int bestIndex = 0;
            for (int j = 0; j < k; j++) {
                int next = members[j][nextMember[j]];
                long current = t * classWeight[j] - total * picksEach[j];
                if (bestClass < 0 || current > bestCurrent || (current == bestCurrent && next < bestIndex)) {
                    bestClass = j;
                    bestCurrent = current;
                    bestIndex = next;
                }
            }
            out[t - 1] = bestIndex;
            if (++nextMember[bestClass] == members[bestClass].length) {
                nextMember[bestClass] = 0;
                picksEach[bestClass]++;
            }
        }
        return out;
    }

    private static TreeMap<Integer, int[]> classesByWeight(int[] w) {
        TreeMap<Integer, int[]> counts = new TreeMap<>();
        for (int x : w) {
            counts.merge(x, new int[] {1}, (a, b) -> {
                a[0]++;
                return a;
            });
        }
        TreeMap<Integer, int[]> classes = new TreeMap<>();
        for (var e : counts.entrySet()) {
            classes.put(e.getKey(), new int[e.getValue()[0]]);
        }
        TreeMap<Integer, Integer> fill = new TreeMap<>();
        for (int i = 0; i < w.length; i++) {
            int at = fill.merge(w[i], 1, Integer::sum) - 1;
            classes.get(w[i])[at] = i;
        }
        return classes;
    }

    /** The weights divided by their greatest common divisor. */
    static int[] reduce(int[] weights) {
        int g = 0;
        for (int x : weights) {
            g = gcd(g, x);
        }
        int[] w = weights.clone();
        if (g > 1) {
            for (int i = 0; i < w.length; i++) {
                w[i] /= g;
            }
        }
        return w;
    }

    private static long sum(int[] w) {
        return Arrays.stream(w).asLongStream().sum();
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}

package dev.ailb.strategy;

import java.util.Arrays;
import java.util.PriorityQueue;
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
 * distinct weight and costs {@code O(total * distinctWeights)}. When that would be too slow, the
 * period is built by earliest-deadline-first instead (each backend's j-th slot due at
 * {@code (j + 1/2) / w}), which is equally exact and interleaved, in {@code O(total log n)}. When
 * the reduced total exceeds {@link #MAX_PERIOD}, weights are scaled down to about that total (each
 * stays at least 1, so the period may exceed it by up to {@code n}), which keeps the proportions
 * within {@code n / MAX_PERIOD}.
 */
final class SmoothWeightedSchedule {
    static final int MAX_PERIOD = 1 << 20;
    private static final long MAX_SIMULATION_STEPS = 1L << 26;

    private SmoothWeightedSchedule() {}

    /** Returns the indices of one period of picks for the given weights (each >= 1). */
    static int[] period(int[] weights) {
        int[] w = reduce(weights);
        long total = sum(w);
        if (total > MAX_PERIOD) {
            w = scaleDown(w, total);
            total = sum(w);
        }
        TreeMap<Integer, int[]> classes = classesByWeight(w);
        if (total * classes.size() <= MAX_SIMULATION_STEPS) {
            return nginx(w, (int) total, classes);
        }
        return earliestDeadlineFirst(w, (int) total);
    }

    private static int[] nginx(int[] w, int total, TreeMap<Integer, int[]> classes) {
        int k = classes.size();
        long[] classWeight = new long[k];
        int[][] members = new int[k][];
        int c = 0;
        for (var e : classes.entrySet()) {
            classWeight[c] = e.getKey();
            members[c] = e.getValue();
            c++;
        }
        long[] classPicks = new long[k];
        int[] out = new int[total];
        for (int t = 1; t <= total; t++) {
            int bestClass = -1;
            long bestCurrent = 0;
            int bestIndex = 0;
            for (int j = 0; j < k; j++) {
                int size = members[j].length;
                long picksEach = classPicks[j] / size;
                int next = members[j][(int) (classPicks[j] % size)];
                long current = t * classWeight[j] - total * picksEach;
                if (bestClass < 0 || current > bestCurrent || (current == bestCurrent && next < bestIndex)) {
                    bestClass = j;
                    bestCurrent = current;
                    bestIndex = next;
                }
            }
            out[t - 1] = bestIndex;
            classPicks[bestClass]++;
        }
        return out;
    }

    private static int[] earliestDeadlineFirst(int[] w, int total) {
        // Entry: {index, slotsTaken}; deadline (2*slots+1)/(2*w) compared by cross multiplication.
        PriorityQueue<long[]> queue = new PriorityQueue<>(w.length, (a, b) -> {
            int ia = (int) a[0];
            int ib = (int) b[0];
            long lhs = (2 * a[1] + 1) * w[ib];
            long rhs = (2 * b[1] + 1) * w[ia];
            return lhs != rhs ? Long.compare(lhs, rhs) : Integer.compare(ia, ib);
        });
        for (int i = 0; i < w.length; i++) {
            queue.add(new long[] {i, 0});
        }
        int[] out = new int[total];
        for (int t = 0; t < total; t++) {
            long[] head = queue.poll();
            out[t] = (int) head[0];
            head[1]++;
            if (head[1] < w[(int) head[0]]) {
                queue.add(head);
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

    private static int[] reduce(int[] weights) {
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

    private static int[] scaleDown(int[] w, long total) {
        double factor = (double) MAX_PERIOD / total;
        int[] scaled = new int[w.length];
        for (int i = 0; i < w.length; i++) {
            scaled[i] = (int) Math.max(1, Math.round(w[i] * factor));
        }
        return reduce(scaled);
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

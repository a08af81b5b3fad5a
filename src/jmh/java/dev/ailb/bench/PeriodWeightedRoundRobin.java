package dev.ailb.bench;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.SelectionContext;
import dev.ailb.Selector;
import java.util.Arrays;
import java.util.PriorityQueue;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * For comparison only: WEIGHTED_ROUND_ROBIN as it was before its picker build was bounded. Every
 * build computed one whole period of the schedule, up to 2^20 slots: nginx's sequence simulated
 * class by class while that took at most 2^26 steps, earliest-deadline-first beyond, with totals
 * above 2^20 scaled down first. {@link WeightedPickerBuildBenchmark} builds pickers with it and
 * with the library's strategy side by side.
 */
final class PeriodWeightedRoundRobin implements BalancingStrategy {
    private static final int MAX_PERIOD = 1 << 20;
    private static final long MAX_SIMULATION_STEPS = 1L << 26;

    @Override
    public Selector newSelector(SelectionContext context) {
        AtomicLong cursor = new AtomicLong();
        return available -> {
            int n = available.size();
            int[] weights = new int[n];
            for (int i = 0; i < n; i++) {
                weights[i] = available.get(i).weight();
            }
            int[] period = period(weights);
            Backend[] slots = new Backend[period.length];
            for (int i = 0; i < period.length; i++) {
                slots[i] = available.get(period[i]);
            }
            int length = slots.length;
            return request -> slots[(int) ((cursor.getAndIncrement() & Long.MAX_VALUE) % length)];
        };
    }

    @Override
    public String name() {
        return "PERIOD_WEIGHTED_ROUND_ROBIN";
    }

    static int[] period(int[] weights) {
        int[] w = reduce(weights);
        long total = sum(w);
        if (total > MAX_PERIOD) {
            double factor = (double) MAX_PERIOD / total;
            int[] scaled = new int[w.length];
            for (int i = 0; i < w.length; i++) {
                scaled[i] = (int) Math.max(1, Math.round(w[i] * factor));
            }
            w = reduce(scaled);
            total = sum(w);
        }
        TreeMap<Integer, int[]> classes = classesByWeight(w);
        if (total * classes.size() <= MAX_SIMULATION_STEPS) {
            return nginx((int) total, classes);
        }
        return earliestDeadlineFirst(w, (int) total);
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
        TreeMap<Integer, Integer> counts = new TreeMap<>();
        for (int x : w) {
            counts.merge(x, 1, Integer::sum);
        }
        TreeMap<Integer, int[]> classes = new TreeMap<>();
        for (var e : counts.entrySet()) {
            classes.put(e.getKey(), new int[e.getValue()]);
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

package dev.ailb;

import java.util.random.RandomGenerator;

/**
 * Least {@linkplain Backend#inFlightLoad() in-flight load} per unit of weight: active connections,
 * or tokens in flight when the balancer counts tokens; see {@link BalancingStrategy#LEAST_CONNECTIONS}.
 * Immutable.
 *
 * <p>Up to {@link #EXACT_SCAN_MAX} available backends, every backend is looked at once: the pass
 * finds the least load and marks the backends that share it in a bit set, and when several do,
 * one of them is taken uniformly at random, so tied backends share the traffic evenly instead of
 * favouring the first in order or the one after a run of busy backends. Beyond that, a pick looks
 * at two backends drawn uniformly at random (two distinct ones, from one random number) and takes
 * the less loaded, the first drawn on a tie: the power of two choices (Mitzenmacher), which keeps
 * the maximum load within a small additive term of the exact minimum's at a cost that does not
 * grow with the fleet.
 * Loads are compared by cross multiplication ({@code a/wa < b/wb} as {@code a*wb < b*wa}), exactly
 * and without division.
 */
final class LeastConnectionsStrategy implements BalancingStrategy {
    /** The largest set of available backends that a pick scans whole; at most 64 (a bit set). */
    static final int EXACT_SCAN_MAX = 32;

    @Override
    public Selector newSelector(SelectionContext context) {
        RandomGenerator random = context.random();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            int n = backends.length;
            int[] ramped = RampedWeights.of(available);
            if (ramped != null) {
                return rampedPicker(backends, ramped, random);
            }
            if (n > EXACT_SCAN_MAX) {
                return request -> {
                    long pair = TwoChoices.draw(random, n);
                    Backend a = backends[TwoChoices.first(pair)];
                    Backend b = backends[TwoChoices.second(pair)];
                    return b.inFlightLoad() * a.weight() < a.inFlightLoad() * b.weight()
                            ? b : a;
                };
            }
            return request -> {
                // One pass: the least load per unit of weight, and which backends share it (bit i
                // of tied for backends[i]; there are at most EXACT_SCAN_MAX of them).
                Backend best = backends[0];
                long bestActive = best.inFlightLoad();
                long bestWeight = best.weight();
                long tied = 1L;
                for (int i = 1; i < n; i++) {
                    Backend b = backends[i];
                    long active = b.inFlightLoad();
                    long lhs = active * bestWeight;
                    long rhs = bestActive * b.weight();
                    if (lhs < rhs) {
                        best = b;
                        bestActive = active;
                        bestWeight = b.weight();
                        tied = 1L << i;
                    } else if (lhs == rhs) {
                        tied |= 1L << i;
                    }
                }
                int ties = Long.bitCount(tied);
                if (ties == 1) {
                    return best;
                }
                // The r-th of the tied backends, r uniform: drop the r lowest bits of the set.
                for (int r = (int) (((random.nextLong() >>> 32) * ties) >>> 32); r > 0; r--) {
                    tied &= tied - 1;
                }
                return backends[Long.numberOfTrailingZeros(tied)];
            };
        };
    }

    /**
     * The picker while a backend is in slow start: the same rule over the ramped weights of the
     * set, read once here ({@link RampedWeights}), so a warming backend carries its factor's
     * fraction of its peers' load per unit of weight.
     */
    private static Picker rampedPicker(Backend[] backends, int[] weights, RandomGenerator random) {
        int n = backends.length;
        if (n > EXACT_SCAN_MAX) {
            return request -> {
                long pair = TwoChoices.draw(random, n);
                int a = TwoChoices.first(pair);
                int b = TwoChoices.second(pair);
                return backends[b].inFlightLoad() * weights[a] < backends[a].inFlightLoad() * weights[b]
                        ? backends[b] : backends[a];
            };
        }
        return request -> {
            int best = 0;
            long bestLoad = backends[0].inFlightLoad();
            long tied = 1L;
            for (int i = 1; i < n; i++) {
                long load = backends[i].inFlightLoad();
                long lhs = load * weights[best];
                long rhs = bestLoad * weights[i];
                if (lhs < rhs) {
                    best = i;
                    bestLoad = load;
                    tied = 1L << i;
                } else if (lhs == rhs) {
                    tied |= 1L << i;
                }
            }
            int ties = Long.bitCount(tied);
            if (ties == 1) {
                return backends[best];
            }
            for (int r = (int) (((random.nextLong() >>> 32) * ties) >>> 32); r > 0; r--) {
                tied &= tied - 1;
            }
            return backends[Long.numberOfTrailingZeros(tied)];
        };
    }

    @Override
    public String name() {
        return "LEAST_CONNECTIONS";
    }

    @Override
    public String toString() {
        return name();
    }
}

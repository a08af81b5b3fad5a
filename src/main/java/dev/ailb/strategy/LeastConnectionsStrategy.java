package dev.ailb.strategy;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.SelectionContext;
import dev.ailb.Selector;
import java.util.random.RandomGenerator;

/**
 * Fewest active connections per unit of weight; see {@link BalancingStrategy#LEAST_CONNECTIONS}.
 * Immutable.
 *
 * <p>Up to {@link #EXACT_SCAN_MAX} available backends, every backend is looked at, and a tie is
 * settled by reservoir sampling (the k-th equal candidate replaces the current choice with
 * probability 1/k), so tied backends share the traffic evenly instead of favouring the first in
 * order or the one after a run of busy backends. Beyond that, a pick looks at two backends drawn
 * uniformly at random (two distinct ones, from one random number) and takes the less loaded, the
 * first drawn on a tie: the power of two choices (Mitzenmacher), which keeps the maximum load
 * within a small additive term of the exact minimum's at a cost that does not grow with the fleet.
 * Loads are compared by cross multiplication ({@code a/wa < b/wb} as {@code a*wb < b*wa}), exactly
 * and without division.
 */
public final class LeastConnectionsStrategy implements BalancingStrategy {
    /** The largest set of available backends that a pick scans whole. */
    public static final int EXACT_SCAN_MAX = 32;

    @Override
    public Selector newSelector(SelectionContext context) {
        RandomGenerator random = context.random();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            int n = backends.length;
            if (n > EXACT_SCAN_MAX) {
                return request -> {
                    long pair = TwoChoices.draw(random, n);
                    Backend a = backends[TwoChoices.first(pair)];
                    Backend b = backends[TwoChoices.second(pair)];
                    return (long) b.activeConnections() * a.weight() < (long) a.activeConnections() * b.weight()
                            ? b : a;
                };
            }
            return request -> {
                Backend best = backends[0];
                long bestActive = best.activeConnections();
                long bestWeight = best.weight();
                int ties = 1;
                long bits = 0; // tie draws: one number from the source, stepped on for each tie
                for (int i = 1; i < n; i++) {
                    Backend b = backends[i];
                    long active = b.activeConnections();
                    long lhs = active * bestWeight;
                    long rhs = bestActive * b.weight();
                    if (lhs < rhs) {
                        best = b;
                        bestActive = active;
                        bestWeight = b.weight();
                        ties = 1;
                    } else if (lhs == rhs) {
                        if (bits == 0) {
                            bits = random.nextLong() | 1L; // the first tie of this pick
                        }
                        bits = nextBits(bits);
                        // replace the choice with probability 1 / ties, from the high 32 bits
                        if (((bits >>> 32) * ++ties) >>> 32 == 0) {
                            best = b;
                            bestActive = active;
                            bestWeight = b.weight();
                        }
                    }
                }
                return best;
            };
        };
    }

    /**
     * One step of Knuth's MMIX linear congruential generator. Its high bits are what the ties
     * use: good enough to spread tied picks, and far cheaper than a draw from the source per tie.
     */
    private static long nextBits(long bits) {
        return bits * 6364136223846793005L + 1442695040888963407L;
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

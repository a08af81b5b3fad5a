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
 * <p>Every backend is looked at, and a tie is settled by reservoir sampling (the k-th equal
 * candidate replaces the current choice with probability 1/k), so tied backends share the traffic
 * evenly instead of favouring the first in order or the one after a run of busy backends. Loads are
 * compared by cross multiplication ({@code a/wa < b/wb} as {@code a*wb < b*wa}), exactly and
 * without division.
 */
public final class LeastConnectionsStrategy implements BalancingStrategy {

    @Override
    public Selector newSelector(SelectionContext context) {
        RandomGenerator random = context.random();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            int n = backends.length;
            return request -> {
                Backend best = backends[0];
                long bestActive = best.activeConnections();
                long bestWeight = best.weight();
                int ties = 1;
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
                    } else if (lhs == rhs && random.nextInt(++ties) == 0) {
                        best = b;
                        bestActive = active;
                        bestWeight = b.weight();
                    }
                }
                return best;
            };
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

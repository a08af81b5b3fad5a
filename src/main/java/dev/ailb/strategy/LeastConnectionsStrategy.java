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
 * <p>The scan starts at a random position and keeps the first minimum it meets, so ties are spread
 * evenly instead of always landing on the first backend. Loads are compared by cross
 * multiplication ({@code a/wa < b/wb} as {@code a*wb < b*wa}), exactly and without division.
 */
public final class LeastConnectionsStrategy implements BalancingStrategy {

    @Override
    public Selector newSelector(SelectionContext context) {
        RandomGenerator random = context.random();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            int n = backends.length;
            return request -> {
                int start = n == 1 ? 0 : random.nextInt(n);
                Backend best = null;
                long bestActive = 0;
                long bestWeight = 1;
                for (int k = 0, i = start; k < n; k++, i = (i + 1 == n ? 0 : i + 1)) {
                    Backend b = backends[i];
                    long active = b.activeConnections();
                    if (best == null || active * bestWeight < bestActive * b.weight()) {
                        best = b;
                        bestActive = active;
                        bestWeight = b.weight();
                        if (active == 0) {
                            break; // nothing beats an idle backend
                        }
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

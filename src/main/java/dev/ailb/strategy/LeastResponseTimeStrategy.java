package dev.ailb.strategy;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.SelectionContext;
import dev.ailb.Selector;
import java.util.random.RandomGenerator;

/**
 * Lowest expected latency; see {@link BalancingStrategy#LEAST_RESPONSE_TIME}. Immutable.
 *
 * <p>The cost of a backend is its peak EWMA response time times {@code activeConnections + 1}, the
 * way Finagle's peak-EWMA balancer weighs latency by outstanding work: the fastest backend draws
 * traffic only until its queue makes it slower than the next one, so it does not take the whole
 * herd.
 *
 * <p>A backend with no completed request yet has no EWMA. If it is idle, it is chosen first so it
 * gets measured. If it already has a request in flight, it is costed as the slowest measured
 * backend would be, so a new backend gets one probe at a time rather than every request while its
 * first answer is pending. When nothing has been measured, the cost reduces to the connection
 * count. Scans start at a random position, which spreads ties.
 */
public final class LeastResponseTimeStrategy implements BalancingStrategy {

    @Override
    public Selector newSelector(SelectionContext context) {
        RandomGenerator random = context.random();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            int n = backends.length;
            return request -> {
                int start = n == 1 ? 0 : random.nextInt(n);
                double slowest = 0.0;
                for (int k = 0, i = start; k < n; k++, i = (i + 1 == n ? 0 : i + 1)) {
                    Backend b = backends[i];
                    double ewma = b.responseTimeEwmaNanos();
                    if (Double.isNaN(ewma)) {
                        if (b.activeConnections() == 0) {
                            return b;
                        }
                    } else if (ewma > slowest) {
                        slowest = ewma;
                    }
                }
                double unmeasured = slowest > 0.0 ? slowest : 1.0;
                Backend best = null;
                double bestCost = Double.POSITIVE_INFINITY;
                for (int k = 0, i = start; k < n; k++, i = (i + 1 == n ? 0 : i + 1)) {
                    Backend b = backends[i];
                    double ewma = b.responseTimeEwmaNanos();
                    double latency = Double.isNaN(ewma) ? unmeasured : Math.max(ewma, 1.0);
                    double cost = latency * (b.activeConnections() + 1);
                    if (best == null || cost < bestCost) {
                        best = b;
                        bestCost = cost;
                    }
                }
                return best;
            };
        };
    }

    @Override
    public String name() {
        return "LEAST_RESPONSE_TIME";
    }

    @Override
    public String toString() {
        return name();
    }
}

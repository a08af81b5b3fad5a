package dev.ailb.strategy;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.SelectionContext;
import dev.ailb.Selector;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Smooth weighted round robin; see {@link BalancingStrategy#WEIGHTED_ROUND_ROBIN}. Immutable.
 *
 * <p>The nginx schedule is computed once per set of available backends (see
 * {@link SmoothWeightedSchedule}); a pick reads the next slot of that period with one atomic
 * increment, instead of updating every backend's current weight under a lock on every request.
 */
public final class WeightedRoundRobinStrategy implements BalancingStrategy {

    @Override
    public Selector newSelector(SelectionContext context) {
        AtomicLong cursor = new AtomicLong();
        return available -> {
            int n = available.size();
            if (n == 0) {
                return request -> {
                    throw new IllegalStateException("no backend to pick from");
                };
            }
            int[] weights = new int[n];
            for (int i = 0; i < n; i++) {
                weights[i] = available.get(i).weight();
            }
            int[] period = SmoothWeightedSchedule.period(weights);
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
        return "WEIGHTED_ROUND_ROBIN";
    }

    @Override
    public String toString() {
        return name();
    }
}

package dev.ailb;

import dev.ailb.internal.Divisor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Smooth weighted round robin; see {@link BalancingStrategy#WEIGHTED_ROUND_ROBIN}. Immutable.
 *
 * <p>The picker is built under the balancer's lock whenever the set of available backends
 * changes, so its build is bounded: the nginx schedule is computed once per set (see
 * {@link SmoothWeightedSchedule}) while that costs at most {@code SmoothWeightedSchedule.MAX_STEPS}
 * steps, and a pick reads the next slot of that period with one atomic increment, instead of
 * updating every backend's current weight under a lock on every request. Beyond, the picker
 * follows a {@code GoldenRatioSchedule}, with the same exact counts per period: laid out as a
 * sequence of picks when its period is at most {@link #SEQUENCE_MAX} (many backends of small
 * weights), so that a pick is one atomic increment and one array read, and otherwise built in
 * {@code O(n)} with one atomic add and a binary search per pick. Measured with
 * {@code WeightedPickerBuildBenchmark} at 64 backends of weights from 1 to 1,000,000: a build
 * took about 240 ms when it computed a period of up to 2^20 slots, and takes about 10 microseconds now.
 */
final class WeightedRoundRobinStrategy implements BalancingStrategy {
    /**
     * The longest golden-ratio period laid out as a sequence: 2^18 positions, 1 MB of references
     * and well under a millisecond to build; longer periods are searched per pick instead.
     */
    static final long SEQUENCE_MAX = 1 << 18;

    @Override
    public Selector newSelector(SelectionContext context) {
        // Shared by the pickers of successive sets, so that a change of the set does not send the
        // next picks back to the start of a schedule.
        AtomicLong cursor = new AtomicLong();
        return available -> {
            int n = available.size();
            if (n == 0) {
                return request -> {
                    throw new IllegalStateException("no backend to pick from");
                };
            }
            // While a backend is in slow start, the schedule follows the ramped weights; the
            // balancer builds a new picker at each step of the ramp, and the plain one after it.
            int[] weights = RampedWeights.of(available);
            if (weights == null) {
                weights = new int[n];
                for (int i = 0; i < n; i++) {
                    weights[i] = available.get(i).weight();
                }
            }
            if (SmoothWeightedSchedule.steps(weights) <= SmoothWeightedSchedule.MAX_STEPS) {
                int[] period = SmoothWeightedSchedule.period(weights);
                Backend[] slots = new Backend[period.length];
                for (int i = 0; i < period.length; i++) {
                    slots[i] = available.get(period[i]);
                }
                Divisor length = new Divisor(slots.length);
                return request -> slots[length.remainder(cursor.getAndIncrement() & Long.MAX_VALUE)];
            }
            GoldenRatioSchedule schedule = GoldenRatioSchedule.of(weights);
            if (schedule.total() <= SEQUENCE_MAX) {
                // A short period (many backends of small weights) is laid out once, so that a pick
                // is one array read, as with the nginx period, rather than a search over n backends.
                int[] sequence = schedule.sequence();
                Backend[] slots = new Backend[sequence.length];
                for (int i = 0; i < sequence.length; i++) {
                    slots[i] = available.get(sequence[i]);
                }
                Divisor length = new Divisor(slots.length);
                return request -> slots[length.remainder(cursor.getAndIncrement() & Long.MAX_VALUE)];
            }
            Backend[] backends = available.toArray(new Backend[0]);
            long step = schedule.step();
            return request -> backends[schedule.indexAt(cursor.getAndAdd(step))];
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

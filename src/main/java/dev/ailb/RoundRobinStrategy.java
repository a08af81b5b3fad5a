package dev.ailb;

import java.util.concurrent.atomic.AtomicLong;

/** Strict rotation; see {@link BalancingStrategy#ROUND_ROBIN}. Immutable. */
final class RoundRobinStrategy implements BalancingStrategy {

    @Override
    public Selector newSelector(SelectionContext context) {
        // One cursor per balancer, kept across changes of the set. A 64-bit counter does not wrap
        // in practice, so every window of k*n picks over a stable set is exact.
        AtomicLong cursor = new AtomicLong();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            int n = backends.length;
            return request -> backends[(int) ((cursor.getAndIncrement() & Long.MAX_VALUE) % n)];
        };
    }

    @Override
    public String name() {
        return "ROUND_ROBIN";
    }

    @Override
    public String toString() {
        return name();
    }
}

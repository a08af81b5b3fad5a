package dev.ailb;

import dev.ailb.internal.Divisor;
import java.util.concurrent.atomic.AtomicLong;

/** Strict rotation; see {@link BalancingStrategy#ROUND_ROBIN}. Immutable. */
final class RoundRobinStrategy implements BalancingStrategy {

    @Override
    public Selector newSelector(SelectionContext context) {
        // One cursor per balancer, kept across changes of the set. A 64-bit counter does not wrap
        // in practice, so every window of k*n picks over a stable set is exact; its remainder is
        // taken by multiplication (Divisor), a 64-bit division being the dearest step of the pick.
        AtomicLong cursor = new AtomicLong();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            Divisor n = new Divisor(Math.max(1, backends.length));
            return request -> backends[n.remainder(cursor.getAndIncrement() & Long.MAX_VALUE)];
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

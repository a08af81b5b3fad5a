package dev.ailb;

import java.util.random.RandomGenerator;

/** Uniform random choice; see {@link BalancingStrategy#RANDOM}. Immutable. */
final class RandomStrategy implements BalancingStrategy {

    @Override
    public Selector newSelector(SelectionContext context) {
        RandomGenerator random = context.random();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            int n = backends.length;
            return request -> backends[n == 1 ? 0 : random.nextInt(n)];
        };
    }

    @Override
    public String name() {
        return "RANDOM";
    }

    @Override
    public String toString() {
        return name();
    }
}

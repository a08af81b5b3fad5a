package dev.ailb;

import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * The default source of randomness: draws from the calling thread's {@link ThreadLocalRandom}.
 * Holding the object returned by {@code ThreadLocalRandom.current()} on one thread and using it on
 * others would skip their seeding, so every call looks the generator up afresh.
 */
final class ThreadLocalRandomSource implements RandomGenerator {
    static final ThreadLocalRandomSource INSTANCE = new ThreadLocalRandomSource();

    private ThreadLocalRandomSource() {}

    @Override
    public long nextLong() {
        return ThreadLocalRandom.current().nextLong();
    }

    @Override
    public int nextInt() {
        return ThreadLocalRandom.current().nextInt();
    }

    @Override
    public int nextInt(int bound) {
        return ThreadLocalRandom.current().nextInt(bound);
    }

    @Override
    public double nextDouble() {
        return ThreadLocalRandom.current().nextDouble();
    }

    @Override
    public String toString() {
        return "ThreadLocalRandom";
    }
}

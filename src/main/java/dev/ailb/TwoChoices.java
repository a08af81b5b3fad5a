package dev.ailb;

import java.util.random.RandomGenerator;

/**
 * Draws the two candidates of a power-of-two-choices pick: two distinct indices, uniformly, from
 * one random number. Not part of the API.
 */
final class TwoChoices {
    private TwoChoices() {}

    /**
     * Two distinct indices in {@code [0, n)}, packed as {@code first << 32 | second}: the first
     * from the high half of one {@code nextLong} by multiply-shift, the second from the low half
     * over the {@code n - 1} other indices. Every ordered pair is equally likely, to within the
     * 2^-32 bias of multiply-shift.
     *
     * @param n the number of candidates, at least 2
     */
    static long draw(RandomGenerator random, int n) {
        long r = random.nextLong();
        long first = ((r >>> 32) * n) >>> 32;
        long second = ((r & 0xFFFF_FFFFL) * (n - 1)) >>> 32;
        if (second >= first) {
            second++;
        }
        return first << 32 | second;
    }

    static int first(long pair) {
        return (int) (pair >>> 32);
    }

    static int second(long pair) {
        return (int) pair;
    }
}

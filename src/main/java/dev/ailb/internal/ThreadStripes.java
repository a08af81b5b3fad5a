package dev.ailb.internal;

/**
 * Chooses a stripe for the calling thread: its identity hash mixed with a salt, so that a striped
 * structure whose threads collide can move them all by changing the salt.
 */
final class ThreadStripes {
    /** Each cell of a striped word takes this many longs, so that two cells never share a 128-byte prefetch pair. */
    static final int STRIDE = 16;
    /** The cells of a striped word: the processors rounded up to a power of two, at least two. */
    static final int CELLS = Math.max(2, Integer.highestOneBit(
            Math.max(1, Runtime.getRuntime().availableProcessors()) * 2 - 1));

    private ThreadStripes() {}

    /**
     * The calling thread's stripe among {@code stripes}.
     *
     * @param salt    the structure's current salt
     * @param stripes a power of two
     */
    static int of(int salt, int stripes) {
        int h = System.identityHashCode(Thread.currentThread()) ^ salt;
        h ^= h >>> 16;
        h *= 0x45d9f3b;
        h ^= h >>> 16;
        return h & (stripes - 1);
    }
}

package dev.ailb.internal;

/**
 * Chooses a stripe for the calling thread: its identity hash mixed with a salt, so that a striped
 * structure whose threads collide can move them all by changing the salt.
 */
final class ThreadStripes {
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

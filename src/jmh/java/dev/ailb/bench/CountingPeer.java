package dev.ailb.bench;

/**
 * Another library's picker, given on the like-for-like paths the per-server figures this library
 * keeps for every backend ({@link ServerCounts}), on the server objects it picks from.
 */
abstract class CountingPeer extends PeerPicker {

    /** The figures of a server this picker returned. */
    abstract ServerCounts countsOf(Object server);

    @Override
    final Object pickCounted(int key) {
        Object server = pick(key);
        countsOf(server).countRequest();
        return server;
    }

    @Override
    final Object pickAcquireRelease(int key) {
        Object server = pick(key);
        ServerCounts counts = countsOf(server);
        counts.countRequest();
        counts.acquire();
        counts.release();
        return server;
    }
}

package dev.ailb.bench;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The per-server figures a peer's pick is given in the like-for-like pairs of
 * {@link PeerBenchmark}, the ones this library keeps for every backend on the same path: the
 * requests routed to the server, and the connections in flight on it. Each server object of a peer
 * carries its own, so that reaching them from a picked server is one field read, as reaching a
 * backend's figures is for this library.
 *
 * <p>Both are exact: the request count is a {@link LongAdder} (one compare-and-set uncontended,
 * striped once two threads collide, summed when read: what this library's request count is), the
 * count in flight an {@link AtomicInteger} that a release never takes below zero.
 */
final class ServerCounts {

    /** Requests routed to the server. */
    final LongAdder requests = new LongAdder();
    /** Connections acquired on the server and not yet released. */
    final AtomicInteger inFlight = new AtomicInteger();

    /** Counts one request routed here, as a counted pick does. */
    void countRequest() {
        requests.increment();
    }

    /** Counts one connection in, at the start of a call. */
    void acquire() {
        inFlight.incrementAndGet();
    }

    /**
     * Counts one connection out, at the end of a call; a release without a connection in flight is
     * refused and changes nothing, as this library's is.
     */
    void release() {
        if (inFlight.getAndDecrement() <= 0) {
            inFlight.incrementAndGet();
            throw new IllegalStateException("no connection in flight to release");
        }
    }
}

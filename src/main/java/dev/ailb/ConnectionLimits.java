package dev.ailb;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * When a backend is full: at its connection limit, or saturated by its last load report. The
 * capacity stage of {@link RequestPath}: it lets the strategy's pick stand when it has room, moves
 * the request to the least loaded candidate with room when it has none, and says when no
 * candidate has room, which is when the fleet is full and {@link Admission} makes requests wait.
 *
 * <h2>Off until asked for</h2>
 * A balancer built without a connection limit or an admission queue never calls a backend full:
 * {@link #on()} stays false and the request path routes as it always did, saturated backends
 * included. The first limit set ({@link LoadBalancerBuilder#connectionLimit},
 * {@link LoadBalancerBuilder#admissionQueue} or {@link LoadBalancer#setConnectionLimit}) turns it
 * on for good; turning it off again would strand the requests waiting for room.
 *
 * <h2>Exact limits</h2>
 * A limit is checked by the same compare-and-set that counts the connection
 * ({@link LifecycleWord#tryAddConnection(long)}), so concurrent acquisitions never take a backend
 * past it. Saturation is a report of the past and is only read, not reserved.
 *
 * <p>Thread-safe and lock-free.
 */
final class ConnectionLimits {
    private final LoadReports reports;
    private final Ticker ticker;
    /** The limit of a backend without its own; {@link LoadBalancer#NO_CONNECTION_LIMIT} for none. */
    private final int defaultLimit;
    private volatile boolean on;
    /** Where the search for a backend with room starts, so that ties do not all go to the first. */
    private final AtomicInteger cursor = new AtomicInteger();

    ConnectionLimits(LoadReports reports, Ticker ticker, int defaultLimit, boolean on) {
        this.reports = reports;
        this.ticker = ticker;
        this.defaultLimit = defaultLimit;
        this.on = on;
    }

    /** Whether any backend can be full. */
    boolean on() {
        return on;
    }

    /** Makes backends count as full from now on; see the class comment. */
    void turnOn() {
        on = true;
    }

    /** A backend's limit: its own, else the balancer's default. */
    int limitOf(Backend backend) {
        int own = backend.connectionLimit;
        return own != 0 ? own : defaultLimit;
    }

    /** The limit acquisition checks for a backend: none while limits are off. */
    long acquisitionLimit(Backend backend) {
        return on ? limitOf(backend) : Long.MAX_VALUE;
    }

    /** Whether a backend can take one more request now; always while limits are off. */
    boolean hasRoom(Backend backend) {
        if (!on || backend.connections() >= limitOf(backend)) {
            return !on;
        }
        TimedLoadReport report = backend.lastReport();
        // Only a report that says saturated pays for a reading of the ticker, to judge its age.
        return report == null || !reports.saysSaturated(report) || !reports.isFresh(report, ticker.read());
    }

    private boolean hasRoom(Backend backend, long now) {
        if (backend.connections() >= limitOf(backend)) {
            return false;
        }
        TimedLoadReport report = backend.lastReport();
        return report == null || !reports.saturates(report, now);
    }

    /**
     * The candidate with room that has the fewest connections for its weight (the rule of
     * {@link BalancingStrategy#LEAST_CONNECTIONS}, the balancer's advice for inference fleets),
     * ties going to the first found from a rotating start; first among the best tier the strategy
     * picked from (an adapter already loaded, preferred labels), then among every backend that may
     * take the request; null when none has room.
     *
     * <p>The strategy's pick is overruled only here, when that pick is full: a request the
     * strategy would have queued behind a full backend goes where a slot is free, and among the
     * backends with room the least loaded one is the one likely to answer first.
     */
    Backend roomiest(Candidates candidates) {
        Backend best = roomiest(candidates.backends);
        if (best == null && candidates.admitted != candidates.backends) {
            best = roomiest(candidates.admitted);
        }
        return best;
    }

    private Backend roomiest(List<Backend> candidates) {
        int n = candidates.size();
        if (n == 0) {
            return null;
        }
        long now = ticker.read();
        int start = (cursor.getAndIncrement() & Integer.MAX_VALUE) % n;
        Backend best = null;
        long bestLoad = 0;
        int bestWeight = 1;
        for (int i = 0; i < n; i++) {
            Backend b = candidates.get((start + i) % n);
            if (!hasRoom(b, now)) {
                continue;
            }
            long load = b.connections();
            int weight = b.weight();
            if (best == null || load * bestWeight < bestLoad * weight) {
                best = b;
                bestLoad = load;
                bestWeight = weight;
            }
        }
        return best;
    }
}

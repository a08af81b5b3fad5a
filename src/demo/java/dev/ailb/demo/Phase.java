package dev.ailb.demo;

import dev.ailb.BackendStats;
import dev.ailb.LoadBalancerStats;
import java.util.function.ToLongFunction;

/**
 * One phase of the health scenario: the balancer's stats as it began and as it ended.
 *
 * @param name      one of {@link Demo#HEALTH_PHASES}
 * @param wallNanos how long it lasted
 * @param start     the stats as it began
 * @param end       the stats as it ended
 */
public record Phase(String name, long wallNanos, LoadBalancerStats start, LoadBalancerStats end) {

    /** Requests routed to the backend during the phase. */
    public long routed(String id) {
        return delta(id, BackendStats::totalRequests);
    }

    /** Requests of the backend released as successful during the phase. */
    public long succeeded(String id) {
        return delta(id, BackendStats::successes);
    }

    /** Requests of the backend released as failed during the phase. */
    public long failed(String id) {
        return delta(id, BackendStats::failures);
    }

    /** Requests routed to any backend during the phase. */
    public long routed() {
        return end.metrics().totalRequests() - start.metrics().totalRequests();
    }

    /** Requests released as failed during the phase. */
    public long failed() {
        return end.metrics().failures() - start.metrics().failures();
    }

    private long delta(String id, ToLongFunction<BackendStats> counter) {
        return counter.applyAsLong(end.backend(id).orElseThrow())
                - counter.applyAsLong(start.backend(id).orElseThrow());
    }
}

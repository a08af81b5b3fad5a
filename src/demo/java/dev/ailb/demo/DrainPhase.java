package dev.ailb.demo;

import java.util.Map;

/**
 * One phase of the drain scenario, counted by the clients: each request belongs to the phase
 * in which its client asked for a lease. The balancer forgets a removed backend's counts, so
 * the drained instance's own figures can only be counted here.
 *
 * @param name      one of {@link Demo#DRAIN_PHASES}
 * @param wallNanos how long it lasted
 * @param routedTo  requests routed to each instance, by id
 * @param failedOn  requests released as failed on each instance, by id
 */
public record DrainPhase(String name, long wallNanos, Map<String, Long> routedTo, Map<String, Long> failedOn) {

    /** Requests routed to the backend during the phase. */
    public long routed(String id) {
        return routedTo.getOrDefault(id, 0L);
    }

    /** Requests of the backend released as failed during the phase. */
    public long failed(String id) {
        return failedOn.getOrDefault(id, 0L);
    }

    /** Requests routed to any backend during the phase. */
    public long routed() {
        return routedTo.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Requests released as failed during the phase. */
    public long failed() {
        return failedOn.values().stream().mapToLong(Long::longValue).sum();
    }
}

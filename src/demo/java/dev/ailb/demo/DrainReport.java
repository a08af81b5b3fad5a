package dev.ailb.demo;

import dev.ailb.LoadBalancerStats;
import java.util.List;

/**
 * What the drain scenario saw.
 *
 * @param instance          the instance removed
 * @param inFlight          its active connections just before {@code removeBackend} was called
 * @param finishedDraining  its requests answered after {@code removeBackend} was called: the ones
 *                          it waited for
 * @param failedDraining    how many of those were released as failed
 * @param drained           whether the future {@code removeBackend} returned has completed
 * @param removed           whether the backend has left the balancer
 * @param drainNanos        from the return of {@code removeBackend} to the completion of its future
 * @param phases            the phases, named as in {@link Demo#DRAIN_PHASES}
 * @param sent              requests the clients started
 * @param succeeded         requests answered with a 2xx status
 * @param failed            requests answered with an error status or lost to a transport error
 * @param rejected          requests for which the balancer found no backend
 * @param transportErrors   the failed requests that ended in a timeout, a refused or a reset connection
 * @param stats             the balancer's stats once every request had been released
 * @param wallNanos         how long the requests flowed
 */
public record DrainReport(String instance, int inFlight, long finishedDraining, long failedDraining,
                          boolean drained, boolean removed, long drainNanos, List<DrainPhase> phases,
                          long sent, long succeeded, long failed, long rejected, long transportErrors,
                          LoadBalancerStats stats, long wallNanos) {

    /** The phase with this name. */
    public DrainPhase phase(String name) {
        for (DrainPhase phase : phases) {
            if (phase.name().equals(name)) {
                return phase;
            }
        }
        throw new IllegalArgumentException("no phase " + name);
    }
}

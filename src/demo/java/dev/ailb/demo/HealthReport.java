package dev.ailb.demo;

import dev.ailb.LoadBalancerStats;
import java.util.List;

/**
 * What the health scenario saw.
 *
 * @param instance        the instance stopped and restarted
 * @param port            its port before the stop
 * @param restartedPort   its port after the restart
 * @param events          every health change the balancer reported, in order
 * @param phases          the phases, named as in {@link Demo#HEALTH_PHASES}
 * @param sent            requests the clients started
 * @param succeeded       requests answered with a 2xx status
 * @param failed          requests answered with an error status or lost to a transport error
 * @param rejected        requests for which the balancer found no backend
 * @param transportErrors the failed requests that ended in a timeout, a refused or a reset connection
 * @param stats           the balancer's stats once every request had been released
 * @param wallNanos       how long the requests flowed
 */
public record HealthReport(String instance, int port, int restartedPort, List<HealthEvent> events,
                           List<Phase> phases, long sent, long succeeded, long failed, long rejected,
                           long transportErrors, LoadBalancerStats stats, long wallNanos) {

    /** The phase with this name. */
    public Phase phase(String name) {
        for (Phase phase : phases) {
            if (phase.name().equals(name)) {
                return phase;
            }
        }
        throw new IllegalArgumentException("no phase " + name);
    }
}

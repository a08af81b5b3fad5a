package dev.ailb;

import dev.ailb.health.HealthStats;
import java.time.Duration;
import java.util.Optional;

/**
 * The state and counters of one backend at one moment. Derived figures (rates, averages) are
 * computed from the same readings, so they agree with each other.
 *
 * <p>Immutable and thread-safe.
 *
 * @param id                the backend's id
 * @param host              its host label
 * @param port              its port
 * @param weight            its weight
 * @param healthy           whether it was healthy (its health state was {@code HEALTHY})
 * @param draining          whether it was removed and finishing in-flight requests
 * @param inMaintenance     whether it was taken out with {@code beginMaintenance} and not yet put back
 * @param activeConnections connections acquired and not yet released
 * @param totalRequests     requests routed to it by {@code selectBackend}
 * @param successes         requests released with {@code success == true}
 * @param failures          requests released with {@code success == false}
 * @param avgResponseTime   mean response time of completed requests, zero if none
 * @param p50ResponseTime   median response time (within about 3%), zero if none
 * @param p95ResponseTime   95th percentile response time (within about 3%), zero if none
 * @param p99ResponseTime   99th percentile response time (within about 3%), zero if none
 * @param loadReport        its last load report, if any
 * @param health            its health: state, check streaks, ejections
 * @param sessions          sessions bound to it in the session table
 * @param promptCache       its prompt cache: hits predicted by the balancer and reported by the server
 * @param profile           what it was declared to serve, and its labels
 * @param learntProfile     the models and adapters its server said it serves
 */
public record BackendStats(
        String id,
        String host,
        int port,
        int weight,
        boolean healthy,
        boolean draining,
        boolean inMaintenance,
        int activeConnections,
        long totalRequests,
        long successes,
        long failures,
        Duration avgResponseTime,
        Duration p50ResponseTime,
        Duration p95ResponseTime,
        Duration p99ResponseTime,
        Optional<TimedLoadReport> loadReport,
        HealthStats health,
        int sessions,
        PromptCacheStats promptCache,
        BackendProfile profile,
        BackendProfile learntProfile) {

    /**
     * Requests released so far, successful or not.
     *
     * @return {@code successes + failures}
     */
    public long completedRequests() {
        return successes + failures;
    }

    /**
     * Successes over completed requests, in [0, 1]; 1.0 before any request has completed.
     *
     * @return the success rate, in [0, 1]
     */
    public double successRate() {
        long completed = completedRequests();
        return completed == 0 ? 1.0 : (double) successes / completed;
    }
}

package dev.ailb;

import java.time.Duration;

/**
 * Totals over all the requests a balancer has seen, including those served by backends since
 * removed, and the state of its current backends.
 *
 * <p>Immutable and thread-safe.
 *
 * @param totalRequests     requests routed by {@code selectBackend}, panic ones included
 * @param rejectedRequests  selections that found no available backend (a
 *                          {@link NoAvailableBackendException} or an empty
 *                          {@code trySelectBackend}); not part of {@code totalRequests}
 * @param successes         requests released with {@code success == true}
 * @param failures          requests released with {@code success == false}
 * @param avgResponseTime   mean response time of completed requests, zero if none
 * @param p50ResponseTime   median response time (within about 3%), zero if none
 * @param p95ResponseTime   95th percentile response time (within about 3%), zero if none
 * @param p99ResponseTime   99th percentile response time (within about 3%), zero if none
 * @param activeConnections connections acquired and not yet released, over all current backends
 * @param totalBackends     backends registered, draining ones included
 * @param healthyBackends   backends considered healthy, draining ones included
 * @param availableBackends backends that new requests may go to
 * @param drainingBackends  backends removed and still finishing in-flight requests
 * @param ejectedBackends   backends ejected by outlier detection at the moment
 * @param panicMode         whether no backend was healthy and selections were routed across the
 *                          unhealthy ones (the fail-open policy)
 * @param panicSelections   requests routed while in panic mode; part of {@code totalRequests}
 * @param retries           attempts {@code execute} made after a failed one; part of
 *                          {@code totalRequests}
 * @param retriesRefused    retries {@code execute} did not make because the retry budget was spent
 * @param sessions          sessions bound to a backend in the session table (zero with
 *                          consistent-hash affinity); the sessions of a backend that left are
 *                          remembered unbound until their next request, which is a rebind
 * @param sessionHits       session requests sent to the session's backend (with consistent-hash
 *                          affinity, every session request placed by its hash)
 * @param sessionMisses     session requests of a session not known yet (or forgotten: idle too
 *                          long, or evicted), placed by the strategy
 * @param sessionRebinds    session requests whose backend had stopped taking requests or had
 *                          left, moved to another one; and calls of a session ({@code execute})
 *                          that failed on its backend and were served by a retry elsewhere,
 *                          where the session then moved
 * @param hedges            second attempts {@code executeAsync} sent while the first still ran;
 *                          part of {@code totalRequests}
 * @param hedgesRefused     hedges {@code executeAsync} did not send because the hedge budget, or
 *                          the retry budget it shares, was spent
 * @param cancelledAttempts attempts abandoned without an outcome, their connection given back
 *                          ({@link Lease#cancel()}: a hedge that lost, a call past its deadline
 *                          or cancelled by its caller); part of {@code totalRequests}, neither
 *                          successes nor failures, so that {@code totalRequests} is
 *                          {@code successes + failures + cancelledAttempts + activeConnections}
 *                          while no backend has left
 * @param firstTokenTimeouts attempts of {@code executeAsync} abandoned because their first token
 *                          did not come within the first-token deadline; counted as failures
 * @param deadlinesExceeded calls of {@code executeAsync} ended by their deadline
 * @param admission         the admission queue's figures: requests waiting, waits and how they
 *                          ended, rejections by reason; all zero without limits or a queue
 */
public record LoadBalancerMetrics(
        long totalRequests,
        long rejectedRequests,
        long successes,
        long failures,
        Duration avgResponseTime,
        Duration p50ResponseTime,
        Duration p95ResponseTime,
        Duration p99ResponseTime,
        long activeConnections,
        int totalBackends,
        int healthyBackends,
        int availableBackends,
        int drainingBackends,
        int ejectedBackends,
        boolean panicMode,
        long panicSelections,
        long retries,
        long retriesRefused,
        int sessions,
        long sessionHits,
        long sessionMisses,
        long sessionRebinds,
        long hedges,
        long hedgesRefused,
        long cancelledAttempts,
        long firstTokenTimeouts,
        long deadlinesExceeded,
        AdmissionStats admission) {

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

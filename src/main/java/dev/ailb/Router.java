package dev.ailb;

/**
 * The balancer's pick path as the collaborators that route on top of it see it: the published
 * view, the strategy's pick with its retries, and the per-request bookkeeping. The balancer
 * implements it for {@link SessionRouting} and {@link RetryingExecutor}.
 */
interface Router {

    /** The published view, with ejections that are over ended first when that is cheap. */
    Registry view();

    /** The published view as it stands, for re-checks that must not take the balancer's lock. */
    Registry published();

    /**
     * What a request may be routed to in a view: the view's own candidates, or those of the
     * request's model and labels ({@link CandidateFilter}).
     */
    Candidates candidates(Registry view, Request request);

    /**
     * The strategy's pick for a request, retried while the view changes under it.
     *
     * @param acquire whether to acquire a connection on the pick
     * @param count   whether to count the pick as a request routed
     * @throws NoAvailableBackendException if no backend is available (counted as a rejection)
     */
    Backend pick(Request request, boolean acquire, boolean count);

    /**
     * Like {@link #pick}, the pick that stands made what {@code as} makes of it: the backend, or a
     * lease ({@link #leases()}).
     *
     * @throws NoAvailableBackendException if no backend is available (counted as a rejection)
     */
    <T> T place(Request request, boolean acquire, boolean count, Placement<T> as);

    /** The placement that makes a placed request's first lease, recording why it went there. */
    Placement<Lease> leases();

    /** Acquires a connection on a backend for a request, unless it has been removed. */
    boolean tryAcquire(Backend backend, Request request);

    /**
     * Like {@link #tryAcquire}, but also refused when the backend is at its connection limit
     * ({@link ConnectionLimits}): for retries and hedges, which are new load, unlike a session
     * staying on its backend.
     */
    boolean tryAcquireWithinLimit(Backend backend, Request request);

    /**
     * Counts a request routed to a backend from its candidates: the selection stands. A strategy
     * that learns from selections ({@link PrefixRecorder}) records it here.
     */
    void countSelection(Backend backend, Request request, Candidates from);

    /** A reading of the balancer's ticker. */
    long now();

    /**
     * A lease on a connection just acquired on a backend for a request, timed from now, routed for
     * {@code reason} (null: the strategy's rule), as the call's attempt number {@code attempt} after
     * an attempt on {@code previous} (null for none).
     */
    Lease lease(Backend backend, Request request, RoutingDecision.Reason reason, int attempt, Backend previous);

    /**
     * What a request placed on a backend becomes: the backend alone for a selection, a lease for an
     * acquisition, which records why the request went there. Placing it so costs a selection
     * nothing: the backend placement is one constant that returns its argument.
     */
    @FunctionalInterface
    interface Placement<T> {
        /** The backend itself. */
        Placement<Backend> BACKEND = (view, backend, request, from, reason) -> backend;

        /**
         * The result of a pick that stands.
         *
         * @param view    the view the pick was made in
         * @param from    the candidates it was made among
         * @param reason  the stage that decided, or null for the strategy's rule
         */
        T placed(Registry view, Backend backend, Request request, Candidates from, RoutingDecision.Reason reason);
    }
}

package dev.ailb;

import dev.ailb.internal.RetryBudget;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.random.RandomGenerator;

/**
 * The attempts of {@link LoadBalancer#execute} and {@link LoadBalancer#executeLeased}: a call on a
 * backend the balancer picks, holding a connection for it, and retries of a failed call on
 * backends not tried yet, as the {@link RetryPolicy} allows and within a retry budget shared by
 * every call of the balancer. Every attempt is counted as a request with its own time and outcome.
 * The budget is also the one {@link AsyncExecutor} spends on its retries and hedges, which it
 * takes through {@link #recordRequest}, {@link #tryRetry}, {@link #tryHedge} and
 * {@link #pickUntried}.
 *
 * <p>A call of a session makes its first attempt where {@link SessionRouting#route} sends it (the
 * session's backend, or the one it is bound to now); its retries go to backends not tried yet like
 * any other, and a retry that succeeds moves the session to the backend that served it
 * ({@link SessionRouting#rebindAfterRetry}). A call whose every attempt fails leaves the session
 * where it was.
 *
 * <p>Thread-safe.
 */
final class RetryingExecutor {
    private final Router router;
    private final SessionRouting sessions;
    private final RetryPolicy policy;
    private final RetryBudget budget;
    private final RandomGenerator random;
    private final TrafficFigures figures;
    private final BooleanSupplier closed;

    RetryingExecutor(Router router, SessionRouting sessions, RetryPolicy policy, RandomGenerator random,
            TrafficFigures figures, BooleanSupplier closed) {
        this.router = router;
        this.sessions = sessions;
        this.policy = policy;
        this.budget = new RetryBudget(policy.budgetPercent() / 100.0, policy.minRetriesPerSecond(),
                policy.hedgeBudgetPercent() / 100.0, policy.minHedgesPerSecond(), TimeUnit.SECONDS.toNanos(10));
        this.random = random;
        this.figures = figures;
        this.closed = closed;
    }

    /** The retries the budget refused so far. */
    long retriesRefused() {
        return budget.retriesRefused();
    }

    /** The hedges the budget refused so far. */
    long hedgesRefused() {
        return budget.hedgesRefused();
    }

    /** The policy the attempts follow. */
    RetryPolicy policy() {
        return policy;
    }

    /** Records a call's first attempt in the budget. */
    void recordRequest(long now) {
        budget.recordRequest(now);
    }

    /** Takes a retry from the budget, or says no. */
    boolean tryRetry(long now) {
        return budget.tryWithdraw(now);
    }

    /** Takes a hedge from the budget, or says no. */
    boolean tryHedge(long now) {
        return budget.tryWithdrawHedge(now);
    }

    /**
     * Runs a plain call ({@code leased} null) or a leased one ({@code plain} null), of a session
     * unless {@code sessionId} is null.
     */
    <T> T run(Request request, String sessionId, LeasedCall<T> leased, BackendCall<T> plain) {
        Lease lease = sessionId == null
                ? router.place(request, true, true, router.leases())
                : sessions.route(request, sessionId, true, router.leases());
        Backend backend = lease.backend();
        Backend first = backend;
        budget.recordRequest(router.now());
        List<Throwable> failures = new ArrayList<>(1);
        List<Backend> tried = new ArrayList<>(1);
        for (int attempt = 1; ; attempt++) {
            if (attempt > 1) {
                lease = router.lease(backend, request, RoutingDecision.Reason.RETRY, attempt, tried.get(tried.size() - 1));
            }
            T result;
            try {
                result = leased != null ? leased.call(lease) : plain.call(backend);
            } catch (Exception e) {
                lease.failure(e);
                failures.add(e);
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                    throw new CallFailedException(CallFailedException.Reason.NOT_RETRYABLE, failures);
                }
                tried.add(backend);
                CallFailedException.Reason stop = null;
                if (!policy.isRetryable(e)) {
                    stop = CallFailedException.Reason.NOT_RETRYABLE;
                } else if (closed.getAsBoolean()) {
                    stop = CallFailedException.Reason.BALANCER_CLOSED;
                } else if (attempt >= policy.maxAttempts()) {
                    stop = CallFailedException.Reason.ATTEMPTS_EXHAUSTED;
                } else if (!hasUntried(request, tried)) {
                    stop = CallFailedException.Reason.NO_UNTRIED_BACKEND;
                } else if (!budget.tryWithdraw(router.now())) {
                    stop = CallFailedException.Reason.BUDGET_EXHAUSTED;
                } else {
                    backend = pickUntried(request, tried, false);
                    if (backend == null) {
                        stop = closed.getAsBoolean() ? CallFailedException.Reason.BALANCER_CLOSED
                                : CallFailedException.Reason.NO_UNTRIED_BACKEND;
                    }
                }
                if (stop != null) {
                    throw new CallFailedException(stop, failures);
                }
                continue;
            } catch (Throwable t) {
                lease.failure(t);
                throw t;
            }
            // Before the lease ends, so that the backend that served the call has not drained
            // away (the rebind still checks: a drain timeout, or a leased call ending its lease).
            if (sessionId != null && backend != first) {
                sessions.rebindAfterRetry(sessionId, first, backend);
            }
            if (leased == null) {
                lease.success();
            }
            return result;
        }
    }

    /** Whether a backend not tried yet among the request's candidates is routable now. */
    boolean hasUntried(Request request, List<Backend> tried) {
        return !untried(router.candidates(router.published(), request), tried).isEmpty();
    }

    /**
     * The backends a retry may go to: among the request's candidates (which serve its model and
     * carry its labels), routable now and not tried yet.
     */
    private static List<Backend> untried(Candidates current, List<Backend> tried) {
        List<Backend> candidates = new ArrayList<>(current.admitted.size());
        for (Backend b : current.admitted) {
            if (!tried.contains(b) && current.routes(b)) {
                candidates.add(b);
            }
        }
        return candidates;
    }

    /**
     * Picks and acquires a backend not tried yet: the strategy's pick if it is one, else one of the
     * untried at random (a hash strategy would pick the same backend again), and counts it as a
     * retry, or as a hedge if {@code hedge}. Null if none is left.
     */
    Backend pickUntried(Request request, List<Backend> tried, boolean hedge) {
        for (int attempt = 0; attempt < 3 && !closed.getAsBoolean(); attempt++) {
            Candidates current = router.candidates(router.view(), request);
            List<Backend> candidates = untried(current, tried);
            if (candidates.isEmpty()) {
                return null;
            }
            Backend backend = current.picker.pick(request);
            if (!candidates.contains(backend)) {
                backend = candidates.get(random.nextInt(candidates.size()));
            }
            if (router.tryAcquireWithinLimit(backend, request)) {
                router.countSelection(backend, request, current);
                if (hedge) {
                    figures.countHedge();
                } else {
                    figures.countRetry();
                }
                return backend;
            }
        }
        return null;
    }
}

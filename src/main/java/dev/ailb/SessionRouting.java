package dev.ailb;

import dev.ailb.internal.SessionTable;
import java.util.concurrent.atomic.LongAdder;

/**
 * Where the requests of a session go: the {@link SessionAffinity} modes as one collaborator of the
 * balancer, over its {@link Router}. {@link #route} sends a request of a session to the session's
 * backend while that backend takes requests, and otherwise places it with the strategy; the mode
 * decides how the session's backend is remembered; {@link #rebindAfterRetry} moves a session whose
 * call was served elsewhere after a failure. It also counts hits, misses and rebinds, with the
 * meanings {@link LoadBalancerMetrics} gives them.
 *
 * <p>Thread-safe: a hit takes no lock of the balancer in either mode.
 */
abstract class SessionRouting {
    final LongAdder hits = new LongAdder();
    final LongAdder misses = new LongAdder();
    final LongAdder rebinds = new LongAdder();
    final Router router;

    private SessionRouting(Router router) {
        this.router = router;
    }

    /** A bounded table of bindings ({@link SessionAffinity#TABLE}). */
    static SessionRouting table(Router router, int maxSessions, long idleTimeoutNanos) {
        return new Table(router, maxSessions, idleTimeoutNanos);
    }

    /** Consistent hashing of the session id over the routable backends ({@link SessionAffinity#CONSISTENT_HASH}). */
    static SessionRouting hash(Router router, Selector ringSelector) {
        return new Hash(router, ringSelector);
    }

    /**
     * Routes a request of a session, acquiring a connection on its backend if asked, and counts it.
     *
     * @throws NoAvailableBackendException if no backend is available
     * @throws IllegalStateException       if the strategy keeps picking backends that are gone
     */
    abstract <T> T route(Request request, String sessionId, boolean acquire, Router.Placement<T> as);

    /**
     * A call of a session ({@link RetryingExecutor}) failed on {@code failed}, where {@link #route}
     * had sent it, and a retry succeeded on {@code served}: the session follows the backend that
     * served it, counted as a rebind, unless another request of the session has placed it
     * elsewhere since.
     */
    abstract void rebindAfterRetry(String sessionId, Backend failed, Backend served);

    /** A backend left the balancer: nothing here may hold it any more. */
    abstract void forget(Backend departed);

    /** The sessions bound to a backend as of {@code nowNanos}, idle ones dropped first. */
    abstract int boundSessions(long nowNanos);

    /**
     * The table mode. A session is bound to the backend the strategy first placed it on and moves
     * only when that backend stops taking requests; a binding made while another request of the
     * session binds it elsewhere gives way to the first one, so both go to one backend.
     */
    private static final class Table extends SessionRouting {
        private final SessionTable<Backend> table;

        Table(Router router, int maxSessions, long idleTimeoutNanos) {
            super(router);
            this.table = new SessionTable<>(maxSessions, idleTimeoutNanos,
                    (sessionId, backend, cause) -> backend.sessions.decrementAndGet());
        }

        @Override
        <T> T route(Request request, String sessionId, boolean acquire, Router.Placement<T> as) {
            long now = router.now();
            Backend bound = table.get(sessionId, now);
            if (bound != null) {
                // A session bound to a backend that does not serve this request's model or carry
                // its labels is placed again, as if its backend had gone.
                Registry view = router.view();
                Candidates candidates = router.candidates(view, request);
                if (candidates.accepts(bound) && (!acquire || router.tryAcquire(bound, request))) {
                    router.countSelection(bound, request, candidates);
                    hits.increment();
                    return as.placed(view, bound, request, candidates, RoutingDecision.Reason.SESSION_HIT);
                }
            }
            // The hit above is the hot path; placing the session is kept out of this method, so
            // that the compiler inlines the hit into the caller.
            return place(request, sessionId, bound, acquire, now, as);
        }

        /** Places a session that is new, or whose backend no longer takes its request. */
        private <T> T place(Request request, String sessionId, Backend bound, boolean acquire, long now,
                Router.Placement<T> as) {
            // Miss or rebind is decided by how the first attempt found the session, under the
            // table's lock: a later attempt finds the binding the earlier one made.
            SessionTable.Outcome found = null;
            for (int attempt = 0; attempt < 3; attempt++) {
                Backend chosen = router.pick(request, false, false);
                chosen.sessions.incrementAndGet(); // before binding: the table reports a replaced binding at once
                // Another request of the session may have bound it since the lookup above: the
                // first binding to a backend that takes requests holds.
                // Read before the table's lock: a first request of its kind takes the balancer's.
                Candidates candidates = router.candidates(router.published(), request);
                SessionTable.Binding<Backend> binding =
                        table.bind(sessionId, chosen, b -> b != bound && candidates.accepts(b), now);
                if (found == null) {
                    found = binding.outcome();
                }
                Backend winner = chosen;
                if (binding.kept() != null) {
                    chosen.sessions.decrementAndGet(); // not bound after all, even if kept is chosen
                    winner = binding.kept();
                }
                // A backend that left since the pick may have had its sessions unbound before
                // this binding was made: unbind it too, and place the request again.
                if (winner.isRemoved() || (acquire && !router.tryAcquire(winner, request))) {
                    table.unbind(sessionId, winner);
                    continue;
                }
                Registry view = router.published();
                Candidates from = router.candidates(view, request);
                router.countSelection(winner, request, from);
                (binding.kept() != null ? hits : found == SessionTable.Outcome.NEW ? misses : rebinds).increment();
                return as.placed(view, winner, request, from, binding.kept() != null
                        ? RoutingDecision.Reason.SESSION_HIT : RoutingDecision.Reason.SESSION_PLACED);
            }
            throw new IllegalStateException("strategy " + router.published().strategy.name()
                    + " keeps picking backends that are not available");
        }

        @Override
        void rebindAfterRetry(String sessionId, Backend failed, Backend served) {
            served.sessions.incrementAndGet(); // before binding, as in place()
            // Only a binding to the backend that failed gives way; an unbound or forgotten
            // session is bound without asking.
            SessionTable.Binding<Backend> binding = table.bind(sessionId, served, b -> b != failed, router.now());
            if (binding.kept() != null) {
                served.sessions.decrementAndGet();
                return;
            }
            // As in place(): a backend that left since may have had its sessions unbound before
            // this binding was made. Unbound again, the session's next request is placed afresh,
            // and counted then.
            if (served.isRemoved()) {
                table.unbind(sessionId, served);
                return;
            }
            rebinds.increment();
        }

        /**
         * The table lets go of the backend (and its histograms) but remembers its sessions, so
         * that each one's next request counts as a rebind.
         */
        @Override
        void forget(Backend departed) {
            table.unbindIf(b -> b == departed);
        }

        @Override
        int boundSessions(long nowNanos) {
            table.expire(nowNanos); // so that the count is exact as of now
            return table.boundSize();
        }
    }

    /**
     * The hash mode: the session id is hashed onto a consistent-hash ring over the routable
     * backends, built when that set changes; nothing is kept per session. A session whose
     * backend does not take the request is placed by the strategy, unbound.
     */
    private static final class Hash extends SessionRouting {
        private final Selector ringSelector; // guarded by itself
        private volatile Ring ring;

        Hash(Router router, Selector ringSelector) {
            super(router);
            this.ringSelector = ringSelector;
        }

        @Override
        <T> T route(Request request, String sessionId, boolean acquire, Router.Placement<T> as) {
            for (int attempt = 0; attempt < 3; attempt++) {
                Registry view = router.view();
                if (view.routable.isEmpty()) {
                    break; // let the pick explain
                }
                Ring current = ring;
                if (current == null || current.viewPicker != view.picker) {
                    current = ringOver(view);
                }
                Backend backend = IpHashStrategy.backendForKey(current.picker, sessionId);
                // The ring spans the whole view: a hashed backend that does not serve the request's
                // model or carry its labels leaves the request to the strategy, among those that do.
                Candidates candidates = router.candidates(view, request);
                boolean accepts = candidates.accepts(backend);
                if (!accepts && candidates.routes(backend)) {
                    break;
                }
                if (accepts && (!acquire || router.tryAcquire(backend, request))) {
                    router.countSelection(backend, request, candidates);
                    hits.increment();
                    return as.placed(view, backend, request, candidates, RoutingDecision.Reason.SESSION_HIT);
                }
            }
            return router.place(request, acquire, true, as);
        }

        private Ring ringOver(Registry view) {
            // The ring selector builds incrementally from its last ring, so it is not shared unguarded.
            synchronized (ringSelector) {
                Ring current = ring;
                if (current == null || current.viewPicker != view.picker) {
                    current = new Ring(view.picker, ringSelector.newPicker(view.routable));
                    ring = current;
                }
                return current;
            }
        }

        @Override
        void rebindAfterRetry(String sessionId, Backend failed, Backend served) {
            // Nothing is kept per session: the next request goes to the hashed backend again, or
            // is placed by the strategy while that backend takes no requests.
        }

        @Override
        void forget(Backend departed) {
            // nothing is kept per session; the next ring is built without it
        }

        @Override
        int boundSessions(long nowNanos) {
            return 0;
        }

        /**
         * A consistent-hash ring over the routable set of the views with one picker: a view gets a
         * new picker whenever that set or a weight in it changes, and keeps it otherwise.
         */
        private record Ring(Picker viewPicker, Picker picker) {}
    }
}

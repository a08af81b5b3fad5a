package dev.ailb;

/**
 * The path of one request through a balancer, top-down: the candidates (the routable backends of
 * the published view, with ejections that are over ended first, narrowed to the request's model
 * and labels by {@link CandidateFilter}), the strategy's pick among them, the re-check that the
 * pick still takes requests, the capacity stage ({@link ConnectionLimits}: a full pick gives way to
 * a candidate with room), the acquisition of a connection, and the count.
 * {@link SessionRouting} and {@link RetryingExecutor} route on top of it through {@link Router}.
 *
 * <p>Lock-free: a pick reads the view once per attempt and never waits for a writer. A backend can
 * leave or go down between the read and the pick; {@link RoutingTable} publishes the view without
 * it before flagging it, so the re-check ({@link Registry#routes}) sees the flag, and the next
 * attempt reads a view that no longer offers it. Only failures on an unchanged view count against
 * the strategy: under a burst of changes every attempt may meet a newer view, which is a race to
 * lose again, not a strategy that misbehaves.
 *
 * <p>Thread-safe.
 */
final class RequestPath implements Router {
    private final LoadBalancer owner;
    private final RoutingTable table;
    private final HealthTransitions health;
    private final TrafficFigures figures;
    private final CandidateFilter filter;
    private final Ticker ticker;
    private final ConnectionLimits limits;
    /** The default token estimate when the balancer counts tokens in flight; 0 when it counts connections. */
    private final long defaultTokens;
    private final DecisionRecords records;
    /** A placed request made a lease, on its first attempt. */
    private final Placement<Lease> leases = (view, backend, request, from, reason) ->
            lease(view, backend, request, from, reason, 1, null, null);

    RequestPath(LoadBalancer owner, RoutingTable table, HealthTransitions health, TrafficFigures figures,
            CandidateFilter filter, Ticker ticker, ConnectionLimits limits, long defaultTokens,
            DecisionRecords records) {
        this.owner = owner;
        this.records = records;
        this.limits = limits;
        this.table = table;
        this.health = health;
        this.figures = figures;
        this.filter = filter;
        this.ticker = ticker;
        this.defaultTokens = defaultTokens;
    }

    /**
     * Picks a backend for a request, acquires a connection on it and counts it as a request if
     * asked; when none is available or every candidate is full, counts a rejection and throws or
     * returns null as asked.
     *
     * @throws NoAvailableBackendException if none is available, or every candidate is full, and
     *                                     {@code throwIfNone}
     * @throws IllegalStateException       if the strategy picks a backend not offered to it, or keeps
     *                                     picking backends that are not available
     */
    Backend select(Request request, boolean throwIfNone, boolean acquire, boolean count) {
        return place(request, throwIfNone, acquire, count, true, Placement.BACKEND);
    }

    /**
     * Like {@link #select} with a connection acquired, for {@link Admission}: returns null, and
     * counts nothing, when every candidate is full, so that the request may wait.
     *
     * @throws NoAvailableBackendException if no backend is available at all (counted as a rejection)
     */
    Backend tryPlace(Request request, boolean count) {
        return place(request, true, true, count, false, Placement.BACKEND);
    }

    /**
     * Like {@link #tryPlace}, made a lease that records why the request went where it went; null
     * when every candidate is full.
     *
     * @throws NoAvailableBackendException if no backend is available at all (counted as a rejection)
     */
    Lease tryLease(Request request) {
        return place(request, true, true, true, false, leases);
    }

    /**
     * The pick and its capacity stage: the strategy picks among the candidates; if its pick is
     * full ({@link ConnectionLimits}), the request goes to the least loaded candidate with room;
     * if none has room, the fleet is full. The placement {@code as} makes the result of the pick
     * that stands, told whether the capacity stage moved it.
     */
    private <T> T place(Request request, boolean throwIfNone, boolean acquire, boolean count,
            boolean fullIsRejection, Placement<T> as) {
        for (int misses = 0; misses < 3; ) {
            Registry current = view();
            Candidates candidates = filter.candidates(current, request);
            if (candidates.backends.isEmpty()) {
                figures.countRejection();
                if (throwIfNone) {
                    throw noAvailableBackend(current, candidates);
                }
                return null;
            }
            Backend backend = candidates.picker.pick(request);
            if (backend == null || backend.owner != owner) {
                throw new IllegalStateException("strategy " + current.strategy.name() + " picked "
                        + backend + ", which is not one of the backends offered to it");
            }
            if (candidates.routes(backend)) {
                RoutingDecision.Reason moved = null; // the strategy's rule
                if (!limits.hasRoom(backend)) {
                    moved = RoutingDecision.Reason.CAPACITY;
                    backend = limits.roomiest(candidates);
                    if (backend == null) {
                        if (fullIsRejection) {
                            figures.countRejection();
                            if (throwIfNone) {
                                throw fleetFull(current, candidates);
                            }
                        }
                        return null;
                    }
                }
                // With acquire, a backend removed (or filled by another request) between the pick
                // and the acquisition is picked again, and only the pick that acquired is counted.
                if (!acquire || backend.tryAcquire(tokensOf(request), limits.acquisitionLimit(backend))) {
                    if (count) {
                        countSelection(backend, request, candidates);
                    }
                    return as.placed(current, backend, request, candidates, moved);
                }
                if (limits.on() && !backend.isRemoved()) {
                    continue; // another request took its last slot: progress, not a misbehaving strategy
                }
            }
            if (table.current() == current) {
                misses++;
            }
        }
        throw new IllegalStateException("strategy " + table.current().strategy.name()
                + " keeps picking backends that are not available");
    }

    /** Every candidate is at its connection limit or saturated. */
    private static NoAvailableBackendException fleetFull(Registry current, Candidates candidates) {
        int registered = 0;
        for (Backend b : current.all) {
            if (Candidates.admits(b, candidates.model, candidates.labels)) {
                registered++;
            }
        }
        return new NoAvailableBackendException(NoAvailableBackendException.Reason.ALL_FULL, registered, 0, 0,
                candidates.model, candidates.labels);
    }

    /**
     * Why no backend is available: no registered backend serves the model or carries the labels, or
     * what those that do are doing.
     */
    static NoAvailableBackendException noAvailableBackend(Registry current, Candidates candidates) {
        String model = candidates.model;
        LabelSelector labels = candidates.labels;
        if (!model.isEmpty() && !current.all.isEmpty() && !CandidateFilter.anyAdmits(current.all, model, LabelSelector.none())) {
            return NoAvailableBackendException.modelNotServed(model, labels, current.all.size());
        }
        if (!labels.required().isEmpty() && !current.all.isEmpty() && !CandidateFilter.anyAdmits(current.all, model, labels)) {
            return NoAvailableBackendException.labelsNotCarried(model, labels, current.all.size());
        }
        int registered = 0;
        int unhealthy = 0;
        int draining = 0;
        for (Backend b : current.all) {
            if (!Candidates.admits(b, model, labels)) {
                continue;
            }
            registered++;
            if (!b.isInService()) { // draining, in maintenance, or drained and about to leave the view
                draining++;
            } else if (!b.isHealthy()) {
                unhealthy++;
            }
        }
        NoAvailableBackendException.Reason reason;
        if (registered == 0) {
            reason = NoAvailableBackendException.Reason.NO_BACKENDS;
        } else if (unhealthy == registered) {
            reason = NoAvailableBackendException.Reason.ALL_UNHEALTHY;
        } else if (draining == registered) {
            reason = NoAvailableBackendException.Reason.ALL_OUT_OF_SERVICE;
        } else {
            reason = NoAvailableBackendException.Reason.ALL_UNHEALTHY_OR_OUT_OF_SERVICE;
        }
        return new NoAvailableBackendException(reason, registered, unhealthy, draining, model, labels);
    }

    /**
     * The tokens a request counts for while in flight: its estimate, or the default for one
     * without. Meaningless (and ignored by the backends) when the balancer counts connections.
     */
    long tokensOf(Request request) {
        long estimate = request.estimatedTokens();
        return estimate > 0 ? estimate : defaultTokens;
    }

    @Override
    public Registry view() {
        Registry current = table.current();
        // Inline-sized: ending ejections is the rare case, and the hit path of a session pays for
        // this call on every request.
        return current.ejecting ? health.readmitIfDue(current) : current;
    }

    @Override
    public Candidates candidates(Registry view, Request request) {
        return filter.candidates(view, request);
    }

    @Override
    public Registry published() {
        return table.current();
    }

    @Override
    public Backend pick(Request request, boolean acquire, boolean count) {
        return select(request, true, acquire, count);
    }

    @Override
    public <T> T place(Request request, boolean acquire, boolean count, Placement<T> as) {
        return place(request, true, acquire, count, true, as);
    }

    @Override
    public Placement<Lease> leases() {
        return leases;
    }

    @Override
    public boolean tryAcquire(Backend backend, Request request) {
        return backend.tryAcquire(tokensOf(request));
    }

    @Override
    public boolean tryAcquireWithinLimit(Backend backend, Request request) {
        return backend.tryAcquire(tokensOf(request), limits.acquisitionLimit(backend));
    }

    @Override
    public void countSelection(Backend backend, Request request, Candidates from) {
        figures.countSelection(backend, from.panic);
        if (from.recorder != null) {
            long prediction = from.recorder.recordSelection(backend, request);
            if (prediction != PrefixRecorder.NO_PREDICTION) {
                backend.promptCache.recordPrediction(prediction >>> 32, prediction & 0xFFFF_FFFFL);
            }
        }
    }

    @Override
    public long now() {
        return ticker.read();
    }

    @Override
    public Lease lease(Backend backend, Request request, RoutingDecision.Reason reason, int attempt,
            Backend previous) {
        Registry view = table.current();
        return lease(view, backend, request, filter.candidates(view, request), reason, attempt, previous, null);
    }

    /**
     * A lease handed to a request that waited in the admission queue, whose tracer the factory taken
     * when it joined the queue makes ({@link DecisionRecords#forQueuedRequest}; null for the
     * balancer's own).
     */
    Lease queuedLease(Backend backend, Request request, AttemptTracer.Factory tracing) {
        Registry view = table.current();
        return lease(view, backend, request, filter.candidates(view, request), RoutingDecision.Reason.ADMISSION_QUEUE,
                1, null, tracing);
    }

    /** See {@link DecisionRecords#forQueuedRequest}. */
    AttemptTracer.Factory tracingForQueuedRequest() {
        return records.forQueuedRequest();
    }

    /**
     * A lease on a connection just acquired on a backend for a request, timed from now, with its
     * routing decision: {@code reason}, or when null the rule of the strategy (fail-open when the
     * candidates are in panic), and the figure that rule decided by, read now.
     */
    private Lease lease(Registry view, Backend backend, Request request, Candidates from,
            RoutingDecision.Reason reason, int attempt, Backend previous, AttemptTracer.Factory queuedTracing) {
        PrefixRecorder recorder = from.recorder;
        PrefixPrediction prediction = recorder == null ? null : recorder.claim(backend, request);
        long now = ticker.read();
        RoutingDecision.Reason why = reason != null ? reason : from.panic ? RoutingDecision.Reason.FAIL_OPEN : view.rule;
        double figure = Double.NaN;
        switch (why) {
            case LEAST_LOADED, CAPACITY -> figure = backend.inFlightLoad();
            case WEIGHTED_ROTATION -> figure = backend.weight();
            case LEAST_RESPONSE_TIME -> figure = backend.responseTimeEwmaNanos(now);
            case RESOURCE_SCORE -> figure = resourceScore(view.strategy, backend, now);
            case PREFIX_MISS -> {
                if (prediction != null && prediction.matched() > 0) {
                    why = RoutingDecision.Reason.PREFIX_MATCH;
                    figure = prediction.matchedUnits();
                }
            }
            default -> { } // the rule compares no figure
        }
        return new Lease(owner, backend, tokensOf(request), now, prediction, view.strategy, why, figure, attempt,
                previous, records, queuedTracing);
    }

    /** A backend's score under a resource-based strategy, as its picks compare it. */
    private static double resourceScore(BalancingStrategy strategy, Backend backend, long now) {
        BalancingStrategy s = strategy;
        while (s instanceof NamedStrategy named) {
            s = named.delegate();
        }
        return s instanceof ResourceBasedStrategy r ? r.score(backend, now) : Double.NaN;
    }
}

package dev.ailb;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.spi.MDCAdapter;

/**
 * Where each attempt's {@link RoutingDecision} goes when it is made: the DEBUG line on the logger
 * {@value RoutingDecision#LOGGER}, with the record's fields in the MDC for that line, and the
 * attempt's {@link AttemptTracer}. The record is built only when one of them asks for it: with the
 * logger above DEBUG and no tracer factory, routing a lease allocates nothing for it, and the lease
 * keeps the reason and figure in its own fields for {@link Lease#decision()}.
 *
 * <p>A tracer's exceptions are caught and logged: observing an attempt never changes how it is
 * routed or counted.
 *
 * <p>Thread-safe.
 */
final class DecisionRecords {
    /** The MDC keys of the DEBUG line. */
    static final String BALANCER = "ailb.balancer";
    static final String BACKEND = "ailb.backend";
    static final String STRATEGY = "ailb.strategy";
    static final String REASON = "ailb.reason";
    static final String FIGURE = "ailb.figure";
    static final String ATTEMPT = "ailb.attempt";
    static final String PREVIOUS = "ailb.previous";

    private static final Logger log = LoggerFactory.getLogger(DecisionRecords.class);

    private final String balancer;
    /** The factory of the tracers; null when attempts are not traced. */
    private final AttemptTracer.Factory factory;
    private final Logger routing;
    private final MDCAdapter mdc;

    DecisionRecords(String balancer, AttemptTracer.Factory factory) {
        this(balancer, factory, LoggerFactory.getLogger(RoutingDecision.LOGGER), MDC.getMDCAdapter());
    }

    /** With the logger and the MDC the line is written to, which a test may capture. */
    DecisionRecords(String balancer, AttemptTracer.Factory factory, Logger routing, MDCAdapter mdc) {
        this.balancer = balancer;
        this.factory = factory;
        this.routing = routing;
        this.mdc = mdc;
    }

    /**
     * An attempt was routed: writes its DEBUG line if the logger is on, and makes its tracer if the
     * attempts are traced.
     *
     * @return the attempt's tracer, or null when there is none
     */
    AttemptTracer started(Backend backend, BalancingStrategy strategy, RoutingDecision.Reason reason, double figure,
            int attempt, Backend previous, AttemptTracer.Factory queued) {
        boolean debug = routing.isDebugEnabled();
        AttemptTracer.Factory factory = queued != null ? queued : this.factory;
        if (factory == null && !debug) {
            return null;
        }
        RoutingDecision decision = new RoutingDecision(balancer, backend.id(), strategy.name(), reason, figure,
                attempt, previous == null ? null : previous.id());
        if (debug) {
            write(decision);
        }
        if (factory == null) {
            return null;
        }
        try {
            return factory.newTracer(decision);
        } catch (RuntimeException e) {
            log.warn("[{}] the attempt tracer factory threw for {}; the attempt is not traced", balancer, decision, e);
            return null;
        }
    }

    /**
     * The factory for a request that starts waiting in the admission queue now, taken on its own
     * thread ({@link AttemptTracer.Factory#forQueuedRequest}); null when attempts are not traced, or
     * when the factory failed to give one (the balancer's own factory then makes the tracer).
     */
    AttemptTracer.Factory forQueuedRequest() {
        if (factory == null) {
            return null;
        }
        try {
            return factory.forQueuedRequest();
        } catch (RuntimeException e) {
            log.warn("[{}] the attempt tracer factory threw for a queued request; its own factory will trace it",
                    balancer, e);
            return null;
        }
    }

    /** The attempt of a tracer made by {@link #started} has ended; does nothing for a null tracer. */
    void ended(AttemptTracer tracer, AttemptTracer.Outcome outcome, Throwable failure) {
        if (tracer == null) {
            return;
        }
        try {
            tracer.ended(outcome, failure);
        } catch (RuntimeException e) {
            log.warn("[{}] an attempt tracer threw when its attempt ended {}", balancer, outcome, e);
        }
    }

    /** The DEBUG line, with the record's fields in the MDC while it is written. */
    private void write(RoutingDecision d) {
        // Values already under these keys (a caller's own) are put back after the line.
        String[] keys = {BALANCER, BACKEND, STRATEGY, REASON, FIGURE, ATTEMPT, PREVIOUS};
        String[] before = new String[keys.length];
        for (int i = 0; i < keys.length; i++) {
            before[i] = mdc.get(keys[i]);
        }
        try {
            mdc.put(BALANCER, d.balancer());
            mdc.put(BACKEND, d.backend());
            mdc.put(STRATEGY, d.strategy());
            mdc.put(REASON, d.reason().name());
            if (Double.isNaN(d.figure())) {
                mdc.remove(FIGURE);
            } else {
                mdc.put(FIGURE, Double.toString(d.figure()));
            }
            mdc.put(ATTEMPT, Integer.toString(d.attempt()));
            if (d.previousBackend().isPresent()) {
                mdc.put(PREVIOUS, d.previousBackend().get());
            } else {
                mdc.remove(PREVIOUS);
            }
            routing.debug("routed {}", d);
        } finally {
            for (int i = 0; i < keys.length; i++) {
                if (before[i] == null) {
                    mdc.remove(keys[i]);
                } else {
                    mdc.put(keys[i], before[i]);
                }
            }
        }
    }
}

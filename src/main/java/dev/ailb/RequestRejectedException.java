package dev.ailb;

import java.time.Duration;

/**
 * Thrown (or the failure of the future of {@link LoadBalancer#acquireAsync(Request)}) when the
 * fleet is full and a request is refused rather than admitted; the {@link #reason()} says why.
 * Each rejection is counted once, under its reason, in {@link AdmissionStats}.
 *
 * <p>A request refused this way never held a connection: there is nothing to release.
 *
 * <p>Immutable once thrown.
 */
public final class RequestRejectedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why a request was refused. */
    public enum Reason {
        /**
         * The fleet was full and the request was {@link Priority#SHEDDABLE}: refused rather than
         * made to wait.
         */
        SHED,
        /**
         * The fleet was full and the admission queue too: the request was refused on arrival, or,
         * waiting as {@link Priority#STANDARD}, gave its place to a {@link Priority#CRITICAL} one.
         */
        QUEUE_FULL,
        /** The request waited as long as it was allowed to, and no backend had room meanwhile. */
        DEADLINE_PASSED,
        /** The balancer was closed while the request waited. */
        BALANCER_CLOSED
    }

    /** Why the request was refused. */
    private final Reason reason;
    /** The request's priority. */
    private final Priority priority;
    /** How long it waited, zero if it never did. */
    private final Duration waited;

    RequestRejectedException(Reason reason, Request request, long waitedNanos, String detail) {
        super("request " + request.id() + " rejected (" + reason + "): " + detail + "; priority "
                + request.priority() + (request.tenant().isEmpty() ? "" : ", tenant " + request.tenant())
                + ", waited " + Duration.ofNanos(waitedNanos));
        this.reason = reason;
        this.priority = request.priority();
        this.waited = Duration.ofNanos(waitedNanos);
    }

    /**
     * Why the request was refused.
     *
     * @return the reason, never null
     */
    public Reason reason() {
        return reason;
    }

    /**
     * The priority of the request refused.
     *
     * @return its priority, never null
     */
    public Priority priority() {
        return priority;
    }

    /**
     * How long the request waited in the admission queue before it was refused.
     *
     * @return the wait, {@link Duration#ZERO} for a request refused on arrival
     */
    public Duration waited() {
        return waited;
    }
}

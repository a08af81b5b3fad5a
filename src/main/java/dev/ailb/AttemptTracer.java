package dev.ailb;

/**
 * Follows one attempt of a request from the moment it has its backend to the release of its
 * lease: the hook for tracing and observation systems. A {@link Factory}, set once with
 * {@link LoadBalancerBuilder#attemptTracing}, makes one tracer per attempt, on the thread that
 * routed it, with the attempt's {@link RoutingDecision}; the balancer then calls {@link #ended}
 * exactly once, when the lease is released, however it is released. A balancer without a factory
 * makes no tracer and builds no record for one.
 *
 * <p>{@code dev.ailb.micrometer.ObservationAttemptTracing} is the implementation over Micrometer's
 * Observation API. A tracer's exceptions are caught and logged, and change nothing in the
 * balancer's counts.
 *
 * <p>Implementations must be thread-safe: {@link #ended} may run on another thread than the one
 * that made the tracer.
 */
@FunctionalInterface
public interface AttemptTracer {

    /** How an attempt's lease was released. */
    enum Outcome {
        /** {@link Lease#success()}. */
        SUCCESS,
        /** {@link Lease#failure()}, or {@link Lease#close()} without an outcome. */
        FAILURE,
        /**
         * {@link Lease#cancel()}: the attempt was abandoned (a hedge that lost, a deadline, the
         * caller's cancellation), or its lease was handed to a waiter that had already gone.
         */
        CANCELLED
    }

    /**
     * The attempt's lease was released. Called exactly once per tracer.
     *
     * @param outcome how it was released, never null
     * @param failure for a {@link Outcome#FAILURE}, what the attempt failed with where the balancer
     *                knows it: the exception of the call {@code execute} ran, the failure of the stage
     *                {@code executeAsync} started or its missed first-token deadline, or the cause given
     *                to {@link Lease#failure(Throwable)}; otherwise null
     */
    void ended(Outcome outcome, Throwable failure);

    /**
     * Makes the tracer of each attempt. Called on the routing thread, on the path of every request
     * that takes a lease: it should be quick and should not block.
     */
    @FunctionalInterface
    interface Factory {

        /**
         * A tracer for an attempt that has just been routed and holds its backend.
         *
         * @param decision why the attempt went where it went
         * @return the attempt's tracer, never null
         */
        AttemptTracer newTracer(RoutingDecision decision);

        /**
         * The factory for the attempt of a request that starts waiting in the admission queue now.
         * Called on the waiting request's own thread when it joins the queue; the attempt is routed
         * later, on the thread whose release frees the room, where the factory it returns makes its
         * tracer. A factory that takes context from the routing thread (such as the current span)
         * captures the waiting thread's here. By default, this factory.
         *
         * @return the factory of the queued request's tracer, never null
         */
        default Factory forQueuedRequest() {
            return this;
        }
    }
}

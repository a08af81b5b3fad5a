package dev.ailb;

import java.util.Objects;
import java.util.Optional;

/**
 * Why one attempt of a request went to its backend: the balancer, the backend, the strategy in
 * force, the rule that decided ({@link Reason}), the figure that rule compared where it compares
 * one, the attempt's number within its call, and for a retry or a hedge the backend of the attempt
 * before it. {@link Lease#decision()} gives the record of a lease; the balancer also writes it as a
 * DEBUG line on the logger {@value #LOGGER} and hands it to an {@link AttemptTracer.Factory} set
 * with {@link LoadBalancerBuilder#attemptTracing}.
 *
 * <p>Immutable and thread-safe.
 */
public final class RoutingDecision {

    /**
     * The name of the logger that writes one DEBUG line per attempt, with the record's fields in
     * the MDC for that line; set it to DEBUG to see every routing decision and nothing else.
     */
    public static final String LOGGER = "dev.ailb.routing";

    /**
     * The rule that decided where an attempt went. The first six name a built-in strategy's own
     * rule; the others are stages of the request path that override or bypass the strategy.
     */
    public enum Reason {
        /** {@link BalancingStrategy#ROUND_ROBIN}: the backend's turn in the rotation. No figure. */
        ROTATION,
        /**
         * {@link BalancingStrategy#WEIGHTED_ROUND_ROBIN}: the backend's turn in the weighted rotation.
         * Figure: the backend's weight.
         */
        WEIGHTED_ROTATION,
        /**
         * {@link BalancingStrategy#LEAST_CONNECTIONS}: the least loaded backend relative to its
         * weight. Figure: its load in flight (requests, or tokens when the balancer counts tokens),
         * this attempt included.
         */
        LEAST_LOADED,
        /**
         * {@link BalancingStrategy#LEAST_RESPONSE_TIME}: the lowest expected latency. Figure: the
         * backend's peak EWMA response time in nanoseconds, decayed to the pick; NaN while it has
         * none.
         */
        LEAST_RESPONSE_TIME,
        /** {@link BalancingStrategy#IP_HASH}: the backend the client address hashes to. No figure. */
        HASH,
        /** {@link BalancingStrategy#RANDOM}: a uniformly random draw. No figure. */
        RANDOM,
        /**
         * {@link BalancingStrategy#RESOURCE_BASED} or a strategy made by
         * {@link BalancingStrategy#resourceBased}: the lower score of two drawn backends. Figure:
         * the backend's score at the pick, lower is better.
         */
        RESOURCE_SCORE,
        /**
         * A {@link PrefixAffinity} strategy, and the backend holds a prefix of the prompt in its
         * cache as far as the balancer knows. Figure: the length matched, in the units the strategy
         * hashes its blocks in (tokens with a tokenizer, characters without).
         */
        PREFIX_MATCH,
        /**
         * A {@link PrefixAffinity} strategy, and the backend holds no prefix of the prompt, or the
         * request carries none: placed by hashing or by load. No figure.
         */
        PREFIX_MISS,
        /** A custom strategy's own choice. No figure. */
        STRATEGY,
        /** A session's request went to the backend its session is bound to. No figure. */
        SESSION_HIT,
        /**
         * A session's request was placed by the strategy, its session being new or its backend no
         * longer taking its requests, and the session is bound there now. No figure.
         */
        SESSION_PLACED,
        /**
         * The strategy's pick was at its connection limit or saturated, and the capacity stage moved
         * the request to the least loaded candidate with room. Figure: that backend's load in flight,
         * this attempt included.
         */
        CAPACITY,
        /**
         * Every candidate was full when the request came; it waited in the admission queue and was
         * handed this backend when room was freed. No figure.
         */
        ADMISSION_QUEUE,
        /**
         * No candidate was healthy, and the balancer, failing open, routed among the unhealthy ones
         * that are in service ({@link dev.ailb.health.AllUnhealthyPolicy}). No figure.
         */
        FAIL_OPEN,
        /** A retry of a failed attempt, on a backend not tried yet in the call. No figure. */
        RETRY,
        /** A hedge: a second attempt started while the first still runs. No figure. */
        HEDGE
    }

    private final String balancer;
    private final String backend;
    private final String strategy;
    private final Reason reason;
    private final double figure;
    private final int attempt;
    private final String previousBackend;

    RoutingDecision(String balancer, String backend, String strategy, Reason reason, double figure, int attempt,
            String previousBackend) {
        this.balancer = balancer;
        this.backend = backend;
        this.strategy = strategy;
        this.reason = reason;
        this.figure = figure;
        this.attempt = attempt;
        this.previousBackend = previousBackend;
    }

    /**
     * The name of the balancer that routed the attempt.
     *
     * @return the balancer's name, never null
     */
    public String balancer() {
        return balancer;
    }

    /**
     * The id of the backend the attempt went to.
     *
     * @return the backend's id, never null
     */
    public String backend() {
        return backend;
    }

    /**
     * The name of the strategy in force when the attempt was routed, whether or not its rule
     * decided ({@link BalancingStrategy#name()}).
     *
     * @return the strategy's name, never null
     */
    public String strategy() {
        return strategy;
    }

    /**
     * The rule that decided.
     *
     * @return the reason, never null
     */
    public Reason reason() {
        return reason;
    }

    /**
     * The figure the rule decided by, as {@link Reason} describes it for each rule: a load, a
     * score, a response time, a matched length.
     *
     * @return the figure, or NaN where the rule compares none
     */
    public double figure() {
        return figure;
    }

    /**
     * The attempt's number within its call: 1 for the first, 2 for the first retry or hedge, and so
     * on. An attempt outside {@code execute} and {@code executeAsync} is number 1.
     *
     * @return the number, at least 1
     */
    public int attempt() {
        return attempt;
    }

    /**
     * For a {@link Reason#RETRY}, the backend of the attempt that failed; for a {@link Reason#HEDGE},
     * the backend of the attempt it races.
     *
     * @return that backend's id, or empty for any other attempt
     */
    public Optional<String> previousBackend() {
        return Optional.ofNullable(previousBackend);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RoutingDecision d && balancer.equals(d.balancer) && backend.equals(d.backend)
                && strategy.equals(d.strategy) && reason == d.reason
                && Double.doubleToLongBits(figure) == Double.doubleToLongBits(d.figure) && attempt == d.attempt
                && Objects.equals(previousBackend, d.previousBackend);
    }

    @Override
    public int hashCode() {
        return Objects.hash(balancer, backend, strategy, reason, figure, attempt, previousBackend);
    }

    /**
     * The record as the DEBUG line writes it, for example
     * {@code balancer=chat backend=gpu-1 strategy=LEAST_CONNECTIONS reason=LEAST_LOADED figure=3.0 attempt=1}.
     */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(128).append("balancer=").append(balancer).append(" backend=")
                .append(backend).append(" strategy=").append(strategy).append(" reason=").append(reason);
        if (!Double.isNaN(figure)) {
            s.append(" figure=").append(figure);
        }
        s.append(" attempt=").append(attempt);
        if (previousBackend != null) {
            s.append(" previous=").append(previousBackend);
        }
        return s.toString();
    }
}

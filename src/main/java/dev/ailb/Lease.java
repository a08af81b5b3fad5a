package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNotNull;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One request's hold on a backend, from {@link LoadBalancer#acquire(Request)} to its release: the
 * connection is counted while the lease is open, and released exactly once with the time since
 * acquisition and the outcome.
 *
 * <pre>{@code
 * try (Lease lease = lb.acquire(request)) {
 *     Response response = call(lease.backend());
 *     lease.success();                  // or lease.failure()
 * }                                     // closed without an outcome: counted as a failure
 * }</pre>
 *
 * <p>The first of {@link #success()}, {@link #failure()}, {@link #cancel()} and {@link #close()}
 * releases the connection; later calls do nothing and return {@code false}, so a lease released twice, or closed
 * after an exception, never miscounts. A lease closed without an outcome counts as a failure:
 * a call that threw before it could say how it went is rarely a success, and counting it so lets
 * outlier detection see a backend that makes its callers throw.
 *
 * <p>The response time is the balancer's ticker from acquisition to release, so it is never
 * refused: a lease held longer than {@link LoadBalancer#MAX_RESPONSE_TIME} (one day) counts as
 * that much, and the first such lease of a backend logs one warning. (A time passed to
 * {@code releaseConnection} by hand above that bound is refused instead: there it is a mistake.)
 *
 * <p>Thread-safe: the outcome may be reported from another thread than the one that acquired it.
 */
public final class Lease implements AutoCloseable {
    private static final VarHandle RELEASED;
    private static final VarHandle FIRST_BYTE;
    private static final VarHandle CACHE_REPORTED;

    static {
        try {
            RELEASED = MethodHandles.lookup().findVarHandle(Lease.class, "released", boolean.class);
            FIRST_BYTE = MethodHandles.lookup().findVarHandle(Lease.class, "firstByteSeen", boolean.class);
            CACHE_REPORTED = MethodHandles.lookup().findVarHandle(Lease.class, "cacheReported", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final LoadBalancer balancer;
    private final Backend backend;
    private final long tokens;
    private final long startNanos;
    /** What the strategy predicted of the prompt cache, to check against the server's report; or null. */
    private final PrefixPrediction prediction;
    // The routing decision, kept in fields so that a lease nobody asks about builds no record.
    private final BalancingStrategy strategy;
    private final RoutingDecision.Reason reason;
    private final double figure;
    private final int attempt;
    /** The backend of the attempt before this one, for a retry or a hedge; else null. */
    private final Backend previous;
    /** Where the decision was recorded when it was made ({@link DecisionRecords}). */
    private final DecisionRecords records;
    /** The attempt's tracer, told once when the lease is released; null when none. */
    private final AttemptTracer tracer;
    @SuppressWarnings("unused") // accessed through RELEASED
    private volatile boolean released;
    @SuppressWarnings("unused") // accessed through FIRST_BYTE
    private volatile boolean firstByteSeen;
    @SuppressWarnings("unused") // accessed through CACHE_REPORTED
    private volatile boolean cacheReported;

    Lease(LoadBalancer balancer, Backend backend, long tokens, long startNanos, PrefixPrediction prediction,
            BalancingStrategy strategy, RoutingDecision.Reason reason, double figure, int attempt, Backend previous,
            DecisionRecords records, AttemptTracer.Factory queuedTracing) {
        this.balancer = balancer;
        this.backend = backend;
        this.tokens = tokens;
        this.startNanos = startNanos;
        this.prediction = prediction;
        this.strategy = strategy;
        this.reason = reason;
        this.figure = figure;
        this.attempt = attempt;
        this.previous = previous;
        this.records = records;
        this.tracer = records.started(backend, strategy, reason, figure, attempt, previous, queuedTracing);
    }

    /**
     * Why this lease's attempt went to its backend: the strategy, the rule that decided and its
     * figure, the attempt's number and, for a retry or a hedge, the backend before. Built on each
     * call from what the lease kept when it was routed; it stays the same after the release.
     *
     * @return the routing decision, never null
     */
    public RoutingDecision decision() {
        return new RoutingDecision(balancer.name(), backend.id(), strategy.name(), reason, figure, attempt,
                previous == null ? null : previous.id());
    }

    /**
     * The backend this lease holds a connection on.
     *
     * @return the backend, never null
     */
    public Backend backend() {
        return backend;
    }

    /**
     * Releases the connection as a success, with the time since acquisition as response time.
     *
     * @return {@code true} if this call released it, {@code false} if it was already released
     */
    public boolean success() {
        return release(true, null);
    }

    /**
     * Releases the connection as a failure, with the time since acquisition as response time.
     *
     * @return {@code true} if this call released it, {@code false} if it was already released
     */
    public boolean failure() {
        return release(false, null);
    }

    /**
     * Like {@link #failure()}, and tells the attempt's {@link AttemptTracer} what the call failed
     * with, so that an observation or span of the attempt records the error.
     *
     * @param cause what the call failed with
     * @return {@code true} if this call released it, {@code false} if it was already released
     * @throws NullPointerException if {@code cause} is null (the lease stays open)
     */
    public boolean failure(Throwable cause) {
        checkNotNull(cause, "cause");
        return release(false, cause);
    }

    /**
     * Releases the connection without an outcome: the caller abandoned the work, which says
     * nothing about the backend. A hedge that lost the race, a call past its deadline or one its
     * caller cancelled ends its attempts so. The request counts neither as a success nor as a
     * failure, its truncated time is not a response time (nor a time to first byte, if none was
     * recorded yet), and outlier detection does not see it; it counts in
     * {@link LoadBalancerMetrics#cancelledAttempts()}. Its connection and tokens are given back
     * like any other's, and a drain waiting for it ends.
     *
     * @return {@code true} if this call released it, {@code false} if it was already released
     */
    public boolean cancel() {
        if (!RELEASED.compareAndSet(this, false, true)) {
            return false;
        }
        balancer.releaseCancelled(backend, tokens);
        records.ended(tracer, AttemptTracer.Outcome.CANCELLED, null);
        return true;
    }

    /**
     * Marks the lease released without giving anything back, for a lease whose connection its
     * maker gives back by other means (a waiter that had gone when its lease was handed over); its
     * tracer ends as cancelled.
     */
    void discard() {
        if (RELEASED.compareAndSet(this, false, true)) {
            records.ended(tracer, AttemptTracer.Outcome.CANCELLED, null);
        }
    }

    /**
     * Whether the connection is still held.
     *
     * @return {@code true} until the first of {@link #success()}, {@link #failure()},
     *         {@link #cancel()} and {@link #close()}
     */
    public boolean isOpen() {
        return !released;
    }

    /** Releases the connection as a failure if no outcome was reported; otherwise does nothing. */
    @Override
    public void close() {
        release(false, null);
    }

    /**
     * Records the time from this lease's start to now as the backend's time to first byte, for a
     * response that streams: call it when the first byte of the answer arrives. Counted once per
     * lease, and only while it is open; see {@link Backend#timeToFirstByteAt(double)}.
     *
     * @return {@code true} if this call recorded it
     */
    public boolean firstByte() {
        if (released || !FIRST_BYTE.compareAndSet(this, false, true)) {
            return false;
        }
        backend.completions.recordFirstByte(Math.max(0L, balancer.ticker().read() - startNanos));
        return true;
    }

    /**
     * Reports what the server said of this request's prompt: how many prompt tokens it took and
     * how many of them it served from its prefix cache. OpenAI-compatible servers say so in each
     * answer's {@code usage}: {@code prompt_tokens} and
     * {@code prompt_tokens_details.cached_tokens} (the final chunk of a stream carries it when the
     * request asks for {@code stream_options.include_usage}). The HTTP integration reports it
     * itself; call this when you call the backend yourself.
     *
     * <p>The report counts in the backend's {@link BackendStats#promptCache()}. Under
     * {@link BalancingStrategy#PREFIX_AFFINITY} it also checks the prediction the lease was routed
     * by: a prefix predicted cached that was not is dropped from the balancer's index of that
     * backend, with the older guesses the server must have evicted before it; one confirmed is
     * refreshed. Counted once per lease; allowed before or after the release.
     *
     * @param promptTokens the prompt's tokens, 0..{@link Request#MAX_TOKENS}
     * @param cachedTokens of those, the tokens served from the cache, 0..{@code promptTokens}
     * @return {@code true} if this call recorded the report, {@code false} if one was recorded before
     * @throws IllegalArgumentException if a count is out of range
     */
    public boolean reportCachedTokens(long promptTokens, long cachedTokens) {
        if (promptTokens < 0 || promptTokens > Request.MAX_TOKENS) {
            throw new IllegalArgumentException("promptTokens: " + promptTokens + " (expected: 0.." + Request.MAX_TOKENS
                    + ")");
        }
        if (cachedTokens < 0 || cachedTokens > promptTokens) {
            throw new IllegalArgumentException("cachedTokens: " + cachedTokens + " (expected: 0.." + promptTokens
                    + ", the prompt's tokens)");
        }
        if (!CACHE_REPORTED.compareAndSet(this, false, true)) {
            return false;
        }
        backend.promptCache.recordReport(promptTokens, cachedTokens);
        if (prediction != null) {
            prediction.check(promptTokens, cachedTokens);
        }
        return true;
    }

    private boolean release(boolean success, Throwable cause) {
        if (!RELEASED.compareAndSet(this, false, true)) {
            return false;
        }
        long now = balancer.ticker().read();
        balancer.release(backend, tokens, balancer.leaseNanos(backend, now - startNanos), success, now);
        records.ended(tracer, success ? AttemptTracer.Outcome.SUCCESS : AttemptTracer.Outcome.FAILURE, cause);
        return true;
    }

    @Override
    public String toString() {
        return "Lease{" + backend.id() + (released ? ", released" : ", open") + '}';
    }
}

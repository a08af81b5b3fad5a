package dev.ailb;

import static dev.ailb.internal.Preconditions.checkUnitInterval;

import dev.ailb.health.HealthState;
import dev.ailb.internal.FoldableCounter;
import dev.ailb.internal.FoldableDoubleAdder;
import dev.ailb.internal.LatencyHistogram;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One inference instance registered with a {@link LoadBalancer}: its identity and address, and
 * the live state the balancer keeps for it (health, active connections, measured latency, last
 * load report).
 *
 * <p>Instances are created only by {@link LoadBalancer#addBackend}, belong to the balancer that
 * created them, and are compared by identity: a backend removed and added again under the same id
 * is a new object. The host is a label for building addresses; the balancer itself never resolves
 * it or connects to it.
 *
 * <p>Thread-safe. Every accessor is a plain read of live state and never blocks.
 */
public final class Backend {
    // ctl packs the active connection count (low 29 bits) with three lifecycle flags, so that
    // "acquire unless removed" and "finish the drain when the last connection goes" are single
    // atomic transitions and a drain can complete exactly once.
    static final int COUNT_MASK = (1 << 29) - 1;
    static final int MAINTENANCE = 1 << 29;
    static final int DRAINING = 1 << 30;
    static final int REMOVED = 1 << 31;
    /** What {@link #tryRelease(long)} returns when there was nothing to release; never a valid ctl,
     *  since MAINTENANCE is cleared when DRAINING is set. */
    static final int NO_CONNECTION = -1;
    /**
     * The most tokens a backend may have in flight: 2^42, so that a count times a weight (at most
     * 2^20) never overflows in the comparisons of {@link BalancingStrategy#LEAST_CONNECTIONS}.
     */
    static final long MAX_TOKENS_IN_FLIGHT = 1L << 42;

    private static final VarHandle CTL;
    private static final VarHandle EWMA_BITS;
    private static final VarHandle HISTOGRAM;
    private static final VarHandle EWMA_STAMP;
    private static final VarHandle RANK;
    private static final VarHandle TOKENS;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            CTL = lookup.findVarHandle(Backend.class, "ctl", int.class);
            EWMA_BITS = lookup.findVarHandle(Backend.class, "ewmaBits", long.class);
            HISTOGRAM = lookup.findVarHandle(Backend.class, "histogram", LatencyHistogram.class);
            EWMA_STAMP = lookup.findVarHandle(Backend.class, "ewmaStampNanos", long.class);
            RANK = lookup.findVarHandle(Backend.class, "rank", double.class);
            TOKENS = lookup.findVarHandle(Backend.class, "tokens", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final long UNMEASURED = Double.doubleToRawLongBits(Double.NaN);
    /** Stands for the histogram of a backend folded before its first completion; never written. */
    private static final LatencyHistogram FOLDED_EMPTY = new LatencyHistogram();

    /** Bits of {@link #recordCompletion}'s result: which figures came after the fold. */
    static final int LATE_COUNT = 1;
    static final int LATE_TIME = 2;
    static final int LATE_HISTOGRAM = 4;

    final LoadBalancer owner;
    private final String id;
    private final String host;
    private final int port;
    // Changed only by LoadBalancer.setWeight, under the balancer's lock and with a new view
    // published after it (RoutingTable#reweigh). Volatile so that the strategies reading it per
    // pick, stats and metrics see a change at once; on x86 a volatile read is a plain load.
    private volatile int weight;
    private final double decayNanos;

    @SuppressWarnings("unused") // accessed through CTL
    private volatile int ctl;
    // The committed health state; the bookkeeping behind it is in `health`. Written by the owning
    // balancer under its lock, in the order that keeps selections from seeing a stale view.
    private volatile HealthState state = HealthState.HEALTHY;
    final BackendHealth health = new BackendHealth();
    private volatile TimedLoadReport loadReport;
    /** Why the last load poll was rejected; null while polls succeed. Written by poll completions. */
    volatile String loadProblem;
    /** Whether a lease held longer than the longest response time has been logged for this backend. */
    volatile boolean longLeaseWarned;

    @SuppressWarnings("unused") // accessed through EWMA_BITS
    private volatile long ewmaBits = UNMEASURED;
    // Written with release semantics, a plain store on x86: a volatile store would cost a full
    // fence on every release, for a time that only weighs samples and is never compared exactly.
    @SuppressWarnings("unused") // accessed through EWMA_STAMP
    private long ewmaStampNanos;
    // ln(max(average, 1 ns)) + (stamp - originNanos) / decayNanos, NaN before the first sample;
    // written after the average, with release semantics as the stamp.
    @SuppressWarnings("unused") // accessed through RANK
    private double rank = Double.NaN;
    private final long originNanos;
    /** The tokens of a request without an estimate when the balancer counts tokens; 0 when it counts connections. */
    private final long defaultTokens;
    @SuppressWarnings("unused") // accessed through TOKENS
    private volatile long tokens;

    /** Sessions bound to this backend in the balancer's session table. */
    final AtomicInteger sessions = new AtomicInteger();
    /** Requests routed here; folded into the balancer's total when the backend leaves. */
    final FoldableCounter selections = new FoldableCounter();
    // Completions, folded like the selections when the backend leaves: the balancer's overall
    // figures are derived from these, so a release updates each figure once, not twice.
    final FoldableCounter successes = new FoldableCounter();
    final FoldableCounter failures = new FoldableCounter();
    // A double sum cannot overflow. A long wraps after 2^63 ns (292 years) of summed response
    // times: two releases of Long.MAX_VALUE, or a few weeks of thousands of requests in flight,
    // and the average turns negative. Below 2^53 ns (104 days in all) the double sum is exact, so
    // the average is what a long sum would give.
    final FoldableDoubleAdder responseNanos = new FoldableDoubleAdder();
    // Allocated on the first completed request: an idle backend in a large fleet costs nothing.
    // FOLDED_EMPTY once the backend has left without one.
    @SuppressWarnings("unused") // accessed through HISTOGRAM
    private volatile LatencyHistogram histogram;
    /** Times to first byte of streamed responses; allocated on the first one. */
    private volatile LatencyHistogram firstBytes;

    Backend(LoadBalancer owner, String id, String host, int port, int weight, double decayNanos, long originNanos,
            long defaultTokens) {
        this.owner = owner;
        this.defaultTokens = defaultTokens;
        this.decayNanos = decayNanos;
        this.originNanos = originNanos;
        this.id = id;
        this.host = host;
        this.port = port;
        this.weight = weight;
    }

    /**
     * The id this backend was registered under, unique within its balancer.
     *
     * @return the backend's id
     */
    public String id() {
        return id;
    }

    /**
     * The host label given at registration, e.g. {@code "192.168.1.1"}.
     *
     * @return the host label
     */
    public String host() {
        return host;
    }

    /**
     * The port given at registration, in 1..65535.
     *
     * @return the port, 1..65535
     */
    public int port() {
        return port;
    }

    /**
     * The weight given at registration, or the last one set by {@link LoadBalancer#setWeight}.
     *
     * @return the weight, 1..{@link LoadBalancer#MAX_WEIGHT}
     */
    public int weight() {
        return weight;
    }

    /**
     * Whether the backend is currently considered healthy: neither failing its active checks nor
     * ejected by outlier detection. A new backend starts healthy unless the balancer was built with
     * {@code initiallyHealthy(false)}.
     *
     * @return {@code true} if the state is {@link HealthState#HEALTHY}
     */
    public boolean isHealthy() {
        return state == HealthState.HEALTHY;
    }

    /**
     * The backend's health state: healthy, unhealthy (failing active checks, or marked by hand) or
     * ejected (failing requests, for a while).
     *
     * @return the current state, never null
     */
    public HealthState healthState() {
        return state;
    }

    /**
     * Whether the backend was removed and is finishing its in-flight requests.
     *
     * @return {@code true} from its removal until its last connection is released, then
     *         {@code false}
     */
    public boolean isDraining() {
        int c = (int) CTL.getVolatile(this);
        return (c & DRAINING) != 0 && (c & REMOVED) == 0;
    }

    /**
     * Whether the backend has left its balancer for good.
     *
     * @return {@code true} once the backend is removed; it never becomes {@code false} again
     */
    public boolean isRemoved() {
        return ((int) CTL.getVolatile(this) & REMOVED) != 0;
    }

    /**
     * Whether new requests may be routed to this backend: healthy and neither draining nor removed.
     *
     * @return {@code true} if the backend is available
     */
    public boolean isAvailable() {
        return state == HealthState.HEALTHY
                && ((int) CTL.getVolatile(this) & (MAINTENANCE | DRAINING | REMOVED)) == 0;
    }

    /**
     * Whether the backend was taken out for maintenance with {@link LoadBalancer#beginMaintenance}: it
     * stays registered, takes no new requests, and its in-flight ones go on.
     *
     * @return {@code true} from {@code beginMaintenance} until {@code endMaintenance} or its removal
     */
    public boolean isInMaintenance() {
        return ((int) CTL.getVolatile(this) & (MAINTENANCE | DRAINING | REMOVED)) == MAINTENANCE;
    }

    /** Neither in maintenance, draining nor removed: the backends panic routing may use. */
    boolean isInService() {
        return ((int) CTL.getVolatile(this) & (MAINTENANCE | DRAINING | REMOVED)) == 0;
    }

    /**
     * The number of connections acquired and not yet released. Never negative.
     *
     * @return the active connection count, {@code >= 0}
     */
    public int activeConnections() {
        return (int) CTL.getVolatile(this) & COUNT_MASK;
    }

    /**
     * Requests routed here so far (selections, sticky ones included).
     *
     * @return the count, {@code >= 0}
     */
    public long totalRequests() {
        return selections.sum();
    }

    /**
     * Connections released here as successes.
     *
     * @return the count, {@code >= 0}
     */
    public long successes() {
        return successes.sum();
    }

    /**
     * Connections released here as failures.
     *
     * @return the count, {@code >= 0}
     */
    public long failures() {
        return failures.sum();
    }

    /**
     * The sum of the response times of the connections released here.
     *
     * @return the sum in nanoseconds, {@code >= 0}; a double, so it never overflows
     */
    public double totalResponseNanos() {
        return responseNanos.sum();
    }

    /**
     * The response time below or at which {@code quantile} of the completed requests lie, from
     * the backend's latency histogram (within about 3%). Copies the histogram (about 8 KB): meant
     * for a metrics scrape, not for every request.
     *
     * @param quantile 0.0..1.0
     * @return the response time, or zero before the first completion
     * @throws IllegalArgumentException if {@code quantile} is NaN or out of range
     */
    public Duration responseTimeAt(double quantile) {
        checkUnitInterval(quantile, "quantile");
        return Duration.ofNanos(histogramSnapshot().valueAt(quantile));
    }

    /**
     * The time to first byte below or at which {@code quantile} of the streamed responses lie, as
     * recorded by {@link Lease#firstByte()} (within about 3%).
     *
     * @param quantile 0.0..1.0
     * @return the time to first byte, or zero before the first one was recorded
     * @throws IllegalArgumentException if {@code quantile} is NaN or out of range
     */
    public Duration timeToFirstByteAt(double quantile) {
        checkUnitInterval(quantile, "quantile");
        LatencyHistogram h = firstBytes;
        return h == null ? Duration.ZERO : Duration.ofNanos(h.snapshot().valueAt(quantile));
    }

    /**
     * How many times to first byte were recorded here.
     *
     * @return the count, {@code >= 0}
     */
    public long firstByteCount() {
        LatencyHistogram h = firstBytes;
        return h == null ? 0 : h.snapshot().count();
    }

    void recordFirstByte(long nanos) {
        LatencyHistogram h = firstBytes;
        if (h == null) {
            synchronized (this) {
                h = firstBytes;
                if (h == null) {
                    h = new LatencyHistogram();
                    firstBytes = h;
                }
            }
        }
        h.record(nanos);
    }

    /**
     * Sessions bound to this backend in the balancer's session table.
     *
     * @return the count, {@code >= 0}
     */
    public int boundSessions() {
        return sessions.get();
    }

    /**
     * How many times outlier detection has ejected this backend.
     *
     * @return the count, {@code >= 0}
     */
    public long ejections() {
        return health.ejections;
    }

    /**
     * The estimated tokens (prompt and expected output) of the requests in flight here, when the
     * balancer {@linkplain LoadBalancerBuilder#countTokens(long) counts tokens}: each acquired
     * connection adds its request's {@linkplain Request#estimatedTokens() estimate}, or the
     * balancer's default for a request without one, and its release takes them off again.
     *
     * @return the tokens in flight, {@code >= 0}; always 0 when the balancer counts connections
     */
    public long inFlightTokens() {
        return (long) TOKENS.getVolatile(this);
    }

    /**
     * The load the balancer's own traffic puts here, as {@link BalancingStrategy#LEAST_CONNECTIONS}
     * and {@link BalancingStrategy#RESOURCE_BASED} compare it: the {@linkplain #inFlightTokens()
     * tokens in flight} when the balancer counts tokens, the {@linkplain #activeConnections()
     * active connections} otherwise.
     *
     * @return the in-flight load, {@code >= 0}
     */
    public long inFlightLoad() {
        return defaultTokens == 0 ? activeConnections() : (long) TOKENS.getVolatile(this);
    }

    /**
     * The {@linkplain #inFlightLoad() in-flight load} in requests per unit of weight: active
     * connections divided by the weight, or tokens in flight divided by the weight and by the
     * balancer's default token estimate (the tokens of a typical request).
     *
     * @return the load per unit of weight, {@code >= 0}
     */
    public double loadPerWeight() {
        if (defaultTokens == 0) {
            return (double) activeConnections() / weight;
        }
        return (double) (long) TOKENS.getVolatile(this) / ((double) defaultTokens * weight);
    }

    /**
     * The last load report, if one was ever recorded. Its age decides whether it is still trusted.
     *
     * @return the last report, or empty if none was recorded
     */
    public Optional<TimedLoadReport> loadReport() {
        return Optional.ofNullable(loadReport);
    }

    /**
     * The decaying peak average of response times in nanoseconds as of the last completed request,
     * or {@code NaN} before the first. It jumps to any response slower than itself and otherwise
     * moves toward recent responses at the pace of the balancer's decay time.
     *
     * @return the average in nanoseconds, or {@code NaN} before the first completed request
     */
    public double responseTimeEwmaNanos() {
        return Double.longBitsToDouble((long) EWMA_BITS.getVolatile(this));
    }

    /**
     * The response-time average as it stands at {@code nowNanos}: {@link #responseTimeEwmaNanos()}
     * decayed toward zero over the time since the last completed request, as Finagle's peak EWMA
     * does. A backend that stopped getting traffic after one slow answer thus looks cheaper and
     * cheaper until it is tried again and measured afresh, instead of being shunned for good.
     *
     * @param nowNanos a reading of the balancer's ticker
     * @return the decayed average, or {@code NaN} before the first completed request
     */
    public double responseTimeEwmaNanos(long nowNanos) {
        double ewma = responseTimeEwmaNanos();
        long elapsed = nowNanos - (long) EWMA_STAMP.getAcquire(this);
        if (elapsed <= 0 || Double.isNaN(ewma)) {
            return ewma;
        }
        return ewma * decay(elapsed / decayNanos);
    }

    /**
     * A clock-free rank of this backend's response-time average among the backends of its
     * balancer: {@code ln(average) + t / decay}, where {@code t} is when the average was last
     * updated, counted from the balancer's creation, and the average counts as at least 1 ns. The
     * averages of one balancer all decay at the same pace, so at any instant the backend with the
     * lower rank has the lower {@link #responseTimeEwmaNanos(long)} (below 1 ns, the lower
     * floored one), and a strategy can compare backends without reading the clock. Adding
     * {@code Math.log(k)} to a rank stands for multiplying the average by {@code k}, so costs such
     * as average &times; (active + 1) compare as sums.
     *
     * <p>A completion racing another on the same backend may leave the rank one sample behind the
     * average until the next completion.
     *
     * @return the rank, or {@code NaN} before the first completed request
     */
    public double responseTimeRank() {
        return (double) RANK.getAcquire(this);
    }

    // ---- state transitions, driven by the owning balancer ----

    /**
     * Counts one more connection, and {@code requestTokens} more tokens in flight when the balancer
     * counts them, unless the backend was removed.
     */
    boolean tryAcquire(long requestTokens) {
        if (defaultTokens == 0) {
            return tryAcquire();
        }
        for (;;) {
            long t = (long) TOKENS.getVolatile(this);
            if (t > MAX_TOKENS_IN_FLIGHT - requestTokens) {
                throw new IllegalStateException("backend " + id + ": too many tokens in flight ("
                        + t + " + " + requestTokens + ", at most " + MAX_TOKENS_IN_FLIGHT + ")");
            }
            if (TOKENS.compareAndSet(this, t, t + requestTokens)) {
                break;
            }
        }
        boolean acquired = false;
        try {
            acquired = tryAcquire();
        } finally {
            if (!acquired) {
                TOKENS.getAndAdd(this, -requestTokens);
            }
        }
        return acquired;
    }

    /**
     * Counts one connection less and, when the balancer counts tokens, takes {@code requestTokens}
     * off the tokens in flight. Returns the new ctl value, or {@link #NO_CONNECTION} when there was
     * no connection to release (nothing is changed then).
     *
     * <p>The connection is claimed before the tokens are taken, so that of two releases racing
     * for the last connection the loser finds no connection, whatever the tokens, and acquisition
     * adds the tokens before the connection: under correct use the tokens of every counted
     * connection are in flight, and a release that claimed one always finds its tokens.
     *
     * @throws IllegalArgumentException if a connection is held but fewer tokens than
     *                                  {@code requestTokens} are in flight (nothing is changed then)
     */
    int tryRelease(long requestTokens) {
        if (defaultTokens == 0) {
            return tryRelease();
        }
        // A release with the wrong request is refused before the count is touched: claiming the
        // connection and giving it back would show a draining backend drained for an instant.
        long before = (long) TOKENS.getVolatile(this);
        if (before < requestTokens && activeConnections() > 0) {
            throw tooFewTokens(requestTokens, before);
        }
        int c = tryRelease();
        if (c == NO_CONNECTION) {
            return c;
        }
        for (;;) {
            long t = (long) TOKENS.getVolatile(this);
            if (t < requestTokens) {
                // Another release with the wrong request took the tokens since the check above.
                CTL.getAndAdd(this, 1);
                throw tooFewTokens(requestTokens, t);
            }
            if (TOKENS.compareAndSet(this, t, t - requestTokens)) {
                return c;
            }
        }
    }

    private IllegalArgumentException tooFewTokens(long requestTokens, long inFlight) {
        return new IllegalArgumentException("tokens: " + requestTokens + " (expected: at most the " + inFlight
                + " tokens in flight on backend " + id + "; release with the request it was acquired for)");
    }

    /** Counts one more connection, unless the backend was removed. */
    private boolean tryAcquire() {
        for (;;) {
            int c = (int) CTL.getVolatile(this);
            if ((c & REMOVED) != 0) {
                return false;
            }
            if ((c & COUNT_MASK) == COUNT_MASK) {
                throw new IllegalStateException("backend " + id + ": too many active connections ("
                        + COUNT_MASK + ")");
            }
            if (CTL.compareAndSet(this, c, c + 1)) {
                return true;
            }
        }
    }

    /**
     * Counts one connection less. Returns the new ctl value, or {@link #NO_CONNECTION} when there was
     * no connection to release (nothing is changed then).
     */
    private int tryRelease() {
        for (;;) {
            int c = (int) CTL.getVolatile(this);
            if ((c & COUNT_MASK) == 0) {
                return NO_CONNECTION;
            }
            if (CTL.compareAndSet(this, c, c - 1)) {
                return c - 1;
            }
        }
    }

    /**
     * Sets the draining flag, ending maintenance (a removal supersedes it); returns false if it was
     * already draining or removed.
     */
    boolean markDraining() {
        for (;;) {
            int c = (int) CTL.getVolatile(this);
            if ((c & (DRAINING | REMOVED)) != 0) {
                return false;
            }
            if (CTL.compareAndSet(this, c, (c & ~MAINTENANCE) | DRAINING)) {
                return true;
            }
        }
    }

    /** Moves a draining backend with no connections to removed; true for exactly one caller. */
    boolean tryFinishDrain() {
        return CTL.compareAndSet(this, DRAINING, DRAINING | REMOVED);
    }

    /**
     * Moves a draining backend to removed whatever its connections, when its drain timed out; true
     * for exactly one caller, and false if the drain finished first. The count is kept, so that the
     * late releases still count down to zero and never below.
     */
    boolean tryForceRemoval() {
        for (;;) {
            int c = (int) CTL.getVolatile(this);
            if ((c & DRAINING) == 0 || (c & REMOVED) != 0) {
                return false;
            }
            if (CTL.compareAndSet(this, c, c | REMOVED)) {
                return true;
            }
        }
    }

    /** Sets or clears the maintenance flag; false if it already had that value or is draining or removed. */
    boolean setMaintenance(boolean on) {
        for (;;) {
            int c = (int) CTL.getVolatile(this);
            if ((c & (DRAINING | REMOVED)) != 0 || ((c & MAINTENANCE) != 0) == on) {
                return false;
            }
            if (CTL.compareAndSet(this, c, on ? c | MAINTENANCE : c & ~MAINTENANCE)) {
                return true;
            }
        }
    }

    void setState(HealthState state) {
        this.state = state;
    }

    void setWeight(int weight) {
        this.weight = weight;
    }

    void setLoadReport(TimedLoadReport report) {
        this.loadReport = report;
    }

    /**
     * Counts one request routed here. Returns false if the backend had already left and its count
     * was folded into the balancer's total: the caller then counts the request there.
     */
    boolean recordSelection() {
        return selections.increment();
    }

    /**
     * Records a completed request here. Returns which of its figures came after the backend left
     * and its figures were folded into the balancer's ({@link #LATE_COUNT}, {@link #LATE_TIME},
     * {@link #LATE_HISTOGRAM}), 0 for none: the caller records those in the balancer instead.
     */
    int recordCompletion(long responseTimeNanos, boolean success, long nowNanos) {
        int late = (success ? successes : failures).increment() ? 0 : LATE_COUNT;
        if (!responseNanos.add(responseTimeNanos)) {
            late |= LATE_TIME;
        }
        LatencyHistogram h = histogram();
        if (h == FOLDED_EMPTY || !h.record(responseTimeNanos)) {
            late |= LATE_HISTOGRAM;
        }
        updateEwma(responseTimeNanos, nowNanos);
        return late;
    }

    private LatencyHistogram histogram() {
        LatencyHistogram h = (LatencyHistogram) HISTOGRAM.getAcquire(this);
        if (h == null) {
            LatencyHistogram fresh = new LatencyHistogram();
            h = (LatencyHistogram) HISTOGRAM.compareAndExchange(this, null, fresh);
            if (h == null) {
                h = fresh;
            }
        }
        return h;
    }

    /**
     * Folds this backend's completion figures, when it leaves its balancer: the counts, time sum
     * and histogram at this instant. Every completion recorded later reports itself late.
     */
    Completions foldCompletions() {
        LatencyHistogram h = (LatencyHistogram) HISTOGRAM.compareAndExchange(this, null, FOLDED_EMPTY);
        LatencyHistogram.Snapshot folded = h == null ? LatencyHistogram.Snapshot.empty() : h.fold();
        return new Completions(successes.fold(), failures.fold(), responseNanos.fold(), folded);
    }

    /** A backend's completion figures at the instant they were folded. */
    record Completions(long successes, long failures, double responseNanos, LatencyHistogram.Snapshot histogram) {}

    LatencyHistogram.Snapshot histogramSnapshot() {
        LatencyHistogram h = (LatencyHistogram) HISTOGRAM.getAcquire(this);
        return h == null || h == FOLDED_EMPTY ? LatencyHistogram.Snapshot.empty() : h.snapshot();
    }

    private void updateEwma(long sampleNanos, long nowNanos) {
        // The stamp is written without coordination: two racing updates may both decay from the
        // same stamp, which only shifts the weight of one sample slightly.
        long elapsed = Math.max(0L, nowNanos - (long) EWMA_STAMP.getAcquire(this));
        EWMA_STAMP.setRelease(this, nowNanos);
        double keep = decay(elapsed / decayNanos);
        double sample = sampleNanos;
        for (;;) {
            long bits = (long) EWMA_BITS.getVolatile(this);
            double current = Double.longBitsToDouble(bits);
            double next = Double.isNaN(current) || sample > current
                    ? sample
                    : current * keep + sample * (1.0 - keep);
            if (EWMA_BITS.compareAndSet(this, bits, Double.doubleToRawLongBits(next))) {
                RANK.setRelease(this, Math.log(Math.max(next, 1.0)) + (nowNanos - originNanos) / decayNanos);
                return;
            }
        }
    }

    /**
     * e^-x for x >= 0. Under load the time between two completions is a tiny fraction of the decay
     * time, and there the first four terms of the series are exact to 1e-13 at a fraction of the
     * cost of {@link Math#exp}.
     */
    static double decay(double x) {
        if (x < 0x1p-10) {
            return 1.0 - x * (1.0 - x * (0.5 - x * (1.0 / 6.0)));
        }
        return Math.exp(-x);
    }

    @Override
    public String toString() {
        return "Backend{" + id + " " + host + ':' + port + ", weight=" + weight + '}';
    }
}

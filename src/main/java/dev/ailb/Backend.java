package dev.ailb;

import static dev.ailb.internal.Preconditions.checkUnitInterval;

import dev.ailb.health.HealthState;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

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
public final class Backend extends SelectionCount {
    /** The unit of a slow-start factor: a factor is a whole number of 1/1024ths, exact as a double. */
    static final int SHARE_UNIT = 1024;
    // The response-time average, the lifecycle word, the tokens in flight and the selection count
    // are fields of the superclasses, kept inline for the strategies' scans and the pick's count;
    // the completion figures, read and written off the pick path, are a holder of their own. The
    // order of the fields below is part of the layout described in LifecycleWord: the weight and
    // the fields the pick path reads come first.

    private final int port;
    // Changed only by LoadBalancer.setWeight, under the balancer's lock and with a new view
    // published after it (RoutingTable#reweigh). Volatile so that the strategies reading it per
    // pick, stats and metrics see a change at once; on x86 a volatile read is a plain load.
    private volatile int weight;
    // The slow-start factor in 1/SHARE_UNIT of the weight; SHARE_UNIT outside a ramp. Written by
    // SlowStartRamps under the balancer's lock before the view whose pickers use it is built.
    private volatile int slowStartShare = SHARE_UNIT;
    final LoadBalancer owner;
    // The committed health state; the bookkeeping behind it is in `health`. Written by the owning
    // balancer under its lock, in the order that keeps selections from seeing a stale view.
    private volatile HealthState state = HealthState.HEALTHY;
    private final String id;
    private final String host;
    final BackendHealth health = new BackendHealth();
    private volatile TimedLoadReport loadReport;
    /** The adapters its reports say it holds; replaced whole by {@link LoadReports#record}. */
    private final AtomicReference<ResidentAdapters> resident = new AtomicReference<>(ResidentAdapters.none());
    // What the backend serves, as declared and as learnt from its server. Replaced whole by the
    // owning balancer under its lock, with a new view published after (see CandidateFilter).
    private volatile BackendProfile profile;
    private volatile BackendProfile learnt = BackendProfile.none();
    /** Why the last load poll was rejected; null while polls succeed. Written by poll completions. */
    volatile String loadProblem;
    /** Why the last model list was rejected; null while they are read. Written by discovery completions. */
    volatile String modelsProblem;
    /** Whether a lease held longer than the longest response time has been logged for this backend. */
    volatile boolean longLeaseWarned;
    /**
     * The limit set for this backend by {@link LoadBalancer#setConnectionLimit}; 0 while it follows
     * the balancer's {@link LoadBalancerBuilder#connectionLimit}. Read by {@link ConnectionLimits}.
     */
    volatile int connectionLimit;

    /** Sessions bound to this backend in the balancer's session table. */
    final AtomicInteger sessions = new AtomicInteger();
    /** Completions: counts, time sum, histograms; folded like the selections when the backend leaves. */
    final CompletionFigures completions = new CompletionFigures();
    final PromptCacheFigures promptCache = new PromptCacheFigures();

    Backend(LoadBalancer owner, String id, String host, int port, int weight, BackendProfile profile,
            double decayNanos, long originNanos, long defaultTokens) {
        super(defaultTokens, decayNanos, originNanos);
        this.profile = profile;
        this.owner = owner;
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
    @Override
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
     * The most connections this backend takes at once: the one set for it with
     * {@link LoadBalancer#setConnectionLimit}, else the balancer's
     * {@linkplain LoadBalancerBuilder#connectionLimit default}, else
     * {@link LoadBalancer#NO_CONNECTION_LIMIT}.
     *
     * @return the limit, 1..{@link Integer#MAX_VALUE}
     */
    public int connectionLimit() {
        return owner.connectionLimitOf(this);
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
        long c = lifecycle();
        return (c & DRAINING) != 0 && (c & REMOVED) == 0;
    }

    /**
     * Whether the backend has left its balancer for good.
     *
     * @return {@code true} once the backend is removed; it never becomes {@code false} again
     */
    public boolean isRemoved() {
        return (lifecycle() & REMOVED) != 0;
    }

    /**
     * Whether new requests may be routed to this backend: healthy and neither draining nor removed.
     *
     * @return {@code true} if the backend is available
     */
    public boolean isAvailable() {
        return state == HealthState.HEALTHY
                && (lifecycle() & (MAINTENANCE | DRAINING | REMOVED)) == 0;
    }

    /**
     * Whether the backend was taken out for maintenance with {@link LoadBalancer#beginMaintenance}: it
     * stays registered, takes no new requests, and its in-flight ones go on.
     *
     * @return {@code true} from {@code beginMaintenance} until {@code endMaintenance} or its removal
     */
    public boolean isInMaintenance() {
        return (lifecycle() & (MAINTENANCE | DRAINING | REMOVED)) == MAINTENANCE;
    }

    /** Neither in maintenance, draining nor removed: the backends panic routing may use. */
    boolean isInService() {
        return (lifecycle() & (MAINTENANCE | DRAINING | REMOVED)) == 0;
    }

    /**
     * The number of connections acquired and not yet released. Never negative.
     *
     * @return the active connection count, {@code >= 0}
     */
    public int activeConnections() {
        return connections();
    }

    /**
     * Requests routed here so far (selections, sticky ones included).
     *
     * @return the count, {@code >= 0}
     */
    public long totalRequests() {
        return selections();
    }

    /**
     * Connections released here as successes.
     *
     * @return the count, {@code >= 0}
     */
    public long successes() {
        return completions.successes();
    }

    /**
     * Connections released here as failures.
     *
     * @return the count, {@code >= 0}
     */
    public long failures() {
        return completions.failures();
    }

    /**
     * The sum of the response times of the connections released here.
     *
     * @return the sum in nanoseconds, {@code >= 0}; a double, so it never overflows
     */
    public double totalResponseNanos() {
        return completions.responseNanos();
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
        return Duration.ofNanos(completions.histogramSnapshot().valueAt(quantile));
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
        return Duration.ofNanos(completions.firstBytesSnapshot().valueAt(quantile));
    }

    /**
     * How many times to first byte were recorded here.
     *
     * @return the count, {@code >= 0}
     */
    public long firstByteCount() {
        return completions.firstBytesSnapshot().count();
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
        return tokens();
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
        return defaultTokens == 0 ? activeConnections() : tokens();
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
        return (double) tokens() / ((double) defaultTokens * weight);
    }

    /**
     * What its prompt cache did for the requests routed here: the hits predicted by
     * {@link BalancingStrategy#PREFIX_AFFINITY} and those its server reported on leases.
     *
     * @return a snapshot of the figures, summed as of now
     */
    public PromptCacheStats promptCache() {
        return promptCache.snapshot();
    }

    /**
     * What the backend was declared to serve, at registration or by the last
     * {@link LoadBalancer#setProfile}: its models, adapters and labels.
     *
     * @return the declared profile, {@link BackendProfile#none()} if none was declared
     */
    public BackendProfile profile() {
        return profile;
    }

    /**
     * What the backend's server said it serves, when the balancer asks it
     * ({@link LoadBalancerBuilder#discoverModels}): the models and adapters of its last good
     * answer. Requests go by these and the declared ones together.
     *
     * @return the models and adapters learnt (never labels), {@link BackendProfile#none()} if
     *         none was learnt
     */
    public BackendProfile learntProfile() {
        return learnt;
    }

    /**
     * Whether the backend serves a model or adapter, as declared or as learnt: whether a request
     * {@linkplain Request#withModel naming it} may go here.
     *
     * @param model the model's or adapter's name
     * @return {@code true} if the declared or the learnt profile serves it
     * @throws NullPointerException if {@code model} is null
     */
    public boolean serves(String model) {
        return profile.serves(model) || learnt.serves(model);
    }

    /**
     * The backend's labels, as declared in its profile.
     *
     * @return an unmodifiable map sorted by key, empty if none
     */
    public Map<String, String> labels() {
        return profile.labels();
    }

    /**
     * How well the backend suits a request for a LoRA adapter: 0 if it serves the name as a base
     * model or holds the adapter by the estimate its load reports keep ({@link ResidentAdapters}),
     * 1 if it has a free adapter slot, 2 otherwise; one tier lower if its last report said it was
     * saturated.
     */
    int adapterTier(String adapter) {
        if (profile.models().contains(adapter) || learnt.models().contains(adapter)) {
            return 0;
        }
        return resident.get().tier(adapter);
    }

    /** The estimate of the adapters the backend holds, kept by {@link LoadReports#record}. */
    AtomicReference<ResidentAdapters> resident() {
        return resident;
    }

    /** Whether the backend serves a name as an adapter, not as a base model. */
    boolean servesAsAdapter(String model) {
        return (profile.adapters().contains(model) || learnt.adapters().contains(model))
                && !profile.models().contains(model) && !learnt.models().contains(model);
    }

    /**
     * The last load report, if one was ever recorded. Its age decides whether it is still trusted.
     *
     * @return the last report, or empty if none was recorded
     */
    public Optional<TimedLoadReport> loadReport() {
        return Optional.ofNullable(loadReport);
    }

    /** The last load report, or null: {@link #loadReport()} without the {@code Optional}, for the pick path. */
    TimedLoadReport lastReport() {
        return loadReport;
    }

    /**
     * The decaying peak average of response times in nanoseconds as of the last completed request,
     * or {@code NaN} before the first. It jumps to any response slower than itself and otherwise
     * moves toward recent responses at the pace of the balancer's decay time.
     *
     * @return the average in nanoseconds, or {@code NaN} before the first completed request
     */
    public double responseTimeEwmaNanos() {
        return ewmaNanos();
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
        return ewmaNanos(nowNanos);
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
        return rank();
    }

    /**
     * The factor this backend's weight is multiplied by while it is in slow start
     * ({@link LoadBalancerBuilder#slowStart}): in (0, 1) during its ramp, exactly 1 otherwise. It
     * changes only when the balancer publishes a new view, before the pickers of that view are
     * built, so a strategy may read it once per picker rather than per pick; the built-in
     * strategies do. A multiple of 1/1024.
     *
     * @return the factor, in (0, 1]
     */
    public double slowStartFactor() {
        return slowStartShare / (double) SHARE_UNIT;
    }

    // ---- state changes, driven by the owning balancer ----

    /** The slow-start factor in 1/{@link #SHARE_UNIT}; {@link #SHARE_UNIT} outside a ramp. */
    int slowStartShare() {
        return slowStartShare;
    }

    void setSlowStartShare(int share) {
        this.slowStartShare = share;
    }

    void setState(HealthState state) {
        this.state = state;
    }

    void setWeight(int weight) {
        this.weight = weight;
    }

    void setProfile(BackendProfile profile) {
        this.profile = profile;
    }

    void setLearnt(BackendProfile learnt) {
        this.learnt = learnt;
    }

    void setLoadReport(TimedLoadReport report) {
        this.loadReport = report;
    }

    /**
     * Records a completed request here: its figures, and the response-time average. Returns which
     * of its figures came after the backend left and its figures were folded into the balancer's
     * ({@link CompletionFigures#record}), 0 for none: the caller records those in the balancer
     * instead.
     */
    int recordCompletion(long responseTimeNanos, boolean success, long nowNanos) {
        int late = completions.record(responseTimeNanos, success);
        updateEwma(responseTimeNanos, nowNanos);
        return late;
    }

    @Override
    public String toString() {
        return "Backend{" + id + " " + host + ':' + port + ", weight=" + weight + '}';
    }
}

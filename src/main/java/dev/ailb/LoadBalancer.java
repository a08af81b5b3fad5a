package dev.ailb;

import static dev.ailb.internal.Preconditions.checkHost;
import static dev.ailb.internal.Preconditions.checkId;
import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkRange;
import static dev.ailb.internal.Preconditions.quote;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spreads requests over a set of backends (AI inference instances) with a pluggable
 * {@link BalancingStrategy}, tracks their connections and collects their metrics.
 *
 * <pre>{@code
 * try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.LEAST_CONNECTIONS)) {
 *     lb.addBackend("instance-1", "192.168.1.1", 8001, 2);
 *     lb.addBackend("instance-2", "192.168.1.1", 8002);
 *
 *     Backend backend = lb.selectBackend(new Request("req-123", "192.168.1.100", "/api/process"));
 *     lb.acquireConnection(backend);
 *     boolean ok = false;
 *     long start = System.nanoTime();
 *     try {
 *         call(backend.host(), backend.port());
 *         ok = true;
 *     } finally {
 *         lb.releaseConnection(backend, Duration.ofNanos(System.nanoTime() - start), ok);
 *     }
 * }
 * }</pre>
 *
 * <h2>Threading</h2>
 * Every method is thread-safe. Selection is lock-free: it reads one immutable snapshot of the
 * backends (published through a volatile field) and asks the picker the strategy built for that
 * snapshot. Changes (adding, removing, health, strategy) take one lock, build a new snapshot and
 * publish it; they never block a selection. Connection counts and metrics are recorded with atomic
 * operations and striped counters: a selection makes one atomic increment, on its backend, and a
 * release one update of each of its backend's outcome figures; the overall figures are derived
 * from the backends' when read.
 *
 * <h2>Health</h2>
 * Only healthy backends get new requests while one is healthy. Active checks
 * ({@link LoadBalancerBuilder#healthCheck}, run by {@link #startHealthChecker()} or
 * {@link #performHealthChecks()}) take a backend down after a run
 * of failed checks and bring it back after a run of passed ones; passive outlier detection
 * ({@link LoadBalancerBuilder#outlierDetection}) ejects a backend for a while after a run of failed requests.
 * When no backend is healthy, the {@link dev.ailb.health.AllUnhealthyPolicy} decides whether to
 * route across them anyway (the default) or to refuse.
 *
 * <h2>Errors</h2>
 * Every method checks its arguments before it changes anything: a rejected call leaves the
 * balancer exactly as it was and says which parameter was wrong and what it held.
 */
public final class LoadBalancer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LoadBalancer.class);

    /** The largest weight a backend may have. */
    public static final int MAX_WEIGHT = 1_000_000;

    /**
     * The longest response time a release may report: one day, the longest drain timeout. No
     * single inference request, streamed or batched, holds its connection that long; a larger
     * figure is a mistake (a {@link System#nanoTime()} reading passed as a duration, a unit mixed
     * up) that would skew the backend's average and {@link BalancingStrategy#LEAST_RESPONSE_TIME}
     * for a long time, so {@code releaseConnection} refuses it. A {@link Lease}, which times the
     * request itself, counts a longer hold as this much instead.
     */
    public static final Duration MAX_RESPONSE_TIME = Duration.ofDays(1);

    /**
     * The connection limit that is no limit: {@link Integer#MAX_VALUE}, more connections than a
     * backend can count. See {@link #setConnectionLimit}.
     */
    public static final int NO_CONNECTION_LIMIT = Integer.MAX_VALUE;

    private final String name;
    private final Ticker ticker;
    private final double decayNanos;
    /** The ticker at construction: where backends count their response-time ranks from. */
    private final long originNanos;
    /** The default token estimate when the balancer counts tokens in flight; 0 when it counts connections. */
    private final long defaultTokens;
    private final SelectionContext context;
    private final LoadReports reports;
    private final Releases releases;
    private final HealthChecker checker;
    private final RetryingExecutor retries;
    private final AsyncExecutor async;
    private final SessionRouting sessions;
    private final ConnectionLimits limits;
    private final Admission admission;

    private final RoutingTable table;
    private final RequestPath path;
    private final HealthTransitions health;
    private volatile boolean closed;
    private final Membership membership;
    private final Listeners listeners;
    /** The discovery running, if any; written under the table's lock. */
    private volatile DiscoveryRun discovery;

    private final TrafficFigures figures = new TrafficFigures();

    /** Creates a round-robin balancer with the default settings. */
    public LoadBalancer() {
        this(BalancingStrategy.ROUND_ROBIN);
    }

    /**
     * Creates a balancer with the given strategy and the default settings.
     *
     * @param strategy the initial strategy
     * @throws NullPointerException if {@code strategy} is null
     */
    public LoadBalancer(BalancingStrategy strategy) {
        this(builder().strategy(strategy).settings());
    }

    /** The balancer {@link LoadBalancerBuilder#build()} returns. */
    static LoadBalancer withSettings(BalancerSettings settings) {
        return new LoadBalancer(settings);
    }

    private LoadBalancer(BalancerSettings settings) {
        this.name = settings.name();
        this.listeners = new Listeners(name);
        this.ticker = settings.ticker();
        RandomGenerator random = settings.random();
        this.decayNanos = settings.decayNanos();
        this.originNanos = ticker.read();
        this.defaultTokens = settings.defaultTokens();
        this.context = new Context(ticker, random);
        // The ramps' steps run on the drain timers, which the membership (built below) owns.
        this.table = new RoutingTable(name, settings.strategy(), context, settings.failOpen(), settings.slowStart(),
                this::scheduleTimer);
        CandidateFilter filter = new CandidateFilter(table);
        this.reports = new LoadReports(name, ticker, settings.saturation(), filter);
        BalancerSettings.Health h = settings.health();
        this.health = new HealthTransitions(table, ticker, h.healthyThreshold(), h.unhealthyThreshold(),
                h.outlierDetection(), this::healthChanged, () -> closed);
        BalancerSettings.Admission a = settings.admission();
        this.limits = new ConnectionLimits(reports, ticker, a.connectionLimit(), a.on());
        this.path = new RequestPath(this, table, health, figures, filter, ticker, limits, defaultTokens,
                new DecisionRecords(name, settings.attemptTracing()));
        this.sessions = settings.sessionAffinity() == SessionAffinity.TABLE
                ? SessionRouting.table(path, settings.maxSessions(), settings.sessionIdleNanos())
                : SessionRouting.hash(path, BalancingStrategy.IP_HASH.newSelector(context));
        this.retries = new RetryingExecutor(path, sessions, settings.retryPolicy(), random, figures, () -> closed);
        this.membership = new Membership(table, figures, sessions, listeners, () -> closed, h.initiallyHealthy(),
                settings.drainTimeoutNanos(), h.scheduler(), this::newBackend, this::roomAppeared);
        this.admission = new Admission(name, path, membership, limits, ticker, a);
        // The first attempt of executeAsync is admitted as acquireAsync admits a request.
        Admission admits = admission;
        this.async = new AsyncExecutor(path, request -> admits.acquireAsync(request, admits.defaultMaxWaitNanos()),
                retries, figures, () -> closed, settings.callScheduler());
        this.releases = new Releases(name, figures, health, membership, admission);
        this.checker = new HealthChecker(name, table, health, reports, new LearntModels(table), ticker, h, random);
    }

    /** A backend joined outside a call of the caller's own (a reconcile's waiting backend): room for the requests waiting. */
    private void roomAppeared() {
        admission.onRoom();
    }

    /** A backend's health changed: a backend back up is room for the requests waiting; listeners are told. */
    private void healthChanged(HealthTransitions.HealthEvent event) {
        admission.onRoom();
        listeners.tell(l -> l.onBackendHealthChanged(event.backend(), event.previous(), event.current(),
                event.reason()));
    }

    /**
     * Returns a builder for a balancer with settings other than the defaults.
     *
     * @return a new builder with no setting given
     */
    public static LoadBalancerBuilder builder() {
        return new LoadBalancerBuilder();
    }

    /**
     * Builds a balancer, with its backends, from flat string properties such as a framework binds
     * from its configuration. Only the keys starting with {@code prefix} are read, the prefix cut
     * off; every one of them must be known, so a misspelt setting is refused rather than ignored.
     *
     * <pre>
     * ailb.strategy=LEAST_CONNECTIONS
     * ailb.backends.instance-1.host=192.168.1.1
     * ailb.backends.instance-1.port=8001
     * ailb.backends.instance-1.weight=2
     * ailb.backends.instance-1.models=llama-3.1-8b       # comma-separated
     * ailb.backends.instance-1.adapters=sql-v2,chat
     * ailb.backends.instance-1.labels.zone=a
     * ailb.health-check.path=/health          # or health-check.type=tcp
     * ailb.health-check.interval=10s          # 500ms, 10s, 5m, 1h, 2d or ISO-8601 (PT10S)
     * </pre>
     *
     * <p>The other keys: {@code name}, {@code health-check.type} (http, tcp),
     * {@code health-check.timeout}, {@code health-check.jitter}, {@code healthy-threshold},
     * {@code unhealthy-threshold}, {@code initially-healthy}, {@code outlier-detection.enabled},
     * {@code all-unhealthy-policy} (FAIL_OPEN, FAIL_CLOSED),
     * {@code drain-timeout}, {@code session-affinity} (TABLE, CONSISTENT_HASH),
     * {@code max-sessions}, {@code session-idle-timeout}, {@code response-time-decay},
     * {@code count-tokens} (the default estimate), {@code load-source} ({@code vllm}, {@code tgi},
     * {@code sglang}: see {@link dev.ailb.health.PrometheusLoadSource}) with
     * {@code load-poll-interval}, {@code discover-models} (the interval of {@code GET /v1/models},
     * see {@link LoadBalancerBuilder#discoverModels}), the settings every HTTP probe (health check,
     * load poll, model discovery) shares, see {@link dev.ailb.health.HttpProbeOptions}:
     * {@code probe.scheme} ({@code http}, {@code https}), {@code probe.trust-store} (a PKCS12 or JKS
     * file) with {@code probe.trust-store-password}, {@code probe.bearer-token-file} (read at each
     * probe) and {@code probe.headers.<name>}, and {@code saturation.waiting-requests},
     * {@code saturation.kv-cache-usage}, {@code saturation.max-report-age}, {@code connection-limit},
     * {@code admission-queue.capacity} with {@code admission-queue.max-wait}, and
     * {@code slow-start.window} with {@code slow-start.aggression} and
     * {@code slow-start.min-weight-percent} (see {@link SlowStart}). Each value is checked as
     * the builder checks it, and refused with the builder's message after the property's name.
     * Entries whose key or value is not a string are skipped. Backends are added in the sorted
     * order of their keys.
     *
     * <p><b>Health checks and load polls do not run yet.</b> The {@code health-check.*} and
     * {@code load-source} keys configure them, but, as with the builder, nothing is checked or
     * polled until the application calls {@link #startHealthChecker()} on the returned balancer
     * (or runs one round with {@link #performHealthChecks()} or {@link #pollLoadReports()}).
     * Until then every backend counts as healthy, or with {@code initially-healthy=false} stays
     * unhealthy (and, all of them being unhealthy, gets traffic anyway under the default
     * {@code all-unhealthy-policy=FAIL_OPEN}), and {@link BalancingStrategy#RESOURCE_BASED} sees
     * no reports.
     *
     * @param properties the properties, for instance a {@link java.util.Properties}, whose defaults
     *                   are read too
     * @param prefix     the prefix of the keys to read, such as {@code "ailb."}; may be empty
     * @return a new balancer with these settings and backends
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException naming the first property that is unknown, missing or bad
     */
    public static LoadBalancer fromProperties(Map<?, ?> properties, String prefix) {
        return PropertiesConfig.build(PropertiesConfig.parse(properties, prefix), prefix);
    }

    /**
     * Builds a balancer from properties as {@link #fromProperties(Map, String)} does, after letting
     * {@code customizer} give the builder what properties cannot say: a ticker, a scheduler, a
     * custom strategy or health check, a retry policy. The customizer sees the builder with every
     * property applied and before {@code build()}; each setting may still be given only once, so
     * a customizer that sets what a property already set is refused with the builder's
     * {@link IllegalStateException} ({@code healthCheck was already set ...}) and nothing is built.
     * The backends are added after the build, as without a customizer.
     *
     * <pre>{@code
     * LoadBalancer lb = LoadBalancer.fromProperties(properties, "ailb.",
     *         builder -> builder.retryPolicy(RetryPolicy.builder().maxAttempts(2).build()));
     * }</pre>
     *
     * @param properties the properties, for instance a {@link java.util.Properties}, whose defaults
     *                   are read too
     * @param prefix     the prefix of the keys to read, such as {@code "ailb."}; may be empty
     * @param customizer called once with the builder, on the calling thread
     * @return a new balancer with these settings and backends
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException naming the first property that is unknown, missing or bad
     * @throws RuntimeException         whatever the customizer throws, the builder's
     *                                  {@link IllegalStateException} for a setting given twice
     *                                  among them; nothing is built then
     */
    public static LoadBalancer fromProperties(Map<?, ?> properties, String prefix,
            Consumer<? super LoadBalancerBuilder> customizer) {
        checkNotNull(customizer, "customizer");
        PropertiesConfig.Parsed parsed = PropertiesConfig.parse(properties, prefix);
        customizer.accept(parsed.builder());
        return PropertiesConfig.build(parsed, prefix);
    }

    // ---------------------------------------------------------------- backends

    /**
     * Registers a backend of weight 1; see {@link #addBackend(String, String, int, int)}.
     *
     * @param id   unique id, not blank, at most 256 characters
     * @param host a host name, an IPv4 address or an IPv6 address, as
     *             {@link #addBackend(String, String, int, int)} describes; never resolved by the
     *             balancer
     * @param port port, 1..65535
     * @return the new backend
     * @throws NullPointerException     if {@code id} or {@code host} is null
     * @throws IllegalArgumentException if an argument is out of range, the host is none of those
     *                                  three, or the id is already registered (draining backends
     *                                  included)
     * @throws IllegalStateException    if the balancer is closed, or the strategy fails to build
     *                                  its picker for the new set (nothing changes then)
     */
    public Backend addBackend(String id, String host, int port) {
        return addBackend(id, host, port, 1);
    }

    /**
     * Registers a backend. It is healthy and available at once, unless the balancer was built with
     * {@link LoadBalancerBuilder#initiallyHealthy(boolean) initiallyHealthy(false)}: then it waits for its first
     * passing health check.
     *
     * <p>Cost: the next view is derived from the current one and the new backend alone, in time
     * linear in the n registered backends only for copying references (the view's lists, the
     * strategy's array of backends), with no other backend tested and no table rebuilt from the
     * fleet: {@link BalancingStrategy#IP_HASH} puts only the new backend's p points on its ring
     * (O(p log p), plus a copy of the ring's table of cells, or of its top level and the chunks those
     * points fall in once it holds more than 2^16 cells; the table is cut afresh when the
     * ring has doubled, so a run of registrations pays for it once per doubling), the prefix index
     * of {@link BalancingStrategy#PREFIX_AFFINITY} keeps every other backend's entry, and the kinds
     * of request kept for models and labels change only where they admit the new backend.
     * {@link BalancingStrategy#WEIGHTED_ROUND_ROBIN} computes its schedule for the new set, in time
     * linear in the set's total weight.
     *
     * @param id     unique id, not blank, at most 256 characters
     * @param host   the host, kept as given and never resolved by the balancer: a DNS host name
     *               (RFC 1123: labels of ASCII letters, digits and hyphens, 1..63 characters,
     *               not starting or ending with a hyphen, joined by dots, at most 253
     *               characters, optionally one trailing dot; the last label starts with a
     *               letter; no underscores), an IPv4 address in dotted-decimal form without
     *               leading zeros ({@code 10.0.0.1}), or an IPv6 address with or without
     *               brackets, optionally with a zone id of letters, digits, dots and underscores
     *               ({@code ::1}, {@code [::1]}, {@code fe80::1%eth0}). Nothing else, so that a
     *               URI built from it, by a health check or the HTTP integration, always has
     *               this host: {@code "gpu-7@127.0.0.1"} (user information and another host),
     *               {@code "host:80"} and {@code "a/b"} are refused
     * @param port   port, 1..65535
     * @param weight relative capacity, 1..{@link #MAX_WEIGHT}
     * @return the new backend
     * @throws NullPointerException     if {@code id} or {@code host} is null
     * @throws IllegalArgumentException if an argument is out of range, the host is not a host
     *                                  name, an IPv4 address or an IPv6 address, or the id is
     *                                  already registered (draining backends included)
     * @throws IllegalStateException    if the balancer is closed, or the strategy fails to build
     *                                  its picker for the new set (nothing changes then)
     */
    public Backend addBackend(String id, String host, int port, int weight) {
        return addBackend(id, host, port, weight, BackendProfile.none());
    }

    /**
     * Registers a backend that serves models, LoRA adapters or carries labels; otherwise as
     * {@link #addBackend(String, String, int, int)}. A request that
     * {@linkplain Request#withModel names a model} goes only to backends whose profile (or what
     * their server said it serves) serves it; a request with
     * {@linkplain Request#withLabels labels} only to backends that carry the required ones.
     *
     * @param id      unique id, not blank, at most 256 characters
     * @param host    the host, as {@link #addBackend(String, String, int, int)} takes it
     * @param port    port, 1..65535
     * @param weight  relative capacity, 1..{@link #MAX_WEIGHT}
     * @param profile what the backend serves and its labels; {@link BackendProfile#none()} for none
     * @return the new backend
     * @throws NullPointerException     if {@code id}, {@code host} or {@code profile} is null
     * @throws IllegalArgumentException if an argument is out of range, the host is not a host
     *                                  name, an IPv4 address or an IPv6 address, or the id is
     *                                  already registered (draining backends included)
     * @throws IllegalStateException    if the balancer is closed, or the strategy fails to build
     *                                  its picker for the new set (nothing changes then)
     */
    public Backend addBackend(String id, String host, int port, int weight, BackendProfile profile) {
        checkId(id, "id");
        checkHost(host, "host");
        checkRange(port, 1, 65535, "port");
        checkRange(weight, 1, MAX_WEIGHT, "weight");
        checkNotNull(profile, "profile");
        Backend added = membership.add(new Backend(this, id, host, port, weight, profile, decayNanos, originNanos,
                defaultTokens));
        admission.onRoom();
        return added;
    }

    private Backend newBackend(BackendSpec spec) {
        return new Backend(this, spec.id(), spec.host(), spec.port(), spec.weight(), spec.profile(), decayNanos,
                originNanos, defaultTokens);
    }

    /**
     * Registers several backends in one change: the routing view is built and published once, so
     * registering a whole fleet costs one view's build, not one per backend. All are registered,
     * or none: an id given twice or already registered refuses the whole call. Each starts as
     * {@link #addBackend(String, String, int, int)} says.
     *
     * @param backends the backends to register
     * @return the new backends, in the order given
     * @throws NullPointerException     if {@code backends} or one of its elements is null
     * @throws IllegalArgumentException if an id is given twice or is already registered (draining
     *                                  backends included)
     * @throws IllegalStateException    if the balancer is closed, or the strategy fails to build
     *                                  its picker for the new set (nothing changes then)
     */
    public List<Backend> addBackends(Collection<BackendSpec> backends) {
        Map<String, BackendSpec> byId = byId(backends);
        List<Backend> created = new ArrayList<>(byId.size());
        for (BackendSpec spec : byId.values()) {
            created.add(newBackend(spec));
        }
        List<Backend> added = List.copyOf(membership.addAll(created));
        admission.onRoom();
        return added;
    }

    /**
     * Brings the balancer to exactly this membership, in one published change: the backends not
     * registered are added, the kept ones take the stated weight and profile, and the registered
     * ones the membership leaves out are removed, each by a drain as {@link #removeBackend} drains
     * (out of routing now, its requests in flight kept and counted, gone when the last is
     * released or its drain timeout passes). A stated id whose backend stands at another address
     * is the same: the old one drains, and the new one is registered when it has left; so is a
     * stated id whose backend is draining already ({@link MembershipChange#waiting()}). Backends
     * in maintenance stay in maintenance; health, sessions, figures and connection limits of the
     * kept ones are kept. Routing sees the whole change at once, never half of it.
     *
     * <p>This is what a {@linkplain #discover discovery source} calls with each membership it
     * learns, and what a user with a membership of their own (a configuration file, a service
     * registry) calls when it changes. Calling it with the membership the balancer already has
     * changes nothing and publishes nothing.
     *
     * @param backends the whole membership; an empty collection drains every backend
     * @return what changed
     * @throws NullPointerException     if {@code backends} or one of its elements is null
     * @throws IllegalArgumentException if an id is given twice
     * @throws IllegalStateException    if the balancer is closed, or the strategy fails to build
     *                                  its picker for the new set (nothing changes then)
     */
    public MembershipChange setBackends(Collection<BackendSpec> backends) {
        return membership.reconcile(byId(backends));
    }

    /**
     * Starts a discovery source: from now on the source states the membership, each membership
     * it learns reconciled as {@link #setBackends} reconciles, and while it cannot tell, the last
     * membership stays (see {@link DiscoveryContext}). One source runs at a time: it owns the
     * membership, and backends added by hand are drained by its next update. Closing the balancer
     * closes the source.
     *
     * <pre>{@code
     * LoadBalancer lb = LoadBalancer.builder().name("chat").build();
     * Discovery discovery = lb.discover(source); // e.g. a DNS name, a Kubernetes Service
     * ...
     * lb.close(); // closes the source too
     * }</pre>
     *
     * @param source the source; started on the calling thread
     * @return the running discovery, to close it or read its counts
     * @throws NullPointerException  if {@code source} is null
     * @throws IllegalStateException if the balancer is closed or another source runs (nothing
     *                               changes then)
     * @throws RuntimeException      what the source's {@link DiscoverySource#start} threw; the
     *                               source is closed and nothing else changes
     */
    public Discovery discover(DiscoverySource source) {
        checkNotNull(source, "source");
        DiscoveryRun run;
        table.lock();
        try {
            checkOpen();
            DiscoveryRun running = discovery;
            if (running != null && !running.isClosed()) {
                throw new IllegalStateException("source: " + source + " (expected: no other discovery running; "
                        + running.source() + " runs, close it first)");
            }
            run = new DiscoveryRun(name, source, this::setBackends, membership, () -> closed, this::forget);
            discovery = run;
        } finally {
            table.unlock();
        }
        log.info("{} - Discovery started: {}", name, source);
        try {
            source.start(run);
        } catch (RuntimeException | Error e) {
            run.close();
            throw e;
        }
        return run;
    }

    /** A discovery closed: the balancer no longer holds it, and another may start. */
    private void forget(DiscoveryRun run) {
        table.lock();
        try {
            if (discovery == run) {
                discovery = null;
            }
        } finally {
            table.unlock();
        }
    }

    /** The specs by id in the order given; refuses a null element and an id given twice. */
    private static Map<String, BackendSpec> byId(Collection<BackendSpec> backends) {
        checkNotNull(backends, "backends");
        Map<String, BackendSpec> byId = new LinkedHashMap<>(Math.max(16, backends.size() * 2));
        int index = 0;
        for (BackendSpec spec : backends) {
            if (spec == null) {
                throw new NullPointerException("backends[" + index + "]: null (expected: non-null)");
            }
            if (byId.putIfAbsent(spec.id(), spec) != null) {
                throw new IllegalArgumentException("backends: id " + quote(spec.id())
                        + " given twice (expected: each id once)");
            }
            index++;
        }
        return byId;
    }

    /**
     * Declares anew what a backend serves and its labels, while it runs: requests route by the new
     * profile from the next pick on (a pick already under way may still go by the old one). Models
     * and adapters learnt from the backend's server are kept. Sessions stay bound where they are
     * while their backend serves their requests; a request for a model its session's backend no
     * longer serves is placed again. Setting the profile a backend has changes nothing.
     *
     * @param id      the backend's id
     * @param profile the new profile; {@link BackendProfile#none()} to declare nothing
     * @return the profile the backend had before, equal to {@code profile} if nothing changed
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if no backend has this id
     * @throws IllegalStateException    if the backend is being removed, the balancer is closed, or
     *                                  the strategy fails to build a picker for the new subsets
     *                                  (nothing changes then)
     */
    public BackendProfile setProfile(String id, BackendProfile profile) {
        checkId(id, "id");
        checkNotNull(profile, "profile");
        return membership.setProfile(id, profile);
    }

    /**
     * Removes a backend gracefully: it takes no new requests at once, its in-flight requests finish
     * and are counted normally, and it leaves the balancer when its last connection is released.
     * Removing a backend that is already draining returns the same completion. A backend in
     * maintenance may be removed; its maintenance wait then completes with the removal.
     *
     * <p>If connections are still active after the {@linkplain LoadBalancerBuilder#drainTimeout drain timeout},
     * the backend is removed anyway with one warning; the releases that come later are accepted
     * and counted. The timeout runs on the scheduler given to the builder, or on a daemon thread
     * named {@code ailb-timer-N} that ends a minute after the last pending timeout, or with
     * {@link #close()}.
     *
     * <p>Cost: taking the backend out, and its leaving once drained, each derive the next view
     * from the current one and this backend alone, in time linear in the n registered backends
     * only for copying references (the view's lists, the strategy's array of backends), with no
     * other backend tested and no table rebuilt from the fleet: {@link BalancingStrategy#IP_HASH}
     * moves only this backend's p points on its ring
     * (O(p log p), plus a copy of the ring's table of cells, or of its top level and the chunks those
     * points fall in for a large ring), the prefix index of
     * {@link BalancingStrategy#PREFIX_AFFINITY} keeps every other backend's entry, and the kinds of
     * request kept for models and labels change only where they admit this backend.
     * {@link BalancingStrategy#WEIGHTED_ROUND_ROBIN} computes its schedule for the new set, in time
     * linear in the set's total weight.
     *
     * @param id the backend's id
     * @return a future completed when the backend has left the balancer (at once if it had no
     *         active connections); each call gets a future of its own, which the caller may
     *         cancel without changing the removal
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if no backend has this id
     * @throws IllegalStateException    if the strategy fails to build its picker for the reduced
     *                                  set (nothing changes then)
     */
    public CompletableFuture<Void> removeBackend(String id) {
        checkId(id, "id");
        return membership.remove(id);
    }

    /**
     * Takes a backend out for maintenance without removing it: it takes no new requests at once
     * (panic routing included), its in-flight requests finish and are counted normally, and it
     * stays registered, with its stats and health checks, until {@link #endMaintenance} puts it
     * back. Calling it for a backend already in maintenance changes nothing and returns a future
     * of the same wait.
     *
     * <p>Cost: the next view is derived from the current one and this backend alone, in time
     * linear in the n registered backends only for copying references (the view's lists, the
     * strategy's array of backends), with no other backend tested and no table rebuilt from the
     * fleet: {@link BalancingStrategy#IP_HASH} moves only this backend's p points on its ring
     * (O(p log p), plus a copy of the ring's table of cells, or of its top level and the chunks those
     * points fall in for a large ring), the prefix index of
     * {@link BalancingStrategy#PREFIX_AFFINITY} keeps every other backend's entry, and the kinds of
     * request kept for models and labels change only where they admit this backend.
     * {@link BalancingStrategy#WEIGHTED_ROUND_ROBIN} computes its schedule for the new set, in time
     * linear in the set's total weight.
     *
     * @param id the backend's id
     * @return a future completed when the backend first has no active connection (at once if it
     *         has none), so that the instance can be restarted safely; completed exceptionally with
     *         a {@link java.util.concurrent.CancellationException} if the backend is put back first
     *         (then {@code isCancelled()} is true); each call gets a future of its own, which the
     *         caller may cancel without changing the maintenance
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if no backend has this id
     * @throws IllegalStateException    if the backend is being removed, or the strategy fails to
     *                                  build its picker for the reduced set (nothing changes then)
     */
    public CompletableFuture<Void> beginMaintenance(String id) {
        checkId(id, "id");
        return membership.beginMaintenance(id);
    }

    /**
     * Puts a backend taken out with {@link #beginMaintenance} back into service; it takes new requests
     * again if it is healthy. A maintenance wait still waiting is cancelled.
     *
     * <p>Cost: the next view is derived from the current one and this backend alone, in time
     * linear in the n registered backends only for copying references (the view's lists, the
     * strategy's array of backends), with no other backend tested and no table rebuilt from the
     * fleet: {@link BalancingStrategy#IP_HASH} moves only this backend's p points on its ring
     * (O(p log p), plus a copy of the ring's table of cells, or of its top level and the chunks those
     * points fall in for a large ring), the prefix index of
     * {@link BalancingStrategy#PREFIX_AFFINITY} keeps every other backend's entry, and the kinds of
     * request kept for models and labels change only where they admit this backend.
     * {@link BalancingStrategy#WEIGHTED_ROUND_ROBIN} computes its schedule for the new set, in time
     * linear in the set's total weight.
     *
     * @param id the backend's id
     * @return {@code true} if it was in maintenance, {@code false} if it was in service already
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if no backend has this id
     * @throws IllegalStateException    if the backend is being removed (a removal cannot be undone),
     *                                  or the strategy fails to build its picker for the larger set
     *                                  (nothing changes then)
     */
    public boolean endMaintenance(String id) {
        checkId(id, "id");
        boolean ended = membership.endMaintenance(id);
        admission.onRoom();
        return ended;
    }

    /**
     * Changes a backend's weight in place, keeping its connections, stats, sessions and health
     * (removing it and adding it again would be refused while it drains). Selections from then on
     * use the new weight: the view is published again with a picker built for it, so under
     * {@link BalancingStrategy#WEIGHTED_ROUND_ROBIN} every run of picks as long as the new period
     * gives each backend exactly its new share, and under {@link BalancingStrategy#IP_HASH} (and
     * consistent-hash sessions) the backend gets its new number of points on the ring, so that
     * only addresses moving to or from it move. {@link BalancingStrategy#LEAST_CONNECTIONS} and
     * {@link BalancingStrategy#RESOURCE_BASED} divide the load by the weight on every pick and see
     * it at once. A backend that takes no requests now (unhealthy, in maintenance) keeps the
     * weight for when it is back. Setting the weight a backend has changes nothing. Sessions stay
     * bound where they are.
     *
     * <p>Cost: the view keeps its lists, and the pickers that route across this backend are built
     * again for the same backends: an array copy for most strategies, this backend's points alone
     * moved on the {@link BalancingStrategy#IP_HASH} ring (O(p log p) for p points, plus a copy of
     * its table of cells, or of its top level and the chunks those points fall in for a large ring),
     * the {@link BalancingStrategy#WEIGHTED_ROUND_ROBIN} schedule
     * computed again (linear in the total weight); finding the backend in the view's lists is a
     * scan of n references.
     *
     * @param id     the backend's id
     * @param weight the new relative capacity, 1..{@link #MAX_WEIGHT}
     * @return the weight the backend had before, equal to {@code weight} if nothing changed
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if {@code weight} is out of range, or no backend has this id
     * @throws IllegalStateException    if the backend is being removed, the balancer is closed, or
     *                                  the strategy fails to build its picker with the new weight
     *                                  (nothing changes then)
     */
    public int setWeight(String id, int weight) {
        checkId(id, "id");
        checkRange(weight, 1, MAX_WEIGHT, "weight");
        return membership.setWeight(id, weight);
    }

    /**
     * Marks a backend healthy or unhealthy by hand. An unhealthy backend gets no new requests until
     * it is marked healthy again or, with active checks running, passes the healthy threshold of
     * checks in a row. Marking a backend healthy also ends an ejection. Either way its check streaks
     * start again from zero. To take an instance out on purpose, remove it instead: an unhealthy
     * backend still gets requests when every backend is unhealthy and the balancer fails open.
     *
     * <p>Cost: the next view is derived from the current one and this backend alone, in time
     * linear in the n registered backends only for copying references (the view's lists, the
     * strategy's array of backends), with no other backend tested and no table rebuilt from the
     * fleet: {@link BalancingStrategy#IP_HASH} moves only this backend's p points on its ring
     * (O(p log p), plus a copy of the ring's table of cells, or of its top level and the chunks those
     * points fall in for a large ring), the prefix index of
     * {@link BalancingStrategy#PREFIX_AFFINITY} keeps every other backend's entry, and the kinds of
     * request kept for models and labels change only where they admit this backend.
     * {@link BalancingStrategy#WEIGHTED_ROUND_ROBIN} computes its schedule for the new set, in time
     * linear in the set's total weight.
     *
     * @param id      the backend's id
     * @param healthy {@code true} to mark it healthy, {@code false} to mark it unhealthy
     * @return whether its health state changed
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if no backend has this id
     * @throws IllegalStateException    if the balancer is closed, or the strategy fails to build
     *                                  its picker for the changed set (nothing changes then)
     */
    public boolean setBackendHealthy(String id, boolean healthy) {
        checkId(id, "id");
        return health.markByHand(id, healthy);
    }

    /**
     * Records a backend's CPU and memory utilisation, time-stamped with the balancer's ticker; read
     * by {@link BalancingStrategy#RESOURCE_BASED}. Replaces the backend's previous report whole,
     * so signals of an earlier richer report are no longer known.
     *
     * @param id     the backend's id
     * @param cpu    CPU utilisation, 0.0..1.0
     * @param memory memory utilisation, 0.0..1.0
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if no backend has this id, or a value is NaN or out of range
     * @throws IllegalStateException    if the balancer is closed
     */
    public void updateBackendResources(String id, double cpu, double memory) {
        checkId(id, "id");
        updateBackendResources(id, LoadReport.builder().cpu(cpu).memory(memory).build()); // checks both values
    }

    /**
     * Records what a backend reports about its load (CPU, memory, queued and running requests,
     * KV-cache usage; any of them may be missing), time-stamped with the balancer's ticker. Read by
     * {@link BalancingStrategy#RESOURCE_BASED} and {@link #isSaturated()}. Replaces the backend's
     * previous report.
     *
     * @param id     the backend's id
     * @param report the report
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if no backend has this id
     * @throws IllegalStateException    if the balancer is closed
     */
    public void updateBackendResources(String id, LoadReport report) {
        checkId(id, "id");
        checkNotNull(report, "report");
        checkOpen();
        reports.record(table.current().lookup(id), report);
        admission.onRoom(); // a report no longer saturated is room
    }

    /**
     * The backend with this id, if one is registered (draining ones included).
     *
     * @param id the backend's id
     * @return the backend, or empty if none is registered under {@code id}
     * @throws NullPointerException if {@code id} is null
     */
    public Optional<Backend> getBackend(String id) {
        checkNotNull(id, "id");
        return Optional.ofNullable(table.current().byId.get(id));
    }

    /**
     * The registered backends in registration order, draining ones included. Immutable.
     *
     * @return the registered backends, possibly empty
     */
    public List<Backend> getBackends() {
        return table.current().all;
    }

    /**
     * The backends new requests may go to, in registration order. Immutable.
     *
     * @return the available backends, possibly empty
     */
    public List<Backend> getAvailableBackends() {
        return readmitIfDue(table.current()).available;
    }

    /**
     * Whether the whole pool is saturated: no backend is available, or every available backend
     * has a fresh report (see {@link LoadBalancerBuilder#saturation}) of a queue of at least the threshold's
     * waiting requests or of a KV cache used at least to the threshold. An application can shed
     * low-priority work while it holds. A backend without a fresh report, or whose report has
     * neither signal, counts as having room: the balancer cannot tell.
     *
     * <p>Stops at the first available backend with room, so it is cheap while the pool has room;
     * it looks at every available backend when it returns {@code true}. Reads the ticker once.
     *
     * @return {@code true} if no available backend has room by its last report
     */
    public boolean isSaturated() {
        return reports.allSaturated(readmitIfDue(table.current()).available);
    }

    /**
     * Whether a backend is saturated by its last report: a fresh report (see
     * {@link LoadBalancerBuilder#saturation}) of a queue of at least the threshold or a KV cache used at least
     * to the threshold. Reads the ticker once.
     *
     * @param backend a backend of this balancer
     * @return {@code true} if the backend's fresh report says it has no room
     * @throws NullPointerException     if {@code backend} is null
     * @throws IllegalArgumentException if the backend belongs to another balancer
     */
    public boolean isSaturated(Backend backend) {
        checkOwned(backend);
        return reports.isSaturated(backend);
    }

    // ---------------------------------------------------------------- strategy

    /**
     * Replaces the strategy. Selections already under way finish with the old one; the next ones
     * use the new one. The new strategy starts with fresh state (cursors, tables).
     *
     * @param strategy the new strategy
     * @throws NullPointerException  if {@code strategy} is null
     * @throws IllegalStateException if the balancer is closed, or the strategy fails to build its
     *                               picker (nothing changes then)
     */
    public void setStrategy(BalancingStrategy strategy) {
        checkNotNull(strategy, "strategy");
        table.lock();
        try {
            checkOpen();
            table.switchStrategy(strategy, context);
        } finally {
            table.unlock();
        }
        listeners.tell(l -> l.onStrategyChanged(strategy));
    }

    /**
     * The strategy in use.
     *
     * @return the current strategy, never null
     */
    public BalancingStrategy getStrategy() {
        return table.current().strategy;
    }

    // ---------------------------------------------------------------- selection

    /**
     * Chooses the backend for a request with the current strategy and counts the request against
     * it. Lock-free.
     *
     * @param request the request to route
     * @return an available backend, never null
     * @throws NullPointerException        if {@code request} is null
     * @throws NoAvailableBackendException if no backend is available; its reason says why
     * @throws IllegalStateException       if the balancer is closed, or a custom strategy picked a
     *                                     backend that was not offered to it
     */
    public Backend selectBackend(Request request) {
        return pick(request, true, false, true);
    }

    /**
     * Like {@link #selectBackend(Request)}, but returns empty instead of throwing when no backend
     * is available.
     *
     * @param request the request to route
     * @return an available backend, or empty if none is available
     * @throws NullPointerException  if {@code request} is null
     * @throws IllegalStateException if the balancer is closed, or a custom strategy picked a
     *                               backend that was not offered to it
     */
    public Optional<Backend> trySelectBackend(Request request) {
        return Optional.ofNullable(pick(request, false, false, true));
    }

    /**
     * Chooses the backend for a request of a session: the backend the session is bound to while
     * that backend is available, otherwise one chosen by the strategy, to which the session is then
     * bound (it does not move back). With {@link SessionAffinity#CONSISTENT_HASH} the session id is
     * hashed onto the available backends instead. Takes no lock of the balancer, and a session
     * already bound takes none at all; binding a session locks one segment of the session table
     * for a moment. The table is bounded in size and idle time (see
     * {@link LoadBalancerBuilder#maxSessions} and {@link LoadBalancerBuilder#sessionIdleTimeout}).
     *
     * <p>Requests of a new session arriving at the same moment go to the same backend: the first
     * binding holds, and a request the strategy had placed elsewhere meanwhile is sent to the bound
     * backend instead (counted as a session hit).
     *
     * @param request   the request to route
     * @param sessionId the session, not blank, at most 256 characters
     * @return an available backend, never null
     * @throws NullPointerException        if an argument is null
     * @throws IllegalArgumentException    if {@code sessionId} is blank or too long
     * @throws NoAvailableBackendException if no backend is available; its reason says why
     * @throws IllegalStateException       if the balancer is closed, or a custom strategy misbehaves
     */
    public Backend selectBackend(Request request, String sessionId) {
        return routeSession(request, sessionId, false, Router.Placement.BACKEND);
    }

    /**
     * Like {@link #acquire(Request)} for a request of a session: selects as
     * {@link #selectBackend(Request, String)} does and acquires a connection in one step.
     *
     * @param request   the request to route
     * @param sessionId the session, not blank, at most 256 characters
     * @return an open lease on an available backend
     * @throws NullPointerException        if an argument is null
     * @throws IllegalArgumentException    if {@code sessionId} is blank or too long
     * @throws NoAvailableBackendException if no backend is available; its reason says why
     * @throws IllegalStateException       if the balancer is closed, or a custom strategy misbehaves
     */
    public Lease acquire(Request request, String sessionId) {
        return routeSession(request, sessionId, true, path.leases());
    }

    private <T> T routeSession(Request request, String sessionId, boolean acquire, Router.Placement<T> as) {
        checkNotNull(request, "request");
        checkId(sessionId, "sessionId");
        checkOpen();
        return sessions.route(request, sessionId, acquire, as);
    }

    /** See {@link RequestPath#select}; refused when closed. */
    private Backend pick(Request request, boolean throwIfNone, boolean acquire, boolean count) {
        checkNotNull(request, "request");
        checkOpen();
        return path.select(request, throwIfNone, acquire, count);
    }

    // ---------------------------------------------------------------- connections

    /**
     * Selects a backend for the request and acquires a connection on it in one step. The lease
     * releases the connection exactly once, timing the request with the balancer's ticker; use it
     * with try-with-resources so that an exception never leaks a connection.
     *
     * <p>With {@linkplain LoadBalancerBuilder#connectionLimit connection limits} or an
     * {@linkplain LoadBalancerBuilder#admissionQueue admission queue}, a request that finds every
     * backend full waits for room in the queue, blocking this thread, up to the queue's longest
     * wait: see {@link #acquire(Request, Duration)}. Without them it never waits.
     *
     * @param request the request to route
     * @return an open lease on an available backend
     * @throws NullPointerException        if {@code request} is null
     * @throws NoAvailableBackendException if no backend is available; its reason says why
     * @throws RequestRejectedException    if the fleet is full and the request was refused; its
     *                                     reason says why
     * @throws java.util.concurrent.CancellationException if the thread was interrupted while the
     *                                     request waited (the request is withdrawn, the interrupt
     *                                     flag set again)
     * @throws IllegalStateException       if the balancer is closed, or a custom strategy misbehaves
     *                                     (see {@link #selectBackend(Request)})
     */
    public Lease acquire(Request request) {
        checkNotNull(request, "request");
        checkOpen();
        return admission.acquire(request, admission.defaultMaxWaitNanos());
    }

    /**
     * Like {@link #acquire(Request)}, waiting at most {@code maxWait} for room when the fleet is
     * full. The request waits in the admission queue, by its {@link Request#priority() priority},
     * its {@link Request#tenant() tenant} taking turns with the others waiting, until a backend has
     * room (a lease released, a backend added or back up, a limit raised, a report no longer
     * saturated), its wait runs out, the queue has to make room for a critical request, or the
     * balancer closes. A {@link Priority#SHEDDABLE} request never waits.
     *
     * <p>If the thread is interrupted while it waits, the request leaves the queue and the call
     * throws {@link java.util.concurrent.CancellationException}, the thread's interrupt flag set
     * again; if room was found at that very moment, the lease is returned instead, the flag still
     * set, so that the connection is the caller's to release and never leaks.
     *
     * @param request the request to route
     * @param maxWait how long the request may wait for room, 0..1 day; 0 refuses it at once when the
     *                fleet is full
     * @return an open lease on an available backend
     * @throws NullPointerException        if an argument is null
     * @throws IllegalArgumentException    if {@code maxWait} is out of range
     * @throws NoAvailableBackendException if no backend is available; its reason says why
     * @throws RequestRejectedException    if the fleet is full and the request was refused
     * @throws java.util.concurrent.CancellationException if the thread was interrupted while the
     *                                     request waited
     * @throws IllegalStateException       if the balancer is closed, or a custom strategy misbehaves
     */
    public Lease acquire(Request request, Duration maxWait) {
        checkNotNull(request, "request");
        long waitNanos = LoadBalancerBuilder.checkMaxWait(maxWait, "maxWait").toNanos();
        checkOpen();
        return admission.acquire(request, waitNanos);
    }

    /**
     * Like {@link #acquire(Request)} without blocking: the future completes at once with a lease
     * when a backend has room, and later, on the thread that frees the room, when the request has
     * waited for it; it fails with {@link RequestRejectedException} when the request is refused
     * (at once for a sheddable request or a full queue, on the balancer's scheduler when its wait
     * runs out) and with {@link NoAvailableBackendException} when no backend is available.
     * Cancelling the future, or completing it yourself, withdraws the request from the queue; a
     * lease found for it at that moment is released, without counting as a failure. Waits at most
     * the queue's longest wait ({@link LoadBalancerBuilder#admissionQueue}).
     *
     * <p>Deadlines run on the scheduler given to {@link LoadBalancerBuilder#healthCheckScheduler},
     * or on the balancer's timer thread. Callbacks attached to the future run on whichever thread
     * completes it: keep them short, or use the {@code ...Async} forms.
     *
     * @param request the request to route
     * @return a future of an open lease
     * @throws NullPointerException  if {@code request} is null
     * @throws IllegalStateException if the balancer is closed
     */
    public CompletableFuture<Lease> acquireAsync(Request request) {
        checkNotNull(request, "request");
        checkOpen();
        return admission.acquireAsync(request, admission.defaultMaxWaitNanos());
    }

    /**
     * Like {@link #acquireAsync(Request)}, waiting at most {@code maxWait} for room.
     *
     * @param request the request to route
     * @param maxWait how long the request may wait for room, 0..1 day; 0 refuses it at once when
     *                the fleet is full
     * @return a future of an open lease
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code maxWait} is out of range
     * @throws IllegalStateException    if the balancer is closed
     */
    public CompletableFuture<Lease> acquireAsync(Request request, Duration maxWait) {
        checkNotNull(request, "request");
        long waitNanos = LoadBalancerBuilder.checkMaxWait(maxWait, "maxWait").toNanos();
        checkOpen();
        return admission.acquireAsync(request, waitNanos);
    }

    /**
     * Sets the most connections one backend takes at once, in place of the balancer's
     * {@linkplain LoadBalancerBuilder#connectionLimit default}, for instance when an instance with
     * more memory joins. A backend at its limit takes no new request (its connections in flight go
     * on); raising the limit admits requests waiting for room at once. Setting a limit other than
     * {@link #NO_CONNECTION_LIMIT} on a balancer built without limits turns them on for good:
     * from then on backends {@linkplain #isSaturated(Backend) saturated} by their load reports
     * count as full too, and requests that find every backend full wait in the admission queue
     * (1,000 places, 30 seconds, unless {@link LoadBalancerBuilder#admissionQueue} says otherwise).
     *
     * @param id    the backend's id
     * @param limit the limit, 1..{@link #NO_CONNECTION_LIMIT}
     * @return the limit the backend had before
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if {@code limit} is out of range, or no backend has this id
     * @throws IllegalStateException    if the balancer is closed
     */
    public int setConnectionLimit(String id, int limit) {
        checkId(id, "id");
        checkRange(limit, 1, NO_CONNECTION_LIMIT, "limit");
        checkOpen();
        Backend backend = table.current().lookup(id);
        int before = limits.limitOf(backend);
        if (limit != NO_CONNECTION_LIMIT) {
            limits.turnOn();
        }
        backend.connectionLimit = limit;
        admission.onRoom();
        return before;
    }

    /** See {@link Backend#connectionLimit()}. */
    int connectionLimitOf(Backend backend) {
        return limits.limitOf(backend);
    }

    Ticker ticker() {
        return ticker;
    }

    /**
     * Runs a call on a backend chosen for the request, holding a connection for it, and retries a
     * failed call on backends not tried yet, as the {@linkplain LoadBalancerBuilder#retryPolicy retry policy}
     * allows: retryable failures only, a maximum number of attempts, and a retry budget shared by
     * all calls of this balancer. Every attempt is counted as a request with its own time and
     * outcome, so outlier detection sees the failures. The time is measured with the balancer's
     * ticker, as a {@link Lease} measures it: an attempt longer than {@link #MAX_RESPONSE_TIME}
     * counts as that much, with one warning per backend, rather than failing the call.
     *
     * <p>An {@link Error} thrown by the call ends it at once and is rethrown. An
     * {@link InterruptedException} is never retried, and the thread's interrupt flag is set again.
     * Nor is an attempt that fails once the balancer has been {@linkplain #close() closed}: a
     * closed balancer selects nothing ({@link CallFailedException.Reason#BALANCER_CLOSED}).
     *
     * @param <T>     what the call returns
     * @param request the request to route
     * @param call    the work to do on a backend
     * @return the result of the first attempt that succeeded
     * @throws NullPointerException        if an argument is null
     * @throws NoAvailableBackendException if no backend is available for the first attempt
     * @throws CallFailedException         if no attempt succeeded; its cause is the last failure,
     *                                     the earlier ones are suppressed exceptions
     * @throws IllegalStateException       if the balancer is closed
     */
    public <T> T execute(Request request, BackendCall<T> call) {
        checkNotNull(request, "request");
        checkNotNull(call, "call");
        checkOpen();
        return retries.run(request, null, null, call);
    }

    /**
     * Like {@link #execute(Request, BackendCall)} for a request of a session. The first attempt
     * goes where {@link #selectBackend(Request, String)} sends the session: to its backend while
     * that one takes requests, otherwise to one the strategy picks, to which the session is then
     * bound. A retry after a failure goes, like any retry, to a backend not tried yet; if one
     * succeeds, the session moves to the backend that served it (a rebind in the
     * {@linkplain LoadBalancerMetrics#sessionRebinds() metrics}), unless another request of the
     * session has placed it elsewhere meanwhile. If no attempt succeeds, the session stays where
     * it was. With {@link SessionAffinity#CONSISTENT_HASH} nothing is remembered per session, so
     * the next request goes to the session's hashed backend again.
     *
     * @param <T>       what the call returns
     * @param request   the request to route
     * @param sessionId the session, not blank, at most 256 characters
     * @param call      the work to do on a backend
     * @return the result of the first attempt that succeeded
     * @throws NullPointerException        if an argument is null
     * @throws IllegalArgumentException    if {@code sessionId} is blank or too long
     * @throws NoAvailableBackendException if no backend is available for the first attempt
     * @throws CallFailedException         if no attempt succeeded; its cause is the last failure,
     *                                     the earlier ones are suppressed exceptions
     * @throws IllegalStateException       if the balancer is closed, or a custom strategy misbehaves
     */
    public <T> T execute(Request request, String sessionId, BackendCall<T> call) {
        checkNotNull(request, "request");
        checkId(sessionId, "sessionId");
        checkNotNull(call, "call");
        checkOpen();
        return retries.run(request, sessionId, null, call);
    }

    /**
     * Like {@link #execute}, for a call whose connection outlives it, such as a streamed response:
     * the call is given the attempt's open lease, and once it returns normally the lease is the
     * caller's to end ({@link Lease#success()}, {@link Lease#failure()} or {@link Lease#close()}),
     * when the work on the backend is really over. An attempt that throws is ended as a failure
     * (unless the call ended its lease itself) and retried as {@link #execute} retries it.
     *
     * @param <T>     what the call returns
     * @param request the request to route
     * @param call    the work to start on a backend, given its open lease
     * @return the result of the first attempt that succeeded; its lease is still open unless the
     *         call ended it
     * @throws NullPointerException        if an argument is null
     * @throws NoAvailableBackendException if no backend is available for the first attempt
     * @throws CallFailedException         if no attempt succeeded; its cause is the last failure,
     *                                     the earlier ones are suppressed exceptions
     * @throws IllegalStateException       if the balancer is closed
     */
    public <T> T executeLeased(Request request, LeasedCall<T> call) {
        checkNotNull(request, "request");
        checkNotNull(call, "call");
        checkOpen();
        return retries.run(request, null, call, null);
    }

    /**
     * Like {@link #executeLeased(Request, LeasedCall)} for a request of a session, which is placed,
     * and moved after a retry that succeeded, as {@link #execute(Request, String, BackendCall)}
     * does. An attempt succeeds when its call returns normally.
     *
     * @param <T>       what the call returns
     * @param request   the request to route
     * @param sessionId the session, not blank, at most 256 characters
     * @param call      the work to start on a backend, given its open lease
     * @return the result of the first attempt that succeeded; its lease is still open unless the
     *         call ended it
     * @throws NullPointerException        if an argument is null
     * @throws IllegalArgumentException    if {@code sessionId} is blank or too long
     * @throws NoAvailableBackendException if no backend is available for the first attempt
     * @throws CallFailedException         if no attempt succeeded; its cause is the last failure,
     *                                     the earlier ones are suppressed exceptions
     * @throws IllegalStateException       if the balancer is closed, or a custom strategy misbehaves
     */
    public <T> T executeLeased(Request request, String sessionId, LeasedCall<T> call) {
        checkNotNull(request, "request");
        checkId(sessionId, "sessionId");
        checkNotNull(call, "call");
        checkOpen();
        return retries.run(request, sessionId, call, null);
    }

    /**
     * Like {@link #executeAsync(Request, AttemptCall, CallOptions)} with no deadline and no
     * hedging ({@link CallOptions#none()}): the attempts and retries of {@link #execute}, without
     * a thread waiting for them.
     *
     * @param <T>     what an attempt answers
     * @param request the request to route
     * @param call    starts the work on each attempt's backend
     * @return the answer of the attempt that won, or the call's failure
     * @throws NullPointerException  if an argument is null
     * @throws IllegalStateException if the balancer is closed
     */
    public <T> CompletableFuture<T> executeAsync(Request request, AttemptCall<T> call) {
        return executeAsync(request, call, CallOptions.none());
    }

    /**
     * Runs a call without blocking: each attempt goes to a backend the balancer picks, holds a
     * {@link Lease} there, and answers through the stage its {@link AttemptCall} returns; with
     * the deadlines and hedging of {@code options}. Failed attempts are retried on backends not
     * tried yet as {@link #execute} retries them (the {@linkplain LoadBalancerBuilder#retryPolicy
     * retry policy}'s failures, attempts and budget).
     *
     * <pre>{@code
     * CompletableFuture<String> answer = lb.executeAsync(request, attempt -> {
     *     CompletableFuture<String> exchange = send(attempt.backend(), attempt::firstToken);
     *     attempt.onCancel(() -> exchange.cancel(true));
     *     return exchange;
     * }, CallOptions.builder()
     *         .deadline(Duration.ofSeconds(30))
     *         .firstTokenDeadline(Duration.ofSeconds(2))
     *         .hedging(HedgeDelay.firstTokenPercentile(0.95, Duration.ofMillis(500)))
     *         .build());
     * }</pre>
     *
     * <ul>
     *   <li>The first attempt to give its first token ({@link Attempt#firstToken()}) or its
     *       answer wins; the others are cancelled: their {@link Attempt#onCancel} actions run and
     *       their leases are released with {@link Lease#cancel()}, which counts neither a success
     *       nor a failure, records no time and is not shown to outlier detection.</li>
     *   <li>An attempt without its first token by the first-token deadline is abandoned (its
     *       cancel actions run), counted as its backend's failure, and retried on another backend,
     *       whatever the retry policy says of the failure, within its attempts and budget.</li>
     *   <li>A hedge is sent once per call, after the hedge delay, if no attempt has its first
     *       token yet, a backend not tried yet is available and the hedge budget allows it (see
     *       {@link RetryPolicy}); it does not count toward the policy's maximum attempts. A
     *       retryable failure while another attempt still runs only waits for that one.</li>
     *   <li>The call's deadline cancels the attempts still running and fails the call with
     *       {@link DeadlineExceededException} ({@link DeadlineExceededException.Kind#CALL}).</li>
     *   <li>Cancelling the returned future (or completing it) cancels the attempts still running.</li>
     * </ul>
     *
     * <p>The first attempt is admitted as {@link #acquireAsync(Request)} admits a request: at once
     * when a backend has room, otherwise once room is freed, in the admission queue's order (the
     * call's deadline runs while it waits, and withdraws it when it passes). Retries and hedges
     * never wait: they go only to backends with room.
     *
     * <p>The future fails with {@link NoAvailableBackendException} when no backend is available
     * for the first attempt, with {@link RequestRejectedException} when admission refuses it, with
     * {@link CallFailedException} when every attempt failed (its
     * cause the last failure, a {@link DeadlineExceededException} of kind
     * {@link DeadlineExceededException.Kind#FIRST_TOKEN} for a missed first token), with the
     * {@link Error} an attempt threw, which ends the call at once, or with a
     * {@link java.util.concurrent.CancellationException} when the caller cancelled it. The
     * timers run on the {@linkplain LoadBalancerBuilder#callScheduler call scheduler}.
     *
     * @param <T>     what an attempt answers
     * @param request the request to route
     * @param call    starts the work on each attempt's backend
     * @param options the deadlines and hedging of this call
     * @return the answer of the attempt that won, or the call's failure
     * @throws NullPointerException  if an argument is null
     * @throws IllegalStateException if the balancer is closed
     * @throws java.util.concurrent.RejectedExecutionException if the call scheduler refuses a
     *                                     timer of the call (nothing is acquired then)
     */
    public <T> CompletableFuture<T> executeAsync(Request request, AttemptCall<T> call, CallOptions options) {
        checkNotNull(request, "request");
        checkNotNull(call, "call");
        checkNotNull(options, "options");
        checkOpen();
        return async.run(request, call, options);
    }

    /**
     * Counts one more active connection on a backend. Allowed on unhealthy and draining backends
     * (the request was routed before the change), not on removed ones.
     *
     * @param backend a backend of this balancer, usually one just returned by
     *                {@link #selectBackend}
     * @throws NullPointerException     if {@code backend} is null
     * @throws IllegalArgumentException if the backend belongs to another balancer
     * @throws IllegalStateException    if the backend has been removed, the balancer is closed, or
     *                                  the backend already has 2^29 - 1 active connections
     */
    public void acquireConnection(Backend backend) {
        if (!tryAcquireConnection(backend)) {
            throw new IllegalStateException("backend: " + backend.id()
                    + " (expected: a registered backend; it has been removed from this balancer)");
        }
    }

    /**
     * Like {@link #acquireConnection}, but returns false instead of throwing when the backend has
     * already been removed, which can happen when a removal races the request.
     *
     * @param backend a backend of this balancer
     * @return {@code true} if the connection was counted, {@code false} if the backend has been
     *         removed (nothing is counted then)
     * @throws NullPointerException     if {@code backend} is null
     * @throws IllegalArgumentException if the backend belongs to another balancer
     * @throws IllegalStateException    if the balancer is closed, or the backend already has
     *                                  2^29 - 1 active connections
     */
    public boolean tryAcquireConnection(Backend backend) {
        checkOwned(backend);
        checkOpen();
        return backend.tryAcquire(defaultTokens);
    }

    /**
     * Like {@link #acquireConnection(Backend)} for a given request: when the balancer
     * {@linkplain LoadBalancerBuilder#countTokens(long) counts tokens}, the request's estimate (or the default)
     * is added to the backend's tokens in flight. Release it with
     * {@link #releaseConnection(Backend, Request, Duration, boolean)} and the same request.
     *
     * @param backend a backend of this balancer, usually one just returned by
     *                {@link #selectBackend}
     * @param request the request the connection is for
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the backend belongs to another balancer
     * @throws IllegalStateException    if the backend has been removed, the balancer is closed, or
     *                                  the backend already has 2^29 - 1 active connections
     */
    public void acquireConnection(Backend backend, Request request) {
        if (!tryAcquireConnection(backend, request)) {
            throw new IllegalStateException("backend: " + backend.id()
                    + " (expected: a registered backend; it has been removed from this balancer)");
        }
    }

    /**
     * Like {@link #acquireConnection(Backend, Request)}, but returns false instead of throwing when
     * the backend has already been removed.
     *
     * @param backend a backend of this balancer
     * @param request the request the connection is for
     * @return {@code true} if the connection was counted, {@code false} if the backend has been
     *         removed (nothing is counted then)
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the backend belongs to another balancer
     * @throws IllegalStateException    if the balancer is closed, or the backend already has
     *                                  2^29 - 1 active connections
     */
    public boolean tryAcquireConnection(Backend backend, Request request) {
        checkOwned(backend);
        checkNotNull(request, "request");
        checkOpen();
        return backend.tryAcquire(tokensOf(request));
    }

    /**
     * Counts the end of a connection and records its outcome.
     *
     * @param backend      the backend a connection was acquired on
     * @param responseTime how long the request took, 0..{@link #MAX_RESPONSE_TIME}
     * @param success      whether it succeeded
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the backend belongs to another balancer, or the time is
     *                                  negative or longer than {@link #MAX_RESPONSE_TIME} (nothing
     *                                  is released then)
     * @throws IllegalStateException    if the backend has no active connection to release
     */
    public void releaseConnection(Backend backend, Duration responseTime, boolean success) {
        checkNotNull(backend, "backend"); // ownership is checked by the overload below
        releaseConnection(backend, Releases.nanosOf(responseTime), success);
    }

    /**
     * Like {@link #releaseConnection(Backend, Duration, boolean)} with the response time in
     * nanoseconds, for callers that measure with {@link System#nanoTime()} and want no allocation.
     * Accepted after {@link #close()}, so requests in flight at close are still counted.
     *
     * @param backend           the backend a connection was acquired on
     * @param responseTimeNanos how long the request took, in nanoseconds, 0..86,400,000,000,000
     *                          ({@link #MAX_RESPONSE_TIME}); a difference of two
     *                          {@code System.nanoTime()} readings, never one reading
     * @param success           whether it succeeded
     * @throws NullPointerException     if {@code backend} is null
     * @throws IllegalArgumentException if the backend belongs to another balancer, or
     *                                  {@code responseTimeNanos} is negative or longer than
     *                                  {@link #MAX_RESPONSE_TIME} (nothing is released then)
     * @throws IllegalStateException    if the backend has no active connection to release
     */
    public void releaseConnection(Backend backend, long responseTimeNanos, boolean success) {
        checkOwned(backend);
        Releases.checkResponseNanos(responseTimeNanos);
        release(backend, defaultTokens, responseTimeNanos, success, ticker.read());
    }

    /**
     * Like {@link #releaseConnection(Backend, Duration, boolean)} for a connection acquired with
     * {@link #acquireConnection(Backend, Request)}: when the balancer
     * {@linkplain LoadBalancerBuilder#countTokens(long) counts tokens}, the request's tokens come off the
     * backend's tokens in flight.
     *
     * @param backend      the backend a connection was acquired on
     * @param request      the request it was acquired for
     * @param responseTime how long the request took, 0..{@link #MAX_RESPONSE_TIME}
     * @param success      whether it succeeded
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the backend belongs to another balancer, the time is
     *                                  negative or longer than {@link #MAX_RESPONSE_TIME}, or the
     *                                  backend has fewer tokens in flight than the request's
     *                                  (nothing is released then)
     * @throws IllegalStateException    if the backend has no active connection to release
     */
    public void releaseConnection(Backend backend, Request request, Duration responseTime, boolean success) {
        checkNotNull(backend, "backend");
        checkNotNull(request, "request");
        releaseConnection(backend, request, Releases.nanosOf(responseTime), success);
    }

    /**
     * Like {@link #releaseConnection(Backend, Request, Duration, boolean)} with the response time
     * in nanoseconds.
     *
     * @param backend           the backend a connection was acquired on
     * @param request           the request it was acquired for
     * @param responseTimeNanos how long the request took, in nanoseconds, 0..86,400,000,000,000
     *                          ({@link #MAX_RESPONSE_TIME})
     * @param success           whether it succeeded
     * @throws NullPointerException     if {@code backend} or {@code request} is null
     * @throws IllegalArgumentException if the backend belongs to another balancer,
     *                                  {@code responseTimeNanos} is negative or longer than
     *                                  {@link #MAX_RESPONSE_TIME}, or the backend has fewer tokens
     *                                  in flight than the request's (nothing is released then)
     * @throws IllegalStateException    if the backend has no active connection to release
     */
    public void releaseConnection(Backend backend, Request request, long responseTimeNanos, boolean success) {
        checkOwned(backend);
        checkNotNull(request, "request");
        Releases.checkResponseNanos(responseTimeNanos);
        release(backend, tokensOf(request), responseTimeNanos, success, ticker.read());
    }

    /**
     * The tokens a request counts for while in flight: its estimate, or the default for one
     * without. Meaningless (and ignored by the backends) when the balancer counts connections.
     */
    private long tokensOf(Request request) {
        return path.tokensOf(request);
    }

    /** See {@link Releases#leaseNanos}. */
    long leaseNanos(Backend backend, long elapsedNanos) {
        return releases.leaseNanos(backend, elapsedNanos);
    }

    /** See {@link Releases#release}; a lease's release, with the time it read. */
    void release(Backend backend, long tokens, long responseTimeNanos, boolean success, long now) {
        releases.release(backend, tokens, responseTimeNanos, success, now);
    }

    /** See {@link Releases#releaseCancelled}; a lease's release without an outcome. */
    void releaseCancelled(Backend backend, long tokens) {
        releases.releaseCancelled(backend, tokens);
    }

    private void checkOwned(Backend backend) {
        checkNotNull(backend, "backend");
        if (backend.owner != this) {
            throw new IllegalArgumentException("backend: " + backend + " (expected: a backend of this balancer)");
        }
    }

    // ---------------------------------------------------------------- health

    /**
     * Starts periodic health checking: every interval (with jitter) the configured
     * {@link dev.ailb.health.HealthCheck} runs for every registered backend, and ejections that are over end. The
     * first round starts within one jitter of now. Runs on the scheduler given to the builder, or
     * on a daemon thread named {@code ailb-health-N} that {@link #stopHealthChecker()} and
     * {@link #close()} stop. Without a configured check nothing is sent over the network: the
     * rounds only end ejections on time.
     *
     * @return {@code true} if this call started it, {@code false} if it was already running
     * @throws IllegalStateException if the balancer is closed
     */
    public boolean startHealthChecker() {
        checkOpen();
        return checker.start();
    }

    /**
     * Stops periodic health checking and the threads the balancer started for it; a scheduler given
     * to the builder is left running. Checks and polls under way are cancelled (their HTTP
     * connections closed) and their results ignored.
     * Health states stay as they are. The checker may be started again later.
     *
     * @return {@code true} if it was running
     */
    public boolean stopHealthChecker() {
        return checker.stop();
    }

    /**
     * Whether periodic health checking is running.
     *
     * @return {@code true} between {@link #startHealthChecker()} and {@link #stopHealthChecker()}
     */
    public boolean isHealthCheckerRunning() {
        return checker.isRunning();
    }

    /**
     * Runs one round of health checks now and returns when it has finished: every registered
     * backend has been checked (a check still running from a periodic round is waited for instead
     * of started twice), and its verdict counted toward the thresholds. A check that has not
     * answered within the timeout counts as failed. Ejections that are over end. Without a
     * configured check it only does the latter. The checks run on health checker threads, never
     * on the calling thread. Each check's timeout runs from the moment its call returned, so the
     * time the first calls in a JVM take to create the shared HTTP client is not held against the
     * backends.
     *
     * @throws IllegalStateException if the balancer is closed
     */
    public void performHealthChecks() {
        checkOpen();
        checker.runOnce();
    }

    /**
     * Polls the {@linkplain LoadBalancerBuilder#loadSource load source} for every registered backend now and
     * returns once each poll has ended: its report recorded as by
     * {@link #updateBackendResources(String, LoadReport)}, or its rejection logged. A poll with no
     * answer within the health check timeout counts as rejected. Polls run on health checker
     * threads, never on the calling thread; a poll of a backend still under way is waited for,
     * not started twice.
     *
     * @throws IllegalStateException if the balancer is closed or has no load source
     */
    public void pollLoadReports() {
        checkOpen();
        checker.pollOnce();
    }

    /**
     * Asks every registered backend's server now what it serves, by the
     * {@linkplain LoadBalancerBuilder#discoverModels model discovery}, and returns once each answer
     * has been applied (a changed answer becomes the backend's
     * {@linkplain Backend#learntProfile() learnt profile}) or rejected and logged. An answer not
     * given within the health check timeout counts as rejected. The questions run on health
     * checker threads, never on the calling thread.
     *
     * @throws IllegalStateException if the balancer is closed or has no model discovery
     */
    public void discoverModels() {
        checkOpen();
        checker.discoverOnce();
    }

    /** The current view, with ejections that are over ended first if the lock is free. */
    Registry readmitIfDue(Registry current) {
        return health.readmitIfDue(current);
    }

    // ---------------------------------------------------------------- stats

    /**
     * The figures of one registered backend (draining ones included).
     *
     * @param id the backend's id
     * @return the backend's figures as of this call
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if no backend has this id
     */
    public BackendStats getBackendStats(String id) {
        checkId(id, "id");
        Backend backend = table.current().lookup(id);
        readmitIfDue(table.current());
        return TrafficFigures.statsOf(backend, ticker.read());
    }

    /**
     * The overall figures and those of every registered backend.
     *
     * @return the figures as of this call
     */
    public LoadBalancerStats getAllStats() {
        long now = ticker.read();
        int boundSessions = sessions.boundSessions(now);
        readmitIfDue(table.current());
        long retriesRefused = retries.retriesRefused();
        long hedgesRefused = retries.hedgesRefused();
        AdmissionStats admitted = admission.stats();
        return figures.consistently(() -> figures.statsOf(table.current(), now, sessions, boundSessions,
                retriesRefused, hedgesRefused, admitted));
    }

    /**
     * The admission queue's figures alone, cheaper than {@link #getAllStats()}, which holds them
     * too: the requests waiting now, how the waits ended, and the rejections by reason.
     *
     * @return the figures as of this call; all zero on a balancer without limits or a queue
     */
    public AdmissionStats getAdmissionStats() {
        return admission.stats();
    }

    // ---------------------------------------------------------------- listeners

    /**
     * Registers a listener for backend and strategy changes. A listener added twice is called
     * twice.
     *
     * @param listener the listener to call on each change
     * @throws NullPointerException  if {@code listener} is null
     * @throws IllegalStateException if the balancer is closed
     */
    public void addListener(LoadBalancerListener listener) {
        checkNotNull(listener, "listener");
        checkOpen();
        listeners.add(listener);
    }

    /**
     * Unregisters one registration of a listener; returns whether it was registered. Allowed after
     * {@link #close()}, like every call that only lets go of something.
     *
     * @param listener the listener to unregister
     * @return {@code true} if it was registered (one registration is then removed)
     * @throws NullPointerException if {@code listener} is null
     */
    public boolean removeListener(LoadBalancerListener listener) {
        return listeners.remove(checkNotNull(listener, "listener"));
    }

    // ---------------------------------------------------------------- lifecycle

    /**
     * Closes the balancer. From now on everything that would route, change what routing sees or
     * start work is refused with {@link IllegalStateException} ({@code "load balancer is closed"})
     * and changes nothing: selections, acquisitions, leases and {@code execute}, new backends
     * ({@link #addBackends} and {@link #setBackends} included), {@link #setStrategy},
     * {@link #setWeight}, {@link #setBackendHealthy}, {@link #updateBackendResources},
     * {@link #addListener}, {@link #discover}, and starting health checks or load polls. A running
     * discovery source is closed first. What winds down stays
     * allowed: releases of connections still in flight are accepted and counted, drains still
     * complete, backends may still be removed ({@link #removeBackend}, and {@link #beginMaintenance}
     * or {@link #endMaintenance}), listeners removed, the health checker stopped, and stats and
     * backends stay readable. The health checker stops and the threads the balancer started end;
     * a scheduler given to the builder is left running. Idempotent.
     */
    @Override
    public void close() {
        table.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            table.unlock();
        }
        DiscoveryRun running = discovery;
        if (running != null) {
            running.close();
        }
        checker.close();
        admission.close();
        membership.close();
        async.close();
        log.info("{} - Load balancer closed", name);
    }

    /**
     * Whether {@link #close()} has been called.
     *
     * @return {@code true} once the balancer is closed
     */
    public boolean isClosed() {
        return closed;
    }

    /**
     * The balancer's name, set with {@link LoadBalancerBuilder#name} or {@code ailb-N} by default;
     * every log line about this balancer starts with it.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("load balancer is closed");
        }
    }

    @Override
    public String toString() {
        Registry current = table.current();
        return "LoadBalancer{name=" + name + ", strategy=" + current.strategy.name()
                + ", backends=" + current.all.size()
                + ", available=" + current.available.size() + (closed ? ", closed" : "") + '}';
    }

    /** Schedules a slow-start step on the membership's timers; see {@link Membership#schedule}. */
    private ScheduledFuture<?> scheduleTimer(Runnable task, long delayNanos) {
        return membership.schedule(task, delayNanos);
    }

    private record Context(Ticker ticker, RandomGenerator random) implements SelectionContext {}
}

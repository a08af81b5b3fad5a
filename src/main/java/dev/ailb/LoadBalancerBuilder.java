package dev.ailb;

import static dev.ailb.internal.Preconditions.checkBetween;
import static dev.ailb.internal.Preconditions.checkName;
import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkPositiveNanos;
import static dev.ailb.internal.Preconditions.checkRange;
import static dev.ailb.internal.Preconditions.requireUnset;

import dev.ailb.health.AllUnhealthyPolicy;
import dev.ailb.health.HealthCheck;
import dev.ailb.health.LoadSource;
import dev.ailb.health.ModelDiscovery;
import dev.ailb.health.OutlierDetection;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;

/**
 * Settings for a {@link LoadBalancer}, from {@link LoadBalancer#builder()}. Each setting may be
 * given once; a second call throws {@link IllegalStateException}. Not thread-safe; the balancer it
 * builds is.
 *
 * <pre>{@code
 * LoadBalancer lb = LoadBalancer.builder()
 *         .name("chat-fleet")
 *         .strategy(BalancingStrategy.LEAST_CONNECTIONS)
 *         .healthCheck(HealthCheck.http("/health"))
 *         .build();
 * }</pre>
 */
public final class LoadBalancerBuilder {
    static final Duration DEFAULT_DECAY = Duration.ofSeconds(10);
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);
    static final int DEFAULT_HEALTHY_THRESHOLD = 2;
    static final int DEFAULT_UNHEALTHY_THRESHOLD = 3;
    static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofMinutes(10);
    static final int DEFAULT_MAX_SESSIONS = 100_000;
    static final int DEFAULT_SATURATION_WAITING = 5;
    static final Duration DEFAULT_LOAD_POLL_INTERVAL = Duration.ofSeconds(1);
    static final double DEFAULT_SATURATION_KV_CACHE = 0.8;
    static final Duration DEFAULT_SATURATION_MAX_AGE = Duration.ofSeconds(30);
    static final Duration DEFAULT_SESSION_IDLE = Duration.ofMinutes(30);
    static final int DEFAULT_QUEUE_CAPACITY = 1_000;
    static final Duration DEFAULT_MAX_WAIT = Duration.ofSeconds(30);
    /** The largest admission queue: a million waiters, each holding its caller. */
    static final int MAX_QUEUE_CAPACITY = 1_000_000;
    private static final Duration SHORTEST = Duration.ofMillis(1);
    private static final Duration LONGEST = Duration.ofDays(1);

    private static final AtomicInteger UNNAMED = new AtomicInteger();

    private String name;
    private BalancingStrategy strategy;
    private Ticker ticker;
    private RandomGenerator random;
    private Duration responseTimeDecay;
    private HealthCheck healthCheck;
    private Duration healthCheckInterval;
    private Duration healthCheckTimeout;
    private Duration healthCheckJitter;
    private Integer healthyThreshold;
    private Integer unhealthyThreshold;
    private ScheduledExecutorService healthCheckScheduler;
    private ScheduledExecutorService callScheduler;
    private AttemptTracer.Factory attemptTracing;
    private Boolean initiallyHealthy;
    private OutlierDetection outlierDetection;
    private AllUnhealthyPolicy allUnhealthyPolicy;
    private Duration drainTimeout;
    private RetryPolicy retryPolicy;
    private SessionAffinity sessionAffinity;
    private Integer maxSessions;
    private Duration sessionIdleTimeout;
    private Long defaultTokens;
    private LoadSource loadSource;
    private ModelDiscovery discovery;
    private Duration discoveryInterval;
    private Duration loadPollInterval = DEFAULT_LOAD_POLL_INTERVAL;
    private Integer saturationWaiting;
    private double saturationKvCache;
    private Duration saturationMaxAge;
    private Integer connectionLimit;
    private Integer queueCapacity;
    private Duration maxWait;
    private SlowStart slowStart;

    LoadBalancerBuilder() {}

    /**
     * The balancer's name, which starts its log lines and shows in
     * {@link LoadBalancer#toString()} and in the {@code balancer} tag of its Micrometer meters, so
     * that the balancers of one application (one per model or per fleet, say) can be told apart;
     * default {@code ailb-N}, N counting from 1 the balancers built without a name in this class
     * loader.
     *
     * @param name a name of 1 to 64 characters among letters, digits, {@code .}, {@code _} and
     *             {@code -}
     * @return this builder
     * @throws NullPointerException     if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is empty, longer, or has another character
     * @throws IllegalStateException    if the name was already set
     */
    public LoadBalancerBuilder name(String name) {
        requireUnset(this.name, "name");
        this.name = checkName(name, "name");
        return this;
    }

    /**
     * The initial strategy; default {@link BalancingStrategy#ROUND_ROBIN}.
     *
     * @param strategy the initial strategy
     * @return this builder
     * @throws NullPointerException  if {@code strategy} is null
     * @throws IllegalStateException if the strategy was already set
     */
    public LoadBalancerBuilder strategy(BalancingStrategy strategy) {
        requireUnset(this.strategy, "strategy");
        this.strategy = checkNotNull(strategy, "strategy");
        return this;
    }

    /**
     * The source of time; default {@link Ticker#system()}.
     *
     * @param ticker the ticker
     * @return this builder
     * @throws NullPointerException  if {@code ticker} is null
     * @throws IllegalStateException if the ticker was already set
     */
    public LoadBalancerBuilder ticker(Ticker ticker) {
        requireUnset(this.ticker, "ticker");
        this.ticker = checkNotNull(ticker, "ticker");
        return this;
    }

    /**
     * The random source of the strategies that draw ({@code RANDOM}, {@code RESOURCE_BASED}, tie
     * breaks). It is shared by all selecting threads, so it must be thread-safe, e.g.
     * {@code new Random(seed)} for reproducible tests; default {@link java.util.concurrent.ThreadLocalRandom}.
     *
     * @param random the random source
     * @return this builder
     * @throws NullPointerException  if {@code random} is null
     * @throws IllegalStateException if the random source was already set
     */
    public LoadBalancerBuilder random(RandomGenerator random) {
        requireUnset(this.random, "random");
        this.random = checkNotNull(random, "random");
        return this;
    }

    /**
     * How fast the response-time average forgets: after this long without a slower answer,
     * an old measurement keeps about 37% (1/e) of its weight; default 10 seconds.
     *
     * <p>Make it several times the typical response time. An average fades between a
     * backend's answers, so with a decay shorter than the answers a slow backend looks faster
     * than it is: on simulated LLM fleets (answers of seconds to a minute),
     * {@link BalancingStrategy#LEAST_RESPONSE_TIME} had 1.6 times the p99 of a
     * join-the-shortest-queue oracle with one instance degraded under the default, and 0.9
     * times with 60 seconds.
     *
     * @param decay the decay time, > 0 and at most {@code Duration.ofNanos(Long.MAX_VALUE)}
     * @return this builder
     * @throws NullPointerException     if {@code decay} is null
     * @throws IllegalArgumentException if {@code decay} is zero, negative or too long to count
     *                                  in nanoseconds
     * @throws IllegalStateException    if the decay was already set
     */
    public LoadBalancerBuilder responseTimeDecay(Duration decay) {
        requireUnset(this.responseTimeDecay, "responseTimeDecay");
        this.responseTimeDecay = checkPositiveNanos(decay, "responseTimeDecay");
        return this;
    }

    /**
     * The active health check run for every backend by {@link LoadBalancer#startHealthChecker()}
     * and {@link LoadBalancer#performHealthChecks()}, e.g. {@link HealthCheck#http(String)};
     * default none, and then nothing is ever sent over the network.
     *
     * @param check the check
     * @return this builder
     * @throws NullPointerException  if {@code check} is null
     * @throws IllegalStateException if the check was already set
     */
    public LoadBalancerBuilder healthCheck(HealthCheck check) {
        requireUnset(this.healthCheck, "healthCheck");
        this.healthCheck = checkNotNull(check, "healthCheck");
        return this;
    }

    /**
     * The mean time between two rounds of periodic health checks; default 5 seconds.
     *
     * @param interval the interval, 1 ms..1 day
     * @return this builder
     * @throws NullPointerException     if {@code interval} is null
     * @throws IllegalArgumentException if {@code interval} is out of range
     * @throws IllegalStateException    if the interval was already set
     */
    public LoadBalancerBuilder healthCheckInterval(Duration interval) {
        requireUnset(this.healthCheckInterval, "healthCheckInterval");
        this.healthCheckInterval = checkBetween(interval, SHORTEST, LONGEST, "healthCheckInterval");
        return this;
    }

    /**
     * How long one check may take before it counts as failed; default 2 seconds. It may exceed
     * the interval: a backend whose check is still running is not checked again until it ends.
     *
     * @param timeout the timeout, 1 ms..1 day
     * @return this builder
     * @throws NullPointerException     if {@code timeout} is null
     * @throws IllegalArgumentException if {@code timeout} is out of range
     * @throws IllegalStateException    if the timeout was already set
     */
    public LoadBalancerBuilder healthCheckTimeout(Duration timeout) {
        requireUnset(this.healthCheckTimeout, "healthCheckTimeout");
        this.healthCheckTimeout = checkBetween(timeout, SHORTEST, LONGEST, "healthCheckTimeout");
        return this;
    }

    /**
     * How far the time between two rounds may stray from the interval: each wait is drawn
     * uniformly from {@code interval - jitter} to {@code interval + jitter}, and the first round
     * starts within {@code jitter} of {@link LoadBalancer#startHealthChecker()}, so that the
     * checks of many balancers started together do not stay in step. Default a tenth of the
     * interval.
     *
     * @param jitter the jitter, zero or more and less than the interval
     * @return this builder
     * @throws NullPointerException     if {@code jitter} is null
     * @throws IllegalArgumentException if {@code jitter} is negative or at least one day
     * @throws IllegalStateException    if the jitter was already set; {@link #build()} throws
     *                                  {@link IllegalArgumentException} if it is not below the
     *                                  interval
     */
    public LoadBalancerBuilder healthCheckJitter(Duration jitter) {
        requireUnset(this.healthCheckJitter, "healthCheckJitter");
        this.healthCheckJitter = checkBetween(jitter, Duration.ZERO, LONGEST, "healthCheckJitter");
        return this;
    }

    /**
     * Passing checks in a row that bring an unhealthy backend back (rise); default 2, as
     * HAProxy's.
     *
     * @param checks the threshold, 1..1000
     * @return this builder
     * @throws IllegalArgumentException if {@code checks} is out of range
     * @throws IllegalStateException    if the threshold was already set
     */
    public LoadBalancerBuilder healthyThreshold(int checks) {
        requireUnset(this.healthyThreshold, "healthyThreshold");
        this.healthyThreshold = checkRange(checks, 1, 1000, "healthyThreshold");
        return this;
    }

    /**
     * Failing checks in a row that take a healthy backend down (fall); default 3, as HAProxy's.
     *
     * @param checks the threshold, 1..1000
     * @return this builder
     * @throws IllegalArgumentException if {@code checks} is out of range
     * @throws IllegalStateException    if the threshold was already set
     */
    public LoadBalancerBuilder unhealthyThreshold(int checks) {
        requireUnset(this.unhealthyThreshold, "unhealthyThreshold");
        this.unhealthyThreshold = checkRange(checks, 1, 1000, "unhealthyThreshold");
        return this;
    }

    /**
     * A scheduler of yours to run the health checker and the drain timeouts on. The balancer
     * schedules its rounds, check timeouts and drain timeouts on it and never shuts it down;
     * default a daemon thread of the balancer's own, started by
     * {@link LoadBalancer#startHealthChecker()} and stopped by {@link LoadBalancer#stopHealthChecker()}
     * or {@link LoadBalancer#close()}.
     *
     * @param scheduler the scheduler
     * @return this builder
     * @throws NullPointerException  if {@code scheduler} is null
     * @throws IllegalStateException if the scheduler was already set
     */
    public LoadBalancerBuilder healthCheckScheduler(ScheduledExecutorService scheduler) {
        requireUnset(this.healthCheckScheduler, "healthCheckScheduler");
        this.healthCheckScheduler = checkNotNull(scheduler, "healthCheckScheduler");
        return this;
    }

    /**
     * Whether a new backend takes requests at once ({@code true}, the default) or only once a
     * health check has passed ({@code false}). With {@code false}, its first passing check
     * brings it up, however many it failed before: an instance still loading its model fails
     * its checks until it is ready, and has no flapping to guard against yet. (Envoy asks for
     * the full healthy threshold once a new host's first check has failed.) Once up, it goes
     * down and comes back by the thresholds. With {@code false} and no health checks running,
     * backends stay unhealthy until marked healthy by hand. An unhealthy backend is skipped only
     * while another is healthy: under the default {@link AllUnhealthyPolicy#FAIL_OPEN}, a fleet
     * whose backends are all still unchecked gets its requests spread across all of them.
     *
     * @param healthy whether new backends start healthy
     * @return this builder
     * @throws IllegalStateException if it was already set
     */
    public LoadBalancerBuilder initiallyHealthy(boolean healthy) {
        requireUnset(this.initiallyHealthy, "initiallyHealthy");
        this.initiallyHealthy = healthy;
        return this;
    }

    /**
     * Passive health checking from request outcomes; default {@link OutlierDetection#defaults()},
     * turned off with {@link OutlierDetection#disabled()}.
     *
     * @param settings the outlier detection settings
     * @return this builder
     * @throws NullPointerException  if {@code settings} is null
     * @throws IllegalStateException if it was already set
     */
    public LoadBalancerBuilder outlierDetection(OutlierDetection settings) {
        requireUnset(this.outlierDetection, "outlierDetection");
        this.outlierDetection = checkNotNull(settings, "outlierDetection");
        return this;
    }

    /**
     * What selection does when backends are registered but none is healthy; default
     * {@link AllUnhealthyPolicy#FAIL_OPEN} (see there why).
     *
     * @param policy the policy
     * @return this builder
     * @throws NullPointerException  if {@code policy} is null
     * @throws IllegalStateException if it was already set
     */
    public LoadBalancerBuilder allUnhealthyPolicy(AllUnhealthyPolicy policy) {
        requireUnset(this.allUnhealthyPolicy, "allUnhealthyPolicy");
        this.allUnhealthyPolicy = checkNotNull(policy, "allUnhealthyPolicy");
        return this;
    }

    /**
     * How long a removed backend may take to finish its in-flight requests before it is removed
     * anyway; default 10 minutes, long enough for slow generations. Its later releases are
     * still accepted and counted.
     *
     * @param timeout the drain timeout, 1 ms..1 day
     * @return this builder
     * @throws NullPointerException     if {@code timeout} is null
     * @throws IllegalArgumentException if {@code timeout} is out of range
     * @throws IllegalStateException    if the timeout was already set
     */
    public LoadBalancerBuilder drainTimeout(Duration timeout) {
        requireUnset(this.drainTimeout, "drainTimeout");
        this.drainTimeout = checkBetween(timeout, SHORTEST, LONGEST, "drainTimeout");
        return this;
    }

    /**
     * How sessions stick to backends; default {@link SessionAffinity#TABLE} (see there which to
     * choose).
     *
     * @param affinity the session affinity
     * @return this builder
     * @throws NullPointerException  if {@code affinity} is null
     * @throws IllegalStateException if it was already set
     */
    public LoadBalancerBuilder sessionAffinity(SessionAffinity affinity) {
        requireUnset(this.sessionAffinity, "sessionAffinity");
        this.sessionAffinity = checkNotNull(affinity, "sessionAffinity");
        return this;
    }

    /**
     * The most sessions the table remembers; beyond it the least recently used one is
     * forgotten (its next request is placed afresh). Default 100,000. Each session retains
     * about 134 bytes plus its id's characters (one byte each in Latin-1, two beyond), as measured
     * with JOL: 100,000 sessions with 36-character ids hold about 17 MB, with ids of the longest
     * allowed length (256 characters) about 39 MB, or 64 MB beyond Latin-1. Used by
     * {@link SessionAffinity#TABLE} only; {@link SessionAffinity#CONSISTENT_HASH} keeps no table.
     *
     * @param max the bound, 1..10,000,000
     * @return this builder
     * @throws IllegalArgumentException if {@code max} is out of range
     * @throws IllegalStateException    if it was already set
     */
    public LoadBalancerBuilder maxSessions(int max) {
        requireUnset(this.maxSessions, "maxSessions");
        this.maxSessions = checkRange(max, 1, 10_000_000, "maxSessions");
        return this;
    }

    /**
     * How long a session is remembered after its last request; default 30 minutes. Used by
     * {@link SessionAffinity#TABLE} only.
     *
     * @param timeout the idle timeout, 1 ms..1 day
     * @return this builder
     * @throws NullPointerException     if {@code timeout} is null
     * @throws IllegalArgumentException if {@code timeout} is out of range
     * @throws IllegalStateException    if it was already set
     */
    public LoadBalancerBuilder sessionIdleTimeout(Duration timeout) {
        requireUnset(this.sessionIdleTimeout, "sessionIdleTimeout");
        this.sessionIdleTimeout = checkBetween(timeout, SHORTEST, LONGEST, "sessionIdleTimeout");
        return this;
    }

    /**
     * Counts the tokens of the requests in flight on each backend instead of their number:
     * {@link BalancingStrategy#LEAST_CONNECTIONS} then picks the backend with the fewest tokens
     * in flight per unit of weight, and {@link BalancingStrategy#RESOURCE_BASED} scores the
     * load in tokens. A request counts its {@linkplain Request#estimatedTokens() estimate}
     * (prompt and expected output), or {@code defaultTokens} if it has none; so does a
     * connection acquired without a request. By default the balancer counts connections, and
     * estimates are ignored.
     *
     * <p>An LLM request may hold its instance for 50 ms or for a minute, depending mostly on
     * its tokens; counted in tokens, ten short requests no longer weigh as much as ten long
     * ones. Release each connection with the request it was acquired for (a {@link Lease}
     * does so by itself), so that the same tokens come off again.
     *
     * @param defaultTokens the tokens of a request without an estimate, also the unit in
     *                             which the load is scored, 1..{@link Request#MAX_TOKENS}
     * @return this builder
     * @throws IllegalArgumentException if {@code defaultTokens} is out of range
     * @throws IllegalStateException    if it was already set
     */
    public LoadBalancerBuilder countTokens(long defaultTokens) {
        requireUnset(this.defaultTokens, "countTokens");
        if (defaultTokens < 1 || defaultTokens > Request.MAX_TOKENS) {
            throw new IllegalArgumentException("defaultTokens: " + defaultTokens
                    + " (expected: 1.." + Request.MAX_TOKENS + ")");
        }
        this.defaultTokens = defaultTokens;
        return this;
    }

    /**
     * When {@link LoadBalancer#isSaturated()} calls a backend saturated: its last report is at
     * most {@code maxReportAge} old and shows at least {@code waitingRequests} requests
     * queued, or a KV cache used to at least {@code kvCacheUsage}. Defaults: 5 waiting
     * requests, 0.8, 30 seconds.
     *
     * @param waitingRequests the queue length from which a backend is saturated, >= 1
     * @param kvCacheUsage    the KV-cache usage from which a backend is saturated, in (0, 1]
     * @param maxReportAge    how long a report is trusted, 1 ms..1 day
     * @return this builder
     * @throws NullPointerException     if {@code maxReportAge} is null
     * @throws IllegalArgumentException naming a value out of range
     * @throws IllegalStateException    if it was already set
     */
    public LoadBalancerBuilder saturation(int waitingRequests, double kvCacheUsage, Duration maxReportAge) {
        requireUnset(this.saturationWaiting, "saturation");
        checkSaturationWaiting(waitingRequests);
        checkSaturationKvCache(kvCacheUsage);
        Duration age = checkSaturationMaxAge(maxReportAge);
        this.saturationWaiting = waitingRequests;
        this.saturationKvCache = kvCacheUsage;
        this.saturationMaxAge = age;
        return this;
    }

    // The checks of saturation(...) one value at a time, so that fromProperties can name the
    // property of the value refused.
    static int checkSaturationWaiting(int waitingRequests) {
        return checkRange(waitingRequests, 1, Integer.MAX_VALUE, "waitingRequests");
    }

    static double checkSaturationKvCache(double kvCacheUsage) {
        if (!(kvCacheUsage > 0.0 && kvCacheUsage <= 1.0)) {
            throw new IllegalArgumentException("kvCacheUsage: " + kvCacheUsage + " (expected: > 0.0 and <= 1.0)");
        }
        return kvCacheUsage;
    }

    static Duration checkSaturationMaxAge(Duration maxReportAge) {
        return checkBetween(maxReportAge, SHORTEST, LONGEST, "maxReportAge");
    }

    /**
     * Where to read the backends' load reports, and how often: while the health checker runs
     * ({@link LoadBalancer#startHealthChecker()}), every registered backend is polled every
     * {@code pollInterval} on the health checker's scheduler and threads, with its timeout,
     * and a good report is recorded as by
     * {@link LoadBalancer#updateBackendResources(String, LoadReport)}. A rejected poll is
     * logged and leaves the last good report to age out. {@link LoadBalancer#pollLoadReports()}
     * polls on demand. By default there is none.
     *
     * @param source       the source, for instance {@code PrometheusLoadSource.vllm()}
     * @param pollInterval time between two polls of a backend, 1 ms..1 day
     * @return this builder
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code pollInterval} is out of range
     * @throws IllegalStateException    if it was already set
     */
    public LoadBalancerBuilder loadSource(LoadSource source, Duration pollInterval) {
        requireUnset(this.loadSource, "loadSource");
        checkNotNull(source, "source");
        this.loadPollInterval = checkBetween(pollInterval, SHORTEST, LONGEST, "pollInterval");
        this.loadSource = source;
        return this;
    }

    /**
     * A scheduler of yours to run the deadlines and hedges of {@link LoadBalancer#executeAsync}
     * on: each timer is a one-shot task, cancelled when it is no longer needed, and hedges and
     * retries after a missed first token start on its thread. The balancer never shuts it down.
     * By default a daemon thread of the balancer's own, {@code ailb-call-timer-N}, started by the
     * first call that needs a timer and ended a minute after it was last busy, or once the timers
     * already set have fired after {@link LoadBalancer#close()}.
     *
     * @param scheduler the scheduler
     * @return this builder
     * @throws NullPointerException  if {@code scheduler} is null
     * @throws IllegalStateException if the scheduler was already set
     */
    public LoadBalancerBuilder callScheduler(ScheduledExecutorService scheduler) {
        requireUnset(this.callScheduler, "callScheduler");
        this.callScheduler = checkNotNull(scheduler, "callScheduler");
        return this;
    }

    /**
     * Traces every attempt: {@code factory} makes one {@link AttemptTracer} per attempt when it has
     * its backend, with the attempt's {@link RoutingDecision}, and the balancer tells the tracer
     * once when the attempt's lease is released. {@code dev.ailb.micrometer.ObservationAttemptTracing}
     * turns each attempt into a Micrometer Observation, and so into a span where tracing is bridged.
     * By default no attempt is traced, and routing builds no record for a tracer.
     *
     * @param factory the factory of the tracers
     * @return this builder
     * @throws NullPointerException  if {@code factory} is null
     * @throws IllegalStateException if it was already set
     */
    public LoadBalancerBuilder attemptTracing(AttemptTracer.Factory factory) {
        requireUnset(this.attemptTracing, "attemptTracing");
        this.attemptTracing = checkNotNull(factory, "factory");
        return this;
    }

    /**
     * Asks each backend's server which models and LoRA adapters it serves, and how often: while
     * the health checker runs ({@link LoadBalancer#startHealthChecker()}), every registered backend
     * is asked every {@code interval} on the health checker's scheduler and threads, with its
     * timeout, and a good answer becomes the backend's {@linkplain Backend#learntProfile() learnt
     * profile}: requests naming a model go to backends that serve it as declared or as learnt. A
     * rejected answer is logged and the backend keeps what it learnt before.
     * {@link LoadBalancer#discoverModels()} asks on demand. By default nobody is asked.
     *
     * @param discovery where to ask, for instance {@code ModelDiscovery.openAi()}
     * @param interval  time between two questions to a backend, 1 ms..1 day
     * @return this builder
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code interval} is out of range
     * @throws IllegalStateException    if it was already set
     */
    public LoadBalancerBuilder discoverModels(ModelDiscovery discovery, Duration interval) {
        requireUnset(this.discovery, "discoverModels");
        checkNotNull(discovery, "discovery");
        this.discoveryInterval = checkBetween(interval, SHORTEST, LONGEST, "interval");
        this.discovery = discovery;
        return this;
    }

    /**
     * How {@link LoadBalancer#execute} and {@link LoadBalancer#executeAsync} retry, and how much
     * the latter may hedge; default {@link RetryPolicy#defaults()}.
     *
     * @param policy the retry policy
     * @return this builder
     * @throws NullPointerException  if {@code policy} is null
     * @throws IllegalStateException if it was already set
     */
    public LoadBalancerBuilder retryPolicy(RetryPolicy policy) {
        requireUnset(this.retryPolicy, "retryPolicy");
        this.retryPolicy = checkNotNull(policy, "retryPolicy");
        return this;
    }

    /**
     * The most connections each backend takes at once, as HAProxy's {@code maxconn}; default none.
     * A backend at its limit takes no new request: the strategy's pick gives way to the least
     * loaded backend with room, and when no backend has room the fleet is full and requests wait
     * in the {@linkplain #admissionQueue admission queue}. Setting it also makes a backend
     * {@linkplain LoadBalancer#isSaturated(Backend) saturated} by its load report count as full.
     * {@link LoadBalancer#setConnectionLimit} changes one backend's limit at runtime. See the
     * admission guide ({@code admission.md}).
     *
     * @param perBackend the limit, 1..{@link LoadBalancer#NO_CONNECTION_LIMIT} (which is no limit,
     *                   though saturated backends still count as full)
     * @return this builder
     * @throws IllegalArgumentException if {@code perBackend} is out of range
     * @throws IllegalStateException    if it was already set
     */
    public LoadBalancerBuilder connectionLimit(int perBackend) {
        requireUnset(this.connectionLimit, "connectionLimit");
        this.connectionLimit = checkRange(perBackend, 1, LoadBalancer.NO_CONNECTION_LIMIT, "perBackend");
        return this;
    }

    /**
     * The queue where requests wait while the fleet is full; default 1,000 requests waiting at
     * most 30 seconds each, once a {@linkplain #connectionLimit connection limit} is set. Setting it
     * makes backends saturated by their load reports count as full even without a limit. Requests
     * wait by priority ({@link Priority}), the freed room shared in turn between the tenants
     * waiting; a {@link Priority#SHEDDABLE} request is refused rather than queued, and when the
     * queue is full a {@link Priority#CRITICAL} arrival takes the place of the newest
     * {@link Priority#STANDARD} waiter. See {@link LoadBalancer#acquireAsync(Request)}.
     *
     * @param capacity how many requests may wait, 0..1,000,000; 0 refuses at once when full
     * @param maxWait  how long a request waits at most, 0..1 day, unless its call gives its own
     * @return this builder
     * @throws NullPointerException     if {@code maxWait} is null
     * @throws IllegalArgumentException if a value is out of range
     * @throws IllegalStateException    if it was already set
     */
    public LoadBalancerBuilder admissionQueue(int capacity, Duration maxWait) {
        requireUnset(this.queueCapacity, "admissionQueue");
        checkRange(capacity, 0, MAX_QUEUE_CAPACITY, "capacity");
        Duration wait = checkMaxWait(maxWait, "maxWait");
        this.queueCapacity = capacity;
        this.maxWait = wait;
        return this;
    }

    /**
     * Slow start: a backend that joins while the others serve traffic, or comes back after being
     * unhealthy, ejected or in maintenance, ramps from a tenth of its weight to all of it over
     * {@code window}, linearly; see {@link SlowStart} for the curve, the strategies it applies to
     * and when a backend ramps. Off by default.
     *
     * @param window how long a ramp lasts, 1 s..1 day
     * @return this builder
     * @throws NullPointerException     if {@code window} is null
     * @throws IllegalArgumentException if {@code window} is out of range
     * @throws IllegalStateException    if slow start was already set
     */
    public LoadBalancerBuilder slowStart(Duration window) {
        requireUnset(this.slowStart, "slowStart");
        this.slowStart = SlowStart.of(window);
        return this;
    }

    /**
     * Slow start with its curve and floor: see {@link SlowStart}. Off by default.
     *
     * <pre>{@code
     * LoadBalancer.builder()
     *         .strategy(BalancingStrategy.LEAST_CONNECTIONS)
     *         .slowStart(SlowStart.of(Duration.ofMinutes(2)).withAggression(2.0))
     *         .build();
     * }</pre>
     *
     * @param settings the window, aggression and floor of the ramps
     * @return this builder
     * @throws NullPointerException  if {@code settings} is null
     * @throws IllegalStateException if slow start was already set
     */
    public LoadBalancerBuilder slowStart(SlowStart settings) {
        requireUnset(this.slowStart, "slowStart");
        this.slowStart = checkNotNull(settings, "slowStart");
        return this;
    }

    /** Checks a longest wait in the admission queue: 0..1 day. */
    static Duration checkMaxWait(Duration maxWait, String name) {
        return checkBetween(maxWait, Duration.ZERO, LONGEST, name);
    }

    /**
     * Builds the balancer. The builder may be used again afterwards.
     *
     * @return a new balancer with these settings
     * @throws IllegalArgumentException if the health check jitter is not below the interval
     */
    public LoadBalancer build() {
        return LoadBalancer.withSettings(settings());
    }

    /** The check of {@link #build()} that spans two settings, also run by fromProperties to name the jitter. */
    void checkJitterBelowInterval() {
        Duration interval = healthCheckInterval != null ? healthCheckInterval : DEFAULT_INTERVAL;
        if (healthCheckJitter != null && healthCheckJitter.compareTo(interval) >= 0) {
            throw new IllegalArgumentException("healthCheckJitter: " + healthCheckJitter
                    + " (expected: < healthCheckInterval " + interval + ")");
        }
    }

    /** Every setting with its default filled in, checked across settings. */
    BalancerSettings settings() {
        checkJitterBelowInterval();
        Duration interval = healthCheckInterval != null ? healthCheckInterval : DEFAULT_INTERVAL;
        boolean saturationSet = saturationWaiting != null;
        return new BalancerSettings(
                name != null ? name : "ailb-" + UNNAMED.incrementAndGet(),
                strategy != null ? strategy : BalancingStrategy.ROUND_ROBIN,
                ticker != null ? ticker : Ticker.system(),
                random != null ? random : ThreadLocalRandomSource.INSTANCE,
                (responseTimeDecay != null ? responseTimeDecay : DEFAULT_DECAY).toNanos(),
                defaultTokens != null ? defaultTokens : 0L,
                new BalancerSettings.Saturation(
                        saturationSet ? saturationWaiting : DEFAULT_SATURATION_WAITING,
                        saturationSet ? saturationKvCache : DEFAULT_SATURATION_KV_CACHE,
                        (saturationSet ? saturationMaxAge : DEFAULT_SATURATION_MAX_AGE).toNanos()),
                allUnhealthyPolicy != null ? allUnhealthyPolicy : AllUnhealthyPolicy.FAIL_OPEN,
                new BalancerSettings.Health(
                        healthCheck,
                        interval,
                        healthCheckTimeout != null ? healthCheckTimeout : DEFAULT_TIMEOUT,
                        healthCheckJitter != null ? healthCheckJitter : interval.dividedBy(10),
                        healthyThreshold != null ? healthyThreshold : DEFAULT_HEALTHY_THRESHOLD,
                        unhealthyThreshold != null ? unhealthyThreshold : DEFAULT_UNHEALTHY_THRESHOLD,
                        healthCheckScheduler,
                        initiallyHealthy == null || initiallyHealthy,
                        outlierDetection != null ? outlierDetection : OutlierDetection.defaults(),
                        loadSource,
                        loadPollInterval,
                        discovery,
                        discoveryInterval),
                (drainTimeout != null ? drainTimeout : DEFAULT_DRAIN_TIMEOUT).toNanos(),
                sessionAffinity != null ? sessionAffinity : SessionAffinity.TABLE,
                maxSessions != null ? maxSessions : DEFAULT_MAX_SESSIONS,
                (sessionIdleTimeout != null ? sessionIdleTimeout : DEFAULT_SESSION_IDLE).toNanos(),
                retryPolicy != null ? retryPolicy : RetryPolicy.defaults(),
                callScheduler,
                new BalancerSettings.Admission(
                        connectionLimit != null ? connectionLimit : LoadBalancer.NO_CONNECTION_LIMIT,
                        connectionLimit != null || queueCapacity != null,
                        queueCapacity != null ? queueCapacity : DEFAULT_QUEUE_CAPACITY,
                        (maxWait != null ? maxWait : DEFAULT_MAX_WAIT).toNanos()),
                attemptTracing,
                slowStart);
    }
}

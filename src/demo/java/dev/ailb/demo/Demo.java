package dev.ailb.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ailb.Backend;
import dev.ailb.BackendStats;
import dev.ailb.BalancingStrategy;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerListener;
import dev.ailb.LoadBalancerMetrics;
import dev.ailb.LoadBalancerStats;
import dev.ailb.NoAvailableBackendException;
import dev.ailb.Request;
import dev.ailb.health.HealthCheck;
import dev.ailb.health.HealthState;
import dev.ailb.health.OutlierDetection;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.ToLongFunction;

/**
 * Runs a fleet of six simulated AI inference instances on loopback and sends real HTTP requests
 * to them through a {@link LoadBalancer}, once per built-in strategy, then prints what each
 * instance served and how fast. A last run shows health checking: while requests flow, one instance
 * is stopped, marked down and bypassed, then restarted on the same port, marked up and used again.
 * A short drain run then removes one instance gracefully while requests flow: it takes no new
 * request from the moment {@link LoadBalancer#removeBackend} returns, its requests in flight finish
 * and succeed, and it leaves the balancer when the last is released.
 *
 * <pre>
 * mvn -B -q -Pdemo test-compile exec:java
 * mvn -B -q -Pdemo test-compile exec:java -Ddemo.args="--requests 3000 --threads 16"
 * </pre>
 *
 * <p>The instances are {@link HttpServer}s bound to {@code 127.0.0.1} on ephemeral ports. Each
 * answers {@code /v1/completions} after a log-normal service time around its own mean; the time of
 * a request depends only on the instance and the request id, so runs with the same arguments are
 * comparable. One instance fails a small fraction of requests with HTTP 503. Each answers
 * {@code GET /health} with 200 at once, and every balancer checks that endpoint on a short
 * interval (see {@link #healthTiming(double)}). The client addresses of the requests are labels
 * for {@link BalancingStrategy#IP_HASH} and are never contacted.
 *
 * <p>Every thread the demo starts is a daemon whose name begins with {@link #THREAD_PREFIX}; all of
 * them have ended, as have the balancers' health checker threads ({@link #HEALTH_THREAD_PREFIX}),
 * and every port is closed, when {@link #run} returns. The threads left are the JDK HTTP clients'
 * selector threads ({@code HttpClient-N-SelectorManager}, daemons), the demo's own and one per
 * balancer's health checker: Java 17 offers no way to close an {@link HttpClient}, and such a
 * thread ends by itself once its client has been garbage collected.
 */
public final class Demo {

    /** The prefix of the name of every thread the demo starts. */
    public static final String THREAD_PREFIX = "demo-";

    /** Requests per strategy when {@code --requests} is not given. */
    public static final int DEFAULT_REQUESTS = 1_500;

    /** Client threads when {@code --threads} is not given. */
    public static final int DEFAULT_THREADS = 8;

    /** The strategies the demo runs, in order. */
    public static final List<BalancingStrategy> STRATEGIES = BalancingStrategy.builtIns();

    /** The ids, kinds and behaviour of the simulated instances, in registration order. */
    static final List<InstanceSpec> FLEET = List.of(
            new InstanceSpec("instance-1", "normal", 20.0, 1, 0.00, 0.55, 0.60),
            new InstanceSpec("instance-2", "normal", 20.0, 1, 0.00, 0.50, 0.55),
            new InstanceSpec("instance-3", "normal", 20.0, 1, 0.00, 0.60, 0.50),
            new InstanceSpec("instance-4", "flaky", 20.0, 1, 0.02, 0.45, 0.65),
            new InstanceSpec("instance-5", "fast", 8.0, 2, 0.00, 0.30, 0.40),
            new InstanceSpec("instance-6", "slow", 80.0, 1, 0.00, 0.92, 0.85));

    /** The instance the health scenario stops and restarts. */
    static final String HEALTH_VICTIM = "instance-3";

    /** The strategy of the health scenario: with round robin the share that moves is easy to read. */
    static final BalancingStrategy HEALTH_STRATEGY = BalancingStrategy.ROUND_ROBIN;

    /** The instance the drain scenario removes while requests flow to it. */
    static final String DRAIN_VICTIM = "instance-2";

    /** The strategy of the drain scenario: it spreads the requests in flight over every instance. */
    static final BalancingStrategy DRAIN_STRATEGY = BalancingStrategy.LEAST_CONNECTIONS;

    /** The phases of the drain scenario, in order. */
    static final List<String> DRAIN_PHASES = List.of("before", "draining", "after");

    /** The phases of the health scenario, in order. */
    static final List<String> HEALTH_PHASES = List.of("before", "failing", "down", "rising", "back");

    /** The prefix of the name of every thread a balancer starts for its health checker. */
    static final String HEALTH_THREAD_PREFIX = "ailb-health";

    /** Passing checks in a row that bring an instance back (rise). */
    static final int HEALTHY_THRESHOLD = 2;
    /** Failing checks in a row that take an instance down (fall). */
    static final int UNHEALTHY_THRESHOLD = 3;
    /** Failed requests in a row after which outlier detection ejects an instance. */
    static final int EJECTION_FAILURES = 5;

    static final String PATH = "/v1/completions";
    static final String HEALTH_PATH = "/health";
    private static final String LOOPBACK = "127.0.0.1";
    private static final String NODELAY_PROPERTY = "sun.net.httpserver.nodelay";
    private static final long SEED = 0x5EED_A11BL;
    private static final int CLIENT_ADDRESSES = 200;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(5);
    /** Spread of the log-normal service time (sigma of the underlying normal). */
    private static final double SERVICE_SIGMA = 0.45;
    /** Service times are capped at this multiple of the instance's mean. */
    private static final double SERVICE_CAP = 6.0;
    /** The health check interval at time scale 1 and below; it grows with slower service times. */
    private static final Duration HEALTH_INTERVAL = Duration.ofMillis(150);
    /** Server threads per instance beyond one per client thread, so a probe never waits for a request. */
    private static final int PROBE_THREADS = 2;
    /** The longest the health scenario waits for one state, on top of 20 check intervals. */
    private static final Duration STATE_WAIT = Duration.ofSeconds(10);
    /** How long the health scenario parks between two looks at the state it waits for. */
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /** The drain scenario removes its instance while one of its requests has at least this to go. */
    private static final Duration DRAIN_MARGIN = Duration.ofMillis(3);
    /** How long a restarted instance keeps trying to bind its old port. */
    private static final Duration REBIND_TIMEOUT = Duration.ofSeconds(5);

    private Demo() {}

    /**
     * One simulated instance.
     *
     * @param id          backend id
     * @param kind        a label for the table
     * @param meanMillis  mean service time in milliseconds, before scaling
     * @param weight      backend weight
     * @param failureRate fraction of requests answered with HTTP 503
     * @param cpu         CPU utilisation reported for {@code RESOURCE_BASED}
     * @param memory      memory utilisation reported for {@code RESOURCE_BASED}
     */
    record InstanceSpec(String id, String kind, double meanMillis, int weight, double failureRate,
                        double cpu, double memory) {}

    /** Parsed command-line options. */
    record Options(int requests, int threads, double timeScale) {}

    /**
     * How the balancers check health.
     *
     * @param interval time between two rounds of checks
     * @param timeout  how long one check may take, below the interval
     * @param ejection how long a first ejection by outlier detection lasts
     */
    record HealthTiming(Duration interval, Duration timeout, Duration ejection) {}

    /**
     * What {@link #run} measured.
     *
     * @param strategies the final stats of each strategy's balancer, by strategy name, in run order
     * @param health     what the health scenario saw
     * @param drain      what the drain scenario saw
     */
    public record Report(Map<String, LoadBalancerStats> strategies, HealthReport health, DrainReport drain) {}

    /**
     * One health state change, as a balancer's listener heard it.
     *
     * @param atNanos  when, counted from the start of the run of that balancer
     * @param backend  the backend's id
     * @param previous its state before
     * @param current  its state after
     * @param reason   why, as the balancer put it
     */
    public record HealthEvent(long atNanos, String backend, HealthState previous, HealthState current,
                              String reason) {}

    /**
     * One phase of the health scenario: the balancer's stats as it began and as it ended.
     *
     * @param name      one of {@link #HEALTH_PHASES}
     * @param wallNanos how long it lasted
     * @param start     the stats as it began
     * @param end       the stats as it ended
     */
    public record Phase(String name, long wallNanos, LoadBalancerStats start, LoadBalancerStats end) {

        /** Requests routed to the backend during the phase. */
        public long routed(String id) {
            return delta(id, BackendStats::totalRequests);
        }

        /** Requests of the backend released as successful during the phase. */
        public long succeeded(String id) {
            return delta(id, BackendStats::successes);
        }

        /** Requests of the backend released as failed during the phase. */
        public long failed(String id) {
            return delta(id, BackendStats::failures);
        }

        /** Requests routed to any backend during the phase. */
        public long routed() {
            return end.metrics().totalRequests() - start.metrics().totalRequests();
        }

        /** Requests released as failed during the phase. */
        public long failed() {
            return end.metrics().failures() - start.metrics().failures();
        }

        private long delta(String id, ToLongFunction<BackendStats> counter) {
            return counter.applyAsLong(end.backend(id).orElseThrow())
                    - counter.applyAsLong(start.backend(id).orElseThrow());
        }
    }

    /**
     * What the health scenario saw.
     *
     * @param instance        the instance stopped and restarted
     * @param port            its port before the stop
     * @param restartedPort   its port after the restart
     * @param events          every health change the balancer reported, in order
     * @param phases          the phases, named as in {@link #HEALTH_PHASES}
     * @param sent            requests the clients started
     * @param succeeded       requests answered with a 2xx status
     * @param failed          requests answered with an error status or lost to a transport error
     * @param rejected        requests for which the balancer found no backend
     * @param transportErrors the failed requests that ended in a timeout, a refused or a reset connection
     * @param stats           the balancer's stats once every request had been released
     * @param wallNanos       how long the requests flowed
     */
    public record HealthReport(String instance, int port, int restartedPort, List<HealthEvent> events,
                               List<Phase> phases, long sent, long succeeded, long failed, long rejected,
                               long transportErrors, LoadBalancerStats stats, long wallNanos) {

        /** The phase with this name. */
        public Phase phase(String name) {
            for (Phase phase : phases) {
                if (phase.name().equals(name)) {
                    return phase;
                }
            }
            throw new IllegalArgumentException("no phase " + name);
        }
    }

    /**
     * What one request of the drain scenario did, as its client thread saw it.
     *
     * @param backend     the id of the instance its lease was on
     * @param acquiringAt when the client asked the balancer for a lease, by {@link System#nanoTime()}
     * @param releasingAt when the answer was in and the lease about to be released
     * @param success     whether it was released as a success
     */
    record Routed(String backend, long acquiringAt, long releasingAt, boolean success) {}

    /**
     * One phase of the drain scenario, counted by the clients: each request belongs to the phase
     * in which its client asked for a lease. The balancer forgets a removed backend's counts, so
     * the drained instance's own figures can only be counted here.
     *
     * @param name      one of {@link #DRAIN_PHASES}
     * @param wallNanos how long it lasted
     * @param routedTo  requests routed to each instance, by id
     * @param failedOn  requests released as failed on each instance, by id
     */
    public record DrainPhase(String name, long wallNanos, Map<String, Long> routedTo, Map<String, Long> failedOn) {

        /** Requests routed to the backend during the phase. */
        public long routed(String id) {
            return routedTo.getOrDefault(id, 0L);
        }

        /** Requests of the backend released as failed during the phase. */
        public long failed(String id) {
            return failedOn.getOrDefault(id, 0L);
        }

        /** Requests routed to any backend during the phase. */
        public long routed() {
            return routedTo.values().stream().mapToLong(Long::longValue).sum();
        }

        /** Requests released as failed during the phase. */
        public long failed() {
            return failedOn.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /**
     * What the drain scenario saw.
     *
     * @param instance          the instance removed
     * @param inFlight          its active connections just before {@code removeBackend} was called
     * @param finishedDraining  its requests answered after {@code removeBackend} was called: the ones
     *                          it waited for
     * @param failedDraining    how many of those were released as failed
     * @param drained           whether the future {@code removeBackend} returned has completed
     * @param removed           whether the backend has left the balancer
     * @param drainNanos        from the return of {@code removeBackend} to the completion of its future
     * @param phases            the phases, named as in {@link #DRAIN_PHASES}
     * @param sent              requests the clients started
     * @param succeeded         requests answered with a 2xx status
     * @param failed            requests answered with an error status or lost to a transport error
     * @param rejected          requests for which the balancer found no backend
     * @param transportErrors   the failed requests that ended in a timeout, a refused or a reset connection
     * @param stats             the balancer's stats once every request had been released
     * @param wallNanos         how long the requests flowed
     */
    public record DrainReport(String instance, int inFlight, long finishedDraining, long failedDraining,
                              boolean drained, boolean removed, long drainNanos, List<DrainPhase> phases,
                              long sent, long succeeded, long failed, long rejected, long transportErrors,
                              LoadBalancerStats stats, long wallNanos) {

        /** The phase with this name. */
        public DrainPhase phase(String name) {
            for (DrainPhase phase : phases) {
                if (phase.name().equals(name)) {
                    return phase;
                }
            }
            throw new IllegalArgumentException("no phase " + name);
        }
    }

    // ---------------------------------------------------------------- entry points

    public static void main(String[] args) throws InterruptedException {
        Options options;
        try {
            options = parseArgs(args);
        } catch (IllegalArgumentException e) {
            System.err.println("demo: " + e.getMessage());
            System.err.println(usage());
            System.exit(2);
            return;
        }
        if (options == null) {
            System.out.println(usage());
            return;
        }
        // The balancer logs every added backend at INFO and every health change at INFO or WARN;
        // the tables and the demo's own [health] lines are the output here.
        if (System.getProperty("org.slf4j.simpleLogger.log.dev.ailb") == null) {
            System.setProperty("org.slf4j.simpleLogger.log.dev.ailb", "error");
        }
        run(options.requests(), options.threads(), options.timeScale(), System.out);
    }

    /**
     * Runs every strategy and the health scenario with real service times; see
     * {@link #run(int, int, double, PrintStream)}.
     */
    public static Report run(int requestsPerStrategy, int threads, PrintStream out) throws InterruptedException {
        return run(requestsPerStrategy, threads, 1.0, out);
    }

    /**
     * Starts the fleet, runs every strategy in {@link #STRATEGIES} against it, then the health
     * scenario and the drain scenario, prints one table per run and a summary, and stops everything
     * it started.
     *
     * @param requestsPerStrategy requests sent through each strategy's balancer, >= 1; the health
     *                            and drain scenarios' phases last about an eighth of this each
     * @param threads             client threads sending them concurrently, 1..256
     * @param timeScale           factor applied to every instance's service time and, above 1, to
     *                            the health check interval, in (0, 10]
     * @param out                 where the tables go
     * @return the final stats of each strategy's balancer and what the two scenarios saw
     * @throws InterruptedException if the calling thread is interrupted; everything is still stopped
     * @throws IllegalStateException if a scenario waited too long for a state (the timeout is
     *                               generous: 10 s plus 20 check intervals)
     */
    public static Report run(int requestsPerStrategy, int threads, double timeScale, PrintStream out)
            throws InterruptedException {
        if (requestsPerStrategy < 1) {
            throw new IllegalArgumentException("requestsPerStrategy: " + requestsPerStrategy + " (expected: >= 1)");
        }
        if (threads < 1 || threads > 256) {
            throw new IllegalArgumentException("threads: " + threads + " (expected: 1..256)");
        }
        if (!(timeScale > 0.0 && timeScale <= 10.0)) {
            throw new IllegalArgumentException("timeScale: " + timeScale + " (expected: in (0, 10])");
        }
        // The JDK server writes a response's headers and body separately; without TCP_NODELAY the
        // body waits for the client's delayed ACK (about 40 ms on Linux loopback). Read once, when
        // the first server of the JVM is created, so it has no effect if one was created before.
        if (System.getProperty(NODELAY_PROPERTY) == null) {
            System.setProperty(NODELAY_PROPERTY, "true");
        }
        String[] clientAddresses = clientAddresses(CLIENT_ADDRESSES, new Random(SEED));
        HealthTiming timing = healthTiming(timeScale);
        Map<String, LoadBalancerStats> results = new LinkedHashMap<>();
        Map<String, Long> wallNanos = new LinkedHashMap<>();
        HealthReport health;
        DrainReport drain;
        Set<Thread> healthThreadsBefore = healthThreads();

        try (Fleet fleet = Fleet.start(FLEET, threads, timeScale);
             Clients clients = new Clients(threads)) {
            printFleet(out, fleet, requestsPerStrategy, threads, timeScale, timing);
            warmUp(out, fleet, clients, threads, clientAddresses);
            int round = 0;
            for (BalancingStrategy strategy : STRATEGIES) {
                round++;
                try (LoadBalancer lb = newBalancer(strategy, SEED + round, timing)) {
                    lb.addListener(new HealthLog(out));
                    addFleet(lb, fleet);
                    if (strategy == BalancingStrategy.RESOURCE_BASED) {
                        for (InstanceSpec spec : FLEET) {
                            lb.updateBackendResources(spec.id(), spec.cpu(), spec.memory());
                        }
                    }
                    lb.startHealthChecker();
                    try {
                        LongAdder transportErrors = new LongAdder();
                        long start = System.nanoTime();
                        clients.sendAll(lb, requestsPerStrategy, clientAddresses, transportErrors);
                        long wall = System.nanoTime() - start;
                        LoadBalancerStats stats = lb.getAllStats();
                        results.put(strategy.name(), stats);
                        wallNanos.put(strategy.name(), wall);
                        printTable(out, stats, wall, transportErrors.sum());
                    } finally {
                        lb.stopHealthChecker();
                    }
                }
            }
            health = runHealthScenario(out, fleet, clients, requestsPerStrategy, threads, timing, clientAddresses);
            drain = runDrainScenario(out, clients, fleet, requestsPerStrategy, threads, timing, clientAddresses);
        } finally {
            awaitHealthThreads(healthThreadsBefore);
        }
        printSummary(out, results, wallNanos, health, drain);
        out.flush();
        return new Report(Collections.unmodifiableMap(results), health, drain);
    }

    /**
     * The health timing of every balancer at this time scale. The interval grows with slower
     * service times but does not shrink below {@link #HEALTH_INTERVAL} with faster ones: even on
     * loopback, an answer to a check can take tens of milliseconds when the machine is busy, as it
     * is at small time scales, and a shorter timeout would take healthy instances down. The timeout
     * is two thirds of the interval; a first ejection lasts four intervals, so that it is over well
     * before a stopped instance has been down for long.
     */
    static HealthTiming healthTiming(double timeScale) {
        Duration interval = Duration.ofMillis(Math.round(HEALTH_INTERVAL.toMillis() * Math.max(1.0, timeScale)));
        return new HealthTiming(interval, interval.multipliedBy(2).dividedBy(3), interval.multipliedBy(4));
    }

    /**
     * A balancer that checks {@code GET /health} on every instance. There is no jitter: one balancer
     * runs at a time, so there is nothing to spread out, and the jitter would be drawn from the
     * seeded random source the strategies draw from.
     */
    private static LoadBalancer newBalancer(BalancingStrategy strategy, long seed, HealthTiming timing) {
        return LoadBalancer.builder()
                .strategy(strategy)
                .random(new Random(seed))
                .healthCheck(HealthCheck.http(HEALTH_PATH))
                .healthCheckInterval(timing.interval())
                .healthCheckTimeout(timing.timeout())
                .healthCheckJitter(Duration.ZERO)
                .healthyThreshold(HEALTHY_THRESHOLD)
                .unhealthyThreshold(UNHEALTHY_THRESHOLD)
                .outlierDetection(OutlierDetection.builder()
                        .consecutiveFailures(EJECTION_FAILURES)
                        .baseEjectionTime(timing.ejection())
                        .build())
                .build();
    }

    private static void addFleet(LoadBalancer lb, Fleet fleet) {
        for (SimulatedInstance instance : fleet.instances()) {
            InstanceSpec spec = instance.spec();
            lb.addBackend(spec.id(), LOOPBACK, instance.port(), spec.weight());
        }
    }

    /**
     * Sends a few requests round-robin through a balancer that is then discarded, so that the first
     * strategy measured does not pay alone for opening connections and compiling the hot paths.
     */
    private static void warmUp(PrintStream out, Fleet fleet, Clients clients, int threads,
                               String[] clientAddresses) throws InterruptedException {
        int count = 2 * threads * fleet.instances().size();
        try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN)) {
            addFleet(lb, fleet);
            long start = System.nanoTime();
            clients.sendAll(lb, count, clientAddresses, new LongAdder());
            out.println(String.format(Locale.ROOT, "warm-up: %,d requests in %.2f s (not counted)",
                    count, (System.nanoTime() - start) / 1e9));
            out.println();
        }
    }

    // ---------------------------------------------------------------- health scenario

    /**
     * Sends requests without a pause through a round-robin balancer while {@link #HEALTH_VICTIM}
     * is stopped and restarted, and cuts the run into phases at the moments the balancer's view of
     * it changes:
     * <ol>
     *   <li>before: every instance up, for a set number of requests;
     *   <li>failing: the instance stopped (its port and its open connections closed at once), until
     *       the active checks mark it {@code UNHEALTHY}; requests that reach it meanwhile fail, and
     *       outlier detection may eject it first;
     *   <li>down: marked down, for as many requests again and until an ejection it got is over;
     *   <li>rising: restarted on the same port, until the checks mark it {@code HEALTHY};
     *   <li>back: until as many requests again have completed and it has served one of them.
     * </ol>
     * Each wait polls the state it waits for, with a bound. The requests in flight when the
     * traffic stops are waited for, so every request sent is counted exactly once.
     */
    private static HealthReport runHealthScenario(PrintStream out, Fleet fleet, Clients clients, int requests,
                                                  int threads, HealthTiming timing, String[] clientAddresses)
            throws InterruptedException {
        SimulatedInstance victim = fleet.instance(HEALTH_VICTIM);
        int phaseRequests = Math.max(4 * threads, requests / 8);
        Duration maxWait = STATE_WAIT.plus(timing.interval().multipliedBy(20));
        out.println("=== health: " + HEALTH_VICTIM + " stops and comes back (" + HEALTH_STRATEGY.name() + ") ===");
        out.println(String.format(Locale.ROOT,
                "  requests flow from %d client threads throughout; %s is stopped after %,d of them and",
                threads, HEALTH_VICTIM, phaseRequests));
        out.println(String.format(Locale.ROOT,
                "  restarted on the same port once it is marked down and %,d more have gone elsewhere", phaseRequests));

        try (LoadBalancer lb = newBalancer(HEALTH_STRATEGY, SEED + STRATEGIES.size() + 1, timing)) {
            HealthLog log = new HealthLog(out);
            lb.addListener(log);
            addFleet(lb, fleet);
            Backend backend = lb.getBackend(HEALTH_VICTIM).orElseThrow();
            int port = victim.port();
            lb.startHealthChecker();
            try {
                PhaseRecorder phases = new PhaseRecorder(lb);
                log.note("requests start");
                long start = System.nanoTime();
                Traffic traffic = clients.startTraffic(lb, clientAddresses, false);
                int restartedPort;
                try {
                    await("the first " + phaseRequests + " requests", maxWait,
                            () -> traffic.completed() >= phaseRequests);
                    phases.end("before");

                    victim.stop();
                    log.note(HEALTH_VICTIM + " stopped: HttpServer.stop(0) closed port " + port
                            + " and its open connections");
                    await(HEALTH_VICTIM + " to be marked UNHEALTHY", maxWait,
                            () -> backend.healthState() == HealthState.UNHEALTHY);
                    phases.end("failing");

                    long downFrom = traffic.completed();
                    await(phaseRequests + " requests while " + HEALTH_VICTIM
                                    + " is down, and its ejection if any to end", maxWait,
                            () -> traffic.completed() >= downFrom + phaseRequests
                                    && lb.getBackendStats(HEALTH_VICTIM).health().ejectionRemaining().isZero());
                    phases.end("down");

                    restartedPort = victim.restart();
                    log.note(HEALTH_VICTIM + " restarted on port " + restartedPort
                            + (restartedPort == port ? ", the same" : ", NOT the same"));
                    await(HEALTH_VICTIM + " to be marked HEALTHY", maxWait,
                            () -> backend.healthState() == HealthState.HEALTHY);
                    phases.end("rising");

                    long backFrom = traffic.completed();
                    long servedBefore = lb.getBackendStats(HEALTH_VICTIM).successes();
                    await(phaseRequests + " requests with " + HEALTH_VICTIM + " back, one of them served by it",
                            maxWait,
                            () -> traffic.completed() >= backFrom + phaseRequests
                                    && lb.getBackendStats(HEALTH_VICTIM).successes() > servedBefore);
                } finally {
                    traffic.stop(); // returns once every request in flight has been released
                }
                long wall = System.nanoTime() - start;
                log.note("requests stop; every one sent has been released");
                phases.end("back");

                LoadBalancerStats stats = lb.getAllStats();
                HealthReport report = new HealthReport(HEALTH_VICTIM, port, restartedPort, log.events(),
                        phases.phases(), traffic.sent.sum(), traffic.succeeded.sum(), traffic.failed.sum(),
                        traffic.rejected.sum(), traffic.transportErrors.sum(), stats, wall);
                printHealth(out, report);
                return report;
            } finally {
                lb.stopHealthChecker();
            }
        }
    }

    // ---------------------------------------------------------------- drain scenario

    /**
     * Sends requests without a pause through a least-connections balancer, over leases, and removes
     * {@link #DRAIN_VICTIM} gracefully while some of them are on it:
     * <ol>
     *   <li>before: every instance in, for a set number of requests and until the instance has its
     *       share of the requests in flight, one of them with {@link #DRAIN_MARGIN} still to go by its
     *       service time; {@code removeBackend} is called then;
     *   <li>draining: from the return of {@code removeBackend} until its future completes, when the
     *       last of the instance's requests in flight has been released;
     *   <li>after: the instance gone, until as many requests again have completed.
     * </ol>
     * A request belongs to the phase in which its client asked for its lease; one that asked while
     * {@code removeBackend} was running counts as before. The requests in flight when the traffic
     * stops are waited for, so every request sent is counted exactly once.
     */
    private static DrainReport runDrainScenario(PrintStream out, Clients clients, Fleet fleet, int requests,
                                                int threads, HealthTiming timing, String[] clientAddresses)
            throws InterruptedException {
        int phaseRequests = Math.max(4 * threads, requests / 8);
        // Least connections spreads the requests in flight evenly; wait for the victim's fair share,
        // one of which has, by its service time, at least DRAIN_MARGIN to go: it is still in flight
        // when removeBackend has returned.
        int target = (threads + FLEET.size() - 1) / FLEET.size();
        SimulatedInstance victim = fleet.instance(DRAIN_VICTIM);
        Duration maxWait = STATE_WAIT.plus(timing.interval().multipliedBy(20));
        out.println("=== drain: " + DRAIN_VICTIM + " removed while requests flow (" + DRAIN_STRATEGY.name() + ") ===");
        out.println(String.format(Locale.ROOT,
                "  requests flow from %d client threads over leases; after %,d of them, %s is removed with",
                threads, phaseRequests, DRAIN_VICTIM));
        out.println("  removeBackend while it has requests in flight; they finish, and it leaves with the last one");

        try (LoadBalancer lb = newBalancer(DRAIN_STRATEGY, SEED + STRATEGIES.size() + 2, timing)) {
            HealthLog log = new HealthLog(out);
            lb.addListener(log);
            lb.addListener(new LoadBalancerListener() {
                @Override
                public void onBackendDraining(Backend backend) {
                    log.note(backend.id() + " draining: no new requests, " + backend.activeConnections()
                            + " in flight go on");
                }

                @Override
                public void onBackendRemoved(Backend backend) {
                    log.note(backend.id() + " removed: its last request in flight was released");
                }
            });
            addFleet(lb, fleet);
            Backend backend = lb.getBackend(DRAIN_VICTIM).orElseThrow();
            lb.startHealthChecker();
            try {
                log.note("requests start");
                long start = System.nanoTime();
                Traffic traffic = clients.startTraffic(lb, clientAddresses, true);
                AtomicInteger inFlight = new AtomicInteger();
                AtomicLong drainedAt = new AtomicLong();
                long calledAt;
                long removedAt;
                CompletableFuture<Void> done;
                try {
                    await("the first " + phaseRequests + " requests, and " + target + " in flight on "
                                    + DRAIN_VICTIM, maxWait, () -> traffic.completed() >= phaseRequests
                                    && traffic.open.entrySet().stream().anyMatch(e -> e.getValue().backend()
                                            .equals(DRAIN_VICTIM) && e.getValue().acquiringAt()
                                            + victim.serviceNanos(Clients.request(e.getKey(), "").id())
                                            - System.nanoTime() > DRAIN_MARGIN.toNanos())
                                    && inFlight.updateAndGet(n -> backend.activeConnections()) >= target);
                    calledAt = System.nanoTime();
                    done = lb.removeBackend(DRAIN_VICTIM);
                    removedAt = System.nanoTime();
                    done.thenRun(() -> drainedAt.set(System.nanoTime()));
                    log.note(String.format(Locale.ROOT, "removeBackend(%s) returned; in flight on it when called: %d",
                            DRAIN_VICTIM, inFlight.get()));
                    await(DRAIN_VICTIM + " to drain", maxWait, () -> drainedAt.get() != 0);
                    log.note(String.format(Locale.ROOT, "%s drain future completed, %.1f ms after removeBackend"
                            + " returned", DRAIN_VICTIM, Math.max(0L, drainedAt.get() - removedAt) / 1e6));
                    long afterFrom = traffic.completed();
                    await(phaseRequests + " requests without " + DRAIN_VICTIM, maxWait,
                            () -> traffic.completed() >= afterFrom + phaseRequests);
                } finally {
                    traffic.stop(); // returns once every request in flight has been released
                }
                long end = System.nanoTime();
                log.note("requests stop; every one sent has been released");

                long[] bounds = {start, removedAt, Math.max(removedAt, drainedAt.get()), end};
                List<Map<String, Long>> routed = new ArrayList<>();
                List<Map<String, Long>> failed = new ArrayList<>();
                for (int i = 0; i < DRAIN_PHASES.size(); i++) {
                    routed.add(new LinkedHashMap<>());
                    failed.add(new LinkedHashMap<>());
                }
                long finishedDraining = 0;
                long failedDraining = 0;
                for (Routed r : traffic.routes) {
                    int phase = r.acquiringAt() - bounds[1] < 0 ? 0 : r.acquiringAt() - bounds[2] < 0 ? 1 : 2;
                    routed.get(phase).merge(r.backend(), 1L, Long::sum);
                    if (!r.success()) {
                        failed.get(phase).merge(r.backend(), 1L, Long::sum);
                    }
                    if (r.backend().equals(DRAIN_VICTIM) && r.releasingAt() - calledAt > 0) {
                        finishedDraining++;
                        failedDraining += r.success() ? 0 : 1;
                    }
                }
                List<DrainPhase> phases = new ArrayList<>();
                for (int i = 0; i < DRAIN_PHASES.size(); i++) {
                    phases.add(new DrainPhase(DRAIN_PHASES.get(i), bounds[i + 1] - bounds[i],
                            Collections.unmodifiableMap(routed.get(i)), Collections.unmodifiableMap(failed.get(i))));
                }
                DrainReport report = new DrainReport(DRAIN_VICTIM, inFlight.get(), finishedDraining, failedDraining,
                        done.isDone() && !done.isCompletedExceptionally(), backend.isRemoved(),
                        bounds[2] - bounds[1], List.copyOf(phases), traffic.sent.sum(), traffic.succeeded.sum(),
                        traffic.failed.sum(), traffic.rejected.sum(), traffic.transportErrors.sum(),
                        lb.getAllStats(), end - start);
                printDrain(out, report);
                return report;
            } finally {
                lb.stopHealthChecker();
            }
        }
    }

    /**
     * Returns once {@code condition} holds, looking every {@link #POLL_NANOS}.
     *
     * @throws IllegalStateException if it still does not hold after {@code max}
     * @throws InterruptedException  if the thread is interrupted meanwhile
     */
    private static void await(String what, Duration max, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("gave up waiting for " + what + " after " + max.toSeconds() + " s");
            }
            LockSupport.parkNanos(POLL_NANOS);
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted while waiting for " + what);
            }
        }
    }

    /** The live threads a balancer started for its health checker. */
    private static Set<Thread> healthThreads() {
        Set<Thread> found = new LinkedHashSet<>();
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.isAlive() && thread.getName().startsWith(HEALTH_THREAD_PREFIX)) {
                found.add(thread);
            }
        }
        return found;
    }

    /**
     * Waits, up to {@link #SHUTDOWN_TIMEOUT}, until the health checker threads started since
     * {@code before} was taken have ended. The balancers have stopped them already and waited for
     * their pools to terminate; a pool terminates as its last thread returns, so a thread may be
     * alive a moment longer. An interrupt does not cut the wait short; it is restored afterwards.
     */
    private static void awaitHealthThreads(Set<Thread> before) {
        long deadline = System.nanoTime() + SHUTDOWN_TIMEOUT.toNanos();
        boolean interrupted = false;
        List<String> alive = new ArrayList<>();
        for (Thread thread : healthThreads()) {
            if (before.contains(thread)) {
                continue;
            }
            for (;;) {
                try {
                    long left = deadline - System.nanoTime();
                    if (left > 0) {
                        TimeUnit.NANOSECONDS.timedJoin(thread, left);
                    }
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (thread.isAlive()) {
                alive.add(thread.getName());
            }
        }
        if (!alive.isEmpty()) {
            System.err.println("demo: health checker threads " + alive + " did not stop within "
                    + SHUTDOWN_TIMEOUT.toSeconds() + " s");
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Prints every health change of a balancer's backends as it happens, with the time since the
     * balancer was set up, and keeps them. The demo's own steps are printed in the same form.
     */
    private static final class HealthLog implements LoadBalancerListener {
        private final PrintStream out;
        private final long startNanos = System.nanoTime();
        private final List<HealthEvent> events = new ArrayList<>(); // guarded by this

        HealthLog(PrintStream out) {
            this.out = out;
        }

        @Override
        public synchronized void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current,
                                                        String reason) {
            long at = System.nanoTime() - startNanos;
            HealthEvent event = new HealthEvent(at, backend.id(), previous, current, reason);
            events.add(event);
            out.println(String.format(Locale.ROOT, "  [health] %6.2f s  %s %s -> %s: %s",
                    event.atNanos() / 1e9, event.backend(), previous, current, reason));
        }

        synchronized void note(String what) {
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            out.println(String.format(Locale.ROOT, "  [demo]   %6.2f s  %s", seconds, what));
        }

        synchronized List<HealthEvent> events() {
            return List.copyOf(events);
        }
    }

    /** Cuts a run into phases: each ends where the next begins. */
    private static final class PhaseRecorder {
        private final LoadBalancer lb;
        private final List<Phase> phases = new ArrayList<>();
        private LoadBalancerStats start;
        private long startNanos;

        PhaseRecorder(LoadBalancer lb) {
            this.lb = lb;
            this.start = lb.getAllStats();
            this.startNanos = System.nanoTime();
        }

        void end(String name) {
            LoadBalancerStats now = lb.getAllStats();
            long nanos = System.nanoTime();
            phases.add(new Phase(name, nanos - startNanos, start, now));
            start = now;
            startNanos = nanos;
        }

        List<Phase> phases() {
            return List.copyOf(phases);
        }
    }

    /**
     * Parses {@code --requests N}, {@code --threads N} and {@code --time-scale X} (each also as
     * {@code --name=value}). Returns null for {@code --help}.
     *
     * @throws IllegalArgumentException on an unknown option or a bad value
     */
    static Options parseArgs(String... args) {
        int requests = DEFAULT_REQUESTS;
        int threads = DEFAULT_THREADS;
        double timeScale = 1.0;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.isBlank()) {
                continue;
            }
            if (arg.equals("--help") || arg.equals("-h")) {
                return null;
            }
            String name = arg;
            String value;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                throw new IllegalArgumentException(arg + " needs a value");
            }
            switch (name) {
                case "--requests":
                    requests = parseInt(name, value, 1, 10_000_000);
                    break;
                case "--threads":
                    threads = parseInt(name, value, 1, 256);
                    break;
                case "--time-scale":
                    timeScale = parseScale(name, value);
                    break;
                default:
                    throw new IllegalArgumentException("unknown option " + name);
            }
        }
        return new Options(requests, threads, timeScale);
    }

    private static int parseInt(String name, String value, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(value.replace("_", "").replace(",", "").trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": " + value + " is not a whole number");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(name + ": " + n + " (expected: " + min + ".." + max + ")");
        }
        return n;
    }

    private static double parseScale(String name, String value) {
        double x;
        try {
            x = Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": " + value + " is not a number");
        }
        if (!(x > 0.0 && x <= 10.0)) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: in (0, 10])");
        }
        return x;
    }

    static String usage() {
        return "usage: Demo [--requests N] [--threads N] [--time-scale X]\n"
                + "  --requests N     requests per strategy (default " + DEFAULT_REQUESTS + ")\n"
                + "  --threads N      concurrent client threads, 1..256 (default " + DEFAULT_THREADS + ")\n"
                + "  --time-scale X   multiplies every service time, in (0, 10] (default 1)";
    }

    /** Distinct labels of the form {@code 10.1.x.y}, drawn from {@code random}. */
    private static String[] clientAddresses(int count, Random random) {
        Set<String> seen = new LinkedHashSet<>();
        while (seen.size() < count) {
            seen.add("10.1." + random.nextInt(256) + "." + (1 + random.nextInt(254)));
        }
        return seen.toArray(new String[0]);
    }

    // ---------------------------------------------------------------- output

    private static void printFleet(PrintStream out, Fleet fleet, int requests, int threads, double timeScale,
                                   HealthTiming timing) {
        out.println(String.format(Locale.ROOT,
                "ailb demo: %d simulated instances on %s, %,d requests per strategy, %d client threads%s",
                fleet.instances().size(), LOOPBACK, requests, threads,
                timeScale == 1.0 ? "" : String.format(Locale.ROOT, ", service times x%.2f", timeScale)));
        out.println();
        out.println(String.format(Locale.ROOT, "  %-12s %-7s %6s %7s %9s %8s %8s",
                "instance", "kind", "port", "weight", "mean ms", "fails", "cpu/mem"));
        for (SimulatedInstance instance : fleet.instances()) {
            InstanceSpec s = instance.spec();
            out.println(String.format(Locale.ROOT, "  %-12s %-7s %6d %7d %9.1f %7.1f%% %3.0f/%-3.0f%%",
                    s.id(), s.kind(), instance.port(), s.weight(), s.meanMillis() * timeScale,
                    s.failureRate() * 100.0, s.cpu() * 100.0, s.memory() * 100.0));
        }
        out.println();
        out.println(String.format(Locale.ROOT,
                "  health checks: GET %s every %d ms, timeout %d ms; down after %d failures in a row,"
                        + " up after %d passes",
                HEALTH_PATH, timing.interval().toMillis(), timing.timeout().toMillis(), UNHEALTHY_THRESHOLD,
                HEALTHY_THRESHOLD));
        out.println(String.format(Locale.ROOT,
                "  outlier ejection: after %d failed requests in a row, for %d ms (longer if it recurs soon)",
                EJECTION_FAILURES, timing.ejection().toMillis()));
        out.println();
    }

    private static void printTable(PrintStream out, LoadBalancerStats stats, long wallNanos, long transportErrors) {
        LoadBalancerMetrics m = stats.metrics();
        out.println("=== " + stats.strategy() + " ===");
        String header = String.format(Locale.ROOT, "  %-12s %-7s %6s %9s %7s %9s %9s %9s",
                "instance", "kind", "weight", "requests", "share", "success", "avg ms", "p99 ms");
        out.println(header);
        out.println("  " + "-".repeat(header.length() - 2));
        for (BackendStats b : stats.backends()) {
            out.println(String.format(Locale.ROOT, "  %-12s %-7s %6d %,9d %6.1f%% %8.2f%% %9.2f %9.2f",
                    b.id(), kindOf(b.id()), b.weight(), b.totalRequests(),
                    percent(b.totalRequests(), m.totalRequests()), b.successRate() * 100.0,
                    millis(b.avgResponseTime()), millis(b.p99ResponseTime())));
        }
        out.println("  " + "-".repeat(header.length() - 2));
        double seconds = wallNanos / 1e9;
        out.println(String.format(Locale.ROOT,
                "  %-12s %-7s %6s %,9d %6.1f%% %8.2f%% %9.2f %9.2f   wall %.2f s, %,.0f req/s",
                "overall", "", "", m.totalRequests(), percent(m.totalRequests(), m.totalRequests()),
                m.successRate() * 100.0, millis(m.avgResponseTime()), millis(m.p99ResponseTime()),
                seconds, seconds > 0 ? m.completedRequests() / seconds : 0.0));
        if (transportErrors > 0) {
            out.println(String.format(Locale.ROOT,
                    "  (%,d of the %,d failures were transport errors: timeouts or refused connections)",
                    transportErrors, m.failures()));
        }
        out.println();
    }

    private static void printHealth(PrintStream out, HealthReport report) {
        String victim = report.instance();
        out.println();
        out.println("  requests routed to each instance, by phase:");
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "  %-12s %-7s", "instance", "kind"));
        for (Phase phase : report.phases()) {
            header.append(String.format(Locale.ROOT, " %9s", phase.name()));
        }
        out.println(header);
        String rule = "  " + "-".repeat(header.length() - 2);
        out.println(rule);
        for (BackendStats b : report.stats().backends()) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %-12s %-7s", b.id(), kindOf(b.id())));
            for (Phase phase : report.phases()) {
                row.append(String.format(Locale.ROOT, " %,9d", phase.routed(b.id())));
            }
            out.println(row);
        }
        out.println(rule);
        StringBuilder routed = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "routed"));
        StringBuilder failed = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "failed"));
        StringBuilder share = new StringBuilder(String.format(Locale.ROOT, "  %-20s", victim + " share"));
        StringBuilder wall = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "wall s"));
        for (Phase phase : report.phases()) {
            routed.append(String.format(Locale.ROOT, " %,9d", phase.routed()));
            failed.append(String.format(Locale.ROOT, " %,9d", phase.failed()));
            share.append(String.format(Locale.ROOT, " %8.1f%%", percent(phase.routed(victim), phase.routed())));
            wall.append(String.format(Locale.ROOT, " %9.2f", phase.wallNanos() / 1e9));
        }
        out.println(routed);
        out.println(failed);
        out.println(share);
        out.println(wall);
        out.println("  (before: all up; failing: " + victim
                + " stopped, not yet marked down; down: marked down, until");
        out.println("   its restart; rising: restarted, not yet marked up; back: marked up, until the requests stop)");
        Phase failing = report.phase("failing");
        Phase down = report.phase("down");
        Phase rising = report.phase("rising");
        Phase back = report.phase("back");
        out.println(String.format(Locale.ROOT,
                "  %s: %,d failed requests while failing (in flight at the stop, or sent before it was taken out);",
                victim, failing.failed(victim)));
        out.println(String.format(Locale.ROOT,
                "  %,d routed to it while down or rising (%,d served), %,d once back (%,d served)",
                down.routed(victim) + rising.routed(victim), down.succeeded(victim) + rising.succeeded(victim),
                back.routed(victim), back.succeeded(victim)));
        LoadBalancerMetrics m = report.stats().metrics();
        boolean addsUp = report.sent() == report.succeeded() + report.failed() + report.rejected()
                && report.sent() == m.totalRequests() + m.rejectedRequests()
                && report.succeeded() == m.successes() && report.failed() == m.failures();
        out.println(String.format(Locale.ROOT,
                "  sent %,d = %,d succeeded + %,d failed + %,d rejected;"
                        + " the balancer counted %,d routed + %,d rejected%s",
                report.sent(), report.succeeded(), report.failed(), report.rejected(), m.totalRequests(),
                m.rejectedRequests(), addsUp ? ": none lost" : ": THE COUNTS DO NOT ADD UP"));
        if (report.transportErrors() > 0) {
            out.println(String.format(Locale.ROOT,
                    "  (%,d of the %,d failures were transport errors: refused or reset connections, timeouts)",
                    report.transportErrors(), report.failed()));
        }
        out.println();
    }

    private static void printDrain(PrintStream out, DrainReport report) {
        String victim = report.instance();
        out.println();
        out.println("  requests routed to each instance, by the phase in which they asked for a lease:");
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "  %-12s %-7s", "instance", "kind"));
        for (DrainPhase phase : report.phases()) {
            header.append(String.format(Locale.ROOT, " %9s", phase.name()));
        }
        out.println(header);
        String rule = "  " + "-".repeat(header.length() - 2);
        out.println(rule);
        for (InstanceSpec spec : FLEET) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %-12s %-7s", spec.id(), spec.kind()));
            for (DrainPhase phase : report.phases()) {
                row.append(String.format(Locale.ROOT, " %,9d", phase.routed(spec.id())));
            }
            out.println(row);
        }
        out.println(rule);
        StringBuilder routed = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "routed"));
        StringBuilder failed = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "failed"));
        StringBuilder victimFailed = new StringBuilder(String.format(Locale.ROOT, "  %-20s", victim + " failed"));
        StringBuilder wall = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "wall s"));
        long failedOnVictim = 0;
        for (DrainPhase phase : report.phases()) {
            routed.append(String.format(Locale.ROOT, " %,9d", phase.routed()));
            failed.append(String.format(Locale.ROOT, " %,9d", phase.failed()));
            victimFailed.append(String.format(Locale.ROOT, " %,9d", phase.failed(victim)));
            wall.append(String.format(Locale.ROOT, " %9.2f", phase.wallNanos() / 1e9));
            failedOnVictim += phase.failed(victim);
        }
        out.println(routed);
        out.println(failed);
        out.println(victimFailed);
        out.println(wall);
        out.println("  (before: every instance in, until removeBackend returned; draining: until its future");
        out.println("   completed; after: " + victim + " gone, until the requests stop)");
        DrainPhase draining = report.phase("draining");
        DrainPhase after = report.phase("after");
        out.println(String.format(Locale.ROOT,
                "  %s: %d in flight when removeBackend was called, %d answered after the call (%d failed);",
                victim, report.inFlight(), report.finishedDraining(), report.failedDraining()));
        out.println(String.format(Locale.ROOT,
                "  %,d routed to it since, %,d failed on it in all; %s %.1f ms after the call returned",
                draining.routed(victim) + after.routed(victim), failedOnVictim,
                report.removed() ? "it left the balancer" : "IT IS STILL REGISTERED,", report.drainNanos() / 1e6));
        LoadBalancerMetrics m = report.stats().metrics();
        long routedInPhases = report.phases().stream().mapToLong(DrainPhase::routed).sum();
        boolean addsUp = report.sent() == report.succeeded() + report.failed() + report.rejected()
                && report.sent() == m.totalRequests() + m.rejectedRequests() && routedInPhases == m.totalRequests()
                && report.succeeded() == m.successes() && report.failed() == m.failures();
        out.println(String.format(Locale.ROOT,
                "  sent %,d = %,d succeeded + %,d failed + %,d rejected;"
                        + " the balancer counted %,d routed + %,d rejected%s",
                report.sent(), report.succeeded(), report.failed(), report.rejected(), m.totalRequests(),
                m.rejectedRequests(), addsUp ? ": none lost" : ": THE COUNTS DO NOT ADD UP"));
        if (report.transportErrors() > 0) {
            out.println(String.format(Locale.ROOT,
                    "  (%,d of the %,d failures were transport errors: refused or reset connections, timeouts)",
                    report.transportErrors(), report.failed()));
        }
        out.println();
    }

    private static void printSummary(PrintStream out, Map<String, LoadBalancerStats> results,
                                     Map<String, Long> wallNanos, HealthReport health, DrainReport drain) {
        out.println("=== summary ===");
        String header = String.format(Locale.ROOT, "  %-22s %9s %9s %9s %9s %9s %8s",
                "strategy", "requests", "success", "avg ms", "p99 ms", "slow %", "wall s");
        out.println(header);
        out.println("  " + "-".repeat(header.length() - 2));
        String slowId = null;
        for (InstanceSpec spec : FLEET) {
            if (spec.kind().equals("slow")) {
                slowId = spec.id();
            }
        }
        for (Map.Entry<String, LoadBalancerStats> e : results.entrySet()) {
            printSummaryRow(out, e.getKey(), e.getValue(), slowId, wallNanos.get(e.getKey()));
        }
        printSummaryRow(out, "health: " + HEALTH_STRATEGY.name(), health.stats(), slowId, health.wallNanos());
        printSummaryRow(out, "drain: " + DRAIN_STRATEGY.name(), drain.stats(), slowId, drain.wallNanos());
        out.println("  (slow %: share of requests sent to the slow instance; health: the run in which "
                + health.instance() + " stopped;");
        out.println("   drain: the run in which " + drain.instance() + " was removed)");
    }

    private static void printSummaryRow(PrintStream out, String name, LoadBalancerStats stats, String slowId,
                                        long wallNanos) {
        LoadBalancerMetrics m = stats.metrics();
        long toSlow = slowId == null ? 0 : stats.backend(slowId).map(BackendStats::totalRequests).orElse(0L);
        out.println(String.format(Locale.ROOT, "  %-22s %,9d %8.2f%% %9.2f %9.2f %8.1f%% %8.2f",
                name, m.totalRequests(), m.successRate() * 100.0, millis(m.avgResponseTime()),
                millis(m.p99ResponseTime()), percent(toSlow, m.totalRequests()), wallNanos / 1e9));
    }

    private static String kindOf(String id) {
        for (InstanceSpec spec : FLEET) {
            if (spec.id().equals(id)) {
                return spec.kind();
            }
        }
        return "?";
    }

    private static double millis(Duration d) {
        return d.toNanos() / 1e6;
    }

    private static double percent(long part, long whole) {
        return whole == 0 ? 0.0 : 100.0 * part / whole;
    }

    // ---------------------------------------------------------------- client side

    /** The client threads and the one HTTP client they share. */
    private static final class Clients implements AutoCloseable {
        private final int threads;
        private final NamedThreadFactory workerThreads = new NamedThreadFactory(THREAD_PREFIX + "client-");
        private final NamedThreadFactory httpThreads = new NamedThreadFactory(THREAD_PREFIX + "http-");
        private final ExecutorService workers;
        private final ExecutorService httpExecutor;
        private final HttpClient http;

        Clients(int threads) {
            this.threads = threads;
            this.workers = Executors.newFixedThreadPool(threads, workerThreads);
            this.httpExecutor = Executors.newCachedThreadPool(httpThreads);
            this.http = HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(CONNECT_TIMEOUT)
                    .followRedirects(HttpClient.Redirect.NEVER)
                    .proxy(HttpClient.Builder.NO_PROXY)
                    .executor(httpExecutor)
                    .build();
        }

        /**
         * Sends {@code count} requests through {@code lb} from all client threads and returns when
         * every one has been released.
         */
        void sendAll(LoadBalancer lb, int count, String[] clientAddresses, LongAdder transportErrors)
                throws InterruptedException {
            AtomicInteger next = new AtomicInteger();
            List<Callable<Void>> tasks = new ArrayList<>(threads);
            for (int t = 0; t < threads; t++) {
                tasks.add(() -> {
                    for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                        sendOne(lb, i, clientAddresses[i % clientAddresses.length], transportErrors);
                    }
                    return null;
                });
            }
            List<Future<Void>> futures = workers.invokeAll(tasks);
            for (Future<Void> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    throw new IllegalStateException("a client thread failed: " + e.getCause(), e.getCause());
                }
            }
        }

        /**
         * Starts sending requests through {@code lb} from all client threads, each one after the
         * other, until {@link Traffic#stop()}; with {@code leased}, through {@link LoadBalancer#acquire}
         * leases, each noted in {@link Traffic#routes}.
         */
        Traffic startTraffic(LoadBalancer lb, String[] clientAddresses, boolean leased) {
            Traffic traffic = new Traffic();
            AtomicInteger next = new AtomicInteger();
            for (int t = 0; t < threads; t++) {
                traffic.running.add(workers.submit(() -> {
                    while (!traffic.stopping) {
                        int i = next.getAndIncrement();
                        traffic.sent.increment();
                        String clientAddress = clientAddresses[i % clientAddresses.length];
                        Outcome outcome = leased ? sendLeased(lb, i, clientAddress, traffic)
                                : sendOne(lb, i, clientAddress, traffic.transportErrors);
                        (outcome == Outcome.SUCCEEDED ? traffic.succeeded
                                : outcome == Outcome.FAILED ? traffic.failed : traffic.rejected).increment();
                    }
                    return null;
                }));
            }
            return traffic;
        }

        private Outcome sendOne(LoadBalancer lb, int index, String clientAddress, LongAdder transportErrors)
                throws InterruptedException {
            Request request = request(index, clientAddress);
            Backend backend;
            try {
                backend = lb.selectBackend(request);
            } catch (NoAvailableBackendException e) {
                return Outcome.REJECTED;
            }
            lb.acquireConnection(backend);
            boolean success = false;
            long start = System.nanoTime();
            try {
                success = call(backend, request, transportErrors);
            } finally {
                lb.releaseConnection(backend, Duration.ofNanos(System.nanoTime() - start), success);
            }
            return success ? Outcome.SUCCEEDED : Outcome.FAILED;
        }

        /**
         * Sends one request through a {@link Lease}, which selects and acquires in one step and
         * is released once whatever happens, and notes where it went and when.
         */
        private Outcome sendLeased(LoadBalancer lb, int index, String clientAddress, Traffic traffic)
                throws InterruptedException {
            Request request = request(index, clientAddress);
            long acquiring = System.nanoTime();
            try (Lease lease = lb.acquire(request)) {
                traffic.open.put(index, new Routed(lease.backend().id(), acquiring, 0L, false));
                boolean success = call(lease.backend(), request, traffic.transportErrors);
                traffic.open.remove(index);
                traffic.routes.add(new Routed(lease.backend().id(), acquiring, System.nanoTime(), success));
                if (success) {
                    lease.success();
                } else {
                    lease.failure();
                }
                return success ? Outcome.SUCCEEDED : Outcome.FAILED;
            } catch (NoAvailableBackendException e) {
                return Outcome.REJECTED;
            }
        }

        // The same ids in every round: an instance takes the same time for the same request.
        private static Request request(int index, String clientAddress) {
            return new Request(String.format(Locale.ROOT, "req-%06d", index), clientAddress, PATH);
        }

        /** Sends the request to the backend; true if it was answered with a 2xx status. */
        private boolean call(Backend backend, Request request, LongAdder transportErrors) throws InterruptedException {
            try {
                HttpRequest call = HttpRequest.newBuilder(
                                URI.create("http://" + backend.host() + ":" + backend.port() + request.path()))
                        .timeout(REQUEST_TIMEOUT)
                        .header("Content-Type", "application/json")
                        .header("X-Request-Id", request.id())
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"sim-1\",\"prompt\":\"Say hello.\",\"max_tokens\":8}"))
                        .build();
                HttpResponse<String> response = http.send(call, HttpResponse.BodyHandlers.ofString());
                return response.statusCode() >= 200 && response.statusCode() < 300;
            } catch (IOException e) {
                transportErrors.increment();
                return false;
            }
        }

        @Override
        public void close() {
            shutdown(workers, workerThreads);
            shutdown(httpExecutor, httpThreads);
        }
    }

    /** How one request ended. */
    private enum Outcome { SUCCEEDED, FAILED, REJECTED }

    /** Requests flowing from every client thread until {@link #stop()}, and how they ended. */
    private static final class Traffic {
        final LongAdder sent = new LongAdder();
        final LongAdder succeeded = new LongAdder();
        final LongAdder failed = new LongAdder();
        final LongAdder rejected = new LongAdder();
        final LongAdder transportErrors = new LongAdder();
        /** Every leased request, once answered; filled only by leased traffic. */
        final Queue<Routed> routes = new ConcurrentLinkedQueue<>();
        /** The leased requests under way, by index, as they began. */
        final Map<Integer, Routed> open = new ConcurrentHashMap<>();
        final List<Future<Void>> running = new ArrayList<>();
        volatile boolean stopping;

        /** Requests that have ended, one way or another. */
        long completed() {
            return succeeded.sum() + failed.sum() + rejected.sum();
        }

        /** Lets every client thread finish the request it is sending, and waits for them. */
        void stop() throws InterruptedException {
            stopping = true;
            for (Future<Void> f : running) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    throw new IllegalStateException("a client thread failed: " + e.getCause(), e.getCause());
                }
            }
        }
    }

    // ---------------------------------------------------------------- server side

    /** The running simulated instances. */
    private static final class Fleet implements AutoCloseable {
        private final List<SimulatedInstance> instances;

        private Fleet(List<SimulatedInstance> instances) {
            this.instances = List.copyOf(instances);
        }

        static Fleet start(List<InstanceSpec> specs, int workerThreads, double timeScale) {
            List<SimulatedInstance> started = new ArrayList<>();
            try {
                for (int i = 0; i < specs.size(); i++) {
                    started.add(SimulatedInstance.start(specs.get(i), SEED * 31 + i, workerThreads, timeScale));
                }
            } catch (RuntimeException | Error e) {
                for (SimulatedInstance instance : started) {
                    instance.close();
                }
                throw e;
            }
            return new Fleet(started);
        }

        List<SimulatedInstance> instances() {
            return instances;
        }

        SimulatedInstance instance(String id) {
            for (SimulatedInstance instance : instances) {
                if (instance.spec().id().equals(id)) {
                    return instance;
                }
            }
            throw new IllegalArgumentException("no instance " + id);
        }

        @Override
        public void close() {
            for (SimulatedInstance instance : instances) {
                instance.close();
            }
        }
    }

    /**
     * One simulated inference instance: an HTTP server on a loopback ephemeral port, which can be
     * stopped and started again on the same port. Its worker threads outlive a stop.
     */
    private static final class SimulatedInstance implements AutoCloseable {
        private final InstanceSpec spec;
        private final long seed;
        private final double meanNanos;
        private final ExecutorService executor;
        private final NamedThreadFactory threads;
        private final AtomicLong unnamedRequests = new AtomicLong();
        private final int port;
        private HttpServer server; // null while stopped; guarded by this

        private SimulatedInstance(InstanceSpec spec, long seed, int workerThreads, double timeScale) {
            this.spec = spec;
            this.seed = seed;
            this.meanNanos = spec.meanMillis() * timeScale * 1e6;
            this.threads = new NamedThreadFactory(THREAD_PREFIX + spec.id() + "-");
            // One thread per client thread, so no request waits for another, and a few for probes.
            this.executor = Executors.newFixedThreadPool(workerThreads + PROBE_THREADS, threads);
            try {
                this.server = bind(0);
            } catch (IOException e) {
                executor.shutdownNow();
                throw new UncheckedIOException("cannot bind " + spec.id() + " to " + LOOPBACK, e);
            }
            this.port = server.getAddress().getPort();
        }

        static SimulatedInstance start(InstanceSpec spec, long seed, int workerThreads, double timeScale) {
            SimulatedInstance instance = new SimulatedInstance(spec, seed, workerThreads, timeScale);
            try {
                instance.server.start();
            } catch (RuntimeException e) {
                instance.close();
                throw e;
            }
            return instance;
        }

        private HttpServer bind(int port) throws IOException {
            HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getByName(LOOPBACK), port), 128);
            s.setExecutor(executor);
            s.createContext(PATH, this::handle);
            s.createContext(HEALTH_PATH, this::handleHealth);
            return s;
        }

        /**
         * Stops the server as a crash would: its port and every open connection close at once, and
         * requests under way get no answer.
         */
        synchronized void stop() {
            if (server == null) {
                throw new IllegalStateException(spec.id() + " is stopped already");
            }
            server.stop(0);
            server = null;
        }

        /**
         * Starts a new server on the port of the first. The JDK binds server sockets with
         * {@code SO_REUSEADDR}, so the connections the stop left in {@code TIME_WAIT} do not block
         * the bind; should another process have taken the port meanwhile, this tries again until
         * {@link #REBIND_TIMEOUT}.
         *
         * @return the port the new server is bound to, as it reports it
         */
        synchronized int restart() throws InterruptedException {
            if (server != null) {
                throw new IllegalStateException(spec.id() + " is running");
            }
            long deadline = System.nanoTime() + REBIND_TIMEOUT.toNanos();
            for (;;) {
                try {
                    HttpServer s = bind(port);
                    s.start();
                    server = s;
                    return s.getAddress().getPort();
                } catch (BindException e) {
                    if (System.nanoTime() - deadline > 0) {
                        throw new UncheckedIOException("cannot bind " + spec.id() + " to " + LOOPBACK + ":" + port
                                + " again", e);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot restart " + spec.id(), e);
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                if (Thread.interrupted()) {
                    throw new InterruptedException("interrupted while restarting " + spec.id());
                }
            }
        }

        InstanceSpec spec() {
            return spec;
        }

        int port() {
            return port;
        }

        /** How long this instance takes to answer the request with this id: the same every time. */
        long serviceNanos(String requestId) {
            return serviceNanos(random(requestId));
        }

        private long serviceNanos(SplittableRandom random) {
            double factor = Math.exp(SERVICE_SIGMA * random.nextGaussian() - SERVICE_SIGMA * SERVICE_SIGMA / 2);
            return (long) (meanNanos * Math.min(factor, SERVICE_CAP));
        }

        private SplittableRandom random(String requestId) {
            return new SplittableRandom(seed ^ (requestId.hashCode() * 0x9E3779B97F4A7C15L));
        }

        private void handleHealth(HttpExchange exchange) throws IOException {
            try (exchange) {
                if (!exchange.getRequestURI().getPath().equals(HEALTH_PATH)) {
                    exchange.sendResponseHeaders(404, -1);
                    return;
                }
                if (!exchange.getRequestMethod().equals("GET")) {
                    exchange.getResponseHeaders().set("Allow", "GET");
                    exchange.sendResponseHeaders(405, -1);
                    return;
                }
                byte[] bytes = "{\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.getResponseHeaders().set("X-Instance", spec.id());
                exchange.sendResponseHeaders(200, bytes.length);
                try (OutputStream responseBody = exchange.getResponseBody()) {
                    responseBody.write(bytes);
                }
            }
        }

        private void handle(HttpExchange exchange) throws IOException {
            try (exchange) {
                String method = exchange.getRequestMethod();
                if (!exchange.getRequestURI().getPath().equals(PATH)) {
                    exchange.sendResponseHeaders(404, -1);
                    return;
                }
                if (!method.equals("POST") && !method.equals("GET")) {
                    exchange.getResponseHeaders().set("Allow", "GET, POST");
                    exchange.sendResponseHeaders(405, -1);
                    return;
                }
                try (InputStream body = exchange.getRequestBody()) {
                    body.readAllBytes();
                }
                String requestId = exchange.getRequestHeaders().getFirst("X-Request-Id");
                if (requestId == null) {
                    requestId = "anon-" + unnamedRequests.incrementAndGet();
                }
                SplittableRandom random = random(requestId);
                long serviceNanos = serviceNanos(random);
                boolean fail = random.nextDouble() < spec.failureRate();
                try {
                    TimeUnit.NANOSECONDS.sleep(serviceNanos);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail = true;
                }
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.getResponseHeaders().set("X-Instance", spec.id());
                String json;
                int status;
                if (fail) {
                    status = 503;
                    exchange.getResponseHeaders().set("Retry-After", "1");
                    json = "{\"error\":{\"message\":\"instance overloaded\",\"type\":\"unavailable\"}}";
                } else {
                    status = 200;
                    json = String.format(Locale.ROOT,
                            "{\"id\":\"cmpl-%s\",\"object\":\"text_completion\",\"model\":\"sim-%s\","
                                    + "\"instance\":\"%s\",\"choices\":[{\"index\":0,\"text\":\"Hello!\","
                                    + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,"
                                    + "\"completion_tokens\":2,\"total_tokens\":5},\"service_ms\":%.3f}",
                            requestId, spec.kind(), spec.id(), serviceNanos / 1e6);
                }
                byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(status, bytes.length);
                try (OutputStream responseBody = exchange.getResponseBody()) {
                    responseBody.write(bytes);
                }
            }
        }

        @Override
        public synchronized void close() {
            if (server != null) {
                server.stop(0);
                server = null;
            }
            shutdown(executor, threads);
        }
    }

    // ---------------------------------------------------------------- threads

    /** Creates named daemon threads and remembers them, so they can be joined. */
    private static final class NamedThreadFactory implements ThreadFactory {
        private final String prefix;
        private final AtomicInteger count = new AtomicInteger();
        private final Queue<Thread> created = new ConcurrentLinkedQueue<>();

        NamedThreadFactory(String prefix) {
            this.prefix = prefix;
        }

        @Override
        public Thread newThread(Runnable task) {
            Thread thread = new Thread(task, prefix + count.incrementAndGet());
            thread.setDaemon(true);
            created.add(thread);
            return thread;
        }

        /** Waits until every thread created so far has ended, or the deadline passes. */
        boolean joinAll(long deadlineNanos) throws InterruptedException {
            for (Thread thread : created) {
                long left = deadlineNanos - System.nanoTime();
                if (left > 0) {
                    TimeUnit.NANOSECONDS.timedJoin(thread, left);
                }
                if (thread.isAlive()) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * Stops an executor and waits, up to {@link #SHUTDOWN_TIMEOUT}, for its threads to end. An
     * interrupt does not cut the wait short; it is restored afterwards.
     */
    private static void shutdown(ExecutorService executor, NamedThreadFactory threads) {
        executor.shutdownNow();
        long deadline = System.nanoTime() + SHUTDOWN_TIMEOUT.toNanos();
        boolean interrupted = false;
        boolean stopped = false;
        for (;;) {
            try {
                stopped = executor.awaitTermination(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)
                        && threads.joinAll(deadline);
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (!stopped) {
            System.err.println("demo: threads " + threads.prefix + "* did not stop within "
                    + SHUTDOWN_TIMEOUT.toSeconds() + " s");
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}

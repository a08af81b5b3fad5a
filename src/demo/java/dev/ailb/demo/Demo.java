package dev.ailb.demo;

import com.sun.net.httpserver.HttpServer;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerStats;
import dev.ailb.health.HealthCheck;
import dev.ailb.health.OutlierDetection;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

/**
 * Runs a fleet of six simulated AI inference instances on loopback and sends real HTTP requests
 * to them through a {@link LoadBalancer}, once per built-in strategy but one (see
 * {@link #STRATEGIES}), then prints what each instance served and how fast. A prefix cache run
 * then sends multi-turn chats to six instances that cache the prompts they prefill, through
 * {@code LEAST_CONNECTIONS} and through {@code PREFIX_AFFINITY}, and compares how much of the
 * prompts the instances found cached and how soon the first byte came. A further run shows health
 * checking: while requests flow, one instance is stopped, marked down and bypassed, then restarted
 * on the same port, marked up and used again. A short drain run then removes one instance
 * gracefully while requests flow: it takes no new request from the moment
 * {@link LoadBalancer#removeBackend} returns, its requests in flight finish and succeed, and it
 * leaves the balancer when the last is released.
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
 * interval (see {@link #healthTiming(double)}), but for those of the prefix cache run, whose
 * instances are {@link CachingInstance}s (see {@link PrefixScenario} for why). The client
 * addresses of the requests are labels for {@link BalancingStrategy#IP_HASH} and are never
 * contacted.
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

    /**
     * The strategies the demo runs over the fleet, in order: every built-in one but
     * {@code PREFIX_AFFINITY}. The requests of these runs carry no prompt, and a request without
     * one goes under {@code PREFIX_AFFINITY} to the least loaded backend, as under
     * {@code LEAST_CONNECTIONS}: a run of its own would show nothing new and cost the demo four
     * seconds of its minute. It runs in the prefix cache run instead ({@link #PREFIX_STRATEGIES}),
     * over chats whose prompts it routes by.
     */
    public static final List<BalancingStrategy> STRATEGIES = BalancingStrategy.builtIns().stream()
            .filter(s -> s != BalancingStrategy.PREFIX_AFFINITY)
            .collect(Collectors.toUnmodifiableList());

    /**
     * The strategies of the prefix cache scenario, in order: one that balances load alone, and the
     * one that routes a prompt to where its prefix is cached.
     */
    public static final List<BalancingStrategy> PREFIX_STRATEGIES =
            List.of(BalancingStrategy.LEAST_CONNECTIONS, BalancingStrategy.PREFIX_AFFINITY);

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
    static final String LOOPBACK = "127.0.0.1";
    private static final String NODELAY_PROPERTY = "sun.net.httpserver.nodelay";
    static final long SEED = 0x5EED_A11BL;
    private static final int CLIENT_ADDRESSES = 200;
    /** The health check interval at time scale 1 and below; it grows with slower service times. */
    private static final Duration HEALTH_INTERVAL = Duration.ofMillis(150);

    private Demo() {}

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
     * @param prefix     what the prefix cache scenario saw
     * @param health     what the health scenario saw
     * @param drain      what the drain scenario saw
     */
    public record Report(Map<String, LoadBalancerStats> strategies, PrefixReport prefix, HealthReport health,
                         DrainReport drain) {}

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
        PrefixReport prefix;
        HealthReport health;
        DrainReport drain;
        Set<Thread> healthThreadsBefore = DemoThreads.healthThreads();

        try (Fleet fleet = Fleet.start(FLEET, threads, timeScale);
             Clients clients = new Clients(threads)) {
            Tables.printFleet(out, fleet, requestsPerStrategy, threads, timeScale, timing);
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
                        Tables.printTable(out, stats, wall, transportErrors.sum());
                    } finally {
                        lb.stopHealthChecker();
                    }
                }
            }
            prefix = PrefixScenario.run(out, clients, requestsPerStrategy, threads, timeScale, clientAddresses);
            health = HealthScenario.run(out, fleet, clients, requestsPerStrategy, threads, timing, clientAddresses);
            drain = DrainScenario.run(out, clients, fleet, requestsPerStrategy, threads, timing, clientAddresses);
        } finally {
            DemoThreads.awaitHealthThreads(healthThreadsBefore);
        }
        Tables.printSummary(out, results, wallNanos, prefix, health, drain);
        out.flush();
        return new Report(Collections.unmodifiableMap(results), prefix, health, drain);
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
    static LoadBalancer newBalancer(BalancingStrategy strategy, long seed, HealthTiming timing) {
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

    static void addFleet(LoadBalancer lb, Fleet fleet) {
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
}

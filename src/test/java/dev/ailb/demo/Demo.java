package dev.ailb.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ailb.Backend;
import dev.ailb.BackendStats;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerMetrics;
import dev.ailb.LoadBalancerStats;
import dev.ailb.Request;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
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

/**
 * Runs a fleet of six simulated AI inference instances on loopback and sends real HTTP requests
 * to them through a {@link LoadBalancer}, once per built-in strategy, then prints what each
 * instance served and how fast.
 *
 * <pre>
 * mvn -B -q -Pdemo test-compile exec:java
 * mvn -B -q -Pdemo test-compile exec:java -Ddemo.args="--requests 3000 --threads 16"
 * </pre>
 *
 * <p>The instances are {@link HttpServer}s bound to {@code 127.0.0.1} on ephemeral ports. Each
 * answers {@code /v1/completions} after a log-normal service time around its own mean; the time of
 * a request depends only on the instance and the request id, so runs with the same arguments are
 * comparable. One instance fails a small fraction of requests with HTTP 503. The client addresses
 * of the requests are labels for {@link BalancingStrategy#IP_HASH} and are never contacted.
 *
 * <p>Every thread the demo starts is a daemon whose name begins with {@link #THREAD_PREFIX}; all of
 * them have ended, and every port is closed, when {@link #run} returns. The one thread left is the
 * JDK HTTP client's own selector thread ({@code HttpClient-N-SelectorManager}, a daemon): Java 17
 * offers no way to close an {@link HttpClient}, and that thread ends by itself once the client has
 * been garbage collected.
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

    static final String PATH = "/v1/completions";
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
        // The balancer logs every added backend at INFO; the tables are the output here.
        if (System.getProperty("org.slf4j.simpleLogger.log.dev.ailb") == null) {
            System.setProperty("org.slf4j.simpleLogger.log.dev.ailb", "warn");
        }
        run(options.requests(), options.threads(), options.timeScale(), System.out);
    }

    /**
     * Runs every strategy with real service times; see {@link #run(int, int, double, PrintStream)}.
     */
    public static Map<String, LoadBalancerStats> run(int requestsPerStrategy, int threads, PrintStream out)
            throws InterruptedException {
        return run(requestsPerStrategy, threads, 1.0, out);
    }

    /**
     * Starts the fleet, runs every strategy in {@link #STRATEGIES} against it, prints one table per
     * strategy and a summary, and stops everything it started.
     *
     * @param requestsPerStrategy requests sent through each strategy's balancer, >= 1
     * @param threads             client threads sending them concurrently, 1..256
     * @param timeScale           factor applied to every instance's service time, in (0, 10]
     * @param out                 where the tables go
     * @return the final stats of each strategy's balancer, by strategy name, in run order
     * @throws InterruptedException if the calling thread is interrupted; everything is still stopped
     */
    public static Map<String, LoadBalancerStats> run(int requestsPerStrategy, int threads, double timeScale,
                                                     PrintStream out) throws InterruptedException {
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
        Map<String, LoadBalancerStats> results = new LinkedHashMap<>();
        Map<String, Long> wallNanos = new LinkedHashMap<>();

        try (Fleet fleet = Fleet.start(FLEET, threads, timeScale);
             Clients clients = new Clients(threads)) {
            printFleet(out, fleet, requestsPerStrategy, threads, timeScale);
            warmUp(out, fleet, clients, threads, clientAddresses);
            int round = 0;
            for (BalancingStrategy strategy : STRATEGIES) {
                round++;
                try (LoadBalancer lb = LoadBalancer.builder()
                        .strategy(strategy)
                        .random(new Random(SEED + round))
                        .build()) {
                    for (SimulatedInstance instance : fleet.instances()) {
                        InstanceSpec spec = instance.spec();
                        lb.addBackend(spec.id(), LOOPBACK, instance.port(), spec.weight());
                    }
                    if (strategy == BalancingStrategy.RESOURCE_BASED) {
                        for (InstanceSpec spec : FLEET) {
                            lb.updateBackendResources(spec.id(), spec.cpu(), spec.memory());
                        }
                    }
                    LongAdder transportErrors = new LongAdder();
                    long start = System.nanoTime();
                    clients.sendAll(lb, requestsPerStrategy, clientAddresses, transportErrors);
                    long wall = System.nanoTime() - start;
                    LoadBalancerStats stats = lb.getAllStats();
                    results.put(strategy.name(), stats);
                    wallNanos.put(strategy.name(), wall);
                    printTable(out, stats, wall, transportErrors.sum());
                }
            }
        }
        printSummary(out, results, wallNanos);
        out.flush();
        return Collections.unmodifiableMap(results);
    }

    /**
     * Sends a few requests round-robin through a balancer that is then discarded, so that the first
     * strategy measured does not pay alone for opening connections and compiling the hot paths.
     */
    private static void warmUp(PrintStream out, Fleet fleet, Clients clients, int threads,
                               String[] clientAddresses) throws InterruptedException {
        int count = 2 * threads * fleet.instances().size();
        try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN)) {
            for (SimulatedInstance instance : fleet.instances()) {
                lb.addBackend(instance.spec().id(), LOOPBACK, instance.port(), instance.spec().weight());
            }
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

    // ---------------------------------------------------------------- output

    private static void printFleet(PrintStream out, Fleet fleet, int requests, int threads, double timeScale) {
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

    private static void printSummary(PrintStream out, Map<String, LoadBalancerStats> results,
                                     Map<String, Long> wallNanos) {
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
            LoadBalancerMetrics m = e.getValue().metrics();
            long toSlow = slowId == null ? 0
                    : e.getValue().backend(slowId).map(BackendStats::totalRequests).orElse(0L);
            out.println(String.format(Locale.ROOT, "  %-22s %,9d %8.2f%% %9.2f %9.2f %8.1f%% %8.2f",
                    e.getKey(), m.totalRequests(), m.successRate() * 100.0, millis(m.avgResponseTime()),
                    millis(m.p99ResponseTime()), percent(toSlow, m.totalRequests()),
                    wallNanos.get(e.getKey()) / 1e9));
        }
        out.println("  (slow %: share of requests sent to the slow instance)");
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

        private void sendOne(LoadBalancer lb, int index, String clientAddress, LongAdder transportErrors)
                throws InterruptedException {
            // The same ids in every round: an instance takes the same time for the same request.
            Request request = new Request(String.format(Locale.ROOT, "req-%06d", index), clientAddress, PATH);
            Backend backend = lb.selectBackend(request);
            lb.acquireConnection(backend);
            boolean success = false;
            long start = System.nanoTime();
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
                success = response.statusCode() >= 200 && response.statusCode() < 300;
            } catch (IOException e) {
                transportErrors.increment();
            } finally {
                lb.releaseConnection(backend, Duration.ofNanos(System.nanoTime() - start), success);
            }
        }

        @Override
        public void close() {
            shutdown(workers, workerThreads);
            shutdown(httpExecutor, httpThreads);
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

        @Override
        public void close() {
            for (SimulatedInstance instance : instances) {
                instance.close();
            }
        }
    }

    /** One simulated inference instance: an HTTP server on a loopback ephemeral port. */
    private static final class SimulatedInstance implements AutoCloseable {
        private final InstanceSpec spec;
        private final long seed;
        private final double meanNanos;
        private final HttpServer server;
        private final ExecutorService executor;
        private final NamedThreadFactory threads;
        private final AtomicLong unnamedRequests = new AtomicLong();

        private SimulatedInstance(InstanceSpec spec, long seed, int workerThreads, double timeScale) {
            this.spec = spec;
            this.seed = seed;
            this.meanNanos = spec.meanMillis() * timeScale * 1e6;
            this.threads = new NamedThreadFactory(THREAD_PREFIX + spec.id() + "-");
            try {
                this.server = HttpServer.create(
                        new InetSocketAddress(InetAddress.getByName(LOOPBACK), 0), 128);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot bind " + spec.id() + " to " + LOOPBACK, e);
            }
            this.executor = Executors.newFixedThreadPool(workerThreads, threads);
            server.setExecutor(executor);
            server.createContext(PATH, this::handle);
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

        InstanceSpec spec() {
            return spec;
        }

        int port() {
            return server.getAddress().getPort();
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
                SplittableRandom random = new SplittableRandom(seed ^ (requestId.hashCode() * 0x9E3779B97F4A7C15L));
                double factor = Math.exp(SERVICE_SIGMA * random.nextGaussian() - SERVICE_SIGMA * SERVICE_SIGMA / 2);
                long serviceNanos = (long) (meanNanos * Math.min(factor, SERVICE_CAP));
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
        public void close() {
            server.stop(0);
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

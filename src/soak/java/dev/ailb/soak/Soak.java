package dev.ailb.soak;

import dev.ailb.Backend;
import dev.ailb.BackendStats;
import dev.ailb.BalancingStrategy;
import dev.ailb.CallFailedException;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerMetrics;
import dev.ailb.LoadBalancerStats;
import dev.ailb.NoAvailableBackendException;
import dev.ailb.Request;
import dev.ailb.RetryPolicy;
import dev.ailb.health.HealthCheck;
import dev.ailb.health.OutlierDetection;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A soak run with real faults: six loopback HTTP instances, one {@link LoadBalancer} in front of
 * them with active HTTP health checks, outlier detection and a retry policy, client threads sending
 * a bounded number of real HTTP requests through it, and a {@link Chaos} driver that, while the
 * requests flow, kills and restarts instances on their port, makes one answer 503 and one hang,
 * removes the hanging one, drains one and puts it back, removes one and adds it again under the
 * same id, makes the whole fleet answer 503 for a moment and switches the strategy (the schedule
 * is in {@link Chaos}). Nothing is simulated in the balancer: the faults are closed ports, dropped
 * connections, error statuses and timeouts on real sockets.
 *
 * <pre>
 * mvn -B -q -Psoak test-compile exec:exec
 * mvn -B -q -Psoak test-compile exec:exec -Dsoak.args="--requests 600000"
 * </pre>
 *
 * <p><b>Traffic.</b> {@code --requests} operations in all (default {@value #DEFAULT_REQUESTS}),
 * taken in turn by {@code --threads} client threads (default {@value #DEFAULT_THREADS}) and paced
 * to {@code --rate} operations per second (default {@value #DEFAULT_RATE}; 0 for as fast as
 * possible), so the default run lasts about 100 seconds, about five chaos cycles. Six in ten
 * operations go through {@link LoadBalancer#execute} (a failed attempt is retried on another
 * backend under the retry budget), two in ten through {@link LoadBalancer#acquire(Request)} and a
 * lease, two in ten through {@link LoadBalancer#acquire(Request, String)} with one of
 * {@value #SESSIONS} session ids. Every HTTP call has a timeout of {@code --timeout-ms} (default
 * {@value #DEFAULT_TIMEOUT_MILLIS}), so a hanging instance becomes a failed attempt.
 *
 * <p><b>What is checked</b> once the clients are done, the chaos has put everything back and the
 * fleet is healthy again; any failed check makes the run exit with status 1:
 * <ol>
 *   <li>every operation is accounted for on the client side: sent = succeeded + failed with a
 *       reported error ({@link CallFailedException} by reason, {@link NoAvailableBackendException},
 *       a failed call under a lease), and nothing else was thrown;</li>
 *   <li>the balancer's figures equal the clients' exactly: routed requests = attempts made,
 *       successes and failures = attempts that succeeded and failed, retries = attempts after the
 *       first within an {@code execute}, refused retries = calls that stopped with
 *       {@code BUDGET_EXHAUSTED}, rejected selections = {@code NoAvailableBackendException}s,
 *       session hits + misses + rebinds = sticky leases, and per backend for every backend
 *       registered at the end. The overall totals keep the history of the backends removed during
 *       the run, so the removed registrations are checked as the difference;</li>
 *   <li>no connection is left active, on the registered backends nor on those that left;</li>
 *   <li>after {@link LoadBalancer#close()}, stopping the instances and the clients' pools, no
 *       thread started during the run is alive, beyond a bounded wait. The JDK 17
 *       {@link HttpClient} has no {@code close()}: its selector thread ends once the client is
 *       garbage collected, so the references are dropped, the heap collected and the wait
 *       repeated; a selector thread still alive after that is reported by name and fails the run.
 *       Only the JVM's {@code Attach Listener}, started when a tool such as {@code jcmd} attaches,
 *       is listed without counting;</li>
 *   <li>the heap is flat: used heap after a full collection is sampled at every 5% of the
 *       operations, and the median of the last quarter's samples may exceed the median of the
 *       first quarter's by at most {@value #HEAP_TOLERANCE_MIB} MiB.</li>
 * </ol>
 *
 * <p>Every thread the soak starts is named {@code soak-*}; the balancer's are {@code ailb-*}. The
 * library logs to SLF4J (errors only, as configured by the {@code soak} profile); what the
 * balancer announced is counted by a listener and printed at the end. A progress line comes every
 * ten seconds; {@code --verbose} prints each chaos step as well.
 */
public final class Soak {
    static final int DEFAULT_REQUESTS = 100_000;
    static final int DEFAULT_THREADS = 8;
    static final int DEFAULT_RATE = 1_000;
    static final int DEFAULT_TIMEOUT_MILLIS = 1_000;
    static final int SESSIONS = 400;
    static final int HEAP_TOLERANCE_MIB = 4;

    private static final int INSTANCES = 6;
    private static final int CLIENT_ADDRESSES = 64;
    private static final int HEAP_SAMPLES = 20;
    private static final Duration HEALTH_INTERVAL = Duration.ofMillis(200);
    private static final Duration HEALTH_TIMEOUT = Duration.ofMillis(250);
    private static final Duration CONNECT_TIMEOUT = Duration.ofMillis(500);
    private static final Duration DRAIN_TIMEOUT = Duration.ofMillis(500);
    private static final long SETTLE_MILLIS = 30_000;
    private static final long THREAD_WAIT_MILLIS = 15_000;
    private static final long PROGRESS_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final String BODY = "{\"model\":\"soak\",\"prompt\":\"Say ok.\",\"max_tokens\":1}";

    private Soak() {}

    /** The run's settings, from the command line. */
    record Options(int requests, int threads, int rate, int timeoutMillis, int basePort, boolean verbose) {}

    /**
     * Runs the soak; exits with status 0 if every check passed, 1 if one failed, 2 on a bad
     * argument.
     *
     * @param args the options, see {@link #usage()}
     * @throws Exception if the run itself could not be carried out (a port that cannot be bound)
     */
    public static void main(String[] args) throws Exception {
        Set<Thread> before = liveThreads();
        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("soak: " + e.getMessage());
            System.err.println(usage());
            System.exit(2);
            return;
        }
        if (options == null) {
            System.out.println(usage());
            return;
        }
        boolean passed = run(options, before, System.out);
        System.out.flush();
        System.exit(passed ? 0 : 1);
    }

    static String usage() {
        return "usage: Soak [--requests N] [--threads N] [--rate OPS_PER_SECOND|0] [--timeout-ms N]"
                + " [--base-port N] [--verbose]";
    }

    static Options parse(String... args) {
        int requests = DEFAULT_REQUESTS;
        int threads = DEFAULT_THREADS;
        int rate = DEFAULT_RATE;
        int timeout = DEFAULT_TIMEOUT_MILLIS;
        int basePort = 0;
        boolean verbose = false;
        List<String> list = new ArrayList<>();
        for (String a : args) {
            if (!a.isBlank()) {
                list.add(a.strip());
            }
        }
        for (int i = 0; i < list.size(); i++) {
            String name = list.get(i);
            if (name.equals("--help") || name.equals("-h")) {
                return null;
            }
            if (name.equals("--verbose")) {
                verbose = true;
                continue;
            }
            if (i + 1 >= list.size()) {
                throw new IllegalArgumentException(name + ": missing value");
            }
            String value = list.get(++i);
            switch (name) {
                case "--requests":
                    requests = number(name, value, 1, 100_000_000);
                    break;
                case "--threads":
                    threads = number(name, value, 1, 256);
                    break;
                case "--rate":
                    rate = number(name, value, 0, 1_000_000);
                    break;
                case "--timeout-ms":
                    timeout = number(name, value, 50, 60_000);
                    break;
                case "--base-port":
                    basePort = number(name, value, 1024, 65_000);
                    break;
                default:
                    throw new IllegalArgumentException("unknown option " + name);
            }
        }
        return new Options(requests, threads, rate, timeout, basePort, verbose);
    }

    private static int number(String name, String value, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(value.replace("_", "").replace(",", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: a number)");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(name + ": " + n + " (expected: " + min + ".." + max + ")");
        }
        return n;
    }

    // ---------------------------------------------------------------- the run

    /**
     * Runs the soak and prints its figures.
     *
     * @param before the threads alive before anything of the run was started
     * @return whether every check passed
     */
    static boolean run(Options o, Set<Thread> before, PrintStream out) throws Exception {
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            // Headers and body are written separately by the JDK server: without TCP_NODELAY the
            // body waits for the client's delayed ACK.
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
        long start = System.nanoTime();
        ZonedDateTime startedAt = ZonedDateTime.now();
        SoakThreads threads = new SoakThreads();
        Checks checks = new Checks();
        Tally tally = new Tally();

        List<SoakInstance> fleet = startFleet(o.basePort(), threads);
        LoadBalancer lb = LoadBalancer.builder()
                .strategy(BalancingStrategy.LEAST_CONNECTIONS)
                .healthCheck(HealthCheck.http(SoakInstance.HEALTH_PATH))
                .healthCheckInterval(HEALTH_INTERVAL)
                .healthCheckTimeout(HEALTH_TIMEOUT)
                .unhealthyThreshold(3)
                .healthyThreshold(2)
                .outlierDetection(OutlierDetection.builder()
                        .consecutiveFailures(5)
                        .baseEjectionTime(Duration.ofSeconds(2))
                        .maxEjectionTime(Duration.ofSeconds(10))
                        .build())
                .retryPolicy(RetryPolicy.builder().maxAttempts(3).budgetPercent(20).minRetriesPerSecond(10).build())
                .drainTimeout(DRAIN_TIMEOUT)
                .build();
        Chaos chaos = new Chaos(lb, fleet, o.verbose() ? out : null, start);
        lb.addListener(chaos);
        for (SoakInstance instance : fleet) {
            chaos.register(instance);
        }
        lb.startHealthChecker();

        printHeader(out, o, fleet, startedAt);

        ExecutorService httpPool = Executors.newCachedThreadPool(threads.factory("soak-http-"));
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER)
                .proxy(HttpClient.Builder.NO_PROXY)
                .executor(httpPool)
                .build();
        Clients clients = new Clients(lb, http, tally, o, start);
        http = null; // from here on only the clients hold it, so that it can be collected after the run
        ExecutorService workers = Executors.newFixedThreadPool(o.threads(), threads.factory("soak-client-"));
        Thread chaosThread = threads.newThread(chaos, "soak-chaos");
        chaosThread.start();
        for (int i = 0; i < o.threads(); i++) {
            workers.execute(clients::work);
        }
        workers.shutdown();

        long[] heap = new long[HEAP_SAMPLES];
        int sampled = 0;
        long lastProgress = System.nanoTime();
        while (!workers.awaitTermination(100, TimeUnit.MILLISECONDS)) {
            long done = tally.finished.sum();
            while (sampled < HEAP_SAMPLES && done >= (long) o.requests() * (sampled + 1) / HEAP_SAMPLES) {
                heap[sampled++] = usedHeapAfterGc();
            }
            if (System.nanoTime() - lastProgress >= PROGRESS_EVERY_NANOS) {
                lastProgress = System.nanoTime();
                printProgress(out, tally, o, start, chaos);
            }
        }
        while (sampled < HEAP_SAMPLES) {
            heap[sampled++] = usedHeapAfterGc();
        }
        long clientsDone = System.nanoTime();
        printProgress(out, tally, o, start, chaos);

        chaos.stop();
        chaosThread.join();
        boolean settled = awaitSettled(lb);
        LoadBalancerStats stats = lb.getAllStats();
        long settledNanos = System.nanoTime();

        // ---- accounting
        List<Backend> incarnations = chaos.incarnations();
        printAccounting(out, tally, checks);
        printAgreement(out, tally, stats, incarnations, checks);
        printBackends(out, tally, stats, incarnations, checks);
        printFaults(out, tally, chaos, fleet, checks, settled, stats);

        // ---- shutdown and threads
        lb.close();
        List<String> balancerThreads = liveNames(t -> t.getName().startsWith("ailb-"));
        for (SoakInstance instance : fleet) {
            instance.close();
        }
        threads.shutdown(httpPool);
        clients.dropHttpClient();
        List<String> notJoined = threads.joinAll(THREAD_WAIT_MILLIS);
        ThreadReport threadReport = awaitThreadsGone(before);
        printThreads(out, balancerThreads, notJoined, threadReport, checks);

        // ---- heap
        printHeap(out, heap, checks);

        long end = System.nanoTime();
        out.println();
        out.printf(Locale.ROOT, "wall time: %.1f s (traffic %.1f s, settle %.1f s, shutdown %.1f s); JDK %s; %s%n",
                (end - start) / 1e9, (clientsDone - start) / 1e9, (settledNanos - clientsDone) / 1e9,
                (end - settledNanos) / 1e9, System.getProperty("java.version"),
                startedAt.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        return checks.report(out);
    }

    private static List<SoakInstance> startFleet(int basePort, SoakThreads threads) {
        // Below the kernel's ephemeral range (32768 and up on Linux), so that no outgoing connection
        // takes the port of an instance while it is down.
        int port = basePort != 0 ? basePort : 20_000 + ThreadLocalRandom.current().nextInt(10_000);
        List<SoakInstance> fleet = new ArrayList<>();
        try {
            for (int i = 1; i <= INSTANCES; i++) {
                SoakInstance instance = SoakInstance.startNear("i" + i, port, 200, threads);
                fleet.add(instance);
                port = instance.port() + 1;
            }
        } catch (RuntimeException e) {
            for (SoakInstance instance : fleet) {
                instance.close();
            }
            throw e;
        }
        return fleet;
    }

    /** Waits until every instance is registered, available and neither draining nor in maintenance. */
    private static boolean awaitSettled(LoadBalancer lb) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_MILLIS);
        while (System.nanoTime() - deadline < 0) {
            LoadBalancerStats stats = lb.getAllStats();
            LoadBalancerMetrics m = stats.metrics();
            if (m.totalBackends() == INSTANCES && m.availableBackends() == INSTANCES && m.drainingBackends() == 0
                    && stats.backends().stream().noneMatch(BackendStats::inMaintenance)) {
                return true;
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
        return false;
    }

    private static long usedHeapAfterGc() {
        System.gc();
        Runtime runtime = Runtime.getRuntime();
        return runtime.totalMemory() - runtime.freeMemory(); // the heap in use: what MemoryMXBean reports
    }

    // ---------------------------------------------------------------- clients

    /** The client threads' work: take the next operation, pace it, do it, count it. */
    private static final class Clients {
        private final LoadBalancer lb;
        private final Tally tally;
        private final Options options;
        private final long startNanos;
        private final Duration timeout;
        private final long nanosPerOperation;
        private final AtomicLong next = new AtomicLong();
        private final String[] clientAddresses = new String[CLIENT_ADDRESSES];
        private volatile HttpClient http;

        Clients(LoadBalancer lb, HttpClient http, Tally tally, Options options, long startNanos) {
            this.lb = lb;
            this.http = http;
            this.tally = tally;
            this.options = options;
            this.startNanos = startNanos;
            this.timeout = Duration.ofMillis(options.timeoutMillis());
            this.nanosPerOperation = options.rate() == 0 ? 0 : TimeUnit.SECONDS.toNanos(1) / options.rate();
            for (int i = 0; i < CLIENT_ADDRESSES; i++) {
                clientAddresses[i] = "10.20." + (i / 16) + "." + (i % 16 + 1); // labels, never contacted
            }
        }

        void dropHttpClient() {
            http = null;
        }

        void work() {
            for (long n; (n = next.getAndIncrement()) < options.requests(); ) {
                pace(n);
                Request request = new Request("req-" + n, clientAddresses[(int) (n % CLIENT_ADDRESSES)],
                        SoakInstance.COMPLETIONS_PATH);
                int kind = (int) (n % 10);
                if (kind < 6) {
                    viaExecute(request);
                } else if (kind < 8) {
                    viaLease(request, null);
                } else {
                    viaLease(request, "session-" + Math.floorMod(n * 0x9E3779B97F4A7C15L >>> 17, SESSIONS));
                }
                tally.finished.increment();
            }
        }

        private void pace(long n) {
            if (nanosPerOperation == 0) {
                return;
            }
            long due = startNanos + n * nanosPerOperation;
            for (long left; (left = due - System.nanoTime()) > 0; ) {
                LockSupport.parkNanos(left);
            }
        }

        private void viaExecute(Request request) {
            Tally.PathCounts counts = tally.path(Tally.Path.EXECUTE);
            counts.sent.increment();
            int[] attempts = new int[1];
            try {
                lb.execute(request, backend -> {
                    attempts[0]++;
                    return attempt(backend, request);
                });
                counts.succeeded.increment();
            } catch (CallFailedException e) {
                counts.gaveUp.get(e.reason()).increment();
                if (e.attempts() != attempts[0]) {
                    tally.attemptCountMismatches.increment();
                }
            } catch (NoAvailableBackendException e) {
                counts.noBackend.increment();
                if (attempts[0] != 0) {
                    tally.attemptCountMismatches.increment();
                }
            } catch (RuntimeException | Error e) {
                tally.unexpected(Tally.Path.EXECUTE, e);
            }
            if (attempts[0] > 1) {
                tally.retries.add(attempts[0] - 1L);
            }
        }

        private void viaLease(Request request, String session) {
            Tally.Path path = session == null ? Tally.Path.LEASE : Tally.Path.STICKY;
            Tally.PathCounts counts = tally.path(path);
            counts.sent.increment();
            Lease lease;
            try {
                lease = session == null ? lb.acquire(request) : lb.acquire(request, session);
            } catch (NoAvailableBackendException e) {
                counts.noBackend.increment();
                return;
            } catch (RuntimeException | Error e) {
                tally.unexpected(path, e);
                return;
            }
            if (session != null) {
                tally.stickyAcquired.increment();
            }
            try (lease) {
                attempt(lease.backend(), request);
                lease.success();
                counts.succeeded.increment();
            } catch (IOException | InterruptedException e) {
                lease.failure();
                counts.callFailed.increment();
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
            } catch (RuntimeException | Error e) {
                tally.unexpected(path, e);
            }
        }

        /** One HTTP call to the backend, counted as an attempt on it; throws when it fails. */
        private String attempt(Backend backend, Request request) throws IOException, InterruptedException {
            Tally.BackendCounts counts = tally.attemptOn(backend);
            try {
                String body = call(backend, request);
                tally.attemptSucceeded(counts);
                return body;
            } catch (IOException | InterruptedException | RuntimeException e) {
                tally.attemptFailed(counts, e);
                throw e;
            }
        }

        private String call(Backend backend, Request request) throws IOException, InterruptedException {
            HttpRequest httpRequest = HttpRequest.newBuilder(
                            URI.create("http://" + backend.host() + ":" + backend.port() + request.path()))
                    .timeout(timeout)
                    .header("Content-Type", "application/json")
                    .header("X-Request-Id", request.id())
                    .POST(HttpRequest.BodyPublishers.ofString(BODY))
                    .build();
            HttpResponse<String> response = http.send(httpRequest, HttpResponse.BodyHandlers.ofString());
            if (!response.headers().firstValue(SoakInstance.INSTANCE_HEADER).orElse("").equals(backend.id())) {
                tally.wrongInstance.increment();
            }
            if (response.statusCode() != 200) {
                throw new Tally.StatusException(response.statusCode());
            }
            return response.body();
        }
    }

    // ---------------------------------------------------------------- threads

    private static Set<Thread> liveThreads() {
        Set<Thread> live = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive()) {
                live.add(t);
            }
        }
        return live;
    }

    private static List<String> liveNames(java.util.function.Predicate<Thread> which) {
        List<String> names = new ArrayList<>();
        for (Thread t : liveThreads()) {
            if (which.test(t)) {
                names.add(t.getName());
            }
        }
        names.sort(null);
        return names;
    }

    /** What was left after the run, and what it took to get there. */
    record ThreadReport(List<String> afterShutdown, List<String> left, List<String> attached, long waitedMillis,
            int collections) {}

    /**
     * Waits, collecting the heap every half second, until no thread is alive that was not alive
     * before the run, or the bounded wait is over.
     */
    private static ThreadReport awaitThreadsGone(Set<Thread> before) throws InterruptedException {
        List<String> afterShutdown = newThreads(before);
        long begin = System.nanoTime();
        long deadline = begin + TimeUnit.MILLISECONDS.toNanos(THREAD_WAIT_MILLIS);
        int collections = 0;
        List<String> left = afterShutdown;
        while (!left.isEmpty() && System.nanoTime() - deadline < 0) {
            System.gc();
            collections++;
            TimeUnit.MILLISECONDS.sleep(500);
            left = newThreads(before);
        }
        List<String> attached = liveNames(t -> !before.contains(t) && isAttachListener(t));
        return new ThreadReport(afterShutdown, left, attached,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - begin), collections);
    }

    private static List<String> newThreads(Set<Thread> before) {
        return liveNames(t -> !before.contains(t) && !isAttachListener(t));
    }

    /**
     * The JVM starts this thread when an outside tool attaches (jcmd, jmap, a profiler); it is
     * neither the run's nor the library's, so it is listed but not held against the run.
     */
    private static boolean isAttachListener(Thread t) {
        return t.getName().equals("Attach Listener");
    }

    // ---------------------------------------------------------------- printing

    private static void printHeader(PrintStream out, Options o, List<SoakInstance> fleet, ZonedDateTime startedAt) {
        out.println("=== soak with real faults ===");
        StringBuilder ports = new StringBuilder();
        for (SoakInstance instance : fleet) {
            ports.append(ports.length() == 0 ? "" : ", ").append(instance);
        }
        out.printf(Locale.ROOT, "started %s, JDK %s, %d cores%n", startedAt.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
                System.getProperty("java.version"), Runtime.getRuntime().availableProcessors());
        out.println("fleet: " + ports);
        out.printf(Locale.ROOT, "traffic: %,d operations, %d client threads, %s, HTTP timeout %d ms%n", o.requests(),
                o.threads(), o.rate() == 0 ? "unpaced" : String.format(Locale.ROOT, "%,d ops/s", o.rate()),
                o.timeoutMillis());
        out.printf(Locale.ROOT, "balancer: LEAST_CONNECTIONS at first, GET /health every %d ms (timeout %d ms, fall 3, rise 2), "
                        + "ejection after 5 failures (2 s..10 s), 3 attempts, retry budget 20%% + 10/s, "
                        + "drain timeout %d ms%n", HEALTH_INTERVAL.toMillis(), HEALTH_TIMEOUT.toMillis(),
                DRAIN_TIMEOUT.toMillis());
        out.printf(Locale.ROOT, "chaos: a %d s cycle of kill/restart, 503, hang, remove while hung, drain/undrain, "
                + "remove/re-add, fleet-wide 503, next strategy; rotating over the fleet%n", Chaos.CYCLE_MILLIS / 1000);
        out.println();
    }

    private static void printProgress(PrintStream out, Tally tally, Options o, long start, Chaos chaos) {
        double seconds = (System.nanoTime() - start) / 1e9;
        long done = tally.finished.sum();
        long ok = tally.succeeded();
        String faults = chaos.outOfService();
        out.printf(Locale.ROOT, "%8.1f s  %,9d / %,d ops  %6.0f ops/s  ok %5.1f%%  %s%n", seconds, done, o.requests(),
                done / seconds, done == 0 ? 100.0 : 100.0 * ok / done, faults.isEmpty() ? "" : "out: " + faults);
    }

    private static void printAccounting(PrintStream out, Tally tally, Checks checks) {
        out.println();
        out.println("--- client side: every operation accounted for ---");
        out.printf(Locale.ROOT, "%-26s %10s %10s %10s %10s %10s %10s%n", "path", "sent", "succeeded", "reported",
                "no backend", "gave up", "unexpected");
        for (Tally.Path p : Tally.Path.values()) {
            Tally.PathCounts c = tally.path(p);
            long gaveUp = c.reportedFailures() - c.noBackend.sum();
            out.printf(Locale.ROOT, "%-26s %,10d %,10d %,10d %,10d %,10d %,10d%n", p.label, c.sent.sum(),
                    c.succeeded.sum(), c.reportedFailures(), c.noBackend.sum(), gaveUp, c.unexpected.sum());
            checks.equal("client: " + p.label + ": sent = succeeded + reported failures", c.sent.sum(),
                    c.succeeded.sum() + c.reportedFailures());
        }
        out.printf(Locale.ROOT, "%-26s %,10d %,10d %,10d%n", "all", tally.sent(), tally.succeeded(),
                tally.reportedFailures());
        out.println("  ('gave up' is CallFailedException for execute, a failed call under the lease otherwise)");
        Tally.PathCounts ex = tally.path(Tally.Path.EXECUTE);
        for (CallFailedException.Reason r : CallFailedException.Reason.values()) {
            out.printf(Locale.ROOT, "  CallFailedException %-20s %,10d%n", r, ex.gaveUp.get(r).sum());
        }
        checks.equal("client: operations finished = sent", tally.finished.sum(), tally.sent());
        checks.equal("client: nothing but reported errors was thrown", 0, tally.unexpectedCount());
        tally.unexpectedErrors().forEach((k, v) -> out.printf(Locale.ROOT, "  UNEXPECTED %,d x %s%n", v, k));
        checks.equal("client: CallFailedException.attempts() = attempts made", 0, tally.attemptCountMismatches.sum());
        checks.equal("client: answered by the instance the balancer chose", 0, tally.wrongInstance.sum());

        out.println();
        out.println("attempts (one HTTP call under one held connection):");
        out.printf(Locale.ROOT, "  %-72s %,10d%n", "made", tally.attempts.sum());
        out.printf(Locale.ROOT, "  %-72s %,10d%n", "succeeded", tally.attemptsSucceeded.sum());
        out.printf(Locale.ROOT, "  %-72s %,10d%n", "failed", tally.attemptsFailed.sum());
        tally.failureCauses().forEach((k, v) -> out.printf(Locale.ROOT, "    %-70s %,10d%n", k, v));
        checks.equal("client: attempts = succeeded + failed", tally.attempts.sum(),
                tally.attemptsSucceeded.sum() + tally.attemptsFailed.sum());
    }

    private static void printAgreement(PrintStream out, Tally tally, LoadBalancerStats stats, List<Backend> incarnations,
            Checks checks) {
        LoadBalancerMetrics m = stats.metrics();
        long activeElsewhere = 0;
        Set<Backend> registered = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        registered.addAll(lbBackends(stats, incarnations));
        for (Backend b : incarnations) {
            if (!registered.contains(b)) {
                activeElsewhere += b.activeConnections();
            }
        }
        long sessionPlaced = m.sessionHits() + m.sessionMisses() + m.sessionRebinds();
        long sessionsPerBackend = 0;
        for (BackendStats s : stats.backends()) {
            sessionsPerBackend += s.sessions();
        }
        out.println();
        out.println("--- balancer vs clients: exact agreement ---");
        out.printf(Locale.ROOT, "%-58s %12s %12s  %s%n", "figure", "clients", "balancer", "");
        row(out, checks, "requests routed = attempts made", tally.attempts.sum(), m.totalRequests());
        row(out, checks, "successes = attempts succeeded", tally.attemptsSucceeded.sum(), m.successes());
        row(out, checks, "failures = attempts failed", tally.attemptsFailed.sum(), m.failures());
        row(out, checks, "completed (successes + failures) = requests routed", m.totalRequests(),
                m.completedRequests());
        row(out, checks, "retries = attempts after the first in execute", tally.retries.sum(), m.retries());
        row(out, checks, "retries refused = gave up with BUDGET_EXHAUSTED",
                tally.gaveUp(CallFailedException.Reason.BUDGET_EXHAUSTED), m.retriesRefused());
        row(out, checks, "rejected selections = NoAvailableBackendException", tally.noBackend(),
                m.rejectedRequests());
        row(out, checks, "session hits + misses + rebinds = sticky leases", tally.stickyAcquired.sum(), sessionPlaced);
        row(out, checks, "active connections, registered backends", 0, m.activeConnections());
        row(out, checks, "active connections, backends removed during the run", 0, activeElsewhere);
        row(out, checks, "sessions in the table = sum over backends", sessionsPerBackend, m.sessions());
        out.printf(Locale.ROOT, "  sessions: %,d hits, %,d misses, %,d rebinds; panic selections %,d%n",
                m.sessionHits(), m.sessionMisses(), m.sessionRebinds(), m.panicSelections());
    }

    private static void row(PrintStream out, Checks checks, String name, long clients, long balancer) {
        boolean ok = checks.equal(name, clients, balancer);
        out.printf(Locale.ROOT, "%-58s %,12d %,12d  %s%n", name, clients, balancer, ok ? "ok" : "MISMATCH");
    }

    /** The backend objects registered when the stats were taken, matched by id to the newest registration. */
    private static List<Backend> lbBackends(LoadBalancerStats stats, List<Backend> incarnations) {
        List<Backend> found = new ArrayList<>();
        for (BackendStats s : stats.backends()) {
            Backend newest = null;
            for (Backend b : incarnations) {
                if (b.id().equals(s.id()) && !b.isRemoved()) {
                    newest = b;
                }
            }
            if (newest != null) {
                found.add(newest);
            }
        }
        return found;
    }

    private static void printBackends(PrintStream out, Tally tally, LoadBalancerStats stats, List<Backend> incarnations,
            Checks checks) {
        out.println();
        out.println("--- per backend: clients' attempts vs balancer (requests / successes / failures) ---");
        out.printf(Locale.ROOT, "%-22s %27s   %27s  %s%n", "backend", "clients", "balancer", "");
        List<Backend> live = lbBackends(stats, incarnations);
        long[] liveSums = new long[3];
        for (Backend b : live) {
            BackendStats s = stats.backend(b.id()).orElseThrow();
            Tally.BackendCounts c = tally.countsOf(b);
            long[] client = {c.attempts.sum(), c.succeeded.sum(), c.failed.sum()};
            long[] balancer = {s.totalRequests(), s.successes(), s.failures()};
            boolean ok = Arrays.equals(client, balancer);
            checks.expect("per backend: " + b.id() + " (registration " + registration(b, incarnations) + ")", ok,
                    Arrays.toString(client) + " vs " + Arrays.toString(balancer));
            for (int i = 0; i < 3; i++) {
                liveSums[i] += balancer[i];
            }
            out.printf(Locale.ROOT, "%-22s %,9d %,8d %,8d   %,9d %,8d %,8d  %s%n",
                    b.id() + " #" + registration(b, incarnations) + " :" + b.port(), client[0], client[1], client[2],
                    balancer[0], balancer[1], balancer[2], ok ? "ok" : "MISMATCH");
        }
        long[] removedClient = new long[3];
        int removed = 0;
        for (Backend b : incarnations) {
            if (live.stream().noneMatch(x -> x == b)) {
                removed++;
                Tally.BackendCounts c = tally.countsOf(b);
                removedClient[0] += c.attempts.sum();
                removedClient[1] += c.succeeded.sum();
                removedClient[2] += c.failed.sum();
            }
        }
        LoadBalancerMetrics m = stats.metrics();
        long[] removedBalancer = {m.totalRequests() - liveSums[0], m.successes() - liveSums[1],
                m.failures() - liveSums[2]};
        boolean ok = Arrays.equals(removedClient, removedBalancer);
        checks.expect("removed registrations: clients = overall - registered", ok,
                Arrays.toString(removedClient) + " vs " + Arrays.toString(removedBalancer));
        out.printf(Locale.ROOT, "%-22s %,9d %,8d %,8d   %,9d %,8d %,8d  %s%n", removed + " removed, by diff",
                removedClient[0], removedClient[1], removedClient[2], removedBalancer[0], removedBalancer[1],
                removedBalancer[2], ok ? "ok" : "MISMATCH");
        out.println("  (#n: the n-th registration of that id; a removed one has no stats of its own, the overall"
                + " totals keep its history)");
    }

    private static int registration(Backend b, List<Backend> incarnations) {
        int n = 0;
        for (Backend x : incarnations) {
            if (x.id().equals(b.id())) {
                n++;
            }
            if (x == b) {
                return n;
            }
        }
        return n;
    }

    private static void printFaults(PrintStream out, Tally tally, Chaos chaos, List<SoakInstance> fleet, Checks checks,
            boolean settled, LoadBalancerStats stats) {
        out.println();
        out.printf(Locale.ROOT, "--- faults injected (%d full cycles; strategy at the end %s) and what the balancer "
                + "announced ---%n", chaos.cycles(), stats.strategy());
        for (Chaos.Action a : Chaos.Action.values()) {
            out.printf(Locale.ROOT, "  %-58s %,8d%n", a.label, chaos.count(a));
        }
        chaos.events().forEach((k, v) -> out.printf(Locale.ROOT, "  listener: %-48s %,8d%n", k, v));
        for (Chaos.Action a : List.of(Chaos.Action.KILL, Chaos.Action.RESTART, Chaos.Action.FAIL_503,
                Chaos.Action.BROWNOUT, Chaos.Action.HANG, Chaos.Action.STRATEGY, Chaos.Action.DRAIN, Chaos.Action.UNDRAIN, Chaos.Action.REMOVE,
                Chaos.Action.READD)) {
            checks.expect("chaos: " + a.label + " at least once", chaos.count(a) > 0, "0");
        }
        checks.equal("chaos: every kill restarted", chaos.count(Chaos.Action.KILL),
                chaos.count(Chaos.Action.RESTART));
        checks.equal("chaos: every drain undrained", chaos.count(Chaos.Action.DRAIN),
                chaos.count(Chaos.Action.UNDRAIN));
        checks.equal("chaos: every removal added again", chaos.count(Chaos.Action.REMOVE),
                chaos.count(Chaos.Action.READD));
        checks.equal("listener: one removal event per removeBackend", chaos.count(Chaos.Action.REMOVE),
                chaos.event("backend removed"));
        checks.equal("listener: one added event per addBackend", INSTANCES + chaos.count(Chaos.Action.READD),
                chaos.event("backend added"));
        for (String problem : chaos.problems()) {
            checks.expect("chaos: " + problem, false, "");
        }
        checks.expect("the fleet is back: " + INSTANCES + " registered and available, none draining or in maintenance",
                settled, stats.metrics().toString());

        out.println();
        out.println("--- instances (server side) ---");
        out.printf(Locale.ROOT, "%-4s %6s %7s %10s %10s %8s %8s%n", "id", "port", "starts", "200", "503", "held",
                "probes");
        for (SoakInstance i : fleet) {
            out.printf(Locale.ROOT, "%-4s %6d %7d %,10d %,10d %,8d %,8d%n", i.id(), i.port(), i.starts.sum(),
                    i.answeredOk.sum(), i.answeredFailing.sum(), i.held.sum(), i.probes.sum());
        }
        printServerSide(out, tally, fleet);
    }

    private static void printServerSide(PrintStream out, Tally tally, List<SoakInstance> fleet) {
        long ok = 0;
        long failing = 0;
        for (SoakInstance i : fleet) {
            ok += i.answeredOk.sum();
            failing += i.answeredFailing.sum();
        }
        Long clientFailing = tally.failureCauses().get("HTTP 503");
        out.printf(Locale.ROOT, "  answered 200 by the instances %,d, received by the clients %,d: %,d answered after the"
                + " client gave up or lost to a kill%n", ok, tally.attemptsSucceeded.sum(), ok - tally.attemptsSucceeded.sum());
        out.printf(Locale.ROOT, "  answered 503 by the instances %,d, received by the clients %,d%n", failing,
                clientFailing == null ? 0 : clientFailing);
    }

    private static void printThreads(PrintStream out, List<String> balancerThreads, List<String> notJoined,
            ThreadReport report, Checks checks) {
        out.println();
        out.println("--- threads after close ---");
        out.printf(Locale.ROOT, "  %-58s %s%n", "ailb-* alive right after lb.close()",
                balancerThreads.isEmpty() ? "none" : balancerThreads);
        out.printf(Locale.ROOT, "  %-58s %s%n", "soak-* threads not ended after their pools stopped",
                notJoined.isEmpty() ? "none" : notJoined);
        out.printf(Locale.ROOT, "  %-58s %s%n", "threads not there before the run, after shutdown",
                report.afterShutdown().isEmpty() ? "none" : report.afterShutdown());
        out.printf(Locale.ROOT, "  %-58s %s%n",
                "... after " + report.collections() + " GCs and " + report.waitedMillis() + " ms",
                report.left().isEmpty() ? "none" : report.left());
        if (!report.attached().isEmpty()) {
            out.printf(Locale.ROOT, "  %-58s %s%n", "not counted: started by an outside tool attaching",
                    report.attached());
        }
        checks.expect("threads: no ailb-* thread alive once close() returned", balancerThreads.isEmpty(),
                balancerThreads.toString());
        checks.expect("threads: every soak-* thread ended", notJoined.isEmpty(), notJoined.toString());
        checks.expect("threads: none left that was not there before the run", report.left().isEmpty(),
                report.left().toString());
    }

    private static void printHeap(PrintStream out, long[] heap, Checks checks) {
        int quarter = HEAP_SAMPLES / 4;
        long first = median(Arrays.copyOfRange(heap, 0, quarter));
        long last = median(Arrays.copyOfRange(heap, HEAP_SAMPLES - quarter, HEAP_SAMPLES));
        out.println();
        out.println("--- heap used after a full GC, at every 5% of the operations (MiB) ---");
        StringBuilder line = new StringBuilder(" ");
        for (int i = 0; i < heap.length; i++) {
            line.append(String.format(Locale.ROOT, " %3d%%:%5.1f", (i + 1) * 100 / HEAP_SAMPLES, mib(heap[i])));
            if (i % 5 == 4) {
                out.println(line);
                line = new StringBuilder(" ");
            }
        }
        long growth = last - first;
        out.printf(Locale.ROOT, "  first quarter median %.1f MiB, last quarter median %.1f MiB, growth %+.2f MiB "
                + "(tolerance %d MiB)%n", mib(first), mib(last), mib(growth), HEAP_TOLERANCE_MIB);
        checks.expect("heap: last quarter within " + HEAP_TOLERANCE_MIB + " MiB of the first",
                growth <= HEAP_TOLERANCE_MIB * 1024L * 1024L, String.format(Locale.ROOT, "%+.2f MiB", mib(growth)));
    }

    private static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    // ---------------------------------------------------------------- checks

    /** The assertions of the run: each one a name and a verdict; the run passes if all hold. */
    static final class Checks {
        private final List<String> failed = new ArrayList<>();
        private int passed;

        boolean equal(String name, long expected, long actual) {
            return expect(name, expected == actual, "expected " + expected + ", got " + actual);
        }

        boolean expect(String name, boolean ok, String detail) {
            if (ok) {
                passed++;
            } else {
                failed.add(name + (detail.isEmpty() ? "" : ": " + detail));
            }
            return ok;
        }

        boolean report(PrintStream out) {
            if (failed.isEmpty()) {
                out.printf(Locale.ROOT, "SOAK PASSED: %d checks%n", passed);
                return true;
            }
            out.printf(Locale.ROOT, "SOAK FAILED: %d of %d checks%n", failed.size(), passed + failed.size());
            for (String f : failed) {
                out.println("  FAILED " + f);
            }
            return false;
        }
    }
}

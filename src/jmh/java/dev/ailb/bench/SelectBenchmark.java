package dev.ailb.bench;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of one selection, and of one selection with its connection acquired and released, for
 * every built-in strategy over fleets of 6, 64, 1,000 and 10,000 backends.
 *
 * <p>Every backend has a few completed requests behind it (so response-time averages exist) and a
 * recent load report. The backends are labels only: nothing is ever contacted.
 *
 * <pre>
 * mvn -B -q -Pbench -DskipTests package
 * java -jar target/benchmarks.jar SelectBenchmark -f 1 -wi 2 -w 1 -i 3 -r 1
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class SelectBenchmark {

    /** Number of prepared requests; a power of two so that the index wraps with a mask. */
    static final int REQUESTS = 1024;
    static final int REQUEST_MASK = REQUESTS - 1;

    /** Response time given to every release in {@link #selectAcquireRelease}: 1 ms. */
    static final long RESPONSE_NANOS = 1_000_000L;

    @Param({"ROUND_ROBIN", "LEAST_CONNECTIONS", "WEIGHTED_ROUND_ROBIN", "IP_HASH",
            "LEAST_RESPONSE_TIME", "RANDOM", "RESOURCE_BASED"})
    public String strategy;

    @Param({"6", "64", "1000", "10000"})
    public int backends;

    LoadBalancer lb;
    Backend[] fleet;
    Request[] requests;
    String[] sessions;

    /** Index of the next prepared request, one per benchmark thread. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;

        /**
         * Threads start at different places, so that two threads walking the fleet in
         * {@code acquireRelease} are not in step on the same backend for the whole run.
         */
        @Setup(Level.Trial)
        public void start() {
            next = ThreadLocalRandom.current().nextInt(1 << 20);
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        BalancingStrategy target = BalancingStrategy.builtIn(strategy);

        // Backends are registered under ROUND_ROBIN, whose picker is cheap to rebuild, and the
        // measured strategy is set once at the end, so its picker is built once for the final
        // set instead of once per registration.
        lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN);
        for (int i = 0; i < backends; i++) {
            lb.addBackend("b-" + i, "10.0." + (i / 250) + "." + (i % 250), 1024 + i % 60_000, 1 + i % 3);
        }

        List<Backend> all = lb.getBackends();
        for (int i = 0; i < all.size(); i++) {
            Backend b = all.get(i);
            // Three completed requests each, from 0.2 ms to about 50 ms, one in seven of the
            // third ones failed.
            for (int k = 0; k < 3; k++) {
                lb.acquireConnection(b);
                Duration took = Duration.ofNanos(1_000L * (200 + (i * 7_919L + k * 104_729L) % 50_000));
                lb.releaseConnection(b, took, k != 2 || i % 7 != 0);
            }
            double cpu = ((i * 37) % 101) / 100.0;
            double memory = ((i * 53 + 11) % 101) / 100.0;
            lb.updateBackendResources(b.id(), cpu, memory);
        }

        lb.setStrategy(target);
        fleet = all.toArray(new Backend[0]);

        requests = new Request[REQUESTS];
        for (int k = 0; k < REQUESTS; k++) {
            String clientIp = "172." + (16 + k % 16) + "." + ((k * 37) % 256) + "." + ((k * 101 + 1) % 256);
            requests[k] = new Request("req-" + k, clientIp, "/v1/completions");
        }
        // Every session is bound once here, so selectSticky measures the hit path.
        sessions = new String[REQUESTS];
        for (int k = 0; k < REQUESTS; k++) {
            sessions[k] = "session-" + k;
            lb.selectBackend(requests[k], sessions[k]);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        lb.close();
    }

    /** One selection. */
    @Benchmark
    public Backend select(Cursor cursor) {
        return lb.selectBackend(requests[cursor.next++ & REQUEST_MASK]);
    }

    /** One selection of a session already bound: the sticky hit path. */
    @Benchmark
    public Backend selectSticky(Cursor cursor) {
        int k = cursor.next++ & REQUEST_MASK;
        return lb.selectBackend(requests[k], sessions[k]);
    }

    /** One selection on each of two threads sharing the balancer. */
    @Benchmark
    @Threads(2)
    public Backend selectTwoThreads(Cursor cursor) {
        return lb.selectBackend(requests[cursor.next++ & REQUEST_MASK]);
    }

    /**
     * The bookkeeping around one request without its selection: a connection acquired on the
     * next backend in turn and released as a 1 ms success.
     */
    @Benchmark
    public Backend acquireRelease(Cursor cursor) {
        Backend backend = fleet[(cursor.next++ & Integer.MAX_VALUE) % fleet.length];
        lb.acquireConnection(backend);
        lb.releaseConnection(backend, RESPONSE_NANOS, true);
        return backend;
    }

    /** {@link #acquireRelease} on each of two threads sharing the balancer. */
    @Benchmark
    @Threads(2)
    public Backend acquireReleaseTwoThreads(Cursor cursor) {
        return acquireRelease(cursor);
    }

    /** {@link #selectSticky} on each of two threads sharing the balancer. */
    @Benchmark
    @Threads(2)
    public Backend selectStickyTwoThreads(Cursor cursor) {
        return selectSticky(cursor);
    }

    /** One selection, then the connection's acquisition and its release as a 1 ms success. */
    @Benchmark
    public Backend selectAcquireRelease(Cursor cursor) {
        Backend backend = lb.selectBackend(requests[cursor.next++ & REQUEST_MASK]);
        lb.acquireConnection(backend);
        lb.releaseConnection(backend, RESPONSE_NANOS, true);
        return backend;
    }

    /**
     * One lease taken and released as a success: the selection, the lease with its routing
     * decision kept in its fields (nobody asks for the record, the routing logger is off and no
     * attempt tracer is set), and the release. The lease is the one allocation.
     */
    @Benchmark
    public Lease acquireLease(Cursor cursor) {
        Lease lease = lb.acquire(requests[cursor.next++ & REQUEST_MASK]);
        lease.success();
        return lease;
    }
}

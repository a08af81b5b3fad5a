package dev.ailb.bench;

import dev.ailb.BalancingStrategy;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadReport;
import dev.ailb.Priority;
import dev.ailb.Request;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * What admission costs a request when the fleet has room: a lease taken and released on a
 * balancer with connection limits and an admission queue ({@code admitted}, and
 * {@code admittedAsync} through {@code acquireAsync}), beside the same on a balancer without them
 * ({@code plain}, today's {@code acquire}), in the same run. The limits are far above what one
 * thread holds and no backend reports saturation, so no request ever waits: the difference is the
 * capacity stage (a limit read, a report read) and the queue's empty check. With
 * {@code reports=true} every backend has a fresh report with room, so the stage also reads the
 * ticker and the report's figures.
 *
 * <p>The target: {@code admitted} within 10% of {@code plain}. The backends are labels only.
 *
 * <pre>
 * mvn -B -q -Pbench -DskipTests package
 * java -jar target/benchmarks.jar AdmissionBenchmark -f 1 -wi 3 -w 1 -i 5 -r 1
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class AdmissionBenchmark {
    static final int REQUESTS = 1024;
    static final int REQUEST_MASK = REQUESTS - 1;

    @Param({"LEAST_CONNECTIONS", "ROUND_ROBIN"})
    public String strategy;

    @Param({"6", "1000"})
    public int backends;

    @Param({"false", "true"})
    public boolean reports;

    LoadBalancer plainBalancer;
    LoadBalancer limitedBalancer;
    Request[] requests;
    int next;

    @Setup(Level.Trial)
    public void setUp() {
        BalancingStrategy s = BalancingStrategy.builtIn(strategy);
        plainBalancer = LoadBalancer.builder().strategy(s).build();
        limitedBalancer = LoadBalancer.builder().strategy(s).connectionLimit(1_000)
                .admissionQueue(1_000, java.time.Duration.ofSeconds(30)).build();
        for (LoadBalancer lb : new LoadBalancer[] {plainBalancer, limitedBalancer}) {
            for (int i = 0; i < backends; i++) {
                lb.addBackend("instance-" + i, "10.0." + (i >> 8) + "." + (i & 255), 8000);
                if (reports) {
                    lb.updateBackendResources("instance-" + i,
                            LoadReport.builder().waitingRequests(0).kvCacheUsage(0.3).build());
                }
            }
        }
        Priority[] priorities = {Priority.CRITICAL, Priority.STANDARD, Priority.SHEDDABLE};
        requests = new Request[REQUESTS];
        for (int i = 0; i < REQUESTS; i++) {
            requests[i] = new Request("req-" + i, "192.168.1." + (i & 255), "/v1/chat/completions")
                    .withPriority(priorities[i % 3]).withTenant("tenant-" + (i % 7));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        plainBalancer.close();
        limitedBalancer.close();
    }

    private Request nextRequest() {
        return requests[next++ & REQUEST_MASK];
    }

    /** Today's acquire and release, on a balancer without limits. */
    @Benchmark
    public Lease plain() {
        Lease lease = plainBalancer.acquire(nextRequest());
        lease.success();
        return lease;
    }

    /** The same on a balancer with limits and a queue, when the fleet has room. */
    @Benchmark
    public Lease admitted() {
        Lease lease = limitedBalancer.acquire(nextRequest());
        lease.success();
        return lease;
    }

    /** Through {@code acquireAsync}: the same, plus a completed future. */
    @Benchmark
    public Lease admittedAsync() {
        Lease lease = limitedBalancer.acquireAsync(nextRequest()).join();
        lease.success();
        return lease;
    }
}

package dev.ailb.bench;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import dev.ailb.SlowStart;
import java.time.Duration;
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
 * The cost of a pick, with its connection acquired and released, under each strategy that slow
 * start applies to, with slow start configured and one backend ramping ({@code ramping=true}) or
 * none ({@code ramping=false}): the pickers built while a backend ramps read the ramped weights
 * from arrays filled when they are built, and those built while none does are the strategies'
 * plain ones. Both should allocate nothing ({@code -prof gc}: 0 B/op).
 *
 * <p>The window is an hour, so that no step of the ramp falls within a run. The backends are
 * labels only: nothing is ever contacted.
 *
 * <pre>
 * mvn -B -q -Pbench -DskipTests package
 * java -jar target/benchmarks.jar SlowStartBenchmark -f 1 -wi 2 -w 1 -i 3 -r 1 -prof gc
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class SlowStartBenchmark {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");
    private static final long RESPONSE_NANOS = 1_000_000L;

    @Param({"WEIGHTED_ROUND_ROBIN", "LEAST_CONNECTIONS", "LEAST_RESPONSE_TIME", "RESOURCE_BASED",
            "PREFIX_AFFINITY"})
    public String strategy;

    @Param({"6", "1000"})
    public int backends;

    @Param({"false", "true"})
    public boolean ramping;

    LoadBalancer lb;

    @Setup(Level.Trial)
    public void setUp() {
        lb = LoadBalancer.builder().strategy(BalancingStrategy.builtIn(strategy))
                .slowStart(SlowStart.of(Duration.ofHours(1))).build();
        for (int i = 0; i < backends; i++) {
            lb.addBackend("b" + i, "10.0." + i / 250 + "." + (i % 250 + 1), 8000, 1 + i % 3);
        }
        // Served once each after they are all registered: a backend added to a fleet that has
        // served already would ramp.
        for (Backend b : lb.getBackends()) {
            lb.acquireConnection(b);
            lb.releaseConnection(b, RESPONSE_NANOS, true);
        }
        if (ramping) {
            lb.setBackendHealthy("b0", false);
            lb.setBackendHealthy("b0", true);
            if (lb.getBackend("b0").orElseThrow().slowStartFactor() == 1.0) {
                throw new IllegalStateException("b0 should be ramping");
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        lb.close();
    }

    @Benchmark
    public Backend pickAcquireRelease() {
        Backend b = lb.selectBackend(REQUEST);
        lb.acquireConnection(b);
        lb.releaseConnection(b, RESPONSE_NANOS, true);
        return b;
    }
}

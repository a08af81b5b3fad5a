package dev.ailb.bench;

import dev.ailb.AttemptCall;
import dev.ailb.BackendCall;
import dev.ailb.BalancingStrategy;
import dev.ailb.CallOptions;
import dev.ailb.HedgeDelay;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import dev.ailb.RetryPolicy;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the asynchronous path costs around a call that answers at once, on 6 backends under
 * {@code LEAST_CONNECTIONS}: {@code execute} as the baseline, {@code executeAsync} with no
 * options, and with a deadline and a hedge delay, whose two timers are set on the balancer's own
 * timer thread and cancelled when the answer comes (nothing is hedged: the answer is always
 * first). The backends are labels only: nothing is ever contacted.
 *
 * <pre>
 * mvn -B -q -Pbench -DskipTests package
 * java -jar target/benchmarks.jar ExecuteAsyncBenchmark -f 1 -wi 3 -w 1 -i 5 -r 1 -prof gc
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class ExecuteAsyncBenchmark {
    private static final Request REQUEST = new Request("bench", "10.9.9.9", "/v1/chat/completions");
    private static final BackendCall<String> SYNC = backend -> "ok";
    private static final AttemptCall<String> ASYNC = attempt -> CompletableFuture.completedFuture("ok");

    LoadBalancer lb;
    CallOptions timed;

    @Setup(Level.Trial)
    public void setUp() {
        lb = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS)
                .retryPolicy(RetryPolicy.defaults()).build();
        for (int i = 1; i <= 6; i++) {
            lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
        }
        timed = CallOptions.builder().deadline(Duration.ofSeconds(30))
                .hedging(HedgeDelay.firstTokenPercentile(0.95, Duration.ofSeconds(1))).build();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        lb.close();
    }

    /** The blocking form, for comparison. */
    @Benchmark
    public String execute() {
        return lb.execute(REQUEST, SYNC);
    }

    /** The asynchronous form without timers. */
    @Benchmark
    public String executeAsync() {
        return lb.executeAsync(REQUEST, ASYNC).join();
    }

    /** The asynchronous form with a deadline and a percentile hedge delay: two timers set and cancelled. */
    @Benchmark
    public String executeAsyncWithDeadlineAndHedging() {
        return lb.executeAsync(REQUEST, ASYNC, timed).join();
    }
}

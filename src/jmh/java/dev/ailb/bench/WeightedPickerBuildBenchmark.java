package dev.ailb.bench;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.Picker;
import dev.ailb.Request;
import dev.ailb.SelectionContext;
import dev.ailb.Selector;
import dev.ailb.Ticker;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
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
 * What a health change costs WEIGHTED_ROUND_ROBIN: building its picker for a new set of
 * backends, which the balancer does under its lock, and then one pick from that picker. The
 * weights are drawn at random (fixed seed) from 1 to {@code maxWeight}. {@code PERIOD} is the
 * algorithm before the build was bounded ({@link PeriodWeightedRoundRobin}), {@code CURRENT} the
 * library's strategy.
 *
 * <pre>
 * mvn -B -q -Pbench -DskipTests package
 * java -jar target/benchmarks.jar WeightedPickerBuildBenchmark -f 1 -wi 3 -w 2 -i 5 -r 2
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class WeightedPickerBuildBenchmark {
    private static final Request REQUEST = new Request("r", "172.16.0.1", "/v1/completions");

    @Param({"CURRENT", "PERIOD"})
    public String algorithm;

    @Param({"64"})
    public int backends;

    /** 10 and 30: the nginx period (30 near the bound of its steps); 1,000,000: beyond it. */
    @Param({"10", "30", "1000000"})
    public int maxWeight;

    LoadBalancer lb;
    List<Backend> fleet;
    Selector selector;
    Picker picker;

    @Setup(Level.Trial)
    public void setUp() {
        // Registered under ROUND_ROBIN, whose picker is cheap to rebuild: only the measured
        // builds below pay for weighted ones.
        lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN);
        Random weights = new Random(20_260_101L);
        for (int i = 0; i < backends; i++) {
            lb.addBackend("b-" + i, "10.0." + (i / 250) + "." + (i % 250), 8000, 1 + weights.nextInt(maxWeight));
        }
        fleet = lb.getBackends();
        BalancingStrategy strategy = algorithm.equals("PERIOD")
                ? new PeriodWeightedRoundRobin() : BalancingStrategy.WEIGHTED_ROUND_ROBIN;
        RandomGenerator unused = new Random(1); // neither strategy draws
        selector = strategy.newSelector(new SelectionContext() {
            @Override
            public Ticker ticker() {
                return Ticker.system();
            }

            @Override
            public RandomGenerator random() {
                return unused;
            }
        });
        picker = selector.newPicker(fleet);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        lb.close();
    }

    /** Building the picker for the whole fleet, as after a health change. */
    @Benchmark
    public Picker build() {
        return selector.newPicker(fleet);
    }

    /** One pick from the picker built for the whole fleet. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Backend pick() {
        return picker.pick(REQUEST);
    }
}

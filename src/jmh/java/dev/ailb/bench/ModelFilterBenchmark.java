package dev.ailb.bench;

import dev.ailb.Backend;
import dev.ailb.BackendProfile;
import dev.ailb.BalancingStrategy;
import dev.ailb.LabelSelector;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadReport;
import dev.ailb.Request;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of one selection in a mixed fleet, by what the request names: nothing (the whole fleet, as
 * {@link SelectBenchmark#select} measures it), a base model served by a third of the backends, a
 * LoRA adapter loaded on some of those (the adapter tier), or a model with a required and a
 * preferred label. The candidates of each kind are built when the view is published, so a
 * filtered pick should cost about what the same strategy's pick over that many backends costs,
 * and allocate nothing ({@code -prof gc}).
 *
 * <p>Backends 0, 3, 6, ... serve {@code llama} with the adapter {@code sql-v2}, loaded (by their
 * load report) on every other one; the rest serve {@code qwen}; every backend is in zone {@code a}
 * or {@code b} and has GPU {@code h100} or {@code l4}. The backends are labels only: nothing is
 * ever contacted.
 *
 * <pre>
 * mvn -B -q -Pbench -DskipTests package
 * java -jar target/benchmarks.jar ModelFilterBenchmark -f 1 -wi 2 -w 1 -i 3 -r 1 -prof gc
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class ModelFilterBenchmark {

    @Param({"ROUND_ROBIN", "LEAST_CONNECTIONS", "RANDOM", "RESOURCE_BASED"})
    public String strategy;

    @Param({"6", "1000"})
    public int backends;

    LoadBalancer lb;
    Request[] plain;
    Request[] model;
    Request[] adapter;
    Request[] labelled;

    /** Index of the next prepared request, one per benchmark thread. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;

        @Setup(Level.Trial)
        public void start() {
            next = ThreadLocalRandom.current().nextInt(1 << 20);
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN);
        for (int i = 0; i < backends; i++) {
            BackendProfile.Builder profile = BackendProfile.builder()
                    .label("zone", i % 2 == 0 ? "a" : "b")
                    .label("gpu", i % 5 < 3 ? "h100" : "l4");
            if (i % 3 == 0) {
                profile.model("llama").adapter("sql-v2");
            } else {
                profile.model("qwen");
            }
            lb.addBackend("b-" + i, "10.0." + (i / 250) + "." + (i % 250), 1024 + i % 60_000, 1 + i % 3,
                    profile.build());
        }
        List<Backend> all = lb.getBackends();
        for (int i = 0; i < all.size(); i++) {
            LoadReport.Builder report = LoadReport.builder().waitingRequests(i % 4).kvCacheUsage((i % 10) / 10.0)
                    .maxAdapters(4);
            if (i % 6 == 0) {
                report.runningAdapters(List.of("sql-v2"));
            }
            lb.updateBackendResources(all.get(i).id(), report.build());
        }
        lb.setStrategy(BalancingStrategy.builtIn(strategy));

        LabelSelector labels = LabelSelector.require("gpu", "h100").andPrefer("zone", "a");
        plain = new Request[SelectBenchmark.REQUESTS];
        model = new Request[SelectBenchmark.REQUESTS];
        adapter = new Request[SelectBenchmark.REQUESTS];
        labelled = new Request[SelectBenchmark.REQUESTS];
        for (int k = 0; k < SelectBenchmark.REQUESTS; k++) {
            String clientIp = "172." + (16 + k % 16) + "." + ((k * 37) % 256) + "." + ((k * 101 + 1) % 256);
            plain[k] = new Request("req-" + k, clientIp, "/v1/completions");
            model[k] = plain[k].withModel("llama");
            adapter[k] = plain[k].withModel("sql-v2");
            labelled[k] = plain[k].withModel("qwen").withLabels(labels);
            // the first pick of each kind keeps its candidates: measured below is the steady state
            lb.selectBackend(model[k]);
            lb.selectBackend(adapter[k]);
            lb.selectBackend(labelled[k]);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        lb.close();
    }

    /** A request that names nothing: the whole fleet, the unfiltered pick. */
    @Benchmark
    public Backend unfiltered(Cursor cursor) {
        return lb.selectBackend(plain[cursor.next++ & SelectBenchmark.REQUEST_MASK]);
    }

    /** A request for a base model served by a third of the fleet. */
    @Benchmark
    public Backend byModel(Cursor cursor) {
        return lb.selectBackend(model[cursor.next++ & SelectBenchmark.REQUEST_MASK]);
    }

    /** A request for an adapter: among its servers, those that have it loaded. */
    @Benchmark
    public Backend byAdapter(Cursor cursor) {
        return lb.selectBackend(adapter[cursor.next++ & SelectBenchmark.REQUEST_MASK]);
    }

    /** A request for a model with a required and a preferred label. */
    @Benchmark
    public Backend byModelAndLabels(Cursor cursor) {
        return lb.selectBackend(labelled[cursor.next++ & SelectBenchmark.REQUEST_MASK]);
    }
}

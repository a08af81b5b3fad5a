package dev.ailb.bench;

import dev.ailb.BackendSpec;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.MembershipChange;
import java.util.AbstractList;
import java.util.List;
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
 * The control plane's cost at fleet sizes of 6, 1,000 and 10,000 backends, per strategy: a health
 * change (one backend down, then up again: each publishes a new routing view), a weight change in
 * place, a backend removed then registered again, a backend into maintenance and out, and the
 * registration of the whole fleet one backend at a time into an empty balancer.
 * The backends are labels only: nothing is ever contacted, no health check runs.
 *
 * <pre>
 * mvn -B -q -Pbench -DskipTests package
 * java -jar target/benchmarks.jar 'MembershipBenchmark.(healthFlip|setWeight|removeOrAdd|maintenance)$' -p backends=1000 -f 1
 * java -jar target/benchmarks.jar 'MembershipBenchmark.(reconcileOne|reconcileTenth)$' -p backends=10000 -f 1
java -jar target/benchmarks.jar 'MembershipBenchmark.(register|registerAll|reconcileAll)$' -p backends=10000 -f 1
 * </pre>
 *
 * The registrations ({@code register} one backend at a time, {@code registerAll} with
 * {@code addBackends}, {@code reconcileAll} with {@code setBackends}) are single shots per
 * iteration, each into a fresh balancer.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class MembershipBenchmark {

    @Param({"ROUND_ROBIN", "LEAST_CONNECTIONS", "WEIGHTED_ROUND_ROBIN", "IP_HASH",
            "LEAST_RESPONSE_TIME", "RANDOM", "RESOURCE_BASED", "PREFIX_AFFINITY"})
    public String strategy;

    @Param({"6", "1000", "10000"})
    public int backends;

    LoadBalancer lb;
    String[] ids;
    BackendSpec[] specs;
    int next;
    int round;
    boolean down;

    @Setup(Level.Trial)
    public void fleet() {
        ids = new String[backends];
        specs = new BackendSpec[backends];
        for (int i = 0; i < backends; i++) {
            ids[i] = "backend-" + i;
            specs[i] = BackendSpec.of(ids[i], "10.0." + (i >> 8 & 0xFF) + "." + (i & 0xFF), 8000);
        }
        lb = filled(strategy, ids);
    }

    @TearDown(Level.Trial)
    public void close() {
        lb.close();
    }

    /** A balancer under this strategy with these backends, added one at a time. */
    static LoadBalancer filled(String strategy, String[] ids) {
        LoadBalancer balancer = LoadBalancer.builder().strategy(BalancingStrategy.builtIn(strategy)).build();
        for (int i = 0; i < ids.length; i++) {
            // 10.x addresses are labels: nothing connects to them here.
            balancer.addBackend(ids[i], "10.0." + (i >> 8 & 0xFF) + "." + (i & 0xFF), 8000);
        }
        return balancer;
    }

    /**
     * One health change: the next backend in turn goes down, or comes back up, alternately. Each
     * call changes the set of available backends, so each publishes a new routing view.
     */
    @Benchmark
    public boolean healthFlip() {
        String id = ids[next];
        boolean healthy = down;
        if (healthy) {
            next = next + 1 == ids.length ? 0 : next + 1;
        }
        down = !down;
        return lb.setBackendHealthy(id, healthy);
    }

    /**
     * One weight change in place on the next backend in turn: 2 in the first round of the fleet, 1
     * in the next, and so on, so that every call changes a weight.
     */
    @Benchmark
    public int setWeight() {
        String id = ids[next];
        int weight = 2 - (round & 1);
        if (++next == ids.length) {
            next = 0;
            round++;
        }
        return lb.setWeight(id, weight);
    }

    /**
     * One backend leaves and comes back, alternately: the next backend in turn is removed (with
     * nothing in flight, its drain ends at once and it leaves the view for good), then registered
     * again under the same id. Each call publishes one view, a leave or a join.
     */
    @Benchmark
    public Object removeOrAdd() {
        String id = ids[next];
        if (down) {
            int i = next;
            next = next + 1 == ids.length ? 0 : next + 1;
            down = false;
            return lb.addBackend(id, "10.0." + (i >> 8 & 0xFF) + "." + (i & 0xFF), 8000);
        }
        down = true;
        return lb.removeBackend(id);
    }

    /**
     * One backend into maintenance, or out of it, alternately: with nothing in flight, each call
     * publishes one view without the backend, or with it again.
     */
    @Benchmark
    public Object maintenance() {
        String id = ids[next];
        if (down) {
            next = next + 1 == ids.length ? 0 : next + 1;
            down = false;
            return lb.endMaintenance(id);
        }
        down = true;
        return lb.beginMaintenance(id);
    }

    /**
     * A reconcile ({@code setBackends}) that changes one backend: the whole fleet is stated but for
     * the next backend in turn, which drains and leaves (nothing is in flight), then the whole
     * fleet again, which registers it anew; alternately. The stated list is a view of the
     * fleet's specs with one left out, made in constant time.
     */
    @Benchmark
    public MembershipChange reconcileOne() {
        int from = next;
        if (down) {
            next = next + 1 == ids.length ? 0 : next + 1;
            down = false;
            return lb.setBackends(statedWithout(from, 0));
        }
        down = true;
        return lb.setBackends(statedWithout(from, 1));
    }

    /**
     * A reconcile that changes a tenth of the fleet: the next tenth in turn is left out (it drains
     * and leaves), then stated again (registered anew); alternately.
     */
    @Benchmark
    public MembershipChange reconcileTenth() {
        int tenth = Math.max(1, ids.length / 10);
        int from = (next / tenth) * tenth;
        if (down) {
            next = from + tenth >= ids.length ? 0 : from + tenth;
            down = false;
            return lb.setBackends(statedWithout(from, 0));
        }
        down = true;
        return lb.setBackends(statedWithout(from, Math.min(tenth, ids.length - from)));
    }

    /** The fleet's specs with {@code count} of them left out from index {@code from}. */
    private List<BackendSpec> statedWithout(int from, int count) {
        return new AbstractList<>() {
            @Override
            public BackendSpec get(int i) {
                return specs[i < from ? i : i + count];
            }

            @Override
            public int size() {
                return specs.length - count;
            }
        };
    }

    /** The state of one registration run: an empty balancer, made before the shot. */
    @State(Scope.Thread)
    public static class Empty {
        LoadBalancer balancer;

        @Setup(Level.Invocation)
        public void make(MembershipBenchmark outer) {
            balancer = LoadBalancer.builder().strategy(BalancingStrategy.builtIn(outer.strategy)).build();
        }

        @TearDown(Level.Invocation)
        public void close() {
            balancer.close();
        }
    }

    /** The whole fleet registered one backend at a time into an empty balancer. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2, batchSize = 1)
    @Measurement(iterations = 5, batchSize = 1)
    public LoadBalancer register(Empty empty) {
        for (int i = 0; i < ids.length; i++) {
            empty.balancer.addBackend(ids[i], "10.0." + (i >> 8 & 0xFF) + "." + (i & 0xFF), 8000);
        }
        return empty.balancer;
    }

    /** The whole fleet registered in one call ({@code addBackends}: one published view) into an empty balancer. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2, batchSize = 1)
    @Measurement(iterations = 5, batchSize = 1)
    public Object registerAll(Empty empty) {
        return empty.balancer.addBackends(List.of(specs));
    }

    /** The whole fleet stated at once ({@code setBackends}) to an empty balancer. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2, batchSize = 1)
    @Measurement(iterations = 5, batchSize = 1)
    public Object reconcileAll(Empty empty) {
        return empty.balancer.setBackends(List.of(specs));
    }
}

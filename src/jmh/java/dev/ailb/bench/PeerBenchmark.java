package dev.ailb.bench;

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
 * Cost of one pick of the pickers of other Java load balancers, next to the built-in strategy of
 * this library that does the same job, over 6, 64, 1,000 and 10,000 servers, on one thread
 * ({@link #pick}) and on two sharing the picker ({@link #pickTwoThreads}).
 *
 * <p>Each {@code picker} value is {@code library:picker}; each is driven through its library's
 * public API over an in-memory list of servers labelled {@code 127.0.0.1:port}, never contacted,
 * built once per trial (see {@link PeerPicker} for the fleet, and each library's class for how its
 * picker is driven):
 * <table>
 *   <caption>Pickers compared</caption>
 *   <tr><th>this library</th><th>peers</th></tr>
 *   <tr><td>{@code ailb:ROUND_ROBIN}</td><td>{@code ribbon:RoundRobinRule},
 *       {@code armeria:ofRoundRobin}, {@code spring:RoundRobinLoadBalancer},
 *       {@code dubbo:RoundRobinLoadBalance} (smooth weighted round robin)</td></tr>
 *   <tr><td>{@code ailb:WEIGHTED_ROUND_ROBIN}</td><td>{@code armeria:ofWeightedRoundRobin},
 *       {@code dubbo:RoundRobinLoadBalance}</td></tr>
 *   <tr><td>{@code ailb:LEAST_CONNECTIONS}</td><td>{@code ribbon:BestAvailableRule},
 *       {@code dubbo:LeastActiveLoadBalance}</td></tr>
 *   <tr><td>{@code ailb:LEAST_RESPONSE_TIME}</td><td>{@code ribbon:WeightedResponseTimeRule}</td></tr>
 *   <tr><td>{@code ailb:RANDOM}</td><td>{@code ribbon:RandomRule}, {@code dubbo:RandomLoadBalance},
 *       {@code spring:RandomLoadBalancer}</td></tr>
 *   <tr><td>{@code ailb:IP_HASH}</td><td>{@code armeria:ofSticky},
 *       {@code dubbo:ConsistentHashLoadBalance}</td></tr>
 * </table>
 *
 * <p>The raw pick ({@link #pick}) is each library doing its own job: this library's pick also
 * re-checks that its backend is still available and counts the request on it, the peers' do
 * neither. The like-for-like pairs give the peers' picks what this library keeps on the same path
 * ({@link ServerCounts}, carried by each peer's server objects, one field read away as a backend's
 * figures are):
 * <ul>
 *   <li>{@link #pickCounted} (and {@link #pickCountedTwoThreads}): the pick and an exact count of
 *       the request on the server picked, the true equivalent of {@code selectBackend}, which is
 *       what this library runs for it. The peers still skip the availability re-check, which this
 *       library keeps.</li>
 *   <li>{@link #pickAcquireRelease}: the counted pick, then a connection counted in on the server
 *       and out again (an in-flight count that never goes below zero), the bookkeeping of a call
 *       around the pick. This library runs {@code selectBackend}, {@code acquireConnection} and
 *       {@code releaseConnection} of a 1 ms success, whose release also records the outcome (the
 *       success count, the time sum, the latency histogram, the response-time average) and reads
 *       the balancer's ticker for the average's decay, none of which the peers are given: this pair
 *       shows what a call's whole bookkeeping costs beside the least a peer would need, not the
 *       same work.</li>
 * </ul>
 *
 * <p>Every call goes through {@link PeerPicker}; each fork loads one implementation of it, so the
 * call is monomorphic and costs all pickers alike.
 *
 * <pre>
 * mvn -B -q -Pbench -DskipTests package
 * java -jar target/benchmarks.jar PeerBenchmark -f 1 -wi 2 -w 1 -i 3 -r 1
 * java -jar target/benchmarks.jar 'PeerBenchmark.pick$' -p backends=6,10000 -prof gc
 * java -jar target/benchmarks.jar 'PeerBenchmark.(pick|pickCounted)$' -p backends=6,10000
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class PeerBenchmark {

    @Param({
        "ailb:ROUND_ROBIN", "ribbon:RoundRobinRule", "armeria:ofRoundRobin",
        "spring:RoundRobinLoadBalancer",
        "ailb:WEIGHTED_ROUND_ROBIN", "armeria:ofWeightedRoundRobin", "dubbo:RoundRobinLoadBalance",
        "ailb:LEAST_CONNECTIONS", "ribbon:BestAvailableRule", "dubbo:LeastActiveLoadBalance",
        "ailb:LEAST_RESPONSE_TIME", "ribbon:WeightedResponseTimeRule",
        "ailb:RANDOM", "ribbon:RandomRule", "dubbo:RandomLoadBalance", "spring:RandomLoadBalancer",
        "ailb:IP_HASH", "armeria:ofSticky", "dubbo:ConsistentHashLoadBalance"})
    public String picker;

    @Param({"6", "64", "1000", "10000"})
    public int backends;

    PeerPicker target;

    /** Index of the next prepared request key, one per benchmark thread. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;
    }

    @Setup(Level.Trial)
    public void setUp() {
        target = PeerPicker.create(picker, backends);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        target.close();
    }

    /** One pick. */
    @Benchmark
    public Object pick(Cursor cursor) {
        return target.pick(cursor.next++ & PeerPicker.KEY_MASK);
    }

    /** One pick on each of two threads sharing the picker. */
    @Benchmark
    @Threads(2)
    public Object pickTwoThreads(Cursor cursor) {
        return target.pick(cursor.next++ & PeerPicker.KEY_MASK);
    }

    /** One pick with its request counted on the server picked, like for like. */
    @Benchmark
    public Object pickCounted(Cursor cursor) {
        return target.pickCounted(cursor.next++ & PeerPicker.KEY_MASK);
    }

    /** {@link #pickCounted} on each of two threads sharing the picker. */
    @Benchmark
    @Threads(2)
    public Object pickCountedTwoThreads(Cursor cursor) {
        return target.pickCounted(cursor.next++ & PeerPicker.KEY_MASK);
    }

    /** One counted pick and a connection counted in and out on the server picked. */
    @Benchmark
    public Object pickAcquireRelease(Cursor cursor) {
        return target.pickAcquireRelease(cursor.next++ & PeerPicker.KEY_MASK);
    }
}

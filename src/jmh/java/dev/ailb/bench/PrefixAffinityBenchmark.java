package dev.ailb.bench;

import dev.ailb.BalancingStrategy;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import java.util.Random;
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
 * Cost of a {@link BalancingStrategy#PREFIX_AFFINITY} pick: the prompt hashed, every backend's
 * index probed, the chosen backend's index written; and of a whole lease (pick, acquisition, the
 * server's cache report checked against the prediction, release). The prompts are multi-turn chats
 * over four shared system prompts, each a distinct {@code String}, so that every pick hashes its
 * prompt anew (the per-thread cache of hashes only helps a retry of the same request); the
 * indexes are warmed with the previous turn of every conversation, so that picks find long
 * matches, as in a chat service. {@code LEAST_CONNECTIONS} with the same requests is the baseline
 * of a pick that ignores the prompt.
 *
 * <p>The cost per 1,000 prompt tokens is the difference between the 8,000- and 1,000-token runs
 * divided by 7; allocation per pick comes from {@code -prof gc}.
 *
 * <pre>
 * mvn -B -q -Pbench -DskipTests package
 * java -jar target/benchmarks.jar PrefixAffinityBenchmark -f 1 -wi 3 -w 1 -i 5 -r 1 -prof gc
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class PrefixAffinityBenchmark {
    static final int CONVERSATIONS = 64;
    static final int CHARS_PER_TOKEN = 4;

    @Param({"PREFIX_AFFINITY", "LEAST_CONNECTIONS"})
    public String strategy;

    @Param({"6", "50"})
    public int backends;

    @Param({"1000", "8000"})
    public int promptTokens;

    LoadBalancer lb;
    Request[] requests;
    int next;

    @Setup(Level.Trial)
    public void setUp() {
        lb = new LoadBalancer(BalancingStrategy.builtIn(strategy));
        for (int i = 0; i < backends; i++) {
            // Labels only: nothing is ever contacted.
            lb.addBackend("instance-" + i, "10.0." + (i / 250) + "." + (i % 250 + 1), 8000);
        }
        Random random = new Random(42);
        String[] systems = new String[4];
        for (int s = 0; s < systems.length; s++) {
            systems[s] = words(random, promptTokens / 4 * CHARS_PER_TOKEN);
        }
        requests = new Request[CONVERSATIONS];
        for (int c = 0; c < CONVERSATIONS; c++) {
            String earlier = systems[c % systems.length]
                    + words(random, promptTokens / 2 * CHARS_PER_TOKEN - systems[0].length());
            // The previous turn, routed once so that the indexes hold it.
            Request previous = new Request("warm-" + c, "10.1.1.1", "/v1/chat/completions").withPrompt(earlier);
            try (Lease lease = lb.acquire(previous)) {
                lease.success();
            }
            String turn = earlier + words(random, promptTokens * CHARS_PER_TOKEN - earlier.length());
            // Consecutive picks see distinct Strings: each is hashed anew.
            requests[c] = new Request("req-" + c, "10.1.1.1", "/v1/chat/completions").withPrompt(turn);
        }
    }

    private static String words(Random random, int length) {
        StringBuilder s = new StringBuilder(Math.max(length, 0) + 16);
        while (s.length() < length) {
            s.append("w").append(random.nextInt(50_000)).append(' ');
        }
        s.setLength(Math.max(length, 0));
        return s.toString();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        lb.close();
    }

    /** A pick: hash, probe, choose, record. */
    @Benchmark
    public Object select() {
        return lb.selectBackend(requests[next++ & (CONVERSATIONS - 1)]);
    }

    /** A whole lease with the server's report: pick, acquire, check the prediction, release. */
    @Benchmark
    public boolean leaseWithReport() {
        Request request = requests[next++ & (CONVERSATIONS - 1)];
        try (Lease lease = lb.acquire(request)) {
            lease.reportCachedTokens(promptTokens, promptTokens / 2);
            return lease.success();
        }
    }
}

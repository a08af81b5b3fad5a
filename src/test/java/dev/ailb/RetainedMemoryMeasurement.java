package dev.ailb;

import dev.ailb.testing.ManualTicker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.openjdk.jol.info.GraphStats;

/**
 * Reports how much heap a balancer retains: per backend, per session for several kinds of session
 * id, and in all after a flood of a million distinct session ids and client addresses. A
 * measurement, not a check: its name keeps it out of the default test run, and it asserts nothing.
 * It writes its table to {@code target/retained-memory.txt} (and to standard output):
 * <pre>
 * mvn -B -q test -Dtest=RetainedMemoryMeasurement &amp;&amp; cat target/retained-memory.txt
 * </pre>
 * Sizes are those of the running JVM's object layout (JOL walks the graph reachable from the
 * balancer), so they depend on the JVM, its heap size and its flags (compressed pointers).
 */
class RetainedMemoryMeasurement {
    private static final int FLOOD = 1_000_000;

    @Test
    void reportRetainedSizes() throws IOException {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "%nRetained heap (JOL, %s %s)%n",
                System.getProperty("java.vm.name"), System.getProperty("java.version")));

        long empty = retained(balancer(BalancingStrategy.ROUND_ROBIN, 100_000, 0));
        out.append(line("balancer without backends", empty, "B"));

        LoadBalancer hundred = balancer(BalancingStrategy.ROUND_ROBIN, 100_000, 100);
        long idle = retained(hundred);
        out.append(line("per backend (ROUND_ROBIN), no request completed yet", (idle - empty) / 100.0, "B"));
        for (Backend b : hundred.getBackends()) {
            hundred.acquireConnection(b);
            hundred.releaseConnection(b, Duration.ofMillis(20), true);
        }
        out.append(line("per backend (ROUND_ROBIN), with its latency histogram", (retained(hundred) - empty) / 100.0,
                "B"));
        long hashed = retained(balancer(BalancingStrategy.IP_HASH, 100_000, 100));
        out.append(line("per backend of weight 1, added by the IP_HASH ring", (hashed - idle) / 100.0, "B"));

        // PREFIX_AFFINITY: each backend's index filled to its default bound of 8,192 blocks by
        // distinct prompts of 64 blocks; the prompts themselves are not retained by the index.
        LoadBalancer prefix = balancer(BalancingStrategy.PREFIX_AFFINITY, 100_000, 6);
        long prefixEmpty = retained(prefix);
        StringBuilder prompt = new StringBuilder();
        for (int i = 0; i < 6 * 8192 / 64 * 2; i++) {
            prompt.setLength(0);
            while (prompt.length() < 64 * 256) {
                prompt.append("prompt ").append(i).append(" word ").append(prompt.length()).append(". ");
            }
            prefix.selectBackend(new Request("r", "10.1.1.1", "/v1/chat/completions").withPrompt(prompt));
        }
        long prefixFull = retained(prefix);
        out.append(line("per backend, PREFIX_AFFINITY index full (8,192 blocks)", (prefixFull - prefixEmpty) / 6.0, "B"));
        out.append(line("per indexed block", (prefixFull - prefixEmpty) / 6.0 / 8192, "B"));

        long base = retained(balancer(BalancingStrategy.IP_HASH, 100_000, 6));
        out.append(line("IP_HASH balancer with 6 backends", base, "B"));
        for (int length : new int[] {12, 36, 256}) {
            LoadBalancer lb = balancer(BalancingStrategy.IP_HASH, 100_000, 6);
            flood(lb, 100_000, i -> SessionFloodTest.sessionId(i, length));
            out.append(line("per session, " + length + "-character ids", (retained(lb) - base) / 100_000.0, "B"));
        }
        LoadBalancer wide = balancer(BalancingStrategy.IP_HASH, 100_000, 6);
        flood(wide, 100_000, i -> "\u0436".repeat(248) + (10_000_000 + i));
        out.append(line("per session, 256-character ids beyond Latin-1 (two bytes a character)",
                (retained(wide) - base) / 100_000.0, "B"));

        for (int bound : new int[] {100_000, 1_000}) {
            LoadBalancer lb = balancer(BalancingStrategy.IP_HASH, bound, 6);
            flood(lb, FLOOD, i -> SessionFloodTest.sessionId(i, 36));
            out.append(line("after 1,000,000 distinct 36-character ids and addresses, maxSessions "
                    + String.format(Locale.ROOT, "%,d", bound) + " (sessions held: "
                    + lb.getAllStats().metrics().sessions() + ")", retained(lb), "B"));
        }
        System.out.println(out);
        Files.writeString(Path.of("target", "retained-memory.txt"), out, StandardCharsets.UTF_8);
    }

    private static LoadBalancer balancer(BalancingStrategy strategy, int maxSessions, int backends) {
        LoadBalancer lb = LoadBalancer.builder().strategy(strategy).ticker(new ManualTicker())
                .maxSessions(maxSessions).build();
        for (int i = 0; i < backends; i++) {
            lb.addBackend("instance-" + i, "10.0." + (i >>> 8) + "." + (i & 255), 8000);
        }
        return lb;
    }

    private static void flood(LoadBalancer lb, int requests, IntFunction<String> sessionIds) {
        for (int i = 0; i < requests; i++) {
            lb.selectBackend(new Request("r", SessionFloodTest.clientIp(i), "/v1/completions"), sessionIds.apply(i));
        }
    }

    private static long retained(LoadBalancer lb) {
        return GraphStats.parseInstance(lb).totalSize();
    }

    private static String line(String what, double value, String unit) {
        return String.format(Locale.ROOT, "  %-95s %,14.1f %s%n", what, value, unit);
    }
}

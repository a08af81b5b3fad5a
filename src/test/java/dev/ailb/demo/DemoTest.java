package dev.ailb.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.BackendStats;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancerMetrics;
import dev.ailb.LoadBalancerStats;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class DemoTest {
    private static final int REQUESTS = 60;
    private static final int THREADS = 4;
    private static final double TIME_SCALE = 0.1;
    /** A line of the fleet table: id, kind, port. */
    private static final Pattern INSTANCE_PORT =
            Pattern.compile("(?m)^\\s+instance-\\d\\s+\\w+\\s+(\\d+)\\s+\\d+\\s+\\d+\\.\\d\\s");

    @Test
    void runsEveryStrategyOverRealHttpAndLeavesNoThreadBehind() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        Map<String, LoadBalancerStats> results;
        try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
            results = Demo.run(REQUESTS, THREADS, TIME_SCALE, out);
        }
        String printed = buffer.toString(StandardCharsets.UTF_8);

        List<String> names = Demo.STRATEGIES.stream().map(BalancingStrategy::name).collect(Collectors.toList());
        assertThat(names).hasSize(7);
        assertThat(results.keySet()).containsExactlyElementsOf(names);
        for (String name : names) {
            assertThat(printed).contains("=== " + name + " ===");
        }
        assertThat(printed).contains("=== summary ===");

        for (Map.Entry<String, LoadBalancerStats> entry : results.entrySet()) {
            String name = entry.getKey();
            LoadBalancerStats stats = entry.getValue();
            LoadBalancerMetrics m = stats.metrics();

            assertThat(stats.strategy()).as(name).isEqualTo(name);
            assertThat(m.totalRequests()).as(name + " total").isEqualTo(REQUESTS);
            assertThat(m.completedRequests()).as(name + " completed").isEqualTo(REQUESTS);
            assertThat(m.activeConnections()).as(name + " active").isZero();
            assertThat(m.totalBackends()).as(name + " backends").isEqualTo(6);
            assertThat(m.availableBackends()).as(name + " available").isEqualTo(6);

            List<BackendStats> backends = stats.backends();
            assertThat(backends).extracting(BackendStats::id)
                    .containsExactly("instance-1", "instance-2", "instance-3", "instance-4", "instance-5",
                            "instance-6");
            assertThat(backends).allSatisfy(b -> {
                assertThat(b.host()).isEqualTo("127.0.0.1");
                assertThat(b.activeConnections()).isZero();
                assertThat(b.completedRequests()).isEqualTo(b.totalRequests());
            });
            assertThat(backends.stream().mapToLong(BackendStats::totalRequests).sum())
                    .as(name + " sum of requests").isEqualTo(m.totalRequests());
            assertThat(backends.stream().mapToLong(BackendStats::successes).sum())
                    .as(name + " sum of successes").isEqualTo(m.successes());
            assertThat(backends.stream().mapToLong(BackendStats::failures).sum())
                    .as(name + " sum of failures").isEqualTo(m.failures());
            assertThat(backends.stream().mapToLong(BackendStats::completedRequests).sum())
                    .as(name + " sum of completions").isEqualTo(m.completedRequests());
        }

        assertThat(results.get("WEIGHTED_ROUND_ROBIN").backend("instance-5").orElseThrow().weight()).isEqualTo(2);

        Matcher ports = INSTANCE_PORT.matcher(printed);
        int closedPorts = 0;
        while (ports.find()) {
            int port = Integer.parseInt(ports.group(1));
            assertThatThrownBy(() -> {
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 1_000);
                }
            }).as("port %d still open", port).isInstanceOf(IOException.class);
            closedPorts++;
        }
        assertThat(closedPorts).as("instance ports printed").isEqualTo(6);

        List<String> leftovers = Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .map(Thread::getName)
                .filter(n -> n.startsWith(Demo.THREAD_PREFIX))
                .collect(Collectors.toList());
        assertThat(leftovers).as("demo threads still alive").isEmpty();
    }

    @Test
    void parsesItsOptions() {
        assertThat(Demo.parseArgs()).isEqualTo(new Demo.Options(Demo.DEFAULT_REQUESTS, Demo.DEFAULT_THREADS, 1.0));
        assertThat(Demo.parseArgs("--requests", "300", "--threads=3", "--time-scale", "0.5"))
                .isEqualTo(new Demo.Options(300, 3, 0.5));
        assertThat(Demo.parseArgs("", "--requests", "1,000")).isEqualTo(new Demo.Options(1000, Demo.DEFAULT_THREADS, 1.0));
        assertThat(Demo.parseArgs("--help")).isNull();

        assertThatThrownBy(() -> Demo.parseArgs("--requests")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("needs a value");
        assertThatThrownBy(() -> Demo.parseArgs("--threads", "0")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--threads");
        assertThatThrownBy(() -> Demo.parseArgs("--requests", "many")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a whole number");
        assertThatThrownBy(() -> Demo.parseArgs("--speed", "2")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown option --speed");
    }

    @Test
    void rejectsBadRunArgumentsBeforeStartingAnything() {
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThatThrownBy(() -> Demo.run(0, 1, sink)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Demo.run(1, 0, sink)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Demo.run(1, 1, 0.0, sink)).isInstanceOf(IllegalArgumentException.class);
    }
}

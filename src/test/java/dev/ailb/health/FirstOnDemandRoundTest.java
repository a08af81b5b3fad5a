package dev.ailb.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.LoadBalancer;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ScriptedEndpoint;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The first on-demand round in a fresh JVM, where creating the health checker's HTTP client loads
 * the JDK's HTTP classes and takes longer than a short timeout: that one-off cost is the checker's,
 * not the backend's, so the round still counts a verdict for every backend, and a backend that
 * starts unhealthy can come up on it. Run in a JVM of its own, since in this one the classes are
 * loaded already.
 */
class FirstOnDemandRoundTest {

    @ParameterizedTest
    @ValueSource(ints = {20, 100})
    void theFirstRoundInAFreshJvmCountsAVerdictForEveryBackend(int timeoutMillis) throws Exception {
        String classPath = String.join(File.pathSeparator, location(LoadBalancer.class),
                location(org.slf4j.Logger.class), location(FirstOnDemandRoundTest.class));
        Process java = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPath, Main.class.getName(), Integer.toString(timeoutMillis))
                .redirectErrorStream(true).start();
        String output = new String(java.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(java.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(java.exitValue()).as(output).isZero();
        assertThat(output).as(output).contains("verdicts a=1 b=1");
    }

    private static String location(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    /** Two backends on one loopback server, both starting unhealthy; one on-demand round. */
    public static final class Main {
        public static void main(String[] args) throws Exception {
            try (LoopbackServer server = LoopbackServer.start("health",
                            Map.of("/health", ScriptedEndpoint.answering(200)));
                    LoadBalancer lb = LoadBalancer.builder()
                            .healthCheck(HealthCheck.http("/health"))
                            .healthCheckTimeout(Duration.ofMillis(Long.parseLong(args[0])))
                            .initiallyHealthy(false)
                            .build()) {
                lb.addBackend("a", LoopbackServer.HOST, server.port());
                lb.addBackend("b", LoopbackServer.HOST, server.port());
                lb.performHealthChecks();
                System.out.println("verdicts a=" + verdicts(lb, "a") + " b=" + verdicts(lb, "b"));
            }
        }

        private static int verdicts(LoadBalancer lb, String id) {
            HealthStats health = lb.getBackendStats(id).health();
            return health.consecutiveCheckFailures() + health.consecutiveCheckSuccesses();
        }
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.health.HealthState;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.ScriptedHealthCheck;
import dev.ailb.testing.StandardErrorCapture;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A backend that fails every request, and backends that fail every health check round, are logged
 * once per state change, not once per request or round. slf4j-simple writes to whatever
 * {@code System.err} is at the moment of each line, so the test swaps in a buffer of its own and
 * counts the WARN lines that name its backends (ids no other test uses).
 */
class LogFloodTest {
    private static final Request REQUEST = new Request("r", "192.168.1.100", "/v1/completions");

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private StandardErrorCapture captured;
    private final List<String> downs = new CopyOnWriteArrayList<>();

    @BeforeEach
    void captureStandardError() {
        captured = StandardErrorCapture.start();
    }

    @AfterEach
    void restoreStandardError() {
        captured.close();
    }

    /** Records every change into a state other than healthy, which is what must log one WARN. */
    private LoadBalancer listened(LoadBalancer lb) {
        lb.addListener(new LoadBalancerListener() {
            @Override
            public void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current,
                    String reason) {
                if (current != HealthState.HEALTHY) {
                    downs.add(backend.id());
                }
            }
        });
        return lb;
    }

    private long warnLinesAbout(String id) {
        return captured.text().lines()
                .filter(line -> line.contains(" WARN ") && line.contains(id))
                .count();
    }

    private long downsOf(String id) {
        return downs.stream().filter(id::equals).count();
    }

    @Test
    void tenThousandFailedRequestsLogOneWarningPerEjection() {
        try (LoadBalancer lb = listened(LoadBalancer.builder().ticker(ticker).healthCheckScheduler(scheduler)
                .build())) {
            Backend sink = lb.addBackend("log-flood-sink", "10.9.0.1", 8000);
            lb.addBackend("log-flood-good-1", "10.9.0.2", 8000);
            lb.addBackend("log-flood-good-2", "10.9.0.3", 8000);

            for (int i = 0; i < 10_000; i++) {
                ticker.advance(Duration.ofMillis(100));
                lb.selectBackend(REQUEST); // ends an ejection that is over, as traffic does
                lb.acquireConnection(sink);
                lb.releaseConnection(sink, Duration.ofMillis(3), false);
            }

            assertThat(lb.getBackendStats("log-flood-sink").failures()).isEqualTo(10_000);
            long ejections = lb.getBackendStats("log-flood-sink").health().ejections();
            assertThat(ejections).as("ejected again after each ejection").isGreaterThanOrEqualTo(5);
            assertThat(downsOf("log-flood-sink")).isEqualTo(ejections);
            assertThat(warnLinesAbout("log-flood-sink")).isEqualTo(ejections);
            assertThat(warnLinesAbout("log-flood-good-1") + warnLinesAbout("log-flood-good-2")).isZero();
        }
    }

    @Test
    void aThousandFailedHealthRoundsLogOneWarningPerFall() {
        ScriptedHealthCheck check = new ScriptedHealthCheck(ticker::read);
        try (LoadBalancer lb = listened(LoadBalancer.builder().ticker(ticker).healthCheck(check)
                .healthCheckScheduler(scheduler).healthCheckInterval(Duration.ofSeconds(1))
                .healthCheckJitter(Duration.ZERO).unhealthyThreshold(3).healthyThreshold(2).build())) {
            lb.addBackend("log-flood-dead", "10.9.1.1", 8000);
            lb.addBackend("log-flood-flapping", "10.9.1.2", 8000);
            lb.addBackend("log-flood-steady", "10.9.1.3", 8000);
            check.fail("log-flood-dead", "HTTP 503 from GET /health");
            check.fail("log-flood-flapping", "connection refused");
            lb.startHealthChecker();
            scheduler.runDueTasks(); // round 0

            for (int round = 1; round < 1_000; round++) {
                // Fails for a hundred rounds, passes for the next hundred, and so on.
                if ((round / 100) % 2 == 0) {
                    check.fail("log-flood-flapping", "connection refused");
                } else {
                    check.pass("log-flood-flapping");
                }
                scheduler.advance(Duration.ofSeconds(1));
            }

            assertThat(check.checks("log-flood-dead")).isEqualTo(1_000);
            assertThat(lb.getBackend("log-flood-dead").orElseThrow().healthState()).isEqualTo(HealthState.UNHEALTHY);
            assertThat(downsOf("log-flood-dead")).isEqualTo(1);
            assertThat(warnLinesAbout("log-flood-dead")).isEqualTo(1);
            assertThat(downsOf("log-flood-flapping")).isEqualTo(5);
            assertThat(warnLinesAbout("log-flood-flapping")).isEqualTo(5);
            assertThat(warnLinesAbout("log-flood-steady")).isZero();
        }
    }

    @Test
    void aWholeFleetFailingEveryRoundWarnsOncePerBackendAndOnceForPanicRouting() {
        ScriptedHealthCheck check = new ScriptedHealthCheck(ticker::read);
        try (LoadBalancer lb = listened(LoadBalancer.builder().ticker(ticker).healthCheck(check)
                .healthCheckScheduler(scheduler).healthCheckInterval(Duration.ofSeconds(1))
                .healthCheckJitter(Duration.ZERO).build())) {
            for (int i = 1; i <= 7; i++) {
                lb.addBackend("log-flood-fleet-" + i, "10.9.2." + i, 8000);
                check.fail("log-flood-fleet-" + i, "HTTP 500 from GET /health");
            }
            lb.startHealthChecker();

            for (int round = 0; round < 1_000; round++) {
                scheduler.advance(Duration.ofSeconds(1));
                lb.selectBackend(REQUEST);
            }

            assertThat(lb.getAllStats().metrics().panicMode()).isTrue();
            assertThat(lb.getAllStats().metrics().panicSelections()).isGreaterThanOrEqualTo(990);
            for (int i = 1; i <= 7; i++) {
                assertThat(warnLinesAbout("log-flood-fleet-" + i)).isEqualTo(downsOf("log-flood-fleet-" + i))
                        .isEqualTo(1);
            }
            assertThat(captured.text().lines()
                    .filter(line -> line.contains(" WARN ") && line.contains("All 7 backends in service are unhealthy"))
                    .count()).isEqualTo(1);
        }
    }
}

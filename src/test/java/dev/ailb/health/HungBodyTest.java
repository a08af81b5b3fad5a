package dev.ailb.health;

import static dev.ailb.testing.TricklingServer.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerBuilder;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.TricklingServer;
import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Health checks and load polls of a backend that answers {@code 200} and then sends its body one
 * byte every 50 ms for ever. The JDK client's request timeout covers the headers only; the checker's
 * timeout must end the whole exchange and close its connection, so that the backend never holds
 * more than the one connection of the probe under way. Rounds run in virtual time; the server and
 * the HTTP client run in real time, so each step waits for the connections to settle.
 */
class HungBodyTest {
    // Virtual time drives the rounds, but the JDK client also bounds the wait for the headers by the
    // timeout in real time: long enough that a loaded machine never ends an exchange by that bound.
    private static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final Duration TIMEOUT = Duration.ofSeconds(3);
    private static final Duration SETTLE = Duration.ofSeconds(10);

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private final TricklingServer server = TricklingServer.start(Duration.ofMillis(50));
    private LoadBalancer lb;

    @AfterEach
    void stop() {
        if (lb != null) {
            lb.close();
        }
        server.close();
    }

    private LoadBalancerBuilder builder() {
        return LoadBalancer.builder()
                .ticker(ticker)
                .healthCheckScheduler(scheduler)
                .healthCheckInterval(INTERVAL)
                .healthCheckJitter(Duration.ZERO)
                .healthCheckTimeout(TIMEOUT);
    }

    /**
     * Runs thirty seconds of rounds: a probe starts at 0 and every 3 s after, when the one before
     * timed out. After each step, the probes started so far have connected and every connection
     * but the current one is closed.
     */
    private void runThirtySecondsOfRounds() {
        scheduler.runDueTasks();
        for (int step = 0; step <= 30; step++) {
            if (step > 0) {
                scheduler.advance(INTERVAL);
            }
            int started = step / 3 + 1;
            assertThat(eventually(() -> server.accepted() == started, SETTLE))
                    .as("probes connected by %d ms: %d; %s", step * INTERVAL.toMillis(), server.accepted(),
                            lb.getBackendStats("trickling").health()).isTrue();
            assertThat(eventually(() -> server.open() == 1, SETTLE))
                    .as("connections open at %d ms: %d", step * INTERVAL.toMillis(), server.open()).isTrue();
        }
    }

    @Test
    void aCheckWhoseBodyNeverEndsIsCancelledAtItsTimeoutAndChecksNeverPileUp() {
        lb = builder().healthCheck(HealthCheck.http("/health")).build();
        lb.addBackend("trickling", "127.0.0.1", server.port());

        lb.startHealthChecker();
        runThirtySecondsOfRounds();

        assertThat(server.accepted()).isEqualTo(11);
        assertThat(lb.getBackendStats("trickling").health().lastFailureReason()).hasValue("no verdict within PT3S");
        assertThat(lb.getBackendStats("trickling").health().consecutiveCheckFailures()).isEqualTo(10);
    }

    @Test
    void aPollWhoseBodyNeverEndsIsCancelledAtItsTimeoutAndPollsNeverPileUp() {
        lb = builder().loadSource(PrometheusLoadSource.vllm(), INTERVAL).build();
        lb.addBackend("trickling", "127.0.0.1", server.port());

        lb.startHealthChecker();
        runThirtySecondsOfRounds();

        assertThat(server.accepted()).isEqualTo(11);
        assertThat(lb.getBackendStats("trickling").loadReport()).isEmpty();
    }

    @Test
    void closingEndsTheCheckUnderWayAndItsConnectionAndTheClientsSelectorThreadEnds() throws InterruptedException {
        Set<String> selectorsBefore = selectorThreads();
        lb = builder().healthCheck(HealthCheck.http("/health")).build();
        lb.addBackend("trickling", "127.0.0.1", server.port());
        lb.startHealthChecker();
        scheduler.runDueTasks();
        assertThat(eventually(() -> server.accepted() == 1 && server.open() == 1, SETTLE)).isTrue();
        Set<String> ours = selectorThreads();
        ours.removeAll(selectorsBefore);
        assertThat(ours).as("the checker's HTTP client's selector thread").hasSize(1);
        // Held before the close: the thread may end as soon as the close has run.
        Thread selector = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> ours.contains(t.getName())).findFirst().orElseThrow();

        lb.close();

        assertThat(eventually(() -> server.open() == 0, SETTLE)).as("the check's connection closed").isTrue();
        // On JDK 17 to 20 the selector thread ends once its client is collected; from 21 at close.
        for (int i = 0; i < SETTLE.toMillis() / 100 && selector.isAlive(); i++) {
            System.gc();
            selector.join(100);
        }
        assertThat(selector.isAlive()).as("%s alive", selector.getName()).isFalse();
        assertThat(scheduler.pendingTasks()).isZero();
    }

    private static Set<String> selectorThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .map(Thread::getName)
                .filter(name -> name.startsWith("HttpClient-") && name.endsWith("-SelectorManager"))
                .collect(Collectors.toSet());
    }
}

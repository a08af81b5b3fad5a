package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** execute: retries on backends not tried yet, under the policy and the retry budget. */
class ExecuteTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");

    private final ManualTicker ticker = new ManualTicker();

    private LoadBalancer balancer(BalancingStrategy strategy, RetryPolicy policy, int backends) {
        LoadBalancer lb = LoadBalancer.builder().ticker(ticker).random(new Random(9)).strategy(strategy)
                .retryPolicy(policy).outlierDetection(OutlierDetection.disabled()).build();
        for (int i = 1; i <= backends; i++) {
            lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
        }
        return lb;
    }

    @Test
    void aFailedCallIsRetriedOnAnotherBackendAndEveryAttemptIsCounted() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, RetryPolicy.defaults(), 3)) {
            List<String> calls = new ArrayList<>();

            String answer = lb.execute(REQUEST, backend -> {
                calls.add(backend.id());
                ticker.advance(Duration.ofMillis(10));
                if (calls.size() == 1) {
                    throw new IOException("connection reset by " + backend.id());
                }
                return "ok from " + backend.id();
            });

            assertThat(calls).hasSize(2).doesNotHaveDuplicates();
            assertThat(answer).isEqualTo("ok from " + calls.get(1));
            LoadBalancerMetrics metrics = lb.getAllStats().metrics();
            assertThat(metrics.totalRequests()).isEqualTo(2);
            assertThat(metrics.retries()).isEqualTo(1);
            assertThat(metrics.failures()).isEqualTo(1);
            assertThat(metrics.successes()).isEqualTo(1);
            assertThat(metrics.activeConnections()).isZero();
            assertThat(lb.getBackendStats(calls.get(0)).avgResponseTime()).isEqualTo(Duration.ofMillis(10));
        }
    }

    @Test
    void anAttemptLongerThanADayCountsAsADayAndTheCallStillSucceeds() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, RetryPolicy.defaults(), 1)) {
            String answer = lb.execute(REQUEST, backend -> {
                ticker.advance(Duration.ofDays(2).plusMinutes(1));
                return "late but fine";
            });

            assertThat(answer).isEqualTo("late but fine");
            BackendStats stats = lb.getBackendStats("b1");
            assertThat(stats.successes()).isOne();
            assertThat(stats.activeConnections()).isZero();
            assertThat(stats.avgResponseTime()).isEqualTo(LoadBalancer.MAX_RESPONSE_TIME);
        }
    }

    @Test
    void eachAttemptGoesToABackendNotTriedYetEvenUnderAHashStrategy() {
        try (LoadBalancer lb = balancer(BalancingStrategy.IP_HASH, RetryPolicy.builder().maxAttempts(3).build(), 3)) {
            List<String> calls = new ArrayList<>();

            assertThatThrownBy(() -> lb.execute(REQUEST, backend -> {
                calls.add(backend.id());
                throw new IOException("refused");
            })).isInstanceOf(CallFailedException.class)
                    .satisfies(e -> {
                        CallFailedException failed = (CallFailedException) e;
                        assertThat(failed.reason()).isEqualTo(CallFailedException.Reason.ATTEMPTS_EXHAUSTED);
                        assertThat(failed.attempts()).isEqualTo(3);
                        assertThat(failed.getCause()).isInstanceOf(IOException.class);
                        assertThat(failed.getSuppressed()).hasSize(2);
                    });

            assertThat(Set.copyOf(calls)).containsExactlyInAnyOrder("b1", "b2", "b3");
        }
    }

    @Test
    void whenEveryBackendWasTriedTheCallStops() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, RetryPolicy.builder().maxAttempts(5).build(), 2)) {
            assertThatThrownBy(() -> lb.execute(REQUEST, backend -> {
                throw new IOException("down");
            })).isInstanceOf(CallFailedException.class)
                    .extracting(e -> ((CallFailedException) e).reason())
                    .isEqualTo(CallFailedException.Reason.NO_UNTRIED_BACKEND);
            assertThat(lb.getAllStats().metrics().totalRequests()).isEqualTo(2);
        }
    }

    @Test
    void onlyRetryableFailuresAreRetried() {
        RetryPolicy policy = RetryPolicy.builder().retryOn(e -> e instanceof IOException).build();
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, policy, 3)) {
            assertThatThrownBy(() -> lb.execute(REQUEST, backend -> {
                throw new IllegalArgumentException("bad prompt");
            })).isInstanceOf(CallFailedException.class)
                    .hasCauseInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not retryable")
                    .extracting(e -> ((CallFailedException) e).attempts())
                    .isEqualTo(1);
        }
    }

    @Test
    void anErrorEndsTheCallAtOnceAndReleasesTheConnection() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, RetryPolicy.defaults(), 3)) {
            assertThatThrownBy(() -> lb.execute(REQUEST, backend -> {
                throw new OutOfMemoryError("simulated");
            })).isInstanceOf(OutOfMemoryError.class);

            assertThat(lb.getAllStats().metrics().activeConnections()).isZero();
            assertThat(lb.getAllStats().metrics().failures()).isEqualTo(1);
        }
    }

    @Test
    void anInterruptedCallIsNotRetriedAndKeepsTheInterrupt() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, RetryPolicy.defaults(), 3)) {
            assertThatThrownBy(() -> lb.execute(REQUEST, backend -> {
                throw new InterruptedException("shutting down");
            })).isInstanceOf(CallFailedException.class)
                    .extracting(e -> ((CallFailedException) e).attempts())
                    .isEqualTo(1);
            assertThat(Thread.interrupted()).isTrue();
        }
    }

    @Test
    void theRetryBudgetKeepsAnOutageFromBecomingARetryStorm() {
        RetryPolicy policy = RetryPolicy.builder().maxAttempts(3).budgetPercent(20).minRetriesPerSecond(0).build();
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, policy, 3)) {
            int calls = 1_000;
            long attempts = 0;
            for (int i = 0; i < calls; i++) {
                try {
                    lb.execute(REQUEST, backend -> {
                        throw new UncheckedIOException(new IOException("outage"));
                    });
                } catch (CallFailedException e) {
                    attempts += e.attempts();
                }
            }

            LoadBalancerMetrics metrics = lb.getAllStats().metrics();
            // Without a budget, 3,000 attempts; with 20%, at most 1,200.
            assertThat(metrics.retries()).isLessThanOrEqualTo(calls / 5);
            assertThat(attempts).isEqualTo(calls + metrics.retries());
            assertThat(metrics.retriesRefused()).isGreaterThan(0);
            assertThat(metrics.totalRequests()).isEqualTo(attempts);
        }
    }

    @Test
    void withNothingAvailableTheFirstAttemptFailsClearly() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, RetryPolicy.defaults(), 0)) {
            assertThatThrownBy(() -> lb.execute(REQUEST, backend -> "never"))
                    .isInstanceOf(NoAvailableBackendException.class);
            assertThatThrownBy(() -> lb.execute(REQUEST, null)).isInstanceOf(NullPointerException.class)
                    .hasMessageContaining("call: null");
        }
    }

    @Test
    void aClosedBalancerRunsNoCallAndANullRequestIsNamed() {
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, RetryPolicy.defaults(), 2);
        List<String> calls = new ArrayList<>();
        assertThatThrownBy(() -> lb.execute(null, backend -> calls.add(backend.id())))
                .isInstanceOf(NullPointerException.class).hasMessage("request: null (expected: non-null)");
        assertThatThrownBy(() -> lb.executeLeased(null, lease -> calls.add(lease.backend().id())))
                .isInstanceOf(NullPointerException.class).hasMessage("request: null (expected: non-null)");
        lb.close();

        assertThatThrownBy(() -> lb.execute(REQUEST, backend -> calls.add(backend.id())))
                .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");
        assertThatThrownBy(() -> lb.executeLeased(REQUEST, lease -> calls.add(lease.backend().id())))
                .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");

        assertThat(calls).isEmpty();
        assertThat(lb.getAllStats().metrics().totalRequests()).isZero();
        assertThat(lb.getAllStats().metrics().rejectedRequests()).isZero();
    }

    @Test
    void anAttemptThatFailsOnceTheBalancerIsClosedIsNotRetried() {
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN, RetryPolicy.defaults(), 3);
        List<String> calls = new ArrayList<>();

        assertThatThrownBy(() -> lb.execute(REQUEST, backend -> {
            calls.add(backend.id());
            lb.close();
            throw new IOException("connection reset by " + backend.id());
        })).isInstanceOfSatisfying(CallFailedException.class, e -> {
            assertThat(e.reason()).isEqualTo(CallFailedException.Reason.BALANCER_CLOSED);
            assertThat(e.attempts()).isEqualTo(1);
            assertThat(e).hasCauseInstanceOf(IOException.class).hasMessageContaining("closed");
        });

        assertThat(calls).hasSize(1);
        LoadBalancerMetrics metrics = lb.getAllStats().metrics();
        assertThat(metrics.totalRequests()).isEqualTo(1);
        assertThat(metrics.failures()).isEqualTo(1);
        assertThat(metrics.retries()).isZero();
        assertThat(metrics.activeConnections()).isZero();
    }

    @Test
    void aLeasedAttemptThatFailsOnceTheBalancerIsClosedIsNotRetried() {
        LoadBalancer lb = balancer(BalancingStrategy.LEAST_CONNECTIONS, RetryPolicy.defaults(), 3);
        List<String> calls = new ArrayList<>();

        assertThatThrownBy(() -> lb.executeLeased(REQUEST, lease -> {
            calls.add(lease.backend().id());
            lb.close();
            throw new IOException("stream broken on " + lease.backend().id());
        })).isInstanceOfSatisfying(CallFailedException.class,
                e -> assertThat(e.reason()).isEqualTo(CallFailedException.Reason.BALANCER_CLOSED));

        assertThat(calls).hasSize(1);
        assertThat(lb.getAllStats().metrics().totalRequests()).isEqualTo(1);
        assertThat(lb.getAllStats().metrics().activeConnections()).isZero();
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * execute and executeLeased for a request of a session: the first attempt on the session's backend,
 * retries elsewhere, and the session moving to the backend that served a retry. Time is virtual,
 * failures are scripted by backend.
 */
class SessionExecuteTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");

    private final ManualTicker ticker = new ManualTicker();

    private LoadBalancer balancer(LoadBalancerBuilder builder, int backends) {
        LoadBalancer lb = builder.ticker(ticker).random(new Random(3)).outlierDetection(OutlierDetection.disabled())
                .build();
        for (int i = 1; i <= backends; i++) {
            lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
        }
        return lb;
    }

    private LoadBalancer balancer(int backends) {
        return balancer(LoadBalancer.builder(), backends);
    }

    /** A call that fails on the backends named, succeeds elsewhere, and records where it ran. */
    private BackendCall<String> failingOn(List<String> calls, Set<String> down) {
        return backend -> {
            calls.add(backend.id());
            ticker.advance(Duration.ofMillis(20));
            if (down.contains(backend.id())) {
                throw new IOException("connection reset by " + backend.id());
            }
            return "answer from " + backend.id();
        };
    }

    private static LoadBalancerMetrics metrics(LoadBalancer lb) {
        return lb.getAllStats().metrics();
    }

    // ---------------------------------------------------------------- sticky

    @Test
    void everyCallOfASessionGoesToTheBackendItWasFirstPlacedOn() {
        try (LoadBalancer lb = balancer(3)) {
            List<String> calls = new ArrayList<>();

            for (int i = 0; i < 10; i++) {
                lb.execute(REQUEST, "conversation-1", failingOn(calls, Set.of()));
            }

            assertThat(calls).hasSize(10).containsOnly(calls.get(0));
            assertThat(lb.selectBackend(REQUEST, "conversation-1").id()).isEqualTo(calls.get(0));
            LoadBalancerMetrics m = metrics(lb);
            assertThat(m.sessionMisses()).isEqualTo(1);
            assertThat(m.sessionHits()).isEqualTo(10);
            assertThat(m.sessionRebinds()).isZero();
            assertThat(m.sessions()).isEqualTo(1);
            assertThat(m.totalRequests()).isEqualTo(11);
            assertThat(m.successes()).isEqualTo(10);
            assertThat(m.activeConnections()).isZero();
        }
    }

    @Test
    void aCallOfASessionBoundBySelectBackendGoesToTheSameBackend() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN), 3)) {
            Backend bound = lb.selectBackend(REQUEST, "s");
            List<String> calls = new ArrayList<>();

            lb.execute(REQUEST, "s", failingOn(calls, Set.of()));
            try (Lease lease = lb.acquire(REQUEST, "s")) {
                assertThat(lease.backend()).isSameAs(bound);
            }
            lb.executeLeased(REQUEST, "s", lease -> calls.add(lease.backend().id()) && lease.success());

            assertThat(calls).containsExactly(bound.id(), bound.id());
            assertThat(metrics(lb).sessionHits()).isEqualTo(3);
        }
    }

    // ---------------------------------------------------------------- retries

    @Test
    void aRetryThatSucceedsElsewhereMovesTheSessionToTheBackendThatServedIt() {
        try (LoadBalancer lb = balancer(3)) {
            Backend first = lb.selectBackend(REQUEST, "s");
            List<String> calls = new ArrayList<>();

            String answer = lb.execute(REQUEST, "s", failingOn(calls, Set.of(first.id())));

            assertThat(calls).hasSize(2).startsWith(first.id()).doesNotHaveDuplicates();
            String served = calls.get(1);
            assertThat(answer).isEqualTo("answer from " + served);
            LoadBalancerMetrics m = metrics(lb);
            assertThat(m.sessionRebinds()).isEqualTo(1);
            assertThat(m.retries()).isEqualTo(1);
            assertThat(m.sessions()).isEqualTo(1);
            assertThat(lb.getBackendStats(first.id()).sessions()).isZero();
            assertThat(lb.getBackendStats(served).sessions()).isEqualTo(1);
            // The session stays where it moved, its first backend healthy or not.
            for (int i = 0; i < 5; i++) {
                assertThat(lb.selectBackend(REQUEST, "s").id()).isEqualTo(served);
            }
            lb.execute(REQUEST, "s", failingOn(calls, Set.of()));
            assertThat(calls).hasSize(3).endsWith(served);
            assertThat(metrics(lb).sessionRebinds()).isEqualTo(1);
        }
    }

    @Test
    void aLeasedRetryThatSucceedsElsewhereMovesTheSessionAndLeavesTheLeaseOpen() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS), 2)) {
            Backend first = lb.selectBackend(REQUEST, "s");
            Backend other = lb.getBackends().get(0) == first ? lb.getBackends().get(1) : lb.getBackends().get(0);

            Lease open = lb.executeLeased(REQUEST, "s", lease -> {
                if (lease.backend() == first) {
                    throw new IOException("stream broken");
                }
                return lease;
            });

            assertThat(open.backend()).isSameAs(other);
            assertThat(other.activeConnections()).isOne();
            assertThat(lb.selectBackend(REQUEST, "s")).isSameAs(other);
            assertThat(metrics(lb).sessionRebinds()).isEqualTo(1);
            ticker.advance(Duration.ofSeconds(3));
            assertThat(open.success()).isTrue();
            assertThat(lb.getBackendStats(other.id()).avgResponseTime()).isEqualTo(Duration.ofSeconds(3));
        }
    }

    @Test
    void aSessionIsNotLeftBoundToABackendThatServedItsRetryAndHasLeftSince() {
        try (LoadBalancer lb = balancer(2)) {
            Backend first = lb.selectBackend(REQUEST, "s");
            Backend other = lb.getBackends().get(0) == first ? lb.getBackends().get(1) : lb.getBackends().get(0);

            lb.executeLeased(REQUEST, "s", lease -> {
                if (lease.backend() == first) {
                    throw new IOException("connection reset");
                }
                lb.removeBackend(other.id());
                lease.success(); // its last connection: the drain ends and the backend leaves
                return "ok";
            });

            assertThat(other.isRemoved()).isTrue();
            assertThat(metrics(lb).sessions()).isZero();
            assertThat(metrics(lb).sessionRebinds()).isZero();
            assertThat(lb.getBackendStats(first.id()).sessions()).isZero();
            assertThat(lb.selectBackend(REQUEST, "s")).isSameAs(first);
            assertThat(metrics(lb).sessionRebinds()).as("counted when placed again").isEqualTo(1);
            assertThat(metrics(lb).sessions()).isEqualTo(1);
        }
    }

    @Test
    void whenEveryAttemptFailsTheSessionStaysWhereItWas() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder().retryPolicy(RetryPolicy.builder().maxAttempts(3).build()),
                3)) {
            Backend first = lb.selectBackend(REQUEST, "s");
            List<String> calls = new ArrayList<>();

            assertThatThrownBy(() -> lb.execute(REQUEST, "s", failingOn(calls, Set.of("b1", "b2", "b3"))))
                    .isInstanceOfSatisfying(CallFailedException.class, e -> {
                        assertThat(e.reason()).isEqualTo(CallFailedException.Reason.ATTEMPTS_EXHAUSTED);
                        assertThat(e.attempts()).isEqualTo(3);
                    });

            assertThat(calls).hasSize(3).startsWith(first.id()).doesNotHaveDuplicates();
            assertThat(lb.selectBackend(REQUEST, "s")).isSameAs(first);
            assertThat(metrics(lb).sessionRebinds()).isZero();
            assertThat(lb.getBackendStats(first.id()).sessions()).isEqualTo(1);
        }
    }

    @Test
    void aFailureThatIsNotRetryableLeavesTheSessionWhereItWas() {
        RetryPolicy onlyIo = RetryPolicy.builder().retryOn(e -> e instanceof IOException).build();
        try (LoadBalancer lb = balancer(LoadBalancer.builder().retryPolicy(onlyIo), 3)) {
            Backend first = lb.selectBackend(REQUEST, "s");

            assertThatThrownBy(() -> lb.execute(REQUEST, "s", backend -> {
                throw new IllegalArgumentException("prompt too long");
            })).isInstanceOfSatisfying(CallFailedException.class,
                    e -> assertThat(e.reason()).isEqualTo(CallFailedException.Reason.NOT_RETRYABLE));

            assertThat(lb.selectBackend(REQUEST, "s")).isSameAs(first);
            assertThat(metrics(lb).sessionRebinds()).isZero();
        }
    }

    @Test
    void aSpentRetryBudgetEndsTheCallAndKeepsTheSessionUntilRequestsEarnARetryAgain() {
        RetryPolicy tight = RetryPolicy.builder().maxAttempts(2).budgetPercent(20).minRetriesPerSecond(0).build();
        try (LoadBalancer lb = balancer(LoadBalancer.builder().retryPolicy(tight), 3)) {
            Backend first = lb.selectBackend(REQUEST, "s");
            List<String> calls = new ArrayList<>();

            // One request in the window: 20% of it is no whole retry.
            assertThatThrownBy(() -> lb.execute(REQUEST, "s", failingOn(calls, Set.of(first.id()))))
                    .isInstanceOfSatisfying(CallFailedException.class,
                            e -> assertThat(e.reason()).isEqualTo(CallFailedException.Reason.BUDGET_EXHAUSTED));
            assertThat(lb.selectBackend(REQUEST, "s")).isSameAs(first);

            // Four more calls make five requests in the window, which earn one retry.
            for (int i = 0; i < 4; i++) {
                lb.execute(REQUEST, "s", failingOn(calls, Set.of()));
            }
            lb.execute(REQUEST, "s", failingOn(calls, Set.of(first.id())));
            String served = calls.get(calls.size() - 1);
            assertThat(served).isNotEqualTo(first.id());
            assertThat(lb.selectBackend(REQUEST, "s").id()).isEqualTo(served);

            // A window later the credit is gone, and a failure on the new backend stays there.
            ticker.advance(Duration.ofSeconds(11));
            assertThatThrownBy(() -> lb.execute(REQUEST, "s", failingOn(calls, Set.of(served))))
                    .isInstanceOfSatisfying(CallFailedException.class,
                            e -> assertThat(e.reason()).isEqualTo(CallFailedException.Reason.BUDGET_EXHAUSTED));
            assertThat(lb.selectBackend(REQUEST, "s").id()).isEqualTo(served);
            LoadBalancerMetrics m = metrics(lb);
            assertThat(m.sessionRebinds()).isEqualTo(1);
            assertThat(m.retries()).isEqualTo(1);
            assertThat(m.retriesRefused()).isEqualTo(2);
        }
    }

    @Test
    void aSessionWhoseBackendTakesNoRequestsIsPlacedAfreshAsSelectBackendPlacesIt() {
        try (LoadBalancer lb = balancer(3)) {
            Backend first = lb.selectBackend(REQUEST, "s");
            lb.setBackendHealthy(first.id(), false);
            List<String> calls = new ArrayList<>();

            lb.execute(REQUEST, "s", failingOn(calls, Set.of()));
            lb.setBackendHealthy(first.id(), true);
            lb.execute(REQUEST, "s", failingOn(calls, Set.of()));

            assertThat(calls).hasSize(2).containsOnly(calls.get(0)).doesNotContain(first.id());
            assertThat(metrics(lb).sessionRebinds()).isEqualTo(1);
            assertThat(lb.getBackendStats(first.id()).sessions()).isZero();
        }
    }

    @Test
    void aSessionPlacedElsewhereByAnotherRequestDuringTheCallIsNotMovedBackByItsRetry() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN), 4)) {
            Backend first = lb.selectBackend(REQUEST, "s");
            Backend[] placedMeanwhile = new Backend[1];
            List<String> calls = new ArrayList<>();

            lb.execute(REQUEST, "s", backend -> {
                calls.add(backend.id());
                if (backend == first) {
                    // Another request of the session finds its backend down and is placed elsewhere.
                    lb.setBackendHealthy(first.id(), false);
                    placedMeanwhile[0] = lb.selectBackend(REQUEST, "s");
                    lb.setBackendHealthy(first.id(), true);
                    throw new IOException("connection reset");
                }
                return "ok";
            });

            assertThat(calls).hasSize(2);
            assertThat(lb.selectBackend(REQUEST, "s")).isSameAs(placedMeanwhile[0]);
            assertThat(metrics(lb).sessionRebinds()).as("the other request's move only").isEqualTo(1);
            assertThat(lb.getAllStats().backends().stream().mapToInt(BackendStats::sessions).sum()).isEqualTo(1);
        }
    }

    @Test
    void sessionsMovedByRetriesFromManyThreadsKeepEveryCountExact() throws Exception {
        int threads = 4;
        int sessions = 200;
        int rounds = 25;
        try (LoadBalancer lb = balancer(LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS), 4)) {
            // Each backend in turn fails every call for a while, so sessions keep moving.
            AtomicInteger clock = new AtomicInteger();
            BackendCall<String> call = backend -> {
                int down = 1 + (clock.incrementAndGet() / 500) % 4;
                if (backend.id().equals("b" + down)) {
                    throw new IOException("b" + down + " is down for now");
                }
                return "ok";
            };
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int offset = t * 37;
                done.add(pool.submit(() -> {
                    start.await();
                    int failed = 0;
                    for (int r = 0; r < rounds; r++) {
                        for (int i = 0; i < sessions; i++) {
                            try {
                                lb.execute(REQUEST, "s" + (i + offset) % sessions, call);
                            } catch (CallFailedException e) {
                                failed++;
                            }
                        }
                    }
                    return failed;
                }));
            }
            start.countDown();
            int failedCalls = 0;
            for (Future<Integer> f : done) {
                failedCalls += f.get(2, TimeUnit.MINUTES);
            }
            pool.shutdown();

            LoadBalancerStats stats = lb.getAllStats();
            LoadBalancerMetrics m = stats.metrics();
            long calls = (long) threads * rounds * sessions;
            assertThat(m.sessions()).isEqualTo(sessions);
            assertThat(stats.backends().stream().mapToInt(BackendStats::sessions).sum()).isEqualTo(sessions);
            assertThat(m.activeConnections()).isZero();
            assertThat(m.successes()).isEqualTo(calls - failedCalls);
            assertThat(m.totalRequests()).isEqualTo(m.successes() + m.failures());
            assertThat(m.totalRequests()).isEqualTo(calls + m.retries());
            assertThat(m.sessionHits() + m.sessionMisses()).isLessThanOrEqualTo(calls);
            assertThat(m.sessionMisses()).isEqualTo(sessions);
            assertThat(m.sessionRebinds()).isPositive();
            for (int i = 0; i < sessions; i++) {
                Backend bound = lb.selectBackend(REQUEST, "s" + i);
                assertThat(bound.boundSessions()).isPositive();
            }
            assertThat(lb.getAllStats().metrics().sessionHits() - m.sessionHits()).isEqualTo(sessions);
        }
    }

    // ---------------------------------------------------------------- the session table's bounds

    @Test
    void aSessionForgottenWhileItsCallRanIsBoundWhereTheRetrySucceeded() {
        LoadBalancerBuilder builder = LoadBalancer.builder().sessionIdleTimeout(Duration.ofMinutes(1));
        try (LoadBalancer lb = balancer(builder, 3)) {
            Backend first = lb.selectBackend(REQUEST, "s");
            List<String> calls = new ArrayList<>();

            lb.execute(REQUEST, "s", backend -> {
                calls.add(backend.id());
                if (backend == first) {
                    ticker.advance(Duration.ofMinutes(2)); // a long generation that fails in the end
                    throw new IOException("stream broken");
                }
                return "ok";
            });

            Backend served = lb.getBackend(calls.get(1)).orElseThrow();
            assertThat(lb.selectBackend(REQUEST, "s")).isSameAs(served);
            LoadBalancerMetrics m = metrics(lb);
            assertThat(m.sessions()).isEqualTo(1);
            assertThat(m.sessionRebinds()).isEqualTo(1);
            assertThat(lb.getBackendStats(first.id()).sessions()).isZero();
            assertThat(lb.getBackendStats(served.id()).sessions()).isEqualTo(1);
        }
    }

    @Test
    void aSessionEvictedWhileItsCallRanIsBoundAgainAndTheTableStaysWithinItsBound() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder().maxSessions(2), 3)) {
            Backend first = lb.selectBackend(REQUEST, "s1");
            List<String> calls = new ArrayList<>();

            lb.execute(REQUEST, "s1", backend -> {
                calls.add(backend.id());
                if (backend == first) {
                    ticker.advance(Duration.ofMillis(1));
                    lb.selectBackend(REQUEST, "s2");
                    ticker.advance(Duration.ofMillis(1));
                    lb.selectBackend(REQUEST, "s3"); // evicts s1, the least recently used
                    throw new IOException("connection reset");
                }
                return "ok";
            });

            LoadBalancerStats stats = lb.getAllStats();
            assertThat(stats.metrics().sessions()).isEqualTo(2);
            assertThat(stats.backends().stream().mapToInt(BackendStats::sessions).sum()).isEqualTo(2);
            assertThat(lb.selectBackend(REQUEST, "s1").id()).isEqualTo(calls.get(1));
            assertThat(metrics(lb).sessionHits()).as("s1 found where its retry was served").isEqualTo(2);
        }
    }

    // ---------------------------------------------------------------- consistent hashing

    @Test
    void withConsistentHashingARetryServedElsewhereMovesNothing() {
        LoadBalancerBuilder builder = LoadBalancer.builder().sessionAffinity(SessionAffinity.CONSISTENT_HASH);
        try (LoadBalancer lb = balancer(builder, 3)) {
            Backend hashed = lb.selectBackend(REQUEST, "s");
            List<String> calls = new ArrayList<>();

            lb.execute(REQUEST, "s", failingOn(calls, Set.of(hashed.id())));
            lb.execute(REQUEST, "s", failingOn(calls, Set.of()));

            assertThat(calls).hasSize(3);
            assertThat(calls.get(0)).isEqualTo(hashed.id());
            assertThat(calls.get(1)).isNotEqualTo(hashed.id());
            assertThat(calls.get(2)).isEqualTo(hashed.id());
            assertThat(metrics(lb).sessionRebinds()).isZero();
            assertThat(metrics(lb).sessionHits()).isEqualTo(3);
        }
    }

    // ---------------------------------------------------------------- refused

    @Test
    void badArgumentsAndAClosedBalancerAreRefusedBeforeAnyCall() {
        LoadBalancer lb = balancer(2);
        List<String> calls = new ArrayList<>();
        BackendCall<String> call = failingOn(calls, Set.of());

        assertThatThrownBy(() -> lb.execute(REQUEST, " ", call)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("sessionId: \" \" (expected: not blank)");
        assertThatThrownBy(() -> lb.execute(REQUEST, (String) null, call)).isInstanceOf(NullPointerException.class)
                .hasMessage("sessionId: null (expected: non-null)");
        assertThatThrownBy(() -> lb.execute(null, "s", call)).isInstanceOf(NullPointerException.class)
                .hasMessage("request: null (expected: non-null)");
        assertThatThrownBy(() -> lb.execute(REQUEST, "s", (BackendCall<String>) null))
                .isInstanceOf(NullPointerException.class).hasMessage("call: null (expected: non-null)");
        assertThatThrownBy(() -> lb.executeLeased(REQUEST, "s".repeat(257), lease -> "never"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("sessionId: \"sssss");
        lb.close();
        assertThatThrownBy(() -> lb.execute(REQUEST, "s", call)).isInstanceOf(IllegalStateException.class)
                .hasMessage("load balancer is closed");
        assertThatThrownBy(() -> lb.executeLeased(REQUEST, "s", lease -> "never"))
                .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");

        assertThat(calls).isEmpty();
        assertThat(metrics(lb).totalRequests()).isZero();
        assertThat(metrics(lb).sessions()).isZero();
    }
}

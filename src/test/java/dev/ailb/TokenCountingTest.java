package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/** A balancer that counts the tokens of the requests in flight instead of their number. */
class TokenCountingTest {
    private static final long UNIT = 1_000;

    private final ManualTicker ticker = new ManualTicker();

    private LoadBalancer tokens(BalancingStrategy strategy) {
        return LoadBalancer.builder().strategy(strategy).ticker(ticker).random(new Random(7)).countTokens(UNIT)
                .build();
    }

    private static Request request(String id, long tokens) {
        return new Request(id, "10.1.1.1", "/v1/chat/completions", tokens);
    }

    @Test
    void leasesCountTheirRequestsTokensAndGiveThemBack() {
        try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);

            Lease big = lb.acquire(request("big", 12_000));
            Lease unknown = lb.acquire(request("unknown", 0));
            assertThat(a.inFlightTokens()).isEqualTo(12_000 + UNIT);
            assertThat(a.inFlightLoad()).isEqualTo(12_000 + UNIT);
            assertThat(a.activeConnections()).isEqualTo(2);
            assertThat(a.loadPerWeight()).isEqualTo(13.0);

            big.success();
            assertThat(a.inFlightTokens()).isEqualTo(UNIT);
            unknown.failure();
            assertThat(a.inFlightTokens()).isZero();
            assertThat(a.activeConnections()).isZero();
        }
    }

    @Test
    void connectionsAcquiredByHandCountTheirRequestOrTheDefault() {
        try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000, 4);
            Request r = request("r", 2_500);

            lb.acquireConnection(a, r);
            lb.acquireConnection(a);
            assertThat(lb.tryAcquireConnection(a, request("s", 500))).isTrue();
            assertThat(a.inFlightTokens()).isEqualTo(2_500 + UNIT + 500);
            assertThat(a.loadPerWeight()).isEqualTo(4_000.0 / (UNIT * 4));

            lb.releaseConnection(a, r, Duration.ofMillis(40), true);
            lb.releaseConnection(a, 1_000_000L, true);
            lb.releaseConnection(a, request("s", 500), 2_000_000L, false);
            assertThat(a.inFlightTokens()).isZero();
            assertThat(lb.getBackendStats("a").successes()).isEqualTo(2);
            assertThat(lb.getBackendStats("a").failures()).isEqualTo(1);
        }
    }

    @Test
    void leastConnectionsPicksTheFewestTokensInFlight() {
        try (LoadBalancer lb = tokens(BalancingStrategy.LEAST_CONNECTIONS)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            Backend b = lb.addBackend("b", "10.0.0.2", 8000);
            // a: one long generation; b: three short ones
            lb.acquireConnection(a, request("long", 30_000));
            for (int i = 0; i < 3; i++) {
                lb.acquireConnection(b, request("short-" + i, 200));
            }

            for (int i = 0; i < 20; i++) {
                assertThat(lb.selectBackend(request("next-" + i, 100))).isSameAs(b);
            }
        }
    }

    @Test
    void countingConnectionsTheSameTrafficGoesTheOtherWay() {
        try (LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS).build()) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            Backend b = lb.addBackend("b", "10.0.0.2", 8000);
            lb.acquireConnection(a, request("long", 30_000));
            for (int i = 0; i < 3; i++) {
                lb.acquireConnection(b, request("short-" + i, 200));
            }

            assertThat(lb.selectBackend(request("next", 100))).isSameAs(a);
            assertThat(a.inFlightTokens()).as("estimates are ignored").isZero();
            assertThat(b.inFlightLoad()).isEqualTo(3);
            lb.releaseConnection(b, request("short-0", 200), Duration.ofMillis(3), true);
            assertThat(b.inFlightLoad()).isEqualTo(2);
        }
    }

    @Test
    void resourceBasedScoresTheLoadInTypicalRequests() {
        ResourceBasedStrategy strategy = (ResourceBasedStrategy) BalancingStrategy.resourceBased(
                new ResourceWeights(0, 0, 1, 0, 0), Duration.ofSeconds(30));
        try (LoadBalancer lb = tokens(strategy)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000, 2);
            lb.acquireConnection(a, request("r", 6_000));

            // 6,000 tokens / (1,000 per request x weight 2) = 3 typical requests per unit: 3/4
            assertThat(strategy.score(a, ticker.read())).isEqualTo(0.75);
        }
    }

    @Test
    void releasingMoreTokensThanAreInFlightIsRejectedAndChangesNothing() {
        try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            lb.acquireConnection(a, request("small", 100));

            assertThatThrownBy(() -> lb.releaseConnection(a, request("big", 5_000), Duration.ofMillis(1), true))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("tokens: 5000 (expected: at most the 100 tokens in flight on backend a");

            assertThat(a.inFlightTokens()).isEqualTo(100);
            assertThat(a.activeConnections()).isOne();
            assertThat(lb.getBackendStats("a").successes()).isZero();
        }
    }

    @Test
    void aReleaseWithoutAConnectionIsAnIllegalStateAndLeavesTheTokensAsTheyWere() {
        try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            Lease lease = lb.acquire(request("r", 300));
            lease.success();
            lb.acquireConnection(a, request("s", 0)); // counts the default; the lease is gone
            lb.releaseConnection(a, request("s", 0), 1L, true);

            assertNoConnectionToRelease(lb, () -> lb.releaseConnection(a, 1L, true));
            assertNoConnectionToRelease(lb, () -> lb.releaseConnection(a, request("r", 300), Duration.ZERO, false));
            assertThat(a.inFlightTokens()).isZero();
            assertThat(a.activeConnections()).isZero();
            assertThat(lb.getBackendStats("a").successes()).isEqualTo(2);
            assertThat(lb.getBackendStats("a").failures()).isZero();
        }
    }

    @Test
    void aReleaseOnABackendNeverAcquiredIsAnIllegalState() {
        try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);

            assertNoConnectionToRelease(lb, () -> lb.releaseConnection(a, request("r", 300), Duration.ZERO, true));
            assertNoConnectionToRelease(lb, () -> lb.releaseConnection(a, Duration.ZERO, true));
            assertThat(a.inFlightTokens()).isZero();
            assertThat(a.activeConnections()).isZero();
            assertThat(lb.getBackendStats("a").successes()).isZero();
        }
    }

    @Test
    void aDoubleReleaseOfTheSameRequestIsAnIllegalStateAndChangesNothing() {
        try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            Request r = request("r", 300);
            lb.acquireConnection(a, r);
            lb.releaseConnection(a, r, Duration.ofMillis(5), true);

            assertNoConnectionToRelease(lb, () -> lb.releaseConnection(a, r, Duration.ofMillis(5), true));

            assertThat(a.inFlightTokens()).isZero();
            assertThat(a.activeConnections()).isZero();
            assertThat(lb.getBackendStats("a").successes()).isOne();
            // the backend still counts correctly afterwards
            lb.acquireConnection(a, r);
            assertThat(a.inFlightTokens()).isEqualTo(300);
            lb.releaseConnection(a, r, Duration.ofMillis(5), true);
            assertThat(a.inFlightTokens()).isZero();
        }
    }

    @Test
    void releasingByHandWhatALeaseReleasedIsAnIllegalState() {
        try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            Request r = request("r", 300);
            Lease lease = lb.acquire(r);
            assertThat(lease.success()).isTrue();

            assertNoConnectionToRelease(lb, () -> lb.releaseConnection(a, r, Duration.ofMillis(5), true));
            assertThat(lease.success()).as("the lease released once already").isFalse();
            assertThat(a.inFlightTokens()).isZero();
            assertThat(a.activeConnections()).isZero();
            assertThat(lb.getBackendStats("a").successes()).isOne();
        }
    }

    /**
     * Twice as many releases as connections, from many threads at once: each connection is
     * released once, every other release finds none, and no figure ever goes below zero.
     */
    @Test
    void racingDoubleReleasesReleaseEachConnectionOnceAndTheRestFindNone() throws Exception {
        int connections = 2_000;
        int threads = 8;
        for (int round = 0; round < 10; round++) {
            try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
                Backend a = lb.addBackend("a", "10.0.0.1", 8000);
                Request r = request("r", 700);
                for (int i = 0; i < connections; i++) {
                    lb.acquireConnection(a, r);
                }
                AtomicInteger released = new AtomicInteger();
                AtomicInteger noConnection = new AtomicInteger();
                AtomicInteger otherwise = new AtomicInteger();
                AtomicBoolean negative = new AtomicBoolean();
                AtomicBoolean done = new AtomicBoolean();
                CountDownLatch start = new CountDownLatch(1);
                Thread watcher = new Thread(() -> {
                    while (!done.get()) {
                        if (a.inFlightTokens() < 0 || a.activeConnections() < 0) {
                            negative.set(true);
                        }
                    }
                });
                watcher.start();
                List<Thread> workers = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    Thread worker = new Thread(() -> {
                        awaitQuietly(start);
                        for (int k = 0; k < 2 * connections / threads; k++) {
                            try {
                                lb.releaseConnection(a, r, 1_000L, true);
                                released.incrementAndGet();
                            } catch (IllegalStateException e) {
                                noConnection.incrementAndGet();
                            } catch (RuntimeException e) {
                                otherwise.incrementAndGet();
                            }
                        }
                    });
                    worker.start();
                    workers.add(worker);
                }
                start.countDown();
                for (Thread worker : workers) {
                    worker.join();
                }
                done.set(true);
                watcher.join();

                assertThat(otherwise).as("releases refused other than for lack of a connection").hasValue(0);
                assertThat(released).hasValue(connections);
                assertThat(noConnection).hasValue(connections);
                assertThat(negative).isFalse();
                assertThat(a.inFlightTokens()).isZero();
                assertThat(a.activeConnections()).isZero();
                assertThat(lb.getBackendStats("a").successes()).isEqualTo(connections);
            }
        }
    }

    /**
     * Releases with a larger request than was acquired race the right ones: a release either
     * counts, or finds no connection, or finds too few tokens and changes nothing, so the figures
     * left are exactly the acquired ones minus the releases that counted.
     */
    @Test
    void racingReleasesWithTheWrongRequestChangeNothingWhenRefused() throws Exception {
        int connections = 2_000;
        int threads = 8;
        Request acquired = request("r", 700);
        Request wrong = request("w", 1_900);
        for (int round = 0; round < 10; round++) {
            try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
                Backend a = lb.addBackend("a", "10.0.0.1", 8000);
                for (int i = 0; i < connections; i++) {
                    lb.acquireConnection(a, acquired);
                }
                AtomicInteger right = new AtomicInteger();
                AtomicInteger wrongReleased = new AtomicInteger();
                AtomicInteger otherwise = new AtomicInteger();
                CountDownLatch start = new CountDownLatch(1);
                List<Thread> workers = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    boolean mistaken = t % 2 == 0;
                    Thread worker = new Thread(() -> {
                        awaitQuietly(start);
                        for (int k = 0; k < connections / threads; k++) {
                            try {
                                lb.releaseConnection(a, mistaken ? wrong : acquired, 1_000L, true);
                                (mistaken ? wrongReleased : right).incrementAndGet();
                            } catch (IllegalStateException | IllegalArgumentException refused) {
                                // nothing changed
                            } catch (RuntimeException e) {
                                otherwise.incrementAndGet();
                            }
                        }
                    });
                    worker.start();
                    workers.add(worker);
                }
                start.countDown();
                for (Thread worker : workers) {
                    worker.join();
                }

                assertThat(otherwise).hasValue(0);
                long released = right.get() + wrongReleased.get();
                assertThat(a.activeConnections()).isEqualTo(connections - released);
                assertThat(a.inFlightTokens()).isEqualTo(700L * connections - 700L * right.get()
                        - 1_900L * wrongReleased.get()).isNotNegative();
                assertThat(lb.getBackendStats("a").successes()).isEqualTo(released);
            }
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void assertNoConnectionToRelease(LoadBalancer lb, ThrowingCallable release) {
        assertThatThrownBy(release)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("backend: a has no active connection to release (expected: one acquireConnection per release)");
    }

    @Test
    void anAcquisitionOnARemovedBackendCountsNoTokens() {
        try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            lb.addBackend("b", "10.0.0.2", 8000);
            lb.removeBackend("a");

            assertThat(lb.tryAcquireConnection(a, request("r", 700))).isFalse();
            assertThat(a.inFlightTokens()).isZero();
        }
    }

    @Test
    void executeHoldsTheTokensForTheCall() {
        try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            long during = lb.execute(request("r", 4_200), backend -> backend.inFlightTokens());
            assertThat(during).isEqualTo(4_200);
            assertThat(a.inFlightTokens()).isZero();
        }
    }

    @Test
    void badTokenSettingsAreRejectedNamingTheValue() {
        assertThatThrownBy(() -> LoadBalancer.builder().countTokens(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("defaultTokens: 0 (expected: 1..2147483647)");
        assertThatThrownBy(() -> LoadBalancer.builder().countTokens(100).countTokens(200))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("countTokens");
        assertThatThrownBy(() -> new Request("r", "", "/", -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("estimatedTokens: -1 (expected: 0..2147483647)");
        assertThatThrownBy(() -> new Request("r", "", "/").withEstimatedTokens(Request.MAX_TOKENS + 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("estimatedTokens: 2147483648");
        assertThat(new Request("r", "", "/").withEstimatedTokens(9)).isEqualTo(new Request("r", "", "/", 9));
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.strategy.ResourceBasedStrategy;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.Random;
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
    void aReleaseWithoutAConnectionLeavesTheTokensAsTheyWere() {
        try (LoadBalancer lb = tokens(BalancingStrategy.ROUND_ROBIN)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            Lease lease = lb.acquire(request("r", 300));
            lease.success();
            lb.acquireConnection(a, request("s", 0)); // counts the default; the lease is gone
            lb.releaseConnection(a, request("s", 0), 1L, true);

            assertThatThrownBy(() -> lb.releaseConnection(a, 1L, true))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("tokens: 1000");
            assertThat(a.inFlightTokens()).isZero();
            assertThat(a.activeConnections()).isZero();
        }
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
                .hasMessage("defaultTokenEstimate: 0 (expected: 1..2147483647)");
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

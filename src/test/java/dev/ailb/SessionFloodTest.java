package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.openjdk.jol.info.GraphStats;

/**
 * A flood of a million distinct session ids and client addresses leaves the balancer's memory
 * where the bounds put it: the session table stays exactly at {@code maxSessions}, IP_HASH and
 * consistent-hash affinity keep nothing per address or session, and the heap the balancer
 * retains (measured with JOL) does not grow with the flood. {@link RetainedMemoryMeasurement}
 * prints the figures; the limit on bytes per session here is twice the one measured, so that it
 * holds on other JVMs and layouts while still catching anything that grows with the flood.
 */
class SessionFloodTest {
    private static final int FLOOD = 1_000_000;
    private static final int BOUND = 1_000;
    /** Measured 136 B per session with 12-character ids on JDK 17 (compressed pointers); twice that. */
    private static final long BYTES_PER_SESSION_LIMIT = 272;

    private final ManualTicker ticker = new ManualTicker();

    /** The i-th of up to 16,777,216 distinct IPv4 addresses. */
    static String clientIp(int i) {
        return "10." + ((i >>> 16) & 255) + '.' + ((i >>> 8) & 255) + '.' + (i & 255);
    }

    /** The i-th of up to 90,000,000 distinct session ids, all {@code length} (at least 8) characters long. */
    static String sessionId(int i, int length) {
        return "s".repeat(length - 8) + (10_000_000 + i);
    }

    private LoadBalancer balancer(LoadBalancerBuilder builder) {
        LoadBalancer lb = builder.strategy(BalancingStrategy.IP_HASH).ticker(ticker).build();
        for (int i = 1; i <= 6; i++) {
            lb.addBackend("instance-" + i, "10.1.0." + i, 8000);
        }
        // One completed request each, so that the per-backend histograms exist before measuring.
        for (Backend b : lb.getBackends()) {
            lb.acquireConnection(b);
            lb.releaseConnection(b, Duration.ofMillis(10), true);
        }
        return lb;
    }

    private static long retained(LoadBalancer lb) {
        return GraphStats.parseInstance(lb).totalSize();
    }

    private static Request request(int i) {
        return new Request("r", clientIp(i), "/v1/completions");
    }

    /** Every request has its own address and session: half selected, half leased and released. */
    private void flood(LoadBalancer lb, int from, int to) {
        for (int i = from; i < to; i++) {
            ticker.advance(Duration.ofNanos(500)); // a million requests in half a second
            if ((i & 1) == 0) {
                lb.selectBackend(request(i), sessionId(i, 12));
            } else {
                try (Lease lease = lb.acquire(request(i), sessionId(i, 12))) {
                    lease.success();
                }
            }
        }
    }

    @Test
    void aMillionDistinctSessionsAndAddressesKeepTheTableAtItsBoundAndTheHeapWhereItWas() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder().maxSessions(BOUND))) {
            long empty = retained(lb);
            // Ten times the bound, so that every segment of the table is full before measuring.
            int fill = 10 * BOUND;
            flood(lb, 0, fill);
            assertThat(lb.getAllStats().metrics().sessions()).isEqualTo(BOUND);
            long full = retained(lb);

            flood(lb, fill, fill + FLOOD);

            LoadBalancerMetrics m = lb.getAllStats().metrics();
            assertThat(m.sessions()).isEqualTo(BOUND);
            assertThat(lb.getAllStats().backends().stream().mapToInt(BackendStats::sessions).sum()).isEqualTo(BOUND);
            assertThat(m.sessionMisses()).isEqualTo(fill + FLOOD);
            assertThat(m.sessionHits()).isZero();
            assertThat(m.totalRequests()).isEqualTo(fill + FLOOD);
            assertThat(m.activeConnections()).isZero();
            assertThat(m.successes()).isEqualTo(6 + (fill + FLOOD) / 2);
            long after = retained(lb);
            assertThat((full - empty) / BOUND).as("bytes per session").isLessThan(BYTES_PER_SESSION_LIMIT);
            assertThat(after).as("retained after the flood").isBetween(full - full / 100, full + full / 100);
            // The latest sessions are the ones kept.
            lb.selectBackend(request(0), sessionId(fill + FLOOD - 1, 12));
            assertThat(lb.getAllStats().metrics().sessionHits()).isEqualTo(1);
        }
    }

    @Test
    void ipHashKeepsNothingPerClientAddress() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder())) {
            long before = retained(lb);

            for (int i = 0; i < FLOOD; i++) {
                if ((i & 1) == 0) {
                    lb.selectBackend(request(i));
                } else {
                    try (Lease lease = lb.acquire(request(i))) {
                        lease.success();
                    }
                }
            }

            assertThat(lb.getAllStats().metrics().totalRequests()).isEqualTo(FLOOD);
            assertThat(lb.getAllStats().metrics().sessions()).isZero();
            assertThat(retained(lb)).isEqualTo(before);
        }
    }

    @Test
    void consistentHashAffinityKeepsNothingPerSession() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder().sessionAffinity(SessionAffinity.CONSISTENT_HASH))) {
            lb.selectBackend(request(0), "warm-up"); // builds the session ring once
            long before = retained(lb);

            for (int i = 0; i < FLOOD; i++) {
                lb.selectBackend(request(i), sessionId(i, 12));
            }

            assertThat(lb.getAllStats().metrics().sessions()).isZero();
            assertThat(lb.getAllStats().metrics().sessionHits()).isEqualTo(FLOOD + 1);
            assertThat(retained(lb)).isEqualTo(before);
        }
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.StandardErrorCapture;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The lease: select and acquire in one step, released exactly once, timed by the ticker. */
class LeaseTest {
    private static final Request REQUEST = new Request("req-1", "10.1.1.1", "/v1/chat/completions");

    private final ManualTicker ticker = new ManualTicker();
    private final LoadBalancer lb = LoadBalancer.builder().ticker(ticker)
            .outlierDetection(OutlierDetection.disabled()).build();

    @Test
    void aLeaseHoldsAConnectionUntilItsOutcomeIsReportedAndTimesTheRequest() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8001);

        try (Lease lease = lb.acquire(REQUEST)) {
            assertThat(lease.backend()).isSameAs(a);
            assertThat(a.activeConnections()).isEqualTo(1);
            ticker.advance(Duration.ofMillis(250));
            assertThat(lease.success()).isTrue();
            assertThat(a.activeConnections()).isZero();
            assertThat(lease.isOpen()).isFalse();
        }

        BackendStats stats = lb.getBackendStats("a");
        assertThat(stats.totalRequests()).isEqualTo(1);
        assertThat(stats.successes()).isEqualTo(1);
        assertThat(stats.failures()).isZero();
        assertThat(stats.avgResponseTime()).isEqualTo(Duration.ofMillis(250));
    }

    @Test
    void aLeaseClosedWithoutAnOutcomeCountsAsAFailure() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8001);

        try (Lease lease = lb.acquire(REQUEST)) {
            ticker.advance(Duration.ofMillis(40));
        }

        assertThat(a.activeConnections()).isZero();
        assertThat(lb.getBackendStats("a").failures()).isEqualTo(1);
        assertThat(lb.getBackendStats("a").avgResponseTime()).isEqualTo(Duration.ofMillis(40));
    }

    @Test
    void anExceptionInTheCallStillReleasesTheConnectionOnce() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8001);

        assertThatThrownBy(() -> {
            try (Lease lease = lb.acquire(REQUEST)) {
                throw new IllegalStateException("model crashed " + lease.backend().id());
            }
        }).hasMessage("model crashed a");

        assertThat(a.activeConnections()).isZero();
        assertThat(lb.getAllStats().metrics().failures()).isEqualTo(1);
    }

    @Test
    void reportingTwiceOrClosingAfterAnOutcomeNeverCountsAgain() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8001);
        Lease lease = lb.acquire(REQUEST);

        assertThat(lease.failure()).isTrue();
        assertThat(lease.success()).isFalse();
        assertThat(lease.failure()).isFalse();
        lease.close();
        lease.close();

        assertThat(a.activeConnections()).isZero();
        LoadBalancerMetrics metrics = lb.getAllStats().metrics();
        assertThat(metrics.completedRequests()).isEqualTo(1);
        assertThat(metrics.failures()).isEqualTo(1);
        assertThat(metrics.totalRequests()).isEqualTo(1);
    }

    @Test
    void theOutcomeMayBeReportedFromAnotherThread() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8001);
        Lease lease = lb.acquire(REQUEST);

        CompletableFuture.runAsync(lease::success).join();

        assertThat(a.activeConnections()).isZero();
        assertThat(lb.getBackendStats("a").successes()).isEqualTo(1);
    }

    @Test
    void acquiringWithNothingAvailableFailsClearlyAndCountsNothing() {
        assertThatThrownBy(() -> lb.acquire(REQUEST))
                .isInstanceOf(NoAvailableBackendException.class)
                .hasMessageContaining("none is registered");
        assertThat(lb.getAllStats().metrics().totalRequests()).isZero();
        assertThat(lb.getAllStats().metrics().rejectedRequests()).isEqualTo(1);
        assertThatThrownBy(() -> lb.acquire(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("request: null");
    }

    @Test
    void theLastLeaseOfARemovedBackendFinishesItsDrain() {
        lb.addBackend("a", "10.0.0.1", 8001);
        Lease lease = lb.acquire(REQUEST);
        CompletableFuture<Void> drained = lb.removeBackend("a");
        assertThat(drained).isNotDone();

        lease.success();

        assertThat(drained).isCompleted();
        assertThat(lb.getBackends()).isEmpty();
    }

    @Test
    void aClosedBalancerRefusesNewLeasesButCountsTheOpenOnes() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8001);
        Lease lease = lb.acquire(REQUEST);
        lb.close();

        assertThatThrownBy(() -> lb.acquire(REQUEST)).isInstanceOf(IllegalStateException.class)
                .hasMessage("load balancer is closed");
        assertThat(lease.success()).isTrue();
        assertThat(a.activeConnections()).isZero();
        assertThat(lb.getBackendStats("a").successes()).isEqualTo(1);
    }

    @Test
    void executeLeasedHandsTheOpenLeaseOverAndRetriesAFailedStart() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        java.util.List<Backend> tried = new java.util.ArrayList<>();

        Lease held = lb.executeLeased(new Request("r", "10.9.9.9", "/v1/completions"), lease -> {
            tried.add(lease.backend());
            if (tried.size() == 1) {
                throw new java.io.IOException("refused");
            }
            return lease;
        });

        assertThat(tried).containsExactlyInAnyOrder(a, b);
        assertThat(held.isOpen()).as("the caller ends it").isTrue();
        assertThat(held.backend().activeConnections()).isOne();
        assertThat(tried.get(0).failures()).isOne();
        ticker.advance(Duration.ofMillis(40));
        assertThat(held.firstByte()).isTrue();
        assertThat(held.firstByte()).as("once per lease").isFalse();
        ticker.advance(Duration.ofMillis(60));
        held.success();

        assertThat(held.backend().activeConnections()).isZero();
        assertThat(held.backend().successes()).isOne();
        assertThat(held.backend().timeToFirstByteAt(0.5).toMillis()).isBetween(39L, 41L);
        assertThat(held.backend().responseTimeAt(0.5).toMillis()).isBetween(97L, 103L);
        assertThat(held.backend().firstByteCount()).isOne();
        assertThat(held.firstByte()).as("not after the lease ended").isFalse();
    }

    @Test
    void aLeaseHeldLongerThanADayCountsAsADayWithOneWarningPerBackend() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8001);
        String log;
        try (StandardErrorCapture captured = StandardErrorCapture.start()) {
            for (int i = 0; i < 2; i++) {
                Lease lease = lb.acquire(REQUEST);
                ticker.advance(Duration.ofDays(3));
                assertThat(lease.success()).isTrue();
            }
            log = captured.text();
        }

        assertThat(a.activeConnections()).isZero();
        BackendStats stats = lb.getBackendStats("a");
        assertThat(stats.successes()).isEqualTo(2);
        assertThat(stats.avgResponseTime()).isEqualTo(LoadBalancer.MAX_RESPONSE_TIME);
        assertThat(log.split("a lease was held for", -1)).as("warnings in %s", log).hasSize(2);
        assertThat(log).contains("WARN").contains("Backend a: a lease was held for PT72H, counted as PT24H");
    }
}

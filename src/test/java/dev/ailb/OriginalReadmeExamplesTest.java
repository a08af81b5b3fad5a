package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The usage examples of the module's original README, one test each, in Java. */
class OriginalReadmeExamplesTest {

    @Test
    void usage() {
        try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.LEAST_CONNECTIONS)) {
            lb.addBackend("instance-1", "192.168.1.1", 8001, 2);
            lb.addBackend("instance-2", "192.168.1.1", 8002, 1);
            lb.addBackend("instance-3", "192.168.1.2", 8003, 1);

            Request request = new Request("req-123", "192.168.1.100", "/api/process");
            Backend backend = lb.selectBackend(request);
            String routing = "Routing to " + backend.host() + ":" + backend.port();

            lb.acquireConnection(backend);
            lb.releaseConnection(backend, Duration.ofMillis(50), true);

            assertThat(routing).matches("Routing to 192\\.168\\.1\\.[12]:800[123]");
            assertThat(backend.activeConnections()).isZero();
            assertThat(lb.getBackendStats(backend.id()).successRate()).isEqualTo(1.0);
        }
    }

    @Test
    void balancingStrategies() {
        try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN)) {
            assertThat(lb.getStrategy()).isSameAs(BalancingStrategy.ROUND_ROBIN);
        }
        try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.WEIGHTED_ROUND_ROBIN)) {
            lb.addBackend("powerful-server", "192.168.1.1", 8001, 5);
            lb.addBackend("normal-server", "192.168.1.2", 8002, 1);
            long powerful = 0;
            for (int i = 0; i < 60; i++) {
                if (lb.selectBackend(new Request("r" + i, "192.168.1.100", "/")).id().equals("powerful-server")) {
                    powerful++;
                }
            }
            assertThat(powerful).isEqualTo(50);
        }
        for (BalancingStrategy s : new BalancingStrategy[] {BalancingStrategy.LEAST_CONNECTIONS,
                BalancingStrategy.IP_HASH, BalancingStrategy.LEAST_RESPONSE_TIME}) {
            try (LoadBalancer lb = new LoadBalancer(s)) {
                assertThat(lb.getStrategy()).isSameAs(s);
            }
        }
        try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.RESOURCE_BASED)) {
            lb.addBackend("instance-1", "192.168.1.1", 8001);
            lb.updateBackendResources("instance-1", 0.6, 0.7);
            assertThat(lb.getBackendStats("instance-1").loadReport().orElseThrow().cpu()).isEqualTo(0.6);
        }
    }

    /**
     * The README's health example on the default balancer, which has no active check configured:
     * the checker runs and ends ejections on time, but nothing is sent to the (label) addresses.
     */
    @Test
    void healthChecking() {
        try (LoadBalancer lb = new LoadBalancer()) {
            lb.addBackend("instance-1", "192.168.1.1", 8001);
            lb.addBackend("instance-2", "192.168.1.1", 8002);

            lb.startHealthChecker();
            lb.performHealthChecks();
            lb.stopHealthChecker();
            lb.removeBackend("instance-1");

            assertThat(lb.isHealthCheckerRunning()).isFalse();
            assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("instance-2");
            assertThat(lb.getBackendStats("instance-2").health().sinceLastCheck()).isEmpty();
            assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().startsWith("ailb-health"));
        }
    }

    @Test
    void stickySessions() {
        try (LoadBalancer lb = new LoadBalancer()) {
            lb.addBackend("instance-1", "192.168.1.1", 8001);
            lb.addBackend("instance-2", "192.168.1.1", 8002);
            lb.addBackend("instance-3", "192.168.1.2", 8003);

            Request request = new Request("req-123", "192.168.1.100", "/api/user");
            Backend backend = lb.selectBackend(request, "user-session-abc");
            Request request2 = new Request("req-124", "192.168.1.100", "/api/user");
            Backend backend2 = lb.selectBackend(request2, "user-session-abc");

            assertThat(backend2).isSameAs(backend);
        }
    }

    @Test
    void monitoring() {
        try (LoadBalancer lb = new LoadBalancer()) {
            Backend b = lb.addBackend("instance-1", "192.168.1.1", 8001);
            lb.selectBackend(new Request("req-1", "192.168.1.100", "/api/process"));
            lb.acquireConnection(b);
            lb.releaseConnection(b, Duration.ofMillis(50), true);

            BackendStats stats = lb.getBackendStats("instance-1");
            assertThat(stats.successRate()).isEqualTo(1.0);
            assertThat(stats.avgResponseTime()).isEqualTo(Duration.ofMillis(50));

            LoadBalancerStats allStats = lb.getAllStats();
            assertThat(allStats.metrics().totalRequests()).isEqualTo(1);
            assertThat(allStats.metrics().healthyBackends()).isEqualTo(1);
        }
    }

    @Test
    void dynamicConfiguration() {
        try (LoadBalancer lb = new LoadBalancer()) {
            lb.addBackend("instance-1", "192.168.1.1", 8001);
            lb.setStrategy(BalancingStrategy.LEAST_CONNECTIONS);
            lb.updateBackendResources("instance-1", 0.8, 0.6);
            lb.addBackend("instance-7", "192.168.1.4", 8007);
            lb.removeBackend("instance-1");

            assertThat(lb.getStrategy()).isSameAs(BalancingStrategy.LEAST_CONNECTIONS);
            assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("instance-7");
        }
    }
}

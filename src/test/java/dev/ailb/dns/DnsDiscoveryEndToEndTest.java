package dev.ailb.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.Discovery;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import dev.ailb.testing.Dnsmasq;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.StandardErrorCapture;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A balancer whose fleet is a DNS name, end to end: the answers come from a real dnsmasq on
 * loopback that the test rewrites, and the balancer's scheduler, on virtual time, runs each
 * re-resolution when the test advances the clock. Backends appear, change weight, leave (drained,
 * their requests in flight kept and counted), and an outage of the server or a vanished name keeps
 * the last good fleet, logged once, until the answers come back.
 */
class DnsDiscoveryEndToEndTest {
    private static final Duration INTERVAL = Duration.ofSeconds(30);
    private static final String SERVICE = "_llm._tcp.fleet.test";

    @TempDir
    Path dir;

    private Dnsmasq dns;
    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private LoadBalancer lb;

    @BeforeEach
    void start() {
        dns = Dnsmasq.start(dir);
        lb = LoadBalancer.builder().name("chat").strategy(BalancingStrategy.WEIGHTED_ROUND_ROBIN).ticker(ticker)
                .healthCheckScheduler(scheduler).build();
    }

    @AfterEach
    void stop() {
        lb.close();
        dns.close();
    }

    @Test
    void srvRecordsDriveTheFleetThroughGrowthWeightChangesDepartureAndAnOutage() {
        dns.hosts("127.0.0.21 gpu-a.fleet.test", "127.0.0.22 gpu-b.fleet.test", "127.0.0.23 gpu-c.fleet.test");
        dns.srv(SERVICE + ",gpu-a.fleet.test,8001,0,5");
        Discovery discovery = lb.discover(DnsDiscovery.srv(SERVICE).server(dns.address()).executor(Runnable::run)
                .interval(INTERVAL).build());

        // Given the first resolution: one backend, with the record's weight, and a request in flight on it
        scheduler.runDueTasks();
        assertThat(weights()).containsExactly(Map.entry("127.0.0.21:8001", 5));
        Backend a = lb.getBackend("127.0.0.21:8001").orElseThrow();
        Lease lease = lb.acquire(new Request("req-1", "192.168.1.100", "/v1/chat/completions"));
        assertThat(lease.backend()).isSameAs(a);

        // When a weight changes and two more instances are published: all applied at the next interval
        dns.srv(SERVICE + ",gpu-a.fleet.test,8001,0,20", SERVICE + ",gpu-b.fleet.test,8002,0,10",
                SERVICE + ",gpu-c.fleet.test,8003,0,1");
        scheduler.advance(INTERVAL);
        assertThat(weights()).containsExactly(Map.entry("127.0.0.21:8001", 20), Map.entry("127.0.0.22:8002", 10),
                Map.entry("127.0.0.23:8003", 1));
        assertThat(lb.getBackend("127.0.0.21:8001")).as("the same backend, its counts kept").containsSame(a);
        assertThat(a.activeConnections()).isEqualTo(1);

        // When gpu-a leaves DNS: drained, no new request, its request in flight kept
        dns.srv(SERVICE + ",gpu-b.fleet.test,8002,0,10", SERVICE + ",gpu-c.fleet.test,8003,0,1");
        scheduler.advance(INTERVAL);
        assertThat(a.isDraining()).isTrue();
        assertThat(lb.getAvailableBackends()).extracting(Backend::id)
                .containsExactlyInAnyOrder("127.0.0.22:8002", "127.0.0.23:8003");
        assertThat(a.activeConnections()).isEqualTo(1);

        // Then its last release ends the drain, and the request is counted
        lease.success();
        assertThat(a.isRemoved()).isTrue();
        assertThat(lb.getBackends()).extracting(Backend::id)
                .containsExactlyInAnyOrder("127.0.0.22:8002", "127.0.0.23:8003");
        assertThat(lb.getAllStats().metrics().totalRequests()).isEqualTo(1);
        assertThat(lb.getAllStats().metrics().successes()).isEqualTo(1);

        // When the server stops for three intervals: the last good fleet stays, the failure logged once
        Map<String, Integer> lastGood = weights();
        try (StandardErrorCapture log = StandardErrorCapture.start()) {
            dns.stop();
            scheduler.advance(INTERVAL);
            scheduler.advance(INTERVAL);
            scheduler.advance(INTERVAL);
            assertThat(weights()).isEqualTo(lastGood);
            assertThat(occurrences(log.text(), "no server listens there")).as(log.text()).isEqualTo(1);

            // Then it comes back with a changed fleet, which the next interval applies
            dns.srv(SERVICE + ",gpu-b.fleet.test,8002,0,10");
            dns.restart();
            scheduler.advance(INTERVAL);
            assertThat(weights()).containsExactly(Map.entry("127.0.0.22:8002", 10));
        }

        // When the name vanishes (NXDOMAIN), the fleet stays as it was; and once the discovery is
        // closed, DNS no longer changes it
        dns.srv();
        scheduler.advance(INTERVAL);
        assertThat(weights()).containsExactly(Map.entry("127.0.0.22:8002", 10));
        discovery.close();
        dns.srv(SERVICE + ",gpu-c.fleet.test,8003,0,1");
        scheduler.advance(INTERVAL.multipliedBy(2));
        assertThat(weights()).containsExactly(Map.entry("127.0.0.22:8002", 10));
    }

    @Test
    void addressRecordsAtAPortAndANameLeftWithoutRecordsEmptiesTheFleet() {
        dns.hosts("127.0.0.11 api.fleet.test", "127.0.0.12 api.fleet.test", "::1 api.fleet.test");
        lb.discover(DnsDiscovery.addresses("api.fleet.test", 8000).server(dns.address()).executor(Runnable::run).interval(INTERVAL).build());

        scheduler.runDueTasks();
        assertThat(weights()).containsExactly(Map.entry("127.0.0.11:8000", 1), Map.entry("127.0.0.12:8000", 1));
        assertThat(lb.getBackend("127.0.0.11:8000").orElseThrow().host()).isEqualTo("127.0.0.11");

        // The name keeps only its IPv6 address: no A record is an empty fleet, not a failure
        dns.hosts("::1 api.fleet.test");
        scheduler.advance(INTERVAL);
        assertThat(lb.getBackends()).isEmpty();
    }

    @Test
    void closingTheBalancerClosesTheSource() {
        dns.hosts("127.0.0.11 api.fleet.test");
        lb.discover(DnsDiscovery.addresses("api.fleet.test", 8000).server(dns.address()).executor(Runnable::run).interval(INTERVAL).build());
        scheduler.runDueTasks();

        lb.close();

        assertThat(scheduler.pendingTasks()).as("no resolution left to run").isZero();
    }

    private Map<String, Integer> weights() {
        return lb.getBackends().stream().filter(b -> !b.isDraining())
                .collect(Collectors.toMap(Backend::id, Backend::weight, (x, y) -> x, java.util.TreeMap::new));
    }

    private static int occurrences(String text, String fragment) {
        int n = 0;
        for (int at = text.indexOf(fragment); at >= 0; at = text.indexOf(fragment, at + 1)) {
            n++;
        }
        return n;
    }
}

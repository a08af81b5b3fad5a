package dev.ailb.kubernetes;

import static dev.ailb.kubernetes.Slices.endpoint;
import static dev.ailb.kubernetes.Slices.port;
import static dev.ailb.kubernetes.Slices.ready;
import static dev.ailb.kubernetes.Slices.slice;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.Backend;
import dev.ailb.BackendProfile;
import dev.ailb.BalancingStrategy;
import dev.ailb.Discovery;
import dev.ailb.LabelSelector;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerListener;
import dev.ailb.Request;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A balancer fed by {@link EndpointSliceDiscovery}, end to end, against fabric8's Kubernetes mock
 * server in CRUD mode on loopback ({@link MockApiServer}): the API server double that the Java
 * Kubernetes ecosystem tests against, since no real API server can run here. Slices are created,
 * changed and deleted through the API as the EndpointSlice controller would; the balancer follows.
 *
 * <p>The balancer's timers (drain timeouts, the source's watch check) run on a scheduler in virtual
 * time; the informer's threads are real, so the test waits for the balancer's listener to hear each
 * change, a wait bounded by a generous timeout.
 */
class KubernetesDiscoveryTest {
    private static final List<EndpointPort> PORTS = List.of(port("http", 8000), port("metrics", 9090));
    private static final long WAIT_SECONDS = 30;

    private final MockApiServer api = MockApiServer.start();
    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private final LoadBalancer lb = LoadBalancer.builder().name("chat").strategy(BalancingStrategy.LEAST_CONNECTIONS)
            .ticker(ticker).healthCheckScheduler(scheduler).build();
    private final Events events = new Events();

    /** What the balancer's listener heard, in order, as {@code added a}, {@code draining a}, {@code removed a}. */
    private static final class Events implements LoadBalancerListener {
        private final BlockingQueue<String> heard = new LinkedBlockingQueue<>();

        @Override
        public void onBackendAdded(Backend backend) {
            heard.add("added " + backend.id());
        }

        @Override
        public void onBackendDraining(Backend backend) {
            heard.add("draining " + backend.id());
        }

        @Override
        public void onBackendRemoved(Backend backend) {
            heard.add("removed " + backend.id());
        }

        /** The next {@code count} events, waiting for them. */
        List<String> next(int count) throws InterruptedException {
            String[] got = new String[count];
            for (int i = 0; i < count; i++) {
                got[i] = heard.poll(WAIT_SECONDS, TimeUnit.SECONDS);
                assertThat(got[i]).as("event %d of %d within %d s", i + 1, count, WAIT_SECONDS).isNotNull();
            }
            return List.of(got);
        }

        boolean quiet() {
            return heard.isEmpty();
        }
    }

    @AfterEach
    void close() {
        lb.close();
        api.close();
    }

    private Discovery discover() {
        lb.addListener(events);
        return lb.discover(EndpointSliceDiscovery.builder(api.client()).service("vllm").portName("http")
                .profile(BackendProfile.builder().model("llama-3-8b").build()).build());
    }

    private List<String> ids() {
        return lb.getBackends().stream().map(Backend::id).sorted().toList();
    }

    @Test
    void backendsAppearFollowTheirPodsAndGoWithTheirSlice() throws Exception {
        // Given a balancer discovering an empty Service
        Discovery discovery = discover();

        // When its slice is created with two ready pods, then both are backends, with the
        // profile given and the endpoints' zone and node as labels
        api.apply(slice("vllm-abc", "vllm", PORTS, ready("10.1.0.1", "zone-a", "node-1"),
                ready("10.1.0.2", "zone-b", "node-2")));
        assertThat(events.next(2)).containsExactlyInAnyOrder("added 10.1.0.1:8000", "added 10.1.0.2:8000");
        Backend first = lb.getBackend("10.1.0.1:8000").orElseThrow();
        assertThat(first.host()).isEqualTo("10.1.0.1");
        assertThat(first.port()).isEqualTo(8000);
        assertThat(first.profile().models()).containsExactly("llama-3-8b");
        assertThat(first.profile().labels()).containsEntry("zone", "zone-a").containsEntry("node", "node-1");
        assertThat(lb.selectBackend(new Request("r", "", "/v1/chat/completions")
                .withLabels(LabelSelector.require("zone", "zone-b"))).id()).isEqualTo("10.1.0.2:8000");

        // When a new pod becomes ready, then it is added
        api.apply(slice("vllm-abc", "vllm", PORTS, ready("10.1.0.1", "zone-a", "node-1"),
                ready("10.1.0.2", "zone-b", "node-2"), ready("10.1.0.3", "zone-a", "node-3")));
        assertThat(events.next(1)).containsExactly("added 10.1.0.3:8000");

        // When one fails its readiness probe, then it drains (nothing in flight: it goes at once);
        // when it is ready again, it is back
        api.apply(slice("vllm-abc", "vllm", PORTS, ready("10.1.0.1", "zone-a", "node-1"),
                endpoint("10.1.0.2", false, false), ready("10.1.0.3", "zone-a", "node-3")));
        assertThat(events.next(2)).containsExactly("draining 10.1.0.2:8000", "removed 10.1.0.2:8000");
        api.apply(slice("vllm-abc", "vllm", PORTS, ready("10.1.0.1", "zone-a", "node-1"),
                ready("10.1.0.2", "zone-b", "node-2"), ready("10.1.0.3", "zone-a", "node-3")));
        assertThat(events.next(1)).containsExactly("added 10.1.0.2:8000");

        // When the slice is deleted, then every backend drains and goes
        api.delete("ai", "vllm-abc");
        assertThat(events.next(6)).containsExactlyInAnyOrder(
                "draining 10.1.0.1:8000", "removed 10.1.0.1:8000", "draining 10.1.0.2:8000",
                "removed 10.1.0.2:8000", "draining 10.1.0.3:8000", "removed 10.1.0.3:8000");
        assertThat(lb.getBackends()).isEmpty();
        assertThat(discovery.failures()).isZero();
        assertThat(discovery.isFailing()).isFalse();
    }

    @Test
    void aTerminatingPodKeepsItsRequestsInFlightCountedAndDrains() throws Exception {
        // Given two backends, and a request in flight on the first
        discover();
        api.apply(slice("vllm-abc", "vllm", PORTS, ready("10.1.0.1", "zone-a", "node-1"),
                ready("10.1.0.2", "zone-a", "node-2")));
        events.next(2);
        Backend leaving = lb.getBackend("10.1.0.1:8000").orElseThrow();
        lb.acquireConnection(leaving);

        // When its pod starts terminating
        api.apply(slice("vllm-abc", "vllm", PORTS, endpoint("10.1.0.1", false, true),
                ready("10.1.0.2", "zone-a", "node-2")));

        // Then it drains: out of routing, still registered, its request still counted
        assertThat(events.next(1)).containsExactly("draining 10.1.0.1:8000");
        assertThat(leaving.isDraining()).isTrue();
        assertThat(leaving.activeConnections()).isEqualTo(1);
        assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("10.1.0.2:8000");
        for (int i = 0; i < 10; i++) {
            Lease other = lb.acquire(new Request("r" + i, "", "/v1/chat/completions"));
            assertThat(other.backend().id()).isEqualTo("10.1.0.2:8000");
            other.success();
        }

        // When the request ends, then the backend is gone, and its request was counted
        lb.releaseConnection(leaving, Duration.ofMillis(20), true);
        assertThat(events.next(1)).containsExactly("removed 10.1.0.1:8000");
        assertThat(leaving.activeConnections()).isZero();
        assertThat(leaving.successes()).isEqualTo(1);
        assertThat(ids()).containsExactly("10.1.0.2:8000");
    }

    @Test
    void twoSlicesOfTheServiceMergeAndASliceOfAnotherServiceIsIgnored() throws Exception {
        discover();
        api.apply(slice("vllm-abc", "vllm", PORTS, ready("10.1.0.1", "zone-a", "node-1")));
        assertThat(events.next(1)).containsExactly("added 10.1.0.1:8000");

        // When another Service's slice appears, then a second slice of this one
        api.apply(slice("embed-abc", "embed", PORTS, ready("10.2.0.1", "zone-a", "node-1")));
        api.apply(slice("vllm-def", "vllm", PORTS, ready("10.1.0.2", "zone-b", "node-2"),
                ready("10.1.0.1", "zone-a", "node-1")));

        // Then only the second slice's new pod is added: the other Service's never is, and an
        // address in both slices is one backend
        assertThat(events.next(1)).containsExactly("added 10.1.0.2:8000");
        assertThat(ids()).containsExactly("10.1.0.1:8000", "10.1.0.2:8000");

        // When the first slice goes, its address stays as the second slice lists it
        api.delete("ai", "vllm-abc");
        api.apply(slice("vllm-def", "vllm", PORTS, ready("10.1.0.2", "zone-b", "node-2")));
        assertThat(events.next(2)).containsExactly("draining 10.1.0.1:8000", "removed 10.1.0.1:8000");
        assertThat(ids()).containsExactly("10.1.0.2:8000");
        assertThat(events.quiet()).isTrue();
    }

    @Test
    void whileTheApiServerIsGoneTheLastGoodMembershipStays() throws Exception {
        // Given two backends discovered
        Discovery discovery = discover();
        api.apply(slice("vllm-abc", "vllm", PORTS, ready("10.1.0.1", "zone-a", "node-1"),
                ready("10.1.0.2", "zone-b", "node-2")));
        events.next(2);

        // When the API server goes away, then the source's checks on the balancer's scheduler find
        // the watch down (the informer's threads see the closed connection on their own time, so the
        // checks go on until they have) and the discovery is failing
        api.server().destroy();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!discovery.isFailing() && System.nanoTime() - deadline < 0) {
            scheduler.advance(EndpointSliceDiscovery.DEFAULT_CHECK_INTERVAL);
            Thread.onSpinWait();
        }
        assertThat(discovery.isFailing()).as("failing within %d s", WAIT_SECONDS).isTrue();

        // Then the balancer keeps its backends, and routes to them
        assertThat(ids()).containsExactly("10.1.0.1:8000", "10.1.0.2:8000");
        assertThat(lb.getAvailableBackends()).hasSize(2);
        assertThat(events.quiet()).isTrue();

        // When the balancer closes, then the discovery closes with it
        lb.close();
        assertThat(discovery.isClosed()).isTrue();
    }
}

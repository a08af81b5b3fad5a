package dev.ailb.kubernetes;

import static dev.ailb.kubernetes.Slices.endpoint;
import static dev.ailb.kubernetes.Slices.onlyPort;
import static dev.ailb.kubernetes.Slices.port;
import static dev.ailb.kubernetes.Slices.ready;
import static dev.ailb.kubernetes.Slices.slice;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the source tells its balancer as a Service's EndpointSlices change on fabric8's Kubernetes
 * mock server in CRUD mode (on loopback, see {@link MockApiServer}), recorded by a
 * {@link RecordingContext} whose scheduler runs in virtual time. The informer's threads are real:
 * the test waits for what they deliver, a bounded wait.
 */
class EndpointSliceDiscoveryTest {
    private static final Duration CHECK = Duration.ofSeconds(5);

    private final MockApiServer api = MockApiServer.start();
    private final RecordingContext context = new RecordingContext();
    private EndpointSliceDiscovery source;

    @AfterEach
    void close() {
        if (source != null) {
            source.close();
        }
        api.close();
        context.close();
    }

    private EndpointSliceDiscovery start(String portName) {
        EndpointSliceDiscovery.Builder builder = EndpointSliceDiscovery.builder(api.client()).service("vllm");
        if (portName != null) {
            builder.portName(portName);
        }
        source = builder.build();
        source.start(context);
        return source;
    }

    @Test
    void theFirstListIsDeliveredWholeThenEachChange() throws Exception {
        // Given two slices of the Service before the source starts
        api.apply(slice("vllm-a", "vllm", onlyPort(8000), ready("10.1.0.1", "zone-a", "node-1")));
        api.apply(slice("vllm-b", "vllm", onlyPort(8000), endpoint("10.1.0.2", true, false)));

        // When it starts, then the first update holds both slices' endpoints at once
        start(null);
        assertThat(context.nextUpdate().ids()).containsExactly("10.1.0.1:8000", "10.1.0.2:8000");

        // When a new pod becomes ready in slice a
        api.apply(slice("vllm-a", "vllm", onlyPort(8000), ready("10.1.0.1", "zone-a", "node-1"),
                endpoint("10.1.0.3", true, false)));
        assertThat(context.nextUpdate().ids()).containsExactly("10.1.0.1:8000", "10.1.0.2:8000", "10.1.0.3:8000");

        // When one goes terminating (it leaves; the balancer drains it) and another not ready
        api.apply(slice("vllm-a", "vllm", onlyPort(8000), ready("10.1.0.1", "zone-a", "node-1"),
                endpoint("10.1.0.3", false, true)));
        assertThat(context.nextUpdate().ids()).containsExactly("10.1.0.1:8000", "10.1.0.2:8000");
        api.apply(slice("vllm-b", "vllm", onlyPort(8000), endpoint("10.1.0.2", false, false)));
        assertThat(context.nextUpdate().ids()).containsExactly("10.1.0.1:8000");

        // When slice a is deleted, then the membership is empty
        api.delete("ai", "vllm-a");
        RecordingContext.Said last = context.nextUpdate();
        assertThat(last.ids()).isEmpty();
        assertThat(context.quiet()).isTrue();
    }

    @Test
    void anEmptyServiceIsAnEmptyMembershipAndItsFirstSliceFillsIt() throws Exception {
        start(null);
        assertThat(context.nextUpdate().ids()).isEmpty();

        api.apply(slice("vllm-a", "vllm", onlyPort(8000), ready("10.1.0.1", "zone-a", "node-1")));
        RecordingContext.Said filled = context.nextUpdate();
        assertThat(filled.ids()).containsExactly("10.1.0.1:8000");
        assertThat(filled.backends().get(0).profile().labels()).containsEntry("zone", "zone-a")
                .containsEntry("node", "node-1");
    }

    @Test
    void slicesOfOtherServicesAndNamespacesAreIgnored() throws Exception {
        // Given the source running over an empty Service
        start("http");
        assertThat(context.nextUpdate().ids()).isEmpty();

        // When a slice of another Service, and one of the same name in another namespace, appear
        api.apply(slice("embed-a", "embed", List.of(port("http", 8000)), endpoint("10.2.0.1", true, false)));
        api.apply(slice("other", "vllm-a", "vllm", "IPv4", List.of(port("http", 8000)),
                endpoint("10.3.0.1", true, false)));
        // and then one of its own
        api.apply(slice("vllm-a", "vllm", List.of(port("http", 8000), port("metrics", 9090)),
                endpoint("10.1.0.1", true, false)));

        // Then the next update is that one's, and none came before it
        assertThat(context.nextUpdate().ids()).containsExactly("10.1.0.1:8000");
        assertThat(context.quiet()).isTrue();
    }

    @Test
    void slicesWithSeveralPortsAndNoPortNameAreAFailureAndTheLastGoodMembershipStays() throws Exception {
        // Given a membership delivered
        start(null);
        api.apply(slice("vllm-a", "vllm", onlyPort(8000), endpoint("10.1.0.1", true, false)));
        assertThat(context.nextUpdate().ids()).isEmpty();
        assertThat(context.nextUpdate().ids()).containsExactly("10.1.0.1:8000");

        // When the Service gains a second port, then the source fails rather than guess
        api.apply(slice("vllm-a", "vllm", List.of(port("http", 8000), port("metrics", 9090)),
                endpoint("10.1.0.1", true, false)));
        assertThat(context.nextFailure()).hasMessageContaining("name the one to use with portName");

        // When the slice has one port again, then the membership is delivered, though unchanged,
        // which tells the balancer that the view is known again
        api.apply(slice("vllm-a", "vllm", onlyPort(8000), endpoint("10.1.0.1", true, false)));
        assertThat(context.nextUpdate().ids()).containsExactly("10.1.0.1:8000");
    }

    @Test
    void aFailedListIsAFailureAndTheInformerRetries() throws Exception {
        // Given an API server whose first list of the slices is refused (as it is while the
        // application's role is still missing; a 5xx answer the client would retry by itself)
        api.apply(slice("vllm-a", "vllm", onlyPort(8000), endpoint("10.1.0.1", true, false)));
        api.server().expect().get()
                .withPath("/apis/discovery.k8s.io/v1/namespaces/ai/endpointslices"
                        + "?labelSelector=kubernetes.io%2Fservice-name%3Dvllm&resourceVersion=0")
                .andReturn(403, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":403,"
                        + "\"reason\":\"Forbidden\",\"message\":\"endpointslices.discovery.k8s.io is forbidden\"}")
                .once();

        // When the source starts, then it fails, then the informer lists again and delivers
        start(null);
        assertThat(context.nextFailure()).hasMessageContaining("endpointslices.discovery.k8s.io is forbidden");
        assertThat(context.nextUpdate().ids()).containsExactly("10.1.0.1:8000");
    }

    @Test
    void aWatchDownForACheckIntervalIsAFailure() throws Exception {
        // Given a membership delivered
        api.apply(slice("vllm-a", "vllm", onlyPort(8000), endpoint("10.1.0.1", true, false)));
        start(null);
        assertThat(context.nextUpdate().ids()).containsExactly("10.1.0.1:8000");
        // and a check that finds the watch up
        assertThat(context.scheduler.advance(CHECK)).isEqualTo(1);
        assertThat(context.quiet()).isTrue();

        // When the API server goes away, the client reconnects its watch without a word; the
        // source's checks, in virtual time, find it down two in a row (the informer's threads
        // notice the closed connection on their own time: the checks go on until they have)
        api.server().destroy();
        RecordingContext.Said said = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RecordingContext.WAIT_SECONDS);
        while (said == null && System.nanoTime() - deadline < 0) {
            context.scheduler.advance(CHECK);
            said = context.poll();
            Thread.onSpinWait();
        }
        assertThat(said).as("a failure within %d s", RecordingContext.WAIT_SECONDS).isNotNull();
        assertThat(said.failure()).hasMessage("the watch of the EndpointSlices of Service ai/vllm has been down"
                + " for PT5S or more; the client is reconnecting");
    }

    @Test
    void closingStopsTheChecksAndDeliversNothingMore() throws Exception {
        start(null);
        assertThat(context.nextUpdate().ids()).isEmpty();
        assertThat(context.scheduler.pendingTasks()).isEqualTo(1);

        source.close();
        source.close();
        api.apply(slice("vllm-a", "vllm", onlyPort(8000), endpoint("10.1.0.1", true, false)));

        assertThat(context.scheduler.pendingTasks()).isZero();
        assertThat(context.scheduler.advance(CHECK.multipliedBy(3))).isZero();
        assertThat(context.quiet()).isTrue();
        assertThatThrownBy(() -> source.start(context))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("EndpointSliceDiscovery{service=ai/vllm, port=the only one} was closed already"
                        + " (expected: a source started once, by one balancer)");
    }
}

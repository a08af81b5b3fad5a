package dev.ailb.kubernetes;

import static dev.ailb.kubernetes.Slices.endpoint;
import static dev.ailb.kubernetes.Slices.onlyPort;
import static dev.ailb.kubernetes.Slices.port;
import static dev.ailb.kubernetes.Slices.ready;
import static dev.ailb.kubernetes.Slices.slice;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.BackendProfile;
import dev.ailb.BackendSpec;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rules that turn a Service's EndpointSlices into a membership. */
class SliceMembershipTest {
    private static final BackendProfile NONE = BackendProfile.none();

    private static SliceMembership.Outcome of(String portName, EndpointSlice... slices) {
        return SliceMembership.of(List.of(slices), portName, NONE, "ai/vllm");
    }

    private static List<String> ids(SliceMembership.Outcome outcome) {
        assertThat(outcome.problem()).isNull();
        return outcome.backends().stream().map(BackendSpec::id).toList();
    }

    @Test
    void readyEndpointsAreMembersAndAnAbsentReadyConditionMeansReady() {
        // Given an endpoint of each kind
        EndpointSlice slice = slice("vllm-a", "vllm", onlyPort(8000),
                endpoint("10.1.0.1", true, false),
                endpoint("10.1.0.2", null, null),
                new EndpointBuilder().withAddresses("10.1.0.3").build(),
                endpoint("10.1.0.4", false, true),
                endpoint("10.1.0.5", false, false),
                endpoint("10.1.0.6", true, true));

        // Then the ready ones are the members; terminating (even if still reported ready) and
        // not-ready ones are left out
        assertThat(ids(of(null, slice))).containsExactly("10.1.0.1:8000", "10.1.0.2:8000", "10.1.0.3:8000");
    }

    @Test
    void eachAddressIsOneBackendAndIpv6IdsAreBracketed() {
        Endpoint twoAddresses = new EndpointBuilder().withAddresses("10.1.0.1", "10.1.0.2").build();
        EndpointSlice v4 = slice("vllm-a", "vllm", onlyPort(8000), twoAddresses);
        EndpointSlice v6 = slice("ai", "vllm-b", "vllm", "IPv6", onlyPort(8000),
                new EndpointBuilder().withAddresses("fd00::7").build());

        SliceMembership.Outcome outcome = of(null, v4, v6);

        assertThat(ids(outcome)).containsExactly("10.1.0.1:8000", "10.1.0.2:8000", "[fd00::7]:8000");
        BackendSpec six = outcome.backends().get(2);
        assertThat(six.host()).isEqualTo("fd00::7");
        assertThat(six.port()).isEqualTo(8000);
        assertThat(six.weight()).isEqualTo(1);
    }

    @Test
    void thePortIsTakenByNameAndASliceWithoutItContributesNothing() {
        EndpointSlice both = slice("vllm-a", "vllm", List.of(port("metrics", 9090), port("http", 8000)),
                endpoint("10.1.0.1", true, false));
        EndpointSlice metricsOnly = slice("vllm-b", "vllm", List.of(port("metrics", 9090)),
                endpoint("10.1.0.2", true, false));

        assertThat(ids(of("http", both, metricsOnly))).containsExactly("10.1.0.1:8000");
        assertThat(ids(of("metrics", both, metricsOnly))).containsExactly("10.1.0.1:9090", "10.1.0.2:9090");
    }

    @Test
    void severalPortsWithoutAPortNameLeaveTheMembershipUnknown() {
        EndpointSlice both = slice("vllm-a", "vllm", List.of(port("metrics", 9090), port("http", 8000)),
                endpoint("10.1.0.1", true, false));

        SliceMembership.Outcome outcome = of(null, both);

        assertThat(outcome.backends()).isEmpty();
        assertThat(outcome.problem()).hasMessage("EndpointSlice vllm-a of Service ai/vllm has the ports"
                + " [metrics=9090, http=8000]: name the one to use with portName");
    }

    @Test
    void anAddressThatIsNoHostLeavesTheMembershipUnknown() {
        EndpointSlice odd = slice("vllm-a", "vllm", onlyPort(8000), endpoint("10.1.0.1", true, false),
                endpoint("gpu 7", true, false));

        SliceMembership.Outcome outcome = of(null, odd);

        assertThat(outcome.backends()).isEmpty();
        assertThat(outcome.problem()).hasMessage("EndpointSlice vllm-a of Service ai/vllm lists an endpoint the"
                + " balancer cannot take: host: \"gpu 7\" (expected: a host name, an IPv4 address or an IPv6 address)");
    }

    @Test
    void anAddressInTwoSlicesIsOneBackendAndSlicesMerge() {
        EndpointSlice a = slice("vllm-a", "vllm", onlyPort(8000), ready("10.1.0.1", "zone-a", "node-1"),
                endpoint("10.1.0.2", true, false));
        EndpointSlice b = slice("vllm-b", "vllm", onlyPort(8000), ready("10.1.0.1", "zone-b", "node-9"),
                endpoint("10.1.0.3", true, false));

        SliceMembership.Outcome outcome = of(null, b, a);

        assertThat(ids(outcome)).containsExactly("10.1.0.1:8000", "10.1.0.2:8000", "10.1.0.3:8000");
        // the slice first by name wins, whatever order the slices came in
        assertThat(outcome.backends().get(0).profile().labels()).containsEntry("zone", "zone-a");
    }

    @Test
    void zoneAndNodeAreLabelsOnTheConfiguredProfile() {
        BackendProfile base = BackendProfile.builder().model("llama-3-8b").label("gpu", "h100").build();
        EndpointSlice slice = slice("vllm-a", "vllm", onlyPort(8000), ready("10.1.0.1", "us-east-1a", "node-1"),
                endpoint("10.1.0.2", true, false),
                ready("10.1.0.3", "us-east-1b", "n".repeat(200)));

        List<BackendSpec> backends = SliceMembership.of(List.of(slice), null, base, "ai/vllm").backends();

        assertThat(backends.get(0).profile()).isEqualTo(BackendProfile.builder().model("llama-3-8b")
                .label("gpu", "h100").label("zone", "us-east-1a").label("node", "node-1").build());
        assertThat(backends.get(1).profile()).isEqualTo(base);
        // a node name longer than a label holds: the backend stays, without that label
        assertThat(backends.get(2).profile().labels()).containsOnlyKeys("gpu", "zone");
    }

    @Test
    void noSlicesOrNoEndpointsIsAnEmptyMembership() {
        assertThat(ids(of(null))).isEmpty();
        assertThat(ids(of(null, slice("vllm-a", "vllm", onlyPort(8000))))).isEmpty();
        assertThat(ids(of(null, slice("vllm-a", "vllm", List.of(), endpoint("10.1.0.1", true, false))))).isEmpty();
    }
}

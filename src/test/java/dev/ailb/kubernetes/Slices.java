package dev.ailb.kubernetes;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.List;

/**
 * EndpointSlices as the tests write them, in the shape the EndpointSlice controller gives them: a
 * name, the label naming the Service, an address type, ports and endpoints. The addresses are
 * labels that nothing connects to.
 */
final class Slices {
    private Slices() {}

    /** A slice of {@code service} in {@code namespace}. */
    static EndpointSlice slice(String namespace, String name, String service, String addressType,
            List<EndpointPort> ports, Endpoint... endpoints) {
        return new EndpointSliceBuilder()
                .withNewMetadata().withNamespace(namespace).withName(name)
                .addToLabels(EndpointSliceDiscovery.SERVICE_LABEL, service).endMetadata()
                .withAddressType(addressType)
                .withPorts(ports)
                .withEndpoints(endpoints)
                .build();
    }

    /** An IPv4 slice of {@code service} in namespace {@code ai}. */
    static EndpointSlice slice(String name, String service, List<EndpointPort> ports, Endpoint... endpoints) {
        return slice("ai", name, service, "IPv4", ports, endpoints);
    }

    /** A port of the Service. */
    static EndpointPort port(String name, int number) {
        return new EndpointPortBuilder().withName(name).withPort(number).withProtocol("TCP").build();
    }

    /** The only port of a Service that names none (the API leaves its name empty). */
    static List<EndpointPort> onlyPort(int number) {
        return List.of(new EndpointPortBuilder().withName("").withPort(number).withProtocol("TCP").build());
    }

    /** A ready endpoint in zone {@code zone} on node {@code node}. */
    static Endpoint ready(String address, String zone, String node) {
        return new EndpointBuilder(endpoint(address, true, false)).withZone(zone).withNodeName(node).build();
    }

    /** An endpoint with these conditions; null leaves a condition out. */
    static Endpoint endpoint(String address, Boolean ready, Boolean terminating) {
        return new EndpointBuilder().withAddresses(address)
                .withNewConditions().withReady(ready).withServing(ready).withTerminating(terminating).endConditions()
                .build();
    }
}

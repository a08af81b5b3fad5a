package dev.ailb.kubernetes;

import dev.ailb.BackendProfile;
import dev.ailb.BackendSpec;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The membership that the EndpointSlices of one Service state: a pure function of the slices, so
 * that the rules are read and tested in one place, apart from the watch that feeds them.
 *
 * <ul>
 *   <li>An endpoint is a member when it is ready ({@code conditions.ready} true, or absent, which
 *       the API defines as ready) and not terminating. A terminating endpoint is left out, so that
 *       reconcile drains the backend it was: its requests in flight finish, and it gets no new one.
 *       An endpoint that is neither ready nor terminating (a pod still starting, or failing its
 *       readiness probe) is left out too: Kubernetes' own Service routing sends it nothing, and
 *       it comes back by itself in the update that marks it ready. A terminating endpoint that is
 *       also reported ready (a Service that publishes not-ready addresses) is leaving, and is left
 *       out as well.</li>
 *   <li>The port is the slice's port of the configured name, or its only port when no name is
 *       configured; a slice without that port contributes nothing, and a slice with several ports
 *       and no name configured makes the whole membership unknown ({@link Problem}), since any
 *       choice would be a guess. So does an address that is no host (which the API server's
 *       validation should make impossible).</li>
 *   <li>Each address of an endpoint is one backend, whose id is {@code address:port}, an IPv6
 *       address in brackets. An address listed by two slices (as it can be while the control plane
 *       moves it) is one backend, taken from the slice first by name.</li>
 *   <li>Each backend's profile is the configured one with the endpoint's {@code zone} and
 *       {@code nodeName} as the labels {@code zone} and {@code node}; a value the balancer's
 *       labels cannot hold (a node name over 128 characters) is left out of the labels.</li>
 * </ul>
 */
final class SliceMembership {
    /** The label that carries an endpoint's zone. */
    static final String ZONE_LABEL = "zone";
    /** The label that carries the name of an endpoint's node. */
    static final String NODE_LABEL = "node";

    private SliceMembership() {}

    /** The outcome: either the backends, sorted by id, or the problem that hides them. */
    record Outcome(List<BackendSpec> backends, Problem problem) {}

    /** Why the slices state no membership the balancer could take. */
    static final class Problem extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        Problem(String message) {
            super(message);
        }
    }

    /**
     * The backends of these slices.
     *
     * @param slices   the slices of one Service, in any order
     * @param portName the port's name, or {@code null} for each slice's only port
     * @param profile  the profile each backend starts from
     * @param service  {@code namespace/name} of the Service, for messages
     */
    static Outcome of(Collection<EndpointSlice> slices, String portName, BackendProfile profile, String service) {
        List<EndpointSlice> ordered = new ArrayList<>(slices);
        ordered.sort(Comparator.comparing(SliceMembership::name));
        Map<String, BackendSpec> byId = new LinkedHashMap<>();
        for (EndpointSlice slice : ordered) {
            List<EndpointPort> ports = slice.getPorts() == null ? List.of() : slice.getPorts();
            EndpointPort port;
            if (portName != null) {
                port = ports.stream().filter(p -> portName.equals(p.getName())).findFirst().orElse(null);
            } else if (ports.size() > 1) {
                return new Outcome(List.of(), new Problem("EndpointSlice " + name(slice) + " of Service " + service
                        + " has the ports " + portNames(ports) + ": name the one to use with portName"));
            } else {
                port = ports.isEmpty() ? null : ports.get(0);
            }
            if (port == null || port.getPort() == null || slice.getEndpoints() == null) {
                continue;
            }
            for (Endpoint endpoint : slice.getEndpoints()) {
                if (!isMember(endpoint.getConditions()) || endpoint.getAddresses() == null) {
                    continue;
                }
                BackendProfile labelled = labelled(profile, endpoint);
                for (String address : endpoint.getAddresses()) {
                    String id = (address.indexOf(':') >= 0 ? "[" + address + "]" : address) + ":" + port.getPort();
                    BackendSpec spec;
                    try {
                        spec = BackendSpec.of(id, address, port.getPort()).withProfile(labelled);
                    } catch (IllegalArgumentException notAHost) {
                        // The API server validates addresses; one that is not a host anyway is not
                        // dropped in silence: the membership is unknown until the slice is fixed.
                        return new Outcome(List.of(), new Problem("EndpointSlice " + name(slice) + " of Service "
                                + service + " lists an endpoint the balancer cannot take: " + notAHost.getMessage()));
                    }
                    byId.putIfAbsent(id, spec);
                }
            }
        }
        return new Outcome(List.copyOf(new TreeMap<>(byId).values()), null);
    }

    /** Ready (true or absent) and not terminating. */
    static boolean isMember(EndpointConditions conditions) {
        if (conditions == null) {
            return true;
        }
        return !Boolean.FALSE.equals(conditions.getReady()) && !Boolean.TRUE.equals(conditions.getTerminating());
    }

    private static BackendProfile labelled(BackendProfile profile, Endpoint endpoint) {
        if (endpoint.getZone() == null && endpoint.getNodeName() == null) {
            return profile;
        }
        BackendProfile.Builder builder = profile.toBuilder();
        label(builder, ZONE_LABEL, endpoint.getZone());
        label(builder, NODE_LABEL, endpoint.getNodeName());
        return builder.build();
    }

    private static void label(BackendProfile.Builder builder, String key, String value) {
        if (value == null) {
            return;
        }
        try {
            builder.label(key, value);
        } catch (IllegalArgumentException tooLongOrOdd) {
            // Kubernetes admits node names of up to 253 characters, labels hold 128: the backend
            // is still a member, without this label.
        }
    }

    private static String name(EndpointSlice slice) {
        return slice.getMetadata() == null || slice.getMetadata().getName() == null ? ""
                : slice.getMetadata().getName();
    }

    private static List<String> portNames(List<EndpointPort> ports) {
        return ports.stream().map(p -> Objects.requireNonNullElse(p.getName(), "") + "=" + p.getPort()).toList();
    }
}

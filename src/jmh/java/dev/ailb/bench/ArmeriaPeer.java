package dev.ailb.bench;

import com.linecorp.armeria.common.loadbalancer.LoadBalancer;
import java.util.ArrayList;
import java.util.List;

/**
 * Armeria's generic pickers of {@code com.linecorp.armeria.common.loadbalancer}, built over a list
 * of plain address records (not Armeria endpoints, so nothing of its client stack is loaded):
 * {@code ofRoundRobin}, {@code ofWeightedRoundRobin} with the weights of {@link PeerPicker}, and
 * {@code ofSticky}, keyed by the client address and hashed with {@link String#hashCode()} (the hash
 * this library's {@code IP_HASH} starts from too).
 */
final class ArmeriaPeer extends CountingPeer {

    /** A server label, with the figures of the like-for-like paths. */
    record Address(String host, int port, int weight, ServerCounts counts) {
    }

    private final LoadBalancer<Address, String> balancer;
    private final String[] keys = new String[KEYS];

    ArmeriaPeer(String variant, int servers) {
        List<Address> addresses = new ArrayList<>(servers);
        for (int i = 0; i < servers; i++) {
            addresses.add(new Address(HOST, port(i), weight(i), new ServerCounts()));
        }
        balancer = switch (variant) {
            case "ofRoundRobin" -> asKeyed(LoadBalancer.ofRoundRobin(addresses));
            case "ofWeightedRoundRobin" -> asKeyed(LoadBalancer.ofWeightedRoundRobin(addresses, Address::weight));
            case "ofSticky" -> LoadBalancer.ofSticky(addresses, String::hashCode);
            default -> throw new IllegalArgumentException("unknown Armeria picker " + variant);
        };
        for (int k = 0; k < KEYS; k++) {
            keys[k] = clientKey(k);
        }
    }

    /** A simple picker ignores its context; its {@code pick(Object)} takes any key. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static LoadBalancer<Address, String> asKeyed(LoadBalancer<Address, ?> simple) {
        return (LoadBalancer) simple;
    }

    @Override
    Object pick(int key) {
        return balancer.pick(keys[key]);
    }

    @Override
    ServerCounts countsOf(Object server) {
        return ((Address) server).counts();
    }

    @Override
    public void close() {
        balancer.close();
    }
}

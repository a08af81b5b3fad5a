package dev.ailb.dns;

import dev.ailb.BackendSpec;
import dev.ailb.LoadBalancer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one name's records say the fleet is: the question a {@link DnsDiscovery} asks at every
 * resolution, and how the answers become backends.
 *
 * <p>Address records (A, AAAA) give one backend per address, at the configured port, weight 1. SRV
 * records give one backend per address of each target, at the record's port, with the record's
 * weight clamped to 1..{@link LoadBalancer#MAX_WEIGHT} (an SRV weight of 0, "a very small share"
 * in RFC 2782, becomes 1). Of the SRV priority groups only one is used: the lowest-numbered group
 * whose targets have at least one address; the others are left out, since the balancer spreads
 * load over what it is given and has no notion of a standby group. A record whose target is
 * {@code "."} or whose port is 0 offers nothing. Two records that reach the same address and port
 * are one backend, with the larger weight.
 *
 * <p>Each backend's id is its address and port, {@code 10.0.0.7:8000} or {@code [fd00::7]:8000},
 * so that the same backend keeps its id from one resolution to the next whatever order the server
 * answers in; the backends come sorted by id. The host is the address, never the name: the
 * balancer never resolves hosts, and a name with several addresses is several backends.
 *
 * <p>Any query of the resolution that fails (the name or a target does not exist, the server
 * fails, refuses or does not answer) fails the whole resolution, so that a half-answered one never
 * drains the backends it missed; an answer without records is no failure, and yields no backends.
 * Immutable and thread-safe.
 */
final class DnsMembership {
    private final String name;
    private final boolean srv;
    private final int port;
    private final DnsDiscovery.AddressFamily family;

    /**
     * @param name   the name to resolve, validated
     * @param srv    whether to ask for its SRV records rather than its addresses
     * @param port   the port of the backends of address records; unused for SRV
     * @param family the address records asked for, of the name or of the SRV targets
     */
    DnsMembership(String name, boolean srv, int port, DnsDiscovery.AddressFamily family) {
        this.name = name;
        this.srv = srv;
        this.port = port;
        this.family = family;
    }

    /**
     * Asks {@code resolver} for the records and turns them into backends.
     *
     * @return the backends the records state, sorted by id; empty if the name has no such records
     * @throws DnsLookupException if a query gave no usable answer
     */
    List<BackendSpec> resolve(DnsResolver resolver) throws DnsLookupException {
        Map<String, BackendSpec> backends = new TreeMap<>();
        if (!srv) {
            for (String address : addresses(resolver, name)) {
                add(backends, address, port, 1);
            }
            return List.copyOf(backends.values());
        }
        List<SrvRecord> records = new ArrayList<>();
        for (String text : resolver.query(name, "SRV")) {
            SrvRecord record = SrvRecord.parse(text);
            if (!record.offersNothing()) {
                records.add(record);
            }
        }
        // The groups in priority order; each target's addresses are asked for once per resolution.
        TreeMap<Integer, List<SrvRecord>> groups = new TreeMap<>();
        for (SrvRecord record : records) {
            groups.computeIfAbsent(record.priority(), p -> new ArrayList<>()).add(record);
        }
        Map<String, List<String>> addressesOf = new HashMap<>();
        for (List<SrvRecord> group : groups.values()) {
            for (SrvRecord record : group) {
                List<String> addresses = addressesOf.get(record.target());
                if (addresses == null) {
                    addresses = addresses(resolver, record.target());
                    addressesOf.put(record.target(), addresses);
                }
                for (String address : addresses) {
                    add(backends, address, record.port(), clampWeight(record.weight()));
                }
            }
            if (!backends.isEmpty()) {
                break;
            }
        }
        return List.copyOf(backends.values());
    }

    /** The name as log lines show it, with the records asked for: {@code _llm._tcp.fleet.test SRV}. */
    String question() {
        if (srv) {
            return name + " SRV";
        }
        return name + " " + family.recordTypes() + " port " + port;
    }

    private List<String> addresses(DnsResolver resolver, String host) throws DnsLookupException {
        List<String> addresses = new ArrayList<>();
        if (family != DnsDiscovery.AddressFamily.IPV6) {
            addresses.addAll(resolver.query(host, "A"));
        }
        if (family != DnsDiscovery.AddressFamily.IPV4) {
            addresses.addAll(resolver.query(host, "AAAA"));
        }
        return addresses;
    }

    static int clampWeight(int srvWeight) {
        return Math.max(1, Math.min(LoadBalancer.MAX_WEIGHT, srvWeight));
    }

    /** The id of the backend at this address and port: an IPv6 address in brackets. */
    static String id(String address, int port) {
        return (address.indexOf(':') >= 0 ? "[" + address + "]" : address) + ":" + port;
    }

    private static void add(Map<String, BackendSpec> backends, String address, int port, int weight)
            throws DnsLookupException {
        String id = id(address, port);
        BackendSpec known = backends.get(id);
        if (known != null && known.weight() >= weight) {
            return;
        }
        try {
            backends.put(id, BackendSpec.of(id, address, port).withWeight(weight));
        } catch (IllegalArgumentException e) {
            // The provider writes addresses itself, so this would be a record it could not read.
            throw new DnsLookupException("record " + address + " port " + port + ": " + e.getMessage(), e);
        }
    }
}

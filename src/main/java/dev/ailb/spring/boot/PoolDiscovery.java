package dev.ailb.spring.boot;

import dev.ailb.dns.DnsDiscovery;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The discovery source of a pool, from its {@code discovery} keys, checked before the pool is
 * built: each refusal names the full key, as the library's properties parser does.
 */
final class PoolDiscovery {
    private PoolDiscovery() {}

    /**
     * The DNS source the pool's keys describe, not started; null if the pool names none.
     *
     * @param prefix   {@code ailb.pools.<name>.}
     * @param pool     the pool's own settings
     * @param defaults the settings of every pool, which may not name a discovery
     * @throws IllegalArgumentException naming the key that is missing, bad or in conflict
     */
    static DnsDiscovery dns(String prefix, AilbProperties.Pool pool, AilbProperties.Pool defaults) {
        if (defaults != null && defaults.discovery() != null) {
            throw new IllegalArgumentException("ailb.defaults.discovery: set (expected: discovery under"
                    + " ailb.pools.<name>.discovery, each pool its own)");
        }
        if (pool.discovery() == null || pool.discovery().dns() == null) {
            return null;
        }
        AilbProperties.DnsSettings dns = pool.discovery().dns();
        String base = prefix + "discovery.dns.";
        if (!pool.backends().isEmpty()) {
            Set<String> ids = pool.backends().keySet();
            throw new IllegalArgumentException(base.substring(0, base.length() - 1) + ": set with backends " + ids
                    + " (expected: one or the other; the discovery states the whole membership)");
        }
        if (dns.name() == null) {
            throw new IllegalArgumentException(base + "name: missing (expected: the DNS name whose records are"
                    + " the pool's backends)");
        }
        boolean srv = Boolean.TRUE.equals(dns.srv());
        // The name is checked alone first, so that a bad name and a bad port each name their own key.
        DnsDiscovery.Builder named = checked(base + "name", () -> DnsDiscovery.srv(dns.name()));
        DnsDiscovery.Builder builder;
        if (srv) {
            if (dns.port() != null) {
                throw new IllegalArgumentException(base + "port: " + dns.port() + " set with srv (expected: no"
                        + " port; the SRV records give each backend's)");
            }
            builder = named;
        } else {
            if (dns.port() == null) {
                throw new IllegalArgumentException(base + "port: missing (expected: the backends' port, 1..65535,"
                        + " or srv: true)");
            }
            builder = checked(base + "port", () -> DnsDiscovery.addresses(dns.name(), dns.port()));
        }
        DnsDiscovery.Builder b = builder;
        if (dns.family() != null) {
            b.family(dns.family());
        }
        if (dns.server() != null) {
            checked(base + "server", () -> b.server(dns.server()));
        }
        if (dns.interval() != null) {
            checked(base + "interval", () -> b.interval(dns.interval()));
        }
        if (dns.timeout() != null) {
            checked(base + "timeout", () -> b.timeout(dns.timeout()));
        }
        return b.build();
    }

    private static <T> T checked(String key, Supplier<T> value) {
        try {
            return value.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
        }
    }
}

package dev.ailb.spring.boot;

import dev.ailb.LoadBalancer;
import dev.ailb.dns.DnsDiscovery;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the pools from their properties, each through
 * {@link LoadBalancer#fromProperties(Map, String, java.util.function.Consumer)} under the prefix
 * {@code ailb.pools.<name>.}, so that a refusal names the full key, with every customizer applied.
 * A key that the pool does not set but {@code ailb.defaults} does takes the default's value; a
 * refusal of it still names the pool's key, the one that was read.
 * A pool whose {@code discovery.dns} keys name a DNS source has it started, its keys checked
 * before the pool is built ({@link PoolDiscovery}). All or nothing: when one pool is refused,
 * those already built are closed.
 */
final class PoolFactory {
    private PoolFactory() {}

    static LoadBalancerPools build(AilbProperties properties, List<LoadBalancerBuilderCustomizer> customizers) {
        Map<String, LoadBalancer> built = new LinkedHashMap<>();
        try {
            properties.pools().forEach((name, pool) -> {
                String prefix = "ailb.pools." + name + ".";
                Map<String, String> keys = new LinkedHashMap<>();
                PoolProperties.of(name, properties.defaults(), pool)
                        .forEach((key, value) -> keys.put(prefix + key, value));
                DnsDiscovery dns = PoolDiscovery.dns(prefix, pool, properties.defaults());
                LoadBalancer lb = LoadBalancer.fromProperties(keys, prefix, builder -> {
                    for (LoadBalancerBuilderCustomizer customizer : customizers) {
                        customizer.customize(name, builder);
                    }
                });
                built.put(name, lb);
                if (dns != null) {
                    // Its first resolution runs on the pool's scheduler, after this returns.
                    lb.discover(dns);
                }
            });
        } catch (RuntimeException e) {
            built.values().forEach(LoadBalancer::close);
            throw e;
        }
        return new LoadBalancerPools(built);
    }
}

package dev.ailb.spring.boot;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.LoadBalancer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The pools of the application, by name: one {@link LoadBalancer} for each name under
 * {@code ailb.pools}, in the order of the configuration. Each is also a bean of its own, qualified
 * by its name:
 *
 * <pre>{@code
 * ChatService(@Qualifier("chat") LoadBalancer chat, LoadBalancerPools pools) { ... }
 * }</pre>
 *
 * <p>The pools start their health checks, load polls and model discovery when the application
 * context starts, stop them when it stops, and are closed with it; do not close them yourself.
 * Immutable and thread-safe.
 */
public final class LoadBalancerPools {
    private final Map<String, LoadBalancer> pools;

    LoadBalancerPools(Map<String, LoadBalancer> pools) {
        this.pools = Collections.unmodifiableMap(new LinkedHashMap<>(pools));
    }

    /**
     * The pool of a name.
     *
     * @param name the pool's name
     * @return its balancer
     * @throws NullPointerException     if {@code name} is null
     * @throws IllegalArgumentException if no pool has this name
     */
    public LoadBalancer get(String name) {
        return find(name).orElseThrow(() -> new IllegalArgumentException(
                "pool: \"" + name + "\" (expected one of " + pools.keySet() + ")"));
    }

    /**
     * The pool of a name, if there is one.
     *
     * @param name the pool's name
     * @return its balancer, or empty
     * @throws NullPointerException if {@code name} is null
     */
    public Optional<LoadBalancer> find(String name) {
        return Optional.ofNullable(pools.get(checkNotNull(name, "name")));
    }

    /**
     * The pools' names.
     *
     * @return the names, in the order of the configuration
     */
    public Set<String> names() {
        return pools.keySet();
    }

    /**
     * Every pool by name.
     *
     * @return an unmodifiable map, in the order of the configuration
     */
    public Map<String, LoadBalancer> asMap() {
        return pools;
    }

    /**
     * Closes every pool: the destroy method of this bean, so that Spring closes the pools only
     * after every bean that took one (each depends on its pool's bean, which this bean makes) has
     * been destroyed, and may still send through it in its own shutdown.
     */
    void closeAll() {
        for (LoadBalancer pool : pools.values()) {
            pool.close();
        }
    }

    @Override
    public String toString() {
        return "LoadBalancerPools" + pools.keySet();
    }
}

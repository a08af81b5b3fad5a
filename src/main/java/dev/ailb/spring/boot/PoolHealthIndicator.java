package dev.ailb.spring.boot;

import dev.ailb.LoadBalancer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The health of one pool: up while at least one backend takes new requests, down when none does
 * (none registered, or every one unhealthy, ejected, in maintenance or draining), with each
 * backend's state in the details. A pool that fails open still sends requests to unhealthy
 * backends, yet shows down: none of them is fit to serve.
 */
final class PoolHealthIndicator implements HealthIndicator {
    private final String name;
    private final LoadBalancer pool;

    PoolHealthIndicator(String name, LoadBalancer pool) {
        this.name = name;
        this.pool = pool;
    }

    @Override
    public Health health() {
        PoolState state = PoolState.of(name, pool);
        Map<String, PoolState.BackendState> backends = new LinkedHashMap<>();
        for (PoolState.BackendState backend : state.backends()) {
            backends.put(backend.id(), backend);
        }
        Health.Builder health = state.available() > 0 ? Health.up() : Health.down();
        return health.withDetail("strategy", state.strategy())
                .withDetail("available", state.available())
                .withDetail("backends", backends)
                .build();
    }
}

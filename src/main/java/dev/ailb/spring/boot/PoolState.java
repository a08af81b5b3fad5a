package dev.ailb.spring.boot;

import dev.ailb.Backend;
import dev.ailb.BackendStats;
import dev.ailb.LoadBalancer;
import dev.ailb.health.HealthState;
import java.util.ArrayList;
import java.util.List;

/**
 * A pool as the Actuator endpoint and health contributor show it, read at one moment: its
 * strategy and each backend's state. The library's own nouns: a backend <em>in maintenance</em>
 * was taken out of rotation by hand and may be put back; a <em>draining</em> one was removed and
 * is finishing its requests; an <em>ejected</em> one failed requests and is out for a while.
 *
 * <p>Immutable and thread-safe.
 *
 * @param name                 the pool's name
 * @param strategy             the name of its strategy
 * @param healthCheckerRunning whether its health checks (and load polls, model discovery) run
 * @param available            how many of its backends take new requests
 * @param backends             its backends, in the order they were added
 */
public record PoolState(String name, String strategy, boolean healthCheckerRunning, int available,
        List<BackendState> backends) {

    /**
     * Copies the list of backends.
     *
     * @param name                 the pool's name
     * @param strategy             the name of its strategy
     * @param healthCheckerRunning whether its health checks run
     * @param available            how many of its backends take new requests
     * @param backends             its backends
     */
    public PoolState {
        backends = List.copyOf(backends);
    }

    /**
     * One backend of a pool.
     *
     * <p>Immutable and thread-safe.
     *
     * @param id                its id
     * @param host              its host
     * @param port              its port
     * @param weight            its weight
     * @param health            {@code HEALTHY}, {@code UNHEALTHY} (failing its checks, or marked
     *                          by hand) or {@code EJECTED} (failing requests, out for a while)
     * @param available         whether it takes new requests: healthy, not in maintenance, not
     *                          draining
     * @param inMaintenance     whether it was taken out of rotation by hand
     *                          ({@link LoadBalancer#beginMaintenance}) and not yet put back
     * @param draining          whether it was removed and is finishing its requests
     * @param ejected           whether outlier detection has ejected it
     * @param activeConnections its requests in flight
     * @param lastFailure       why its last failed check failed or why it was last ejected; null
     *                          if neither ever happened
     */
    public record BackendState(String id, String host, int port, int weight, HealthState health,
            boolean available, boolean inMaintenance, boolean draining, boolean ejected,
            int activeConnections, String lastFailure) {

        static BackendState of(Backend backend, BackendStats stats) {
            HealthState health = stats.health().state();
            return new BackendState(stats.id(), stats.host(), stats.port(), stats.weight(), health,
                    backend.isAvailable(), stats.inMaintenance(), stats.draining(), health == HealthState.EJECTED,
                    stats.activeConnections(), stats.health().lastFailureReason().orElse(null));
        }
    }

    /** Reads a pool's state. */
    static PoolState of(String name, LoadBalancer pool) {
        List<BackendState> backends = new ArrayList<>();
        int available = 0;
        for (BackendStats stats : pool.getAllStats().backends()) {
            Backend backend = pool.getBackend(stats.id()).orElse(null);
            if (backend == null) {
                continue; // left the pool since the figures were read
            }
            BackendState state = BackendState.of(backend, stats);
            backends.add(state);
            if (state.available()) {
                available++;
            }
        }
        return new PoolState(name, pool.getStrategy().name(), pool.isHealthCheckerRunning(), available, backends);
    }
}

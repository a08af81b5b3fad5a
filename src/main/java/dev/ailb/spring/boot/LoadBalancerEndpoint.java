package dev.ailb.spring.boot;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.Backend;
import dev.ailb.LoadBalancer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

/**
 * The Actuator endpoint {@code ailb}: the pools and their backends with their state, and taking a
 * backend out of rotation and putting it back. Over HTTP, once exposed
 * ({@code management.endpoints.web.exposure.include=ailb}):
 * <ul>
 *   <li>{@code GET /actuator/ailb}: every pool ({@link PoolState});</li>
 *   <li>{@code GET /actuator/ailb/{pool}}: one pool;</li>
 *   <li>{@code GET /actuator/ailb/{pool}/{backend}}: one backend;</li>
 *   <li>{@code POST /actuator/ailb/{pool}/{backend}} with {@code {"maintenance": true}}: takes the
 *       backend out of rotation, {@code {"maintenance": false}}: puts it back.</li>
 * </ul>
 *
 * <p>What operators call draining and undraining a backend is, in this library's words,
 * <em>maintenance</em>: {@link LoadBalancer#beginMaintenance} takes the backend out (no new
 * request, those in flight finish, it stays registered and checked) and
 * {@link LoadBalancer#endMaintenance} puts it back. The answer is the backend's state at once,
 * while its requests still finish: it is safe to restart once {@code activeConnections} reads 0.
 * In this library a <em>draining</em> backend is one being removed for good, which this endpoint
 * never does. An unknown pool or backend, and maintenance of a backend being removed, are answered
 * with 400 and a message saying why.
 *
 * <p>Thread-safe.
 */
@Endpoint(id = "ailb")
public class LoadBalancerEndpoint {
    private final LoadBalancerPools pools;

    /**
     * An endpoint over the application's pools.
     *
     * @param pools the pools
     * @throws NullPointerException if {@code pools} is null
     */
    public LoadBalancerEndpoint(LoadBalancerPools pools) {
        this.pools = checkNotNull(pools, "pools");
    }

    /**
     * Every pool, with its backends.
     *
     * @return the pools by name, in the order of the configuration
     */
    @ReadOperation
    public Map<String, PoolState> pools() {
        Map<String, PoolState> all = new LinkedHashMap<>();
        pools.asMap().forEach((name, pool) -> all.put(name, PoolState.of(name, pool)));
        return all;
    }

    /**
     * One pool, with its backends.
     *
     * @param pool the pool's name
     * @return its state
     * @throws InvalidEndpointRequestException if no pool has this name
     */
    @ReadOperation
    public PoolState pool(@Selector String pool) {
        return PoolState.of(pool, lookUp(pool));
    }

    /**
     * One backend of a pool.
     *
     * @param pool    the pool's name
     * @param backend the backend's id
     * @return its state
     * @throws InvalidEndpointRequestException if no pool has this name, or it has no backend of this id
     */
    @ReadOperation
    public PoolState.BackendState backend(@Selector String pool, @Selector String backend) {
        return stateOf(pool, lookUp(pool), backend);
    }

    /**
     * Takes a backend out of rotation, or puts it back: maintenance, as the class describes.
     *
     * @param pool        the pool's name
     * @param backend     the backend's id
     * @param maintenance {@code true} to take it out ({@link LoadBalancer#beginMaintenance}),
     *                    {@code false} to put it back ({@link LoadBalancer#endMaintenance})
     * @return the backend's state right after the change
     * @throws InvalidEndpointRequestException if no pool has this name, it no backend this id, or
     *                                         the backend is being removed
     */
    @WriteOperation
    public PoolState.BackendState maintenance(@Selector String pool, @Selector String backend, boolean maintenance) {
        LoadBalancer lb = lookUp(pool);
        Backend target = backendOf(lb, backend);
        try {
            if (maintenance) {
                lb.beginMaintenance(target.id());
            } else {
                lb.endMaintenance(target.id());
            }
        } catch (IllegalStateException | IllegalArgumentException e) {
            // being removed, or removed between the look-up and the call
            throw new InvalidEndpointRequestException(pool + "/" + backend + ": " + e.getMessage(),
                    e.getMessage(), e);
        }
        return stateOf(pool, lb, backend);
    }

    private LoadBalancer lookUp(String pool) {
        return pools.find(pool).orElseThrow(() -> invalid(
                "pool: \"" + pool + "\" (expected one of " + pools.names() + ")"));
    }

    private static Backend backendOf(LoadBalancer lb, String id) {
        return lb.getBackend(id).orElseThrow(() -> invalid("backend: \"" + id + "\" (expected one of "
                + lb.getBackends().stream().map(Backend::id).toList() + ")"));
    }

    private static PoolState.BackendState stateOf(String pool, LoadBalancer lb, String id) {
        backendOf(lb, id);
        return PoolState.of(pool, lb).backends().stream()
                .filter(b -> b.id().equals(id))
                .findFirst()
                .orElseThrow(() -> invalid("backend: \"" + id + "\" (expected: a backend of pool " + pool
                        + "; it has just left)"));
    }

    private static InvalidEndpointRequestException invalid(String message) {
        return new InvalidEndpointRequestException(message, message);
    }
}

package dev.ailb;

import dev.ailb.health.HealthState;

/**
 * Hears about changes of a balancer's backends and strategy; register with
 * {@link LoadBalancer#addListener}. Every method has an empty default, so implement only what you
 * need.
 *
 * <p>Methods are called on the thread that made the change, after the balancer has published it
 * and released its lock, so a listener may call back into the balancer. A drain finishes on the
 * thread that released the last connection. Events raised on different threads may be heard in
 * either order: when the last connection of a backend is released on another thread just as
 * {@code removeBackend} runs, {@code onBackendRemoved} may come before {@code onBackendDraining}.
 * An exception thrown by a listener is logged and does
 * not affect the balancer or the other listeners. Implementations should be quick and thread-safe.
 */
public interface LoadBalancerListener {

    /**
     * A backend was registered and is available.
     *
     * @param backend the new backend
     */
    default void onBackendAdded(Backend backend) {}

    /**
     * A backend is being removed and takes no new requests; its in-flight requests go on, and
     * {@link #onBackendRemoved} follows when they have ended or the drain timeout passed.
     *
     * @param backend the backend now draining
     */
    default void onBackendDraining(Backend backend) {}

    /**
     * A backend was taken out for maintenance with {@link LoadBalancer#beginMaintenance} and takes
     * no new requests; its in-flight requests go on.
     *
     * @param backend the backend now in maintenance
     */
    default void onMaintenanceBegan(Backend backend) {}

    /**
     * A backend in maintenance was put back into service with {@link LoadBalancer#endMaintenance}.
     *
     * @param backend the backend back in service
     */
    default void onMaintenanceEnded(Backend backend) {}

    /**
     * A backend finished draining and left the balancer.
     *
     * @param backend the removed backend
     */
    default void onBackendRemoved(Backend backend) {}

    /**
     * A backend's health state changed: an active check verdict crossed a threshold, outlier
     * detection ejected it or its ejection ended, or it was marked by hand. Called on the thread
     * that made the change: a health checker thread, the thread releasing the request that got it
     * ejected, or a selecting thread that found its ejection over.
     *
     * @param backend  the backend whose health changed
     * @param previous its state before
     * @param current  its state now; {@code backend.healthState()} may have moved on since
     * @param reason   what caused the change, e.g. {@code "3 health checks failed in a row, the last
     *                 with: HTTP 503 from GET /health"}
     */
    default void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current, String reason) {}

    /**
     * The balancer switched to another strategy.
     *
     * @param strategy the strategy now in use
     */
    default void onStrategyChanged(BalancingStrategy strategy) {}
}

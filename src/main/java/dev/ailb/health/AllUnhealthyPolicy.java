package dev.ailb.health;

/**
 * What {@code selectBackend} does when backends are registered but none of them is healthy.
 * Backends being removed (draining) never get new requests under either policy.
 *
 * <p>Constants of an enum: immutable and thread-safe.
 */
public enum AllUnhealthyPolicy {
    /**
     * Route across every backend that is not draining, as if all were healthy (Envoy's panic mode),
     * and log one warning when this starts. The default: when every instance looks down at once,
     * the cause is more often the checking (a wrong path, health endpoints timing out under a
     * load peak, a partition between the checker and the fleet) than a fleet that died together;
     * routing anyway keeps serving in the first case and fails no worse than refusing in the second.
     */
    FAIL_OPEN,
    /**
     * Refuse: {@code selectBackend} throws a {@link dev.ailb.NoAvailableBackendException} saying
     * that all backends are unhealthy, so the application can fall back at once.
     */
    FAIL_CLOSED
}

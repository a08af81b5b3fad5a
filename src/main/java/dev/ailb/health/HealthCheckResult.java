package dev.ailb.health;

import static dev.ailb.internal.Preconditions.checkNotNull;

import java.util.Objects;
import java.util.Optional;

/**
 * The verdict of one health check: healthy, or unhealthy with a reason that ends up in the logs,
 * the listeners' events and {@link HealthStats#lastFailureReason()}.
 *
 * <p>Immutable and thread-safe.
 */
public final class HealthCheckResult {
    private static final HealthCheckResult HEALTHY = new HealthCheckResult(null);

    private final String reason; // null when healthy

    private HealthCheckResult(String reason) {
        this.reason = reason;
    }

    /**
     * A passing check.
     *
     * @return the healthy verdict
     */
    public static HealthCheckResult healthy() {
        return HEALTHY;
    }

    /**
     * A failing check.
     *
     * @param reason why, e.g. {@code "HTTP 503 from GET /health"}; not blank
     * @return an unhealthy verdict carrying the reason
     * @throws NullPointerException     if {@code reason} is null
     * @throws IllegalArgumentException if {@code reason} is blank
     */
    public static HealthCheckResult unhealthy(String reason) {
        checkNotNull(reason, "reason");
        if (reason.isBlank()) {
            throw new IllegalArgumentException("reason: \"" + reason + "\" (expected: not blank)");
        }
        return new HealthCheckResult(reason);
    }

    /**
     * Whether the check passed.
     *
     * @return {@code true} if the backend was found healthy
     */
    public boolean isHealthy() {
        return reason == null;
    }

    /**
     * Why the check failed.
     *
     * @return the reason, or empty if the check passed
     */
    public Optional<String> reason() {
        return Optional.ofNullable(reason);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HealthCheckResult && Objects.equals(reason, ((HealthCheckResult) o).reason);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(reason);
    }

    @Override
    public String toString() {
        return reason == null ? "healthy" : "unhealthy: " + reason;
    }
}

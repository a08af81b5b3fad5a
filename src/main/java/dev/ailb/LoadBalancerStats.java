package dev.ailb;

import java.util.List;
import java.util.Optional;

/**
 * Everything {@link LoadBalancer#getAllStats()} reports: the strategy in use, the overall metrics,
 * and one {@link BackendStats} per registered backend in registration order.
 *
 * <p>Immutable and thread-safe.
 *
 * @param strategy the name of the strategy in use
 * @param metrics  the overall figures
 * @param backends per-backend figures, in registration order
 */
public record LoadBalancerStats(String strategy, LoadBalancerMetrics metrics, List<BackendStats> backends) {

    /**
     * Creates the stats, keeping an unmodifiable copy of {@code backends}.
     *
     * @param strategy the name of the strategy in use
     * @param metrics  the overall figures
     * @param backends per-backend figures, in registration order
     * @throws NullPointerException if {@code backends} is null or contains null
     */
    public LoadBalancerStats {
        backends = List.copyOf(backends);
    }

    /**
     * The figures of the backend with this id, if it was registered when the stats were taken.
     *
     * @param id a backend id
     * @return that backend's figures, or empty if no backend had this id
     */
    public Optional<BackendStats> backend(String id) {
        for (BackendStats s : backends) {
            if (s.id().equals(id)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }
}

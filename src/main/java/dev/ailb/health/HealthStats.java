package dev.ailb.health;

import java.time.Duration;
import java.util.Optional;

/**
 * The health of one backend at one moment, as reported in {@code BackendStats.health()}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param state                      where the backend stands
 * @param sinceLastCheck             time since its last active check completed, empty if never
 *                                   checked
 * @param lastFailureReason          why its last failed check failed or why it was last ejected,
 *                                   empty if neither ever happened
 * @param consecutiveCheckFailures   active checks failed in a row, up to now
 * @param consecutiveCheckSuccesses  active checks passed in a row, up to now
 * @param consecutiveRequestFailures requests released as failed in a row, up to now
 * @param ejections                  how many times outlier detection ejected it
 * @param ejectionRemaining          how long its current ejection has left, zero if not ejected
 * @param onProbation                whether it came back from an ejection and has not yet
 *                                   completed a request successfully
 */
public record HealthStats(
        HealthState state,
        Optional<Duration> sinceLastCheck,
        Optional<String> lastFailureReason,
        int consecutiveCheckFailures,
        int consecutiveCheckSuccesses,
        int consecutiveRequestFailures,
        long ejections,
        Duration ejectionRemaining,
        boolean onProbation) {}

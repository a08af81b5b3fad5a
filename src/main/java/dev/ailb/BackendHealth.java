package dev.ailb;

import dev.ailb.health.HealthState;
import dev.ailb.health.HealthStats;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The health bookkeeping of one backend: active-check streaks, the passive ejection state and the
 * failed-request streak that drives it. The state it implies ({@link #target()}) becomes the
 * backend's committed state through the balancer, which publishes a matching view.
 *
 * <p>Written under the owning balancer's lock, except {@link #requestFailures} and
 * {@link #probation}, which the release path updates without it. Fields are volatile so that stats
 * can be read without the lock.
 */
final class BackendHealth {
    /** Failed the fall threshold of active checks in a row, or was marked unhealthy by hand. */
    volatile boolean checkDown;
    /** Started unhealthy and has never passed a check: its first passing check brings it up. */
    volatile boolean awaitingFirstCheck;
    volatile int checkFailures;
    volatile int checkSuccesses;
    /** Read only once {@link #checked}: every reading of the ticker is a valid one, so none can mean "never". */
    volatile long lastCheckNanos;
    /** Whether an active check's verdict was ever counted; written after {@link #lastCheckNanos}. */
    volatile boolean checked;
    volatile String lastFailureReason;

    volatile boolean ejected;
    volatile long ejectedUntilNanos;
    volatile long ejections;
    /** Back from an ejection and not yet vindicated by a successful request. */
    volatile boolean probation;
    /** Recent ejections not yet forgiven; the next ejection lasts base time times one more. */
    int ejectionMultiplier;
    /** When the last ejection ended, by its time or by hand; read only while the multiplier is above 0. */
    long returnedAtNanos;
    final AtomicInteger requestFailures = new AtomicInteger();

    /** The state the bookkeeping implies; an active-check verdict outranks an ejection. */
    HealthState target() {
        if (checkDown) {
            return HealthState.UNHEALTHY;
        }
        return ejected ? HealthState.EJECTED : HealthState.HEALTHY;
    }

    static int increment(int count) {
        return count == Integer.MAX_VALUE ? count : count + 1;
    }

    HealthStats stats(HealthState committed, long nowNanos) {
        boolean everChecked = checked;
        long lastCheck = lastCheckNanos;
        long remaining = ejected ? Math.max(0L, ejectedUntilNanos - nowNanos) : 0L;
        return new HealthStats(committed,
                everChecked ? Optional.of(Duration.ofNanos(Math.max(0L, nowNanos - lastCheck))) : Optional.empty(),
                Optional.ofNullable(lastFailureReason), checkFailures, checkSuccesses, requestFailures.get(),
                ejections, Duration.ofNanos(remaining), probation);
    }

    /** The lock-guarded fields, to put back when a change cannot be published. */
    Saved save() {
        return new Saved(checkDown, awaitingFirstCheck, checkFailures, checkSuccesses, lastCheckNanos, checked,
                lastFailureReason, ejected, ejectedUntilNanos, ejections, probation, ejectionMultiplier,
                returnedAtNanos);
    }

    void restore(Saved s) {
        checkDown = s.checkDown;
        awaitingFirstCheck = s.awaitingFirstCheck;
        checkFailures = s.checkFailures;
        checkSuccesses = s.checkSuccesses;
        lastCheckNanos = s.lastCheckNanos;
        checked = s.checked;
        lastFailureReason = s.lastFailureReason;
        ejected = s.ejected;
        ejectedUntilNanos = s.ejectedUntilNanos;
        ejections = s.ejections;
        probation = s.probation;
        ejectionMultiplier = s.ejectionMultiplier;
        returnedAtNanos = s.returnedAtNanos;
    }

    record Saved(boolean checkDown, boolean awaitingFirstCheck, int checkFailures, int checkSuccesses,
            long lastCheckNanos, boolean checked, String lastFailureReason, boolean ejected, long ejectedUntilNanos, long ejections,
            boolean probation, int ejectionMultiplier, long returnedAtNanos) {}
}

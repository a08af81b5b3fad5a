package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNonNegative;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of a request: its connection (and tokens) given back, its outcome counted in the
 * backend's figures, shown to outlier detection, and, for the last request of a backend being
 * removed or in maintenance, the end of that backend's wait; then the room it freed goes to the
 * next request waiting in the {@link Admission} queue, if any. Response times are bounded by
 * {@link LoadBalancer#MAX_RESPONSE_TIME}: a release refuses a longer one, a lease counts a longer
 * hold as that much.
 *
 * <p>Thread-safe and lock-free: a release takes no lock unless it finishes a drain.
 */
final class Releases {
    private static final Logger log = LoggerFactory.getLogger(Releases.class);
    private static final long MAX_RESPONSE_NANOS = LoadBalancer.MAX_RESPONSE_TIME.toNanos();

    private final String name;
    private final TrafficFigures figures;
    private final HealthTransitions health;
    private final Membership membership;
    private final Admission admission;

    Releases(String name, TrafficFigures figures, HealthTransitions health, Membership membership,
            Admission admission) {
        this.name = name;
        this.figures = figures;
        this.health = health;
        this.membership = membership;
        this.admission = admission;
    }

    /** Checks a response time given as a {@link Duration}, and returns it in nanoseconds. */
    static long nanosOf(Duration responseTime) {
        checkNonNegative(responseTime, "responseTime");
        if (responseTime.compareTo(LoadBalancer.MAX_RESPONSE_TIME) > 0) {
            throw new IllegalArgumentException("responseTime: " + responseTime
                    + " (expected: at most " + LoadBalancer.MAX_RESPONSE_TIME + ")");
        }
        return responseTime.toNanos();
    }

    /** Checks a response time given in nanoseconds. */
    static long checkResponseNanos(long responseTimeNanos) {
        checkNonNegative(responseTimeNanos, "responseTimeNanos");
        if (responseTimeNanos > MAX_RESPONSE_NANOS) {
            throw new IllegalArgumentException("responseTimeNanos: " + responseTimeNanos
                    + " (expected: at most " + MAX_RESPONSE_NANOS + ", one day)");
        }
        return responseTimeNanos;
    }

    /**
     * The response time a lease measured, clamped to {@link LoadBalancer#MAX_RESPONSE_TIME}: a
     * lease may legitimately be held longer (forgotten, or a stream left open), and refusing its
     * release would leak the connection. Warns once per backend.
     */
    long leaseNanos(Backend backend, long elapsedNanos) {
        if (elapsedNanos <= MAX_RESPONSE_NANOS) {
            return Math.max(0L, elapsedNanos);
        }
        if (!backend.longLeaseWarned) {
            backend.longLeaseWarned = true;
            log.warn("{} - Backend {}: a lease was held for {}, counted as {}, the longest response time; "
                    + "further ones are counted so without a warning", name, backend.id(),
                    Duration.ofNanos(elapsedNanos), LoadBalancer.MAX_RESPONSE_TIME);
        }
        return MAX_RESPONSE_NANOS;
    }

    /**
     * Releases a connection whose end the caller has just read from the ticker, as a lease has:
     * the clock is read once per release, not twice.
     *
     * @throws IllegalStateException if the backend has no connection to release (nothing changes)
     */
    void release(Backend backend, long tokens, long responseTimeNanos, boolean success, long now) {
        long ctl = backend.tryRelease(tokens);
        if (ctl == LifecycleWord.NO_CONNECTION) {
            throw new IllegalStateException("backend: " + backend.id()
                    + " has no active connection to release (expected: one acquireConnection per release)");
        }
        int late = backend.recordCompletion(responseTimeNanos, success, now);
        if (late != 0) {
            figures.countLateCompletion(late, responseTimeNanos, success);
        }
        if (health.ejects()) {
            health.onRequestOutcome(backend, success, now);
        }
        membership.released(backend, ctl);
        admission.onRoom();
    }

    /**
     * Releases a connection whose work was abandoned ({@link Lease#cancel()}): the connection and
     * tokens are given back and a drain may end, but no outcome, time or outlier verdict is
     * recorded, only the count of cancelled attempts.
     *
     * @throws IllegalStateException if the backend has no connection to release (nothing changes)
     */
    void releaseCancelled(Backend backend, long tokens) {
        long ctl = backend.tryRelease(tokens);
        if (ctl == LifecycleWord.NO_CONNECTION) {
            throw new IllegalStateException("backend: " + backend.id()
                    + " has no active connection to release (expected: one acquireConnection per release)");
        }
        figures.countCancelled();
        membership.released(backend, ctl);
    }
}

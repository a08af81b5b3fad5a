package dev.ailb;

import dev.ailb.health.HealthCheckResult;
import dev.ailb.health.HealthState;
import dev.ailb.health.OutlierDetection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The health of a balancer's backends: active-check verdicts against the rise and fall thresholds,
 * passive outlier ejection from request outcomes, the end of ejections, and marking by hand. Each
 * turns a backend's {@link BackendHealth} bookkeeping into a committed state through the
 * {@link RoutingTable}, logs the change once, and hands the event to the balancer's listeners
 * after the lock is released.
 *
 * <p>Thread-safe: every change takes the table's lock; the release path counts successes and
 * failures without it and takes it only at the ejection threshold.
 */
final class HealthTransitions {
    private static final Logger log = LoggerFactory.getLogger(HealthTransitions.class);

    private final RoutingTable table;
    private final Ticker ticker;
    private final int healthyThreshold;
    private final int unhealthyThreshold;
    private final OutlierDetection outliers;
    private final Consumer<HealthEvent> listeners;
    private final BooleanSupplier closed;

    /** A committed change of a backend's health state, told to the listeners outside the lock. */
    record HealthEvent(Backend backend, HealthState previous, HealthState current, String reason) {}

    HealthTransitions(RoutingTable table, Ticker ticker, int healthyThreshold, int unhealthyThreshold,
            OutlierDetection outliers, Consumer<HealthEvent> listeners, BooleanSupplier closed) {
        this.table = table;
        this.ticker = ticker;
        this.healthyThreshold = healthyThreshold;
        this.unhealthyThreshold = unhealthyThreshold;
        this.outliers = outliers;
        this.listeners = listeners;
        this.closed = closed;
    }

    /** Whether request outcomes are watched for ejection at all. */
    boolean ejects() {
        return outliers.isEnabled();
    }

    /**
     * Marks a backend healthy or unhealthy by hand; see {@link LoadBalancer#setBackendHealthy}.
     *
     * @return whether its state changed
     * @throws IllegalArgumentException if no backend has this id
     * @throws IllegalStateException    if the balancer is closed, or the strategy fails to build its
     *                                  picker (nothing changes)
     */
    boolean markByHand(String id, boolean healthy) {
        HealthEvent event;
        table.lock();
        try {
            if (closed.getAsBoolean()) { // under the lock: no change, and no panic warning, after close
                throw new IllegalStateException("load balancer is closed");
            }
            Backend backend = table.current().lookup(id);
            BackendHealth h = backend.health;
            BackendHealth.Saved before = h.save();
            h.checkDown = !healthy;
            h.awaitingFirstCheck = false;
            h.checkFailures = 0;
            h.checkSuccesses = 0;
            if (healthy) {
                if (h.ejected) {
                    // Forgiveness counts from here: the multiplier stays, so the time back must too.
                    h.returnedAtNanos = ticker.read();
                }
                h.ejected = false;
                h.probation = false;
            } else {
                h.lastFailureReason = "marked unhealthy by hand";
            }
            event = commit(backend, before, healthy ? "marked healthy by hand" : "marked unhealthy by hand");
            if (healthy) {
                h.requestFailures.set(0);
            }
        } finally {
            table.unlock();
        }
        fire(event);
        return event != null;
    }

    /** The current view, with ejections that are over ended first if the lock is free. */
    Registry readmitIfDue(Registry current) {
        if (!current.ejecting
                || ticker.read() - current.readmitAtNanos < 0
                || !table.tryLock()) {
            return current;
        }
        List<HealthEvent> events;
        try {
            events = readmitDue(ticker.read());
        } finally {
            table.unlock();
        }
        events.forEach(this::fire);
        return table.current();
    }

    /** Ends the ejections that are over, blocking for the lock; used by health rounds. */
    void readmitDueNow() {
        List<HealthEvent> events;
        table.lock();
        try {
            events = readmitDue(ticker.read());
        } finally {
            table.unlock();
        }
        events.forEach(this::fire);
    }

    /** Ends every ejection due by {@code now}; the backend comes back on probation. Holds the lock. */
    private List<HealthEvent> readmitDue(long now) {
        List<HealthEvent> events = new ArrayList<>(1);
        for (Backend b : table.current().all) {
            BackendHealth h = b.health;
            if (!h.ejected || now - h.ejectedUntilNanos < 0) {
                continue;
            }
            BackendHealth.Saved before = h.save();
            h.ejected = false;
            h.probation = true;
            h.returnedAtNanos = now;
            h.requestFailures.set(0);
            HealthEvent event = commit(b, before, "ejection over; back on probation");
            if (event != null) {
                events.add(event);
            }
        }
        return events;
    }

    /** Counts one active check's verdict toward the rise and fall thresholds. */
    void onCheckResult(Backend backend, HealthCheckResult result) {
        HealthEvent event;
        table.lock();
        try {
            if (backend.isRemoved() || table.current().byId.get(backend.id()) != backend) {
                return; // removed while its check was under way
            }
            BackendHealth h = backend.health;
            BackendHealth.Saved before = h.save();
            h.lastCheckNanos = ticker.read();
            h.checked = true;
            String reason = null;
            if (result.isHealthy()) {
                h.checkSuccesses = BackendHealth.increment(h.checkSuccesses);
                h.checkFailures = 0;
                if (h.checkDown && (h.awaitingFirstCheck || h.checkSuccesses >= healthyThreshold)) {
                    h.checkDown = false;
                    reason = h.awaitingFirstCheck ? "passed a health check for the first time"
                            : h.checkSuccesses + " health checks passed in a row";
                }
                h.awaitingFirstCheck = false;
            } else {
                h.checkFailures = BackendHealth.increment(h.checkFailures);
                h.checkSuccesses = 0;
                String why = result.reason().orElse("unhealthy");
                h.lastFailureReason = why;
                if (!h.checkDown && h.checkFailures >= unhealthyThreshold) {
                    h.checkDown = true;
                    reason = h.checkFailures + " health checks failed in a row, the last with: " + why;
                }
                // A backend that has never passed a check stays awaiting its first pass: an instance
                // still loading its model fails until it is ready, and has no flapping to guard against.
            }
            event = reason == null ? null : commit(backend, before, reason);
        } finally {
            table.unlock();
        }
        fire(event);
    }

    /** Passive health: counts a request's outcome toward ejection. */
    void onRequestOutcome(Backend backend, boolean success, long now) {
        BackendHealth h = backend.health;
        if (success) {
            // Reads first: the common case, a healthy backend, then writes nothing shared.
            if (h.requestFailures.get() != 0) {
                h.requestFailures.set(0);
            }
            if (h.probation) {
                h.probation = false;
            }
            return;
        }
        int failed = h.requestFailures.incrementAndGet();
        // Only a release at or past the threshold (or failing on probation) takes the lock. Past it,
        // not only at it: a run that reached the threshold while the backend could not be ejected
        // (in maintenance, say) must still eject it on its next failure once it can be.
        if ((failed >= outliers.consecutiveFailures() && !h.ejected) || h.probation) {
            considerEjection(backend, now);
        }
    }

    private void considerEjection(Backend backend, long now) {
        HealthEvent event;
        table.lock();
        try {
            BackendHealth h = backend.health;
            int failed = h.requestFailures.get();
            boolean onProbation = h.probation;
            if (h.ejected || !backend.isInService() || (!onProbation && failed < outliers.consecutiveFailures())) {
                return; // already out, leaving anyway, or a success came in between
            }
            int inService = 0;
            int ejected = 0;
            for (Backend b : table.current().all) {
                if (b.isInService()) {
                    inService++;
                    if (b.health.ejected) {
                        ejected++;
                    }
                }
            }
            int allowed = Math.max(1, inService * outliers.maxEjectionPercent() / 100);
            if (ejected >= allowed) {
                h.requestFailures.set(0);
                log.debug("{} - Not ejecting backend {} after {} failed requests: {} of {} backends are ejected "
                        + "already (at most {}%)", table.name(), backend.id(), failed, ejected, inService,
                        outliers.maxEjectionPercent());
                return;
            }
            BackendHealth.Saved before = h.save();
            long baseNanos = outliers.baseEjectionTime().toNanos();
            long maxNanos = outliers.maxEjectionTime().toNanos();
            if (h.ejectionMultiplier > 0) {
                // Forgive one past ejection per base time spent back in service since the last one.
                long forgiven = Math.max(0L, now - h.returnedAtNanos) / baseNanos;
                h.ejectionMultiplier = (int) Math.max(0L, h.ejectionMultiplier - forgiven);
            }
            long cap = (maxNanos + baseNanos - 1) / baseNanos; // beyond this the maximum applies anyway
            h.ejectionMultiplier = (int) Math.min(cap, h.ejectionMultiplier + 1L);
            long ejectNanos = Math.min(maxNanos, baseNanos * h.ejectionMultiplier);
            h.ejected = true;
            h.ejectedUntilNanos = now + ejectNanos;
            h.ejections++;
            h.probation = false;
            h.requestFailures.set(0);
            String why = onProbation ? "failed a request on probation" : failed + " failed requests in a row";
            h.lastFailureReason = why;
            event = commit(backend, before, why + "; ejected for " + Duration.ofNanos(ejectNanos)
                    + " (ejection " + h.ejections + ")");
        } catch (IllegalStateException e) {
            log.error("{} - Could not eject backend {}", table.name(), backend.id(), e);
            return;
        } finally {
            table.unlock();
        }
        fire(event);
    }

    /**
     * Commits the state the bookkeeping implies and logs a change once. Holds the lock.
     *
     * @return the event to fire once the lock is released, or null if the state did not change
     * @throws IllegalStateException if the strategy fails to build its picker (nothing changes)
     */
    private HealthEvent commit(Backend backend, BackendHealth.Saved before, String reason) {
        HealthState previous = table.commitHealth(backend, before);
        HealthState next = backend.healthState();
        if (previous == next) {
            return null;
        }
        if (next == HealthState.HEALTHY) {
            log.info("{} - Backend {} is healthy again: {}", table.name(), backend.id(), reason);
        } else {
            log.warn("{} - Backend {} is {}: {}", table.name(), backend.id(),
                    next == HealthState.EJECTED ? "ejected" : "unhealthy",
                    reason);
        }
        return new HealthEvent(backend, previous, next, reason);
    }

    private void fire(HealthEvent event) {
        if (event != null) {
            listeners.accept(event);
        }
    }
}

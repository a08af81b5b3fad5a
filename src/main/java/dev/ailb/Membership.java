package dev.ailb;

import static dev.ailb.internal.Preconditions.quote;

import dev.ailb.health.HealthState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which backends a balancer has: registration, a registered backend's weight, removal by drain
 * (with its timeout), maintenance and the end of both, and the timer thread the drain timeouts
 * run on.
 *
 * <p>A removed backend drains: it leaves the view at once ({@link RoutingTable#takeOut}), keeps its
 * in-flight requests, and leaves the balancer when the last one is released
 * ({@link LifecycleWord#tryFinishDrain()}, exactly once whatever races it) or when its drain timeout
 * passes. Leaving folds its figures into the balancer's ({@link TrafficFigures#fold}), lets go of
 * its sessions, tells the listeners and completes the removal's future. A backend in maintenance
 * also leaves the view, stays registered, and its future completes when its last connection is
 * released.
 *
 * <p>Thread-safe: every change holds the routing table's lock; listeners and futures are told
 * after it is released.
 */
final class Membership {
    private static final Logger log = LoggerFactory.getLogger(Membership.class);
    private static final AtomicInteger TIMER_THREADS = new AtomicInteger();

    private final RoutingTable table;
    private final TrafficFigures figures;
    private final SessionRouting sessions;
    private final Listeners listeners;
    private final BooleanSupplier closed;
    private final boolean initiallyHealthy;
    private final long drainTimeoutNanos;
    private final ScheduledExecutorService userScheduler; // null: timers run on ownTimer
    private final Map<Backend, CompletableFuture<Void>> drains = new HashMap<>(); // guarded by the table's lock
    private final Map<Backend, ScheduledFuture<?>> drainTimers = new HashMap<>(); // guarded by the table's lock
    private final Map<Backend, CompletableFuture<Void>> maintenance = new HashMap<>(); // guarded by the table's lock
    private ScheduledThreadPoolExecutor ownTimer; // guarded by the table's lock
    private final List<Thread> timerThreads = new ArrayList<>(); // guarded by itself

    Membership(RoutingTable table, TrafficFigures figures, SessionRouting sessions, Listeners listeners,
            BooleanSupplier closed, boolean initiallyHealthy, long drainTimeoutNanos,
            ScheduledExecutorService userScheduler) {
        this.table = table;
        this.figures = figures;
        this.sessions = sessions;
        this.listeners = listeners;
        this.closed = closed;
        this.initiallyHealthy = initiallyHealthy;
        this.drainTimeoutNanos = drainTimeoutNanos;
        this.userScheduler = userScheduler;
    }

    /**
     * Registers a new backend, unhealthy until its first check passes unless backends start healthy.
     *
     * @throws IllegalArgumentException if its id is taken (or still draining)
     * @throws IllegalStateException    if the balancer is closed, or the strategy fails to build its
     *                                  picker for the new set (nothing changes then)
     */
    Backend add(Backend backend) {
        String id = backend.id();
        table.lock();
        try {
            if (closed.getAsBoolean()) {
                throw new IllegalStateException("load balancer is closed");
            }
            Registry current = table.current();
            Backend existing = current.byId.get(id);
            if (existing != null) {
                throw new IllegalArgumentException("id: " + quote(id) + " (expected: an id not registered; "
                        + (existing.isDraining() ? "a backend with this id is still draining)" : "it is taken)"));
            }
            if (!initiallyHealthy) {
                backend.health.checkDown = true;
                backend.health.awaitingFirstCheck = true;
                backend.setState(HealthState.UNHEALTHY);
            }
            List<Backend> all = new ArrayList<>(current.all);
            all.add(backend);
            table.publish(table.viewOf(all, Backend::isInService));
            log.info("{} - Added backend {} at {}:{} (weight {}{})", table.name(), id, backend.host(), backend.port(),
                    backend.weight(), initiallyHealthy ? "" : ", unhealthy until its first check passes");
        } finally {
            table.unlock();
        }
        listeners.tell(l -> l.onBackendAdded(backend));
        return backend;
    }

    /** See {@link LoadBalancer#removeBackend}. */
    CompletableFuture<Void> remove(String id) {
        Backend backend;
        CompletableFuture<Void> done;
        table.lock();
        try {
            backend = table.current().lookup(id);
            done = drains.get(backend);
            if (done != null) {
                return FutureViews.viewOf(done);
            }
            table.takeOut(backend, backend::markDraining);
            done = new CompletableFuture<>();
            drains.put(backend, done);
            CompletableFuture<Void> maintained = maintenance.remove(backend);
            if (maintained != null) {
                done.thenRun(() -> maintained.complete(null));
            }
            if (backend.activeConnections() > 0) {
                armDrainTimeout(backend);
            }
            log.info("{} - Removing backend {}: draining {} active connections", table.name(), id,
                    backend.activeConnections());
        } finally {
            table.unlock();
        }
        listeners.tell(l -> l.onBackendDraining(backend));
        // Also when connections remained: one may have been released since, or acquired just now.
        finishDrain(backend);
        return FutureViews.viewOf(done);
    }

    /** See {@link LoadBalancer#beginMaintenance}. */
    CompletableFuture<Void> beginMaintenance(String id) {
        Backend backend;
        CompletableFuture<Void> done;
        table.lock();
        try {
            backend = table.current().lookup(id);
            // Removed but not yet out of the view counts as being removed: its drain is finishing.
            if (backend.isDraining() || backend.isRemoved()) {
                throw new IllegalStateException("id: " + quote(id) + " (expected: a backend not being removed)");
            }
            done = maintenance.get(backend);
            if (done != null) {
                return FutureViews.viewOf(done);
            }
            table.takeOut(backend, () -> backend.setMaintenance(true));
            done = new CompletableFuture<>();
            maintenance.put(backend, done);
            log.info("{} - Backend {} in maintenance: waiting for {} active connections", table.name(), id,
                    backend.activeConnections());
        } finally {
            table.unlock();
        }
        listeners.tell(l -> l.onMaintenanceBegan(backend));
        if (backend.activeConnections() == 0) {
            maintenanceDrained(backend);
        }
        return FutureViews.viewOf(done);
    }

    /** See {@link LoadBalancer#setWeight}; the view is republished by {@link RoutingTable#reweigh}. */
    int setWeight(String id, int weight) {
        int previous;
        table.lock();
        try {
            if (closed.getAsBoolean()) {
                throw new IllegalStateException("load balancer is closed");
            }
            Backend backend = table.current().lookup(id);
            // As for maintenance: a backend whose drain is finishing may still be in the view.
            if (backend.isDraining() || backend.isRemoved()) {
                throw new IllegalStateException("id: " + quote(id) + " (expected: a backend not being removed)");
            }
            previous = backend.weight();
            if (previous == weight) {
                return previous;
            }
            table.reweigh(backend, weight);
            log.info("{} - Backend {} weight changed from {} to {}", table.name(), id, previous, weight);
        } finally {
            table.unlock();
        }
        return previous;
    }

    /** See {@link LoadBalancer#setProfile}; the view is republished by {@link RoutingTable#reprofile}. */
    BackendProfile setProfile(String id, BackendProfile profile) {
        BackendProfile previous;
        table.lock();
        try {
            if (closed.getAsBoolean()) {
                throw new IllegalStateException("load balancer is closed");
            }
            Backend backend = table.current().lookup(id);
            if (backend.isDraining() || backend.isRemoved()) {
                throw new IllegalStateException("id: " + quote(id) + " (expected: a backend not being removed)");
            }
            previous = backend.profile();
            if (previous.equals(profile)) {
                return previous;
            }
            table.reprofile(backend, profile, false);
            log.info("{} - Backend {} profile changed from {} to {}", table.name(), id, previous, profile);
        } finally {
            table.unlock();
        }
        return previous;
    }

    /** See {@link LoadBalancer#endMaintenance}. */
    boolean endMaintenance(String id) {
        Backend backend;
        CompletableFuture<Void> pending;
        table.lock();
        try {
            backend = table.current().lookup(id);
            if (backend.isDraining() || backend.isRemoved()) {
                throw new IllegalStateException("id: " + quote(id)
                        + " (expected: a backend not being removed; a removal cannot be undone)");
            }
            if (!backend.isInMaintenance()) {
                return false;
            }
            table.putBack(backend, () -> backend.setMaintenance(false));
            pending = maintenance.remove(backend);
            log.info("{} - Backend {} back in service after maintenance", table.name(), id);
        } finally {
            table.unlock();
        }
        if (pending != null) {
            pending.cancel(false);
        }
        listeners.tell(l -> l.onMaintenanceEnded(backend));
        return true;
    }

    /**
     * A connection was released; {@code ctl} is the backend's lifecycle word after the release
     * ({@link InFlightTokens#tryRelease}): the last release of a draining backend finishes its drain, that
     * of a backend in maintenance completes its maintenance wait.
     */
    void released(Backend backend, long ctl) {
        if (ctl == LifecycleWord.DRAINING) {
            finishDrain(backend);
        } else if (ctl == LifecycleWord.MAINTENANCE) {
            maintenanceDrained(backend);
        }
    }

    private void finishDrain(Backend backend) {
        if (!backend.tryFinishDrain()) {
            // A connection arrived (acquiring a draining backend is allowed), or another thread
            // finished the drain. If one arrived after the removal saw none, no timeout covers it.
            table.lock();
            try {
                armDrainTimeout(backend);
            } finally {
                table.unlock();
            }
            return;
        }
        log.info("{} - Backend {} drained and removed", table.name(), backend.id());
        leave(backend);
    }

    /**
     * Schedules the drain timeout of a backend being removed, unless it has one, has left, or the
     * balancer is closed. Holds the lock.
     */
    private void armDrainTimeout(Backend backend) {
        if (closed.getAsBoolean() || !backend.isDraining() || drainTimers.containsKey(backend)
                || !drains.containsKey(backend)) {
            return;
        }
        try {
            drainTimers.put(backend, timers().schedule(() -> forceRemoval(backend), drainTimeoutNanos,
                    TimeUnit.NANOSECONDS));
        } catch (RejectedExecutionException e) {
            log.warn("{} - Backend {}: the scheduler refused its drain timeout; it leaves when its last "
                    + "connection is released", table.name(), backend.id());
        }
    }

    /** The drain timeout of a backend passed: it leaves now, its late releases still count. */
    private void forceRemoval(Backend backend) {
        if (!backend.tryForceRemoval()) {
            return; // drained meanwhile
        }
        log.warn("{} - Backend {} removed after its drain timeout of {} with {} requests still in flight; "
                + "their releases will still be counted", table.name(), backend.id(),
                Duration.ofNanos(drainTimeoutNanos), backend.activeConnections());
        leave(backend);
    }

    /**
     * Takes a backend just flagged removed out of the view, its session bindings and its drain
     * bookkeeping, then tells the listeners and completes its removal.
     */
    private void leave(Backend backend) {
        CompletableFuture<Void> done;
        table.lock();
        try {
            List<Backend> all = new ArrayList<>(table.current().all);
            all.remove(backend);
            Registry next = table.viewOf(all, Backend::isInService);
            figures.fold(backend, () -> table.publish(next));
            done = drains.remove(backend);
            ScheduledFuture<?> timer = drainTimers.remove(backend);
            if (timer != null) {
                timer.cancel(false); // a no-op when the timer itself is what removes the backend
            }
        } finally {
            table.unlock();
        }
        sessions.forget(backend);
        listeners.tell(l -> l.onBackendRemoved(backend));
        if (done != null) {
            done.complete(null);
        }
    }

    /** The last connection of a backend in maintenance was released. */
    private void maintenanceDrained(Backend backend) {
        CompletableFuture<Void> done;
        table.lock();
        try {
            if (!backend.isInMaintenance() || backend.activeConnections() != 0) {
                return;
            }
            done = maintenance.get(backend);
        } finally {
            table.unlock();
        }
        if (done != null && done.complete(null)) {
            log.info("{} - Backend {} in maintenance has no request left in flight", table.name(), backend.id());
        }
    }

    /**
     * Schedules a task on the timers drain timeouts run on, for {@link Admission}'s deadlines;
     * null once the balancer is closed or when the scheduler refuses it. Takes the lock.
     */
    ScheduledFuture<?> schedule(Runnable task, long delayNanos) {
        table.lock();
        try {
            if (closed.getAsBoolean()) {
                return null;
            }
            return timers().schedule(task, delayNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            return null;
        } finally {
            table.unlock();
        }
    }

    /** Where drain timeouts run: the user's scheduler, or a daemon thread of ours; holds the lock. */
    private ScheduledExecutorService timers() {
        if (userScheduler != null) {
            return userScheduler;
        }
        if (ownTimer == null) {
            ownTimer = new ScheduledThreadPoolExecutor(0, task -> {
                Thread thread = new Thread(task, "ailb-timer-" + TIMER_THREADS.incrementAndGet());
                thread.setDaemon(true);
                synchronized (timerThreads) {
                    timerThreads.removeIf(t -> t.getState() == Thread.State.TERMINATED);
                    timerThreads.add(thread);
                }
                return thread;
            });
            // No thread while no timeout is pending; a cancelled timeout leaves the queue at once.
            ownTimer.setKeepAliveTime(1, TimeUnit.MINUTES);
            ownTimer.setRemoveOnCancelPolicy(true);
        }
        return ownTimer;
    }

    /**
     * Cancels the pending drain timeouts and ends the timer thread, once the balancer is closed:
     * drains still complete with their last release.
     */
    void close() {
        ScheduledThreadPoolExecutor timer;
        table.lock();
        try {
            timer = ownTimer;
            for (ScheduledFuture<?> pending : drainTimers.values()) {
                pending.cancel(false);
            }
            drainTimers.clear();
        } finally {
            table.unlock();
        }
        if (timer == null) {
            return;
        }
        timer.shutdownNow();
        List<Thread> started;
        synchronized (timerThreads) {
            started = new ArrayList<>(timerThreads);
        }
        try {
            timer.awaitTermination(1, TimeUnit.SECONDS);
            // The pool says it has terminated while its last thread is still on its way out;
            // joining is what makes that thread gone by the time close() returns.
            for (Thread thread : started) {
                if (thread != Thread.currentThread()) {
                    thread.join(TimeUnit.SECONDS.toMillis(1));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

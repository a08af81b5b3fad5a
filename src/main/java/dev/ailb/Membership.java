package dev.ailb;

import static dev.ailb.internal.Preconditions.quote;

import dev.ailb.health.HealthState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
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
    /** Backends stated by a reconcile while a namesake drains, registered when it leaves; guarded by the table's lock. */
    private final Map<String, BackendSpec> waiting = new HashMap<>();
    private final Function<BackendSpec, Backend> factory;
    private final Runnable onRoom;
    private ScheduledThreadPoolExecutor ownTimer; // guarded by the table's lock
    private final List<Thread> timerThreads = new ArrayList<>(); // guarded by itself

    Membership(RoutingTable table, TrafficFigures figures, SessionRouting sessions, Listeners listeners,
            BooleanSupplier closed, boolean initiallyHealthy, long drainTimeoutNanos,
            ScheduledExecutorService userScheduler, Function<BackendSpec, Backend> factory, Runnable onRoom) {
        this.table = table;
        this.factory = factory;
        this.onRoom = onRoom;
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
            startsOut(backend);
            table.join(List.of(backend), () -> table.viewAfter(backend, Registry.Change.JOINED));
            log.info("{} - Added backend {} at {}:{} (weight {}{})", table.name(), id, backend.host(), backend.port(),
                    backend.weight(), initiallyHealthy ? "" : ", unhealthy until its first check passes");
        } finally {
            table.unlock();
        }
        listeners.tell(l -> l.onBackendAdded(backend));
        return backend;
    }

    /** A new backend's first health: down until its first check passes, unless backends start healthy. */
    private void startsOut(Backend backend) {
        if (!initiallyHealthy) {
            backend.health.checkDown = true;
            backend.health.awaitingFirstCheck = true;
            backend.setState(HealthState.UNHEALTHY);
        }
    }

    /**
     * Registers new backends in one published change: all of them, or none when one id is taken.
     *
     * @param backends the new backends, their ids distinct
     * @throws IllegalArgumentException if an id is taken (or still draining)
     * @throws IllegalStateException    if the balancer is closed, or the strategy fails to build its
     *                                  picker for the new set (nothing changes then)
     */
    List<Backend> addAll(List<Backend> backends) {
        table.lock();
        try {
            if (closed.getAsBoolean()) {
                throw new IllegalStateException("load balancer is closed");
            }
            Registry current = table.current();
            for (Backend backend : backends) {
                Backend existing = current.byId.get(backend.id());
                if (existing != null) {
                    throw new IllegalArgumentException("backends: id " + quote(backend.id())
                            + " (expected: ids not registered; " + (existing.isDraining()
                            ? "a backend with this id is still draining)" : "it is taken)"));
                }
            }
            for (Backend backend : backends) {
                startsOut(backend);
            }
            List<Backend> all = new ArrayList<>(current.all.size() + backends.size());
            all.addAll(current.all);
            all.addAll(backends);
            table.join(backends, () -> table.viewOf(all, Backend::isInService));
            log.info("{} - Added {} backends{}", table.name(), backends.size(),
                    initiallyHealthy ? "" : ", each unhealthy until its first check passes");
        } finally {
            table.unlock();
        }
        for (Backend backend : backends) {
            listeners.tell(l -> l.onBackendAdded(backend));
        }
        return backends;
    }

    /**
     * Brings the balancer to a membership in one published change; see
     * {@link LoadBalancer#setBackends}.
     *
     * @param stated the membership by id, in the caller's order
     * @throws IllegalStateException if the balancer is closed, or the strategy fails to build its
     *                               picker for the new set (nothing changes then)
     */
    MembershipChange reconcile(Map<String, BackendSpec> stated) {
        List<Backend> added = new ArrayList<>();
        List<String> updated = new ArrayList<>();
        List<Backend> gone = new ArrayList<>();
        List<String> waitingIds = new ArrayList<>();
        int unchanged = 0;
        table.lock();
        try {
            if (closed.getAsBoolean()) {
                throw new IllegalStateException("load balancer is closed");
            }
            Registry current = table.current();
            Map<String, BackendSpec> nextWaiting = new HashMap<>();
            Map<Backend, BackendSpec> changed = new LinkedHashMap<>();
            for (BackendSpec spec : stated.values()) {
                Backend b = current.byId.get(spec.id());
                if (b == null) {
                    added.add(factory.apply(spec));
                } else if (b.isDraining() || b.isRemoved()) {
                    nextWaiting.put(spec.id(), spec);
                    if (!spec.equals(waiting.get(spec.id()))) {
                        waitingIds.add(spec.id());
                    }
                } else if (!spec.sameAddress(b)) {
                    gone.add(b);
                    nextWaiting.put(spec.id(), spec);
                    waitingIds.add(spec.id());
                } else if (b.weight() != spec.weight() || !b.profile().equals(spec.profile())) {
                    changed.put(b, spec);
                } else {
                    unchanged++;
                }
            }
            for (Backend b : current.all) {
                if (!stated.containsKey(b.id()) && !b.isDraining() && !b.isRemoved()) {
                    gone.add(b);
                }
            }
            if (added.isEmpty() && changed.isEmpty() && gone.isEmpty()) {
                waiting.clear();
                waiting.putAll(nextWaiting);
                return new MembershipChange(List.of(), List.of(), List.of(), waitingIds, unchanged);
            }
            publishReconciled(current, added, changed, gone);
            for (Backend b : gone) {
                b.markDraining();
                beginDrain(b);
            }
            waiting.clear();
            waiting.putAll(nextWaiting);
            for (Backend b : changed.keySet()) {
                updated.add(b.id());
            }
            log.info("{} - Membership set: {} added, {} updated, {} draining, {} waiting for a namesake to drain, "
                    + "{} unchanged", table.name(), added.size(), updated.size(), gone.size(), waitingIds.size(),
                    unchanged);
        } finally {
            table.unlock();
        }
        for (Backend b : added) {
            listeners.tell(l -> l.onBackendAdded(b));
        }
        for (Backend b : gone) {
            listeners.tell(l -> l.onBackendDraining(b));
        }
        for (Backend b : gone) {
            finishDrain(b); // as in remove: one may have had no connection, or lost its last since
        }
        if (!added.isEmpty()) {
            onRoom.run();
        }
        return new MembershipChange(ids(added), updated, ids(gone), waitingIds, unchanged);
    }

    /**
     * Publishes the view a reconcile implies, in the order of {@link RoutingTable}'s class
     * comment: the new backends and the new weights and profiles in, the gone ones out (their
     * flags are set after this returns). Holds the lock. When the strategy cannot build a picker,
     * puts every weight and profile back and rethrows: nothing changes.
     */
    private void publishReconciled(Registry current, List<Backend> added, Map<Backend, BackendSpec> changed,
            List<Backend> gone) {
        if (publishedOneChange(added, changed, gone)) {
            return;
        }
        Map<Backend, BackendSpec> before = new IdentityHashMap<>();
        for (Map.Entry<Backend, BackendSpec> e : changed.entrySet()) {
            Backend b = e.getKey();
            before.put(b, BackendSpec.of(b.id(), b.host(), b.port()).withWeight(b.weight()).withProfile(b.profile()));
            b.setWeight(e.getValue().weight());
            b.setProfile(e.getValue().profile());
        }
        for (Backend b : added) {
            startsOut(b);
        }
        Set<Backend> out = Collections.newSetFromMap(new IdentityHashMap<>());
        out.addAll(gone);
        List<Backend> all = new ArrayList<>(current.all.size() + added.size());
        all.addAll(current.all);
        all.addAll(added);
        try {
            table.join(added, () -> table.viewOf(all, b -> !out.contains(b) && b.isInService(), !changed.isEmpty()));
        } catch (IllegalStateException e) {
            for (Map.Entry<Backend, BackendSpec> b : before.entrySet()) {
                b.getKey().setWeight(b.getValue().weight());
                b.getKey().setProfile(b.getValue().profile());
            }
            throw e;
        }
    }

    /**
     * Publishes a reconcile that changes one backend alone (one joins, one leaves, or one takes a
     * new weight) as the single-backend changes do, in time linear in the fleet only for copies of
     * references ({@link Registry#withChange}), rather than building the view whole: a discovery
     * source that restates a fleet of thousands after each event then pays for the one change.
     * Holds the lock.
     *
     * @return whether the change was one of those and is published
     * @throws IllegalStateException if the strategy fails to build its picker (nothing changes)
     */
    private boolean publishedOneChange(List<Backend> added, Map<Backend, BackendSpec> changed, List<Backend> gone) {
        int changes = added.size() + changed.size() + gone.size();
        if (changes != 1) {
            return false;
        }
        if (added.size() == 1) {
            Backend b = added.get(0);
            startsOut(b);
            table.join(added, () -> table.viewAfter(b, Registry.Change.JOINED));
            return true;
        }
        if (gone.size() == 1) {
            table.takeOut(gone.get(0), () -> { }); // flagged draining by the caller, after the view
            return true;
        }
        Map.Entry<Backend, BackendSpec> only = changed.entrySet().iterator().next();
        Backend b = only.getKey();
        if (!b.profile().equals(only.getValue().profile())) {
            return false; // a new profile rebuilds the kinds of request: the whole build below
        }
        table.reweigh(b, only.getValue().weight());
        return true;
    }

    private static List<String> ids(Collection<Backend> backends) {
        List<String> ids = new ArrayList<>(backends.size());
        for (Backend b : backends) {
            ids.add(b.id());
        }
        return ids;
    }

    /**
     * The bookkeeping of a drain begun: its future, the end of a maintenance wait it takes over,
     * its timeout while requests are in flight. Holds the lock; the backend is flagged draining.
     */
    private CompletableFuture<Void> beginDrain(Backend backend) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        drains.put(backend, done);
        CompletableFuture<Void> maintained = maintenance.remove(backend);
        if (maintained != null) {
            done.thenRun(() -> maintained.complete(null));
        }
        if (backend.activeConnections() > 0) {
            armDrainTimeout(backend);
        }
        return done;
    }

    /** See {@link LoadBalancer#removeBackend}. */
    CompletableFuture<Void> remove(String id) {
        Backend backend;
        CompletableFuture<Void> done;
        table.lock();
        try {
            backend = table.current().lookup(id);
            waiting.remove(id); // a removal outranks a reconcile's wish to register the id again
            done = drains.get(backend);
            if (done != null) {
                return FutureViews.viewOf(done);
            }
            table.takeOut(backend, backend::markDraining);
            done = beginDrain(backend);
            waiting.remove(id);
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
        Backend successor;
        table.lock();
        try {
            Registry next = table.viewAfter(backend, Registry.Change.LEFT);
            figures.fold(backend, () -> table.publish(next));
            done = drains.remove(backend);
            ScheduledFuture<?> timer = drainTimers.remove(backend);
            if (timer != null) {
                timer.cancel(false); // a no-op when the timer itself is what removes the backend
            }
            successor = registerWaiting(backend.id());
        } finally {
            table.unlock();
        }
        sessions.forget(backend);
        listeners.tell(l -> l.onBackendRemoved(backend));
        if (done != null) {
            done.complete(null);
        }
        if (successor != null) {
            listeners.tell(l -> l.onBackendAdded(successor));
            onRoom.run();
        }
    }

    /**
     * Registers the backend a reconcile stated while a namesake drained, now that it has left;
     * null if none waits, the balancer is closed, or the strategy fails to build its picker (then
     * it is logged and dropped: the next reconcile states it again). Holds the lock.
     */
    private Backend registerWaiting(String id) {
        BackendSpec spec = waiting.remove(id);
        if (spec == null || closed.getAsBoolean()) {
            return null;
        }
        Backend backend = factory.apply(spec);
        startsOut(backend);
        try {
            table.join(List.of(backend), () -> table.viewAfter(backend, Registry.Change.JOINED));
        } catch (IllegalStateException e) {
            log.warn("{} - Backend {} not registered after its namesake drained: {}", table.name(), id,
                    e.getMessage());
            return null;
        }
        log.info("{} - Added backend {} at {}:{} (weight {}) once its namesake drained", table.name(), id,
                backend.host(), backend.port(), backend.weight());
        return backend;
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

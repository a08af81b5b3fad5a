package dev.ailb;

import dev.ailb.health.HealthState;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The published view of a balancer's backends ({@link Registry}) and the one lock its writers take.
 *
 * <h2>Readers never lock; writers publish, then flag</h2>
 * A selection reads {@link #current()} (one volatile read) and picks from it without any lock.
 * Every change (membership, health, strategy) takes {@link #lock()}, builds the next view and
 * publishes it. A backend can leave or go down between a selection's read of the view and its
 * pick, so the order of a writer's steps is what keeps a selection from returning a backend that
 * no longer takes requests:
 * <ul>
 *   <li>taking a backend out (removal, maintenance, a health state other than healthy): publish
 *       the view without it first, then set its flag or state. A selection that still sees the
 *       flag clear can only be working from the older view, and its re-check of the flag
 *       ({@link Registry#routes}) after the pick catches the change: it picks again from the
 *       newer view, which no longer offers the backend;</li>
 *   <li>putting a backend back (out of maintenance, healthy again): clear its flag or set its
 *       state first, then publish the view with it, so that no selection finds it in a view while
 *       it still says it takes no requests.</li>
 * </ul>
 * {@link #takeOut}, {@link #putBack} and {@link #commitHealth} are those orders; they are written
 * here once, and every writer goes through them. A backend about to become available (registered
 * healthy by {@link #join}, back from maintenance, healthy again) has its slow-start factor set
 * ({@link SlowStartRamps#begin}) before the view with it is built, since the pickers read the
 * factor when they are built: its first view already gives it its ramp's share, never a full one. A view whose strategy fails to build its picker
 * is never published, and the change is undone.
 *
 * <h2>A new weight: set, then rebuild the picker</h2>
 * A weight changes no backend's availability, so no selection can be sent where it should not go;
 * what matters is that the strategies see it. Those that precompute from the weights (weighted
 * round robin's schedule, the hash ring) do so only when a picker is built, and a view whose
 * backends are unchanged keeps its picker ({@link Registry#withBackends}); so {@link #reweigh}
 * sets the weight, then builds a fresh picker over the same backends with the same selector (a
 * cursor or a ring carries on) and publishes it. Strategies that read weights per pick
 * ({@code LEAST_CONNECTIONS}, {@code RESOURCE_BASED}) see the new weight as soon as it is set,
 * the last picks of the old view included; if the build fails, the old weight is put back.
 *
 * <p>Entering and leaving panic routing (no backend available, routing across every backend in
 * service under fail-open) are logged once each, as views are published.
 */
final class RoutingTable {
    private static final Logger log = LoggerFactory.getLogger(RoutingTable.class);

    private final ReentrantLock lock = new ReentrantLock();
    private final String name;
    private final boolean failOpen;
    private final SlowStartRamps ramps; // guarded by lock
    private volatile Registry registry;

    /**
     * An empty table with the initial strategy and no slow start.
     *
     * @throws IllegalStateException if the strategy fails to create its selector
     */
    RoutingTable(String name, BalancingStrategy strategy, SelectionContext context, boolean failOpen) {
        this(name, strategy, context, failOpen, null, (task, delayNanos) -> null);
    }

    /**
     * An empty table with the initial strategy.
     *
     * @param slowStart the slow start of backends becoming available; null for none
     * @param timers    where the steps of slow-start ramps are scheduled
     * @throws IllegalStateException if the strategy fails to create its selector
     */
    RoutingTable(String name, BalancingStrategy strategy, SelectionContext context, boolean failOpen,
            SlowStart slowStart, SlowStartRamps.Timers timers) {
        this.name = name;
        this.failOpen = failOpen;
        this.ramps = new SlowStartRamps(name, slowStart, context.ticker(), timers, this::stepSlowStart);
        this.registry = Registry.build(strategy, selectorOf(strategy, context), new Subsets(strategy, context),
                List.of(), b -> false, failOpen);
    }

    /**
     * Publishes the view of the same backends under another strategy; holds the lock.
     *
     * @throws IllegalStateException if the strategy fails to create its selector or build its
     *                               picker (nothing is published)
     */
    void switchStrategy(BalancingStrategy strategy, SelectionContext context) {
        Registry current = registry;
        publish(Registry.build(strategy, selectorOf(strategy, context), current.subsets.renewed(strategy, context),
                current.all, Backend::isInService, failOpen));
        log.info("{} - Strategy set to {}", name, strategy.name());
    }

    static Selector selectorOf(BalancingStrategy strategy, SelectionContext context) {
        Selector selector;
        try {
            selector = strategy.newSelector(context);
        } catch (RuntimeException e) {
            throw new IllegalStateException("strategy " + strategy.name() + " failed to create its selector: " + e, e);
        }
        if (selector == null) {
            throw new IllegalStateException("strategy " + strategy.name() + " created a null selector");
        }
        return selector;
    }

    /** The balancer's name, which every log line about the table's backends starts with. */
    String name() {
        return name;
    }

    /** The published view; never blocks. */
    Registry current() {
        return registry;
    }

    void lock() {
        lock.lock();
    }

    boolean tryLock() {
        return lock.tryLock();
    }

    void unlock() {
        lock.unlock();
    }

    boolean failOpen() {
        return failOpen;
    }

    /**
     * A view over {@code all} with the current strategy, the backends {@code inService} accepts
     * (and healthy by their bookkeeping) available. Holds the lock.
     *
     * @throws IllegalStateException if the strategy fails to build its picker (nothing is published)
     */
    Registry viewOf(List<Backend> all, Predicate<Backend> inService) {
        return registry.withBackends(all, inService, failOpen);
    }

    /**
     * As {@link #viewOf(List, Predicate)}; with {@code freshPicker}, the picker is built anew even
     * over the very backends it routes across now, as a new weight needs ({@link #reweigh}).
     *
     * @throws IllegalStateException if the strategy fails to build its picker (nothing is published)
     */
    Registry viewOf(List<Backend> all, Predicate<Backend> inService, boolean freshPicker) {
        Registry current = registry;
        return freshPicker
                ? Registry.build(current.strategy, current.selector, current.subsets, all, inService, failOpen)
                : current.withBackends(all, inService, failOpen);
    }

    /**
     * The view after {@code backend} alone changed ({@link Registry#withChange}), the backends in
     * service as their flags say. Holds the lock.
     *
     * @throws IllegalStateException if the strategy fails to build its picker (nothing is published)
     */
    Registry viewAfter(Backend backend, Registry.Change change) {
        return registry.withChange(backend, change, Backend::isInService, failOpen);
    }

    /** Publishes a view; holds the lock. */
    void publish(Registry next) {
        Registry previous = registry;
        registry = next;
        if (next.panic && !previous.panic) {
            log.warn("{} - All {} backends in service are unhealthy: routing across all of them until one recovers "
                    + "(fail open)", name, next.routable.size());
        } else if (previous.panic && !next.panic) {
            log.info("{} - Leaving panic routing: {} healthy backends available", name, next.available.size());
        }
    }

    /**
     * Takes a backend out of service: publishes the view without it, then runs {@code flag}, which
     * marks it (draining, in maintenance). Holds the lock.
     *
     * @throws IllegalStateException if the strategy fails to build its picker (nothing changes)
     */
    void takeOut(Backend backend, Runnable flag) {
        publish(registry.withChange(backend, Registry.Change.STATE, b -> false, failOpen));
        flag.run();
    }

    /**
     * Puts a backend back in service: starts its slow start if it will be available, builds the
     * view with it, runs {@code unflag}, then publishes. Holds the lock.
     *
     * @throws IllegalStateException if the strategy fails to build its picker (nothing changes)
     */
    void putBack(Backend backend, Runnable unflag) {
        Registry current = registry;
        SlowStartRamps.Saved ramp = backend.health.target() == HealthState.HEALTHY
                ? ramps.begin(backend, current) : null;
        Registry next;
        try {
            next = current.withChange(backend, Registry.Change.STATE, b -> true, failOpen);
        } catch (IllegalStateException e) {
            ramps.undo(backend, ramp);
            throw e;
        }
        unflag.run();
        publish(next);
    }

    /**
     * Registers backends: starts the slow start of those that are available at once, then builds
     * the view that holds them with {@code view} and publishes it. Holds the lock.
     *
     * @param joining the backends being registered, not yet in the published view
     * @param view    builds the view with them ({@link #viewOf})
     * @throws IllegalStateException if the strategy fails to build its picker (nothing changes)
     */
    void join(List<Backend> joining, Supplier<Registry> view) {
        Registry current = registry;
        List<SlowStartRamps.Saved> saved = new ArrayList<>(joining.size());
        for (Backend b : joining) {
            saved.add(b.health.target() == HealthState.HEALTHY ? ramps.begin(b, current) : null);
        }
        try {
            publish(view.get());
        } catch (IllegalStateException e) {
            for (int i = 0; i < joining.size(); i++) {
                ramps.undo(joining.get(i), saved.get(i));
            }
            throw e;
        }
    }

    /**
     * One step of the slow-start ramps, run by their timer: steps the factors and, if one changed,
     * publishes a view whose pickers are built afresh with them, as {@link #reweigh} does for a
     * weight. A backend's factor changes no backend's availability, so the order of the class
     * comment does not come into it. Takes the lock.
     */
    void stepSlowStart() {
        lock.lock();
        try {
            if (ramps.advance()) {
                Registry current = registry;
                publish(Registry.build(current.strategy, current.selector, current.subsets, current.all,
                        Backend::isInService, failOpen));
            }
        } catch (IllegalStateException e) {
            log.error("{} - Could not publish the next step of slow start; the last view stays until the next step",
                    name, e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Gives a backend a new weight and, if the picker routes across it, publishes a view with a
     * picker built for that weight, in the order of the class comment. Holds the lock. When the
     * strategy cannot build its picker, puts the old weight back and rethrows, so nothing changes.
     * A backend the picker does not route across (unavailable, in maintenance) only takes the
     * weight: the next view that routes across it builds its picker with it.
     *
     * @throws IllegalStateException if the strategy fails to build its picker
     */
    void reweigh(Backend backend, int weight) {
        int previous = backend.weight();
        backend.setWeight(weight);
        try {
            publish(registry.withChange(backend, Registry.Change.WEIGHT, Backend::isInService, failOpen));
        } catch (IllegalStateException e) {
            backend.setWeight(previous);
            throw e;
        }
    }

    /**
     * Gives a backend a new profile, declared or learnt, and publishes a view whose subsets
     * ({@link Subsets}) are built for it. Holds the lock. A profile changes no backend's
     * availability, only which requests it may take; a pick from the older view racing the change
     * may still send one request by the older profile, as a pick racing a new weight does. When the
     * strategy cannot build a picker, the old profile is put back and the exception rethrown.
     *
     * @param learnt whether the profile is the one learnt from the server rather than declared
     * @throws IllegalStateException if the strategy fails to build a picker
     */
    void reprofile(Backend backend, BackendProfile profile, boolean learnt) {
        BackendProfile previous = learnt ? backend.learntProfile() : backend.profile();
        if (learnt) {
            backend.setLearnt(profile);
        } else {
            backend.setProfile(profile);
        }
        try {
            republish();
        } catch (IllegalStateException e) {
            if (learnt) {
                backend.setLearnt(previous);
            } else {
                backend.setProfile(previous);
            }
            throw e;
        }
    }

    /**
     * Publishes the view of the same backends again, its subsets built afresh from the backends'
     * profiles, adapters and the kinds of request kept; the pickers of unchanged sets are kept.
     * Holds the lock.
     *
     * @throws IllegalStateException if the strategy fails to build a picker (nothing is published)
     */
    void republish() {
        Registry current = registry;
        publish(current.withBackends(current.all, Backend::isInService, failOpen));
    }

    /**
     * Publishes the view again after a backend's adapters changed, rebuilding only the subsets
     * of the models it serves ({@link Registry#withAdaptersOf}). Holds the lock.
     *
     * @throws IllegalStateException if the strategy fails to build a picker (nothing is published)
     */
    void republishAdapters(Backend changed) {
        publish(registry.withAdaptersOf(changed));
    }

    /**
     * Publishes the view that a backend's health bookkeeping now implies and commits its state, in
     * the order of the class comment. Holds the lock. When the strategy cannot build its picker,
     * puts {@code before} back and rethrows, so nothing changes.
     *
     * @return the state the backend had before
     */
    HealthState commitHealth(Backend backend, BackendHealth.Saved before) {
        HealthState previous = backend.healthState();
        HealthState next = backend.health.target();
        Registry current = registry;
        SlowStartRamps.Saved ramp = next == HealthState.HEALTHY && previous != HealthState.HEALTHY
                && backend.isInService() ? ramps.begin(backend, current) : null;
        Registry view;
        try {
            view = current.withChange(backend, Registry.Change.STATE, Backend::isInService, failOpen);
        } catch (IllegalStateException e) {
            ramps.undo(backend, ramp);
            backend.health.restore(before);
            throw e;
        }
        if (next == HealthState.HEALTHY) {
            backend.setState(next);
            publish(view);
        } else {
            publish(view);
            backend.setState(next);
        }
        return previous;
    }
}

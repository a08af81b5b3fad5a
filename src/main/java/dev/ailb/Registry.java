package dev.ailb;

import static dev.ailb.internal.Preconditions.quote;

import dev.ailb.health.HealthState;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * One immutable view of a balancer's backends, published through a volatile field: the registered
 * backends, the available ones, the ones the picker routes across and the picker the strategy
 * built for exactly that set. Readers take one volatile read and never lock; writers build a new
 * view under the balancer's lock.
 *
 * <p>Normally the picker routes across the available backends. When none is available but some
 * are in service (registered and not draining) and the balancer fails open, the view is in panic:
 * the picker routes across the in-service ones, healthy or not.
 */
final class Registry {
    final BalancingStrategy strategy;
    final Selector selector;
    /** Registered backends in registration order, draining ones included. */
    final List<Backend> all;
    final Map<String, Backend> byId;
    /** Backends new requests may go to, in registration order. */
    final List<Backend> available;
    /** The backends the picker was built over: {@link #available}, or in panic every in-service one. */
    final List<Backend> routable;
    final boolean panic;
    /** Whether a backend was ejected when the view was built; {@link #readmitAtNanos} is meaningless if not. */
    final boolean ejecting;
    /**
     * The ticker reading at which the first of the ejections ends. Any long is a possible reading,
     * so "no ejection" is told by {@link #ejecting}, never by a reserved value, and readings are
     * compared by their difference: the ticker may wrap from {@code Long.MAX_VALUE} to
     * {@code Long.MIN_VALUE} between an ejection and its end.
     */
    final long readmitAtNanos;
    final Picker picker;
    /** The selector, if it learns from the selections that stand; null for most strategies. */
    final PrefixRecorder recorder;
    /** The backends in service, healthy or not, when the balancer fails open; null otherwise. */
    final List<Backend> inService;
    /** The kinds of request routed so far and the selector of each; shared by the views of one strategy. */
    final Subsets subsets;
    /** The rule the strategy's own picks follow, for the routing decision of each. */
    final RoutingDecision.Reason rule;
    /** {@link #routable} and {@link #picker}: the candidates of a request that names no model and no labels. */
    final Candidates everything;
    /** The candidates of each kind in {@link #subsets}: by model ("" for any), then label selector. */
    private final Map<String, Map<LabelSelector, Candidates>> kinds;

    private Registry(BalancingStrategy strategy, Selector selector, List<Backend> all, Map<String, Backend> byId,
            List<Backend> available, List<Backend> routable, boolean panic, boolean ejecting, long readmitAtNanos,
            Picker picker, List<Backend> inService, Subsets subsets, Registry previous, Backend adaptersChanged) {
        this.strategy = strategy;
        this.rule = ruleOf(strategy);
        this.selector = selector;
        this.all = all;
        this.byId = byId;
        this.available = available;
        this.routable = routable;
        this.panic = panic;
        this.ejecting = ejecting;
        this.readmitAtNanos = readmitAtNanos;
        this.picker = picker;
        this.recorder = selector instanceof PrefixRecorder r ? r : null;
        this.inService = inService;
        this.subsets = subsets;
        this.everything = new Candidates("", LabelSelector.none(), routable, routable, selector, picker, panic);
        this.kinds = subsets.build(available, inService, previous, adaptersChanged);
    }

    /**
     * Whether this view keeps candidates for a kind that names a model: only then can a backend's
     * adapters change them.
     */
    boolean keepsModels() {
        return kinds.size() > (kinds.containsKey("") ? 1 : 0);
    }

    /** The candidates this view keeps for a kind of request, or null if it keeps none for it. */
    Candidates candidatesOf(String model, LabelSelector labels) {
        Map<LabelSelector, Candidates> byLabels = kinds.get(model);
        return byLabels == null ? null : byLabels.get(labels);
    }

    /**
     * Builds a view. A backend counts as available when {@code inService} accepts it and its health
     * bookkeeping says healthy, so a writer can publish the view a pending change implies before it
     * flips the backend's own flags.
     *
     * @throws IllegalStateException if the strategy fails to build a picker; nothing is published
     */
    static Registry build(BalancingStrategy strategy, Selector selector, Subsets subsets, List<Backend> all,
            Predicate<Backend> inService, boolean failOpen) {
        return assemble(strategy, selector, subsets, List.copyOf(all), inService, failOpen, null);
    }

    /**
     * A view over {@code newAll} with the same strategy. When the picker would route across exactly
     * the backends it routes across now (a draining backend finally leaving, an unavailable one
     * changing state), the current picker is kept: the strategy's state carries on untouched and
     * the final removal of a drained backend cannot fail on a strategy that refuses to build.
     */
    Registry withBackends(List<Backend> newAll, Predicate<Backend> inService, boolean failOpen) {
        return assemble(strategy, selector, subsets, List.copyOf(newAll), inService, failOpen, this);
    }

    private static Registry assemble(BalancingStrategy strategy, Selector selector, Subsets subsets,
            List<Backend> all, Predicate<Backend> inService, boolean failOpen, Registry previous) {
        List<Backend> available = new ArrayList<>(all.size());
        List<Backend> serving = failOpen ? new ArrayList<>(all.size()) : null;
        Map<String, Backend> byId = new HashMap<>(all.size() * 2);
        boolean ejecting = false;
        long readmitAt = 0;
        for (Backend b : all) {
            byId.put(b.id(), b);
            BackendHealth h = b.health;
            if (h.ejected && (!ejecting || h.ejectedUntilNanos - readmitAt < 0)) {
                ejecting = true;
                readmitAt = h.ejectedUntilNanos;
            }
            if (inService.test(b)) {
                if (serving != null) {
                    serving.add(b);
                }
                if (h.target() == HealthState.HEALTHY) {
                    available.add(b);
                }
            }
        }
        List<Backend> availableView = Collections.unmodifiableList(available);
        boolean panic = available.isEmpty() && serving != null && !serving.isEmpty();
        List<Backend> routable = panic ? Collections.unmodifiableList(serving) : availableView;
        Map<String, Backend> byIdView = Collections.unmodifiableMap(byId);
        List<Backend> inServiceView = serving == null ? null : Collections.unmodifiableList(serving);
        if (previous != null && previous.panic == panic && sameBackends(routable, previous.routable)) {
            return new Registry(strategy, selector, all, byIdView, availableView, previous.routable, panic,
                    ejecting, readmitAt, previous.picker, inServiceView, subsets, previous, null);
        }
        Picker picker = pickerOf(strategy, selector, routable);
        return new Registry(strategy, selector, all, byIdView, availableView, routable, panic, ejecting, readmitAt,
                picker, inServiceView, subsets, previous, null);
    }

    /**
     * This view again after a backend's load report changed its adapters: the same backends and
     * picker, and the candidates of the kinds whose model that backend serves rebuilt (their tiers
     * may have changed); the others are kept as they are, so that a fleet whose adapters change
     * often does not rebuild every kind at each report. Holds the lock.
     *
     * @throws IllegalStateException if the strategy fails to build a picker (nothing is published)
     */
    Registry withAdaptersOf(Backend changed) {
        return new Registry(strategy, selector, all, byId, available, routable, panic, ejecting, readmitAtNanos,
                picker, inService, subsets, this, changed);
    }

    /**
     * The picker a selector builds for a set of backends.
     *
     * @throws IllegalStateException if it fails or returns null
     */
    static Picker pickerOf(BalancingStrategy strategy, Selector selector, List<Backend> backends) {
        Picker picker;
        try {
            picker = selector.newPicker(backends);
        } catch (RuntimeException e) {
            throw new IllegalStateException(
                    "strategy " + strategy.name() + " failed to build a picker for "
                            + backends.size() + (backends.size() == 1 ? " backend: " : " backends: ") + e, e);
        }
        if (picker == null) {
            throw new IllegalStateException("strategy " + strategy.name() + " built a null picker");
        }
        return picker;
    }

    /**
     * The registered backend with this id.
     *
     * @throws IllegalArgumentException if no backend has this id
     */
    Backend lookup(String id) {
        Backend backend = byId.get(id);
        if (backend == null) {
            throw new IllegalArgumentException("id: " + quote(id) + " (expected: the id of a registered backend)");
        }
        return backend;
    }

    /**
     * Whether a pick from this view may go to {@code b} as it stands now: available, or in panic
     * merely in service. The re-check that keeps a selection from returning a backend that left
     * after the view was read.
     */
    boolean routes(Backend b) {
        return panic ? b.isInService() : b.isAvailable();
    }

    private static boolean sameBackends(List<Backend> a, List<Backend> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (a.get(i) != b.get(i)) {
                return false;
            }
        }
        return true;
    }

    /** The rule of a built-in strategy, under whatever name; {@code STRATEGY} for a custom one. */
    private static RoutingDecision.Reason ruleOf(BalancingStrategy strategy) {
        BalancingStrategy s = strategy;
        while (s instanceof NamedStrategy named) {
            s = named.delegate();
        }
        if (s instanceof RoundRobinStrategy) {
            return RoutingDecision.Reason.ROTATION;
        } else if (s instanceof WeightedRoundRobinStrategy) {
            return RoutingDecision.Reason.WEIGHTED_ROTATION;
        } else if (s instanceof LeastConnectionsStrategy) {
            return RoutingDecision.Reason.LEAST_LOADED;
        } else if (s instanceof LeastResponseTimeStrategy) {
            return RoutingDecision.Reason.LEAST_RESPONSE_TIME;
        } else if (s instanceof IpHashStrategy) {
            return RoutingDecision.Reason.HASH;
        } else if (s instanceof RandomStrategy) {
            return RoutingDecision.Reason.RANDOM;
        } else if (s instanceof ResourceBasedStrategy) {
            return RoutingDecision.Reason.RESOURCE_SCORE;
        } else if (s instanceof PrefixAffinity) {
            return RoutingDecision.Reason.PREFIX_MISS; // a match is told by the lease's claim on the backend
        }
        return RoutingDecision.Reason.STRATEGY;
    }
}

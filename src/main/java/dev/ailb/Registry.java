package dev.ailb;

import static dev.ailb.internal.Preconditions.quote;

import dev.ailb.health.HealthState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
 *
 * <h2>A change of one backend costs what it changes</h2>
 * Most changes concern one backend: it joins, leaves, changes health or maintenance, or takes a
 * new weight. {@link #withChange} derives the next view from this one and that backend alone: the
 * lists are copied with the backend put in or taken out at its place (a copy of references, no
 * test of every backend), the map of ids is shared by the views of a balancer and updated for the
 * one id, the strategy's picker is rebuilt only if the set it routes across changed, and a
 * selector that can ({@link IncrementalSelector}) derives it from its last picker; the kinds of
 * request that do not admit the backend keep their candidates. {@link #build} and
 * {@link #withBackends} build a view from the whole fleet, in time linear in it; they serve the
 * changes of many backends at once and the ones that change what every kind admits.
 */
final class Registry {
    final BalancingStrategy strategy;
    final Selector selector;
    /** Registered backends in registration order, draining ones included. */
    final List<Backend> all;
    /**
     * Every backend of {@link #all} by id. Shared by the views that follow one another by
     * {@link #withChange}, which updates it for the one backend that joined or left once the view is
     * built; a full build makes a map of its own. Read it from the current view only.
     */
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
        this(strategy, selector, all, byId, available, routable, panic, ejecting, readmitAtNanos, picker, inService,
                subsets, subsets.build(available, inService, previous, adaptersChanged));
    }

    private Registry(BalancingStrategy strategy, Selector selector, List<Backend> all, Map<String, Backend> byId,
            List<Backend> available, List<Backend> routable, boolean panic, boolean ejecting, long readmitAtNanos,
            Picker picker, List<Backend> inService, Subsets subsets, Map<String, Map<LabelSelector, Candidates>> kinds) {
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
        this.everything = new Candidates("", LabelSelector.none(), routable, routable, selector, picker, panic, false);
        this.kinds = kinds;
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

    /** What happened to the one backend a {@link #withChange} is about. */
    enum Change {
        /** It was registered: it is the last of the new view's {@link #all}. */
        JOINED,
        /** It left for good (its drain is over): the new view's {@link #all} lacks it. */
        LEFT,
        /** Its health, maintenance or draining changed whether it is available or in service. */
        STATE,
        /** Its weight changed; nothing else did. */
        WEIGHT
    }

    /**
     * The next view after a change of one backend alone, derived from this view in time linear in
     * the fleet only for copies of references (no backend but {@code changed} is tested), plus
     * what the strategy's selector needs to follow the change ({@link IncrementalSelector}: the
     * built-in hash ring, for instance, moves only that backend's points). Gives the same view
     * {@link #withBackends} would build from the whole fleet, provided no other backend changed
     * since this view was built; the writers hold the lock and publish each change, so none has.
     * The shared map of ids takes a joining backend's id, or loses a leaving one's, once
     * everything else is built: a change that fails leaves it as it was.
     *
     * @param inService which backends are in service, as {@link #build} takes it; only
     *                  {@code changed} is asked
     * @throws IllegalStateException if the strategy fails to build a picker; nothing is published
     */
    Registry withChange(Backend changed, Change change, Predicate<Backend> inService, boolean failOpen) {
        List<Backend> nextAll = switch (change) {
            case JOINED -> appended(all, changed);
            case LEFT -> without(all, all.indexOf(changed));
            default -> all;
        };
        boolean member = change != Change.LEFT;
        boolean serves = member && inService.test(changed);
        boolean healthy = serves && changed.health.target() == HealthState.HEALTHY;
        List<Backend> nextAvailable = spliced(available, nextAll, changed, healthy);
        List<Backend> nextServing = this.inService == null ? null : spliced(this.inService, nextAll, changed, serves);
        boolean nextPanic = nextAvailable.isEmpty() && nextServing != null && !nextServing.isEmpty();
        List<Backend> nextRoutable = nextPanic ? nextServing : nextAvailable;

        boolean nextEjecting;
        long nextReadmitAt;
        BackendHealth h = changed.health;
        if (ejecting) {
            // The ejection that ends first may be this backend's, ended or gone: look again.
            nextEjecting = false;
            nextReadmitAt = 0;
            for (Backend b : nextAll) {
                BackendHealth bh = b.health;
                if (bh.ejected && (!nextEjecting || bh.ejectedUntilNanos - nextReadmitAt < 0)) {
                    nextEjecting = true;
                    nextReadmitAt = bh.ejectedUntilNanos;
                }
            }
        } else {
            nextEjecting = member && h.ejected;
            nextReadmitAt = nextEjecting ? h.ejectedUntilNanos : 0;
        }

        Picker nextPicker;
        if (nextRoutable == routable && change != Change.WEIGHT) {
            nextPicker = picker;
        } else if (nextRoutable == routable && !routable.contains(changed)) {
            nextPicker = picker; // a weight the picker does not route with; the next build takes it
        } else if (nextPanic == panic) {
            nextPicker = pickerOf(strategy, selector, routable, nextRoutable, changed);
        } else {
            nextPicker = pickerOf(strategy, selector, nextRoutable);
        }
        Map<String, Map<LabelSelector, Candidates>> nextKinds =
                subsets.follow(this, nextAvailable, nextServing, changed, change == Change.WEIGHT);
        Registry next = new Registry(strategy, selector, nextAll, byId, nextAvailable, nextRoutable, nextPanic,
                nextEjecting, nextReadmitAt, nextPicker, nextServing, subsets, nextKinds);
        if (change == Change.JOINED) {
            byId.put(changed.id(), changed);
        } else if (change == Change.LEFT) {
            byId.remove(changed.id(), changed);
        }
        return next;
    }

    /**
     * {@code list}, a subsequence of {@code all} in its order, with {@code b} in it or not as
     * {@code present} says; the same list if that is already so. Costs a scan and a copy of
     * references, never a test of a backend.
     */
    static List<Backend> spliced(List<Backend> list, List<Backend> all, Backend b, boolean present) {
        int at = list.indexOf(b);
        if ((at >= 0) == present) {
            return list;
        }
        if (!present) {
            return without(list, at);
        }
        // Where b goes: after every member of the list that comes before it in all; at the end
        // for a backend just registered, the last of all.
        int n = list.size();
        int position = 0;
        if (all.get(all.size() - 1) == b) {
            position = n;
        } else {
            for (Backend x : all) {
                if (x == b) {
                    break;
                }
                if (position < n && list.get(position) == x) {
                    position++;
                }
            }
        }
        Object[] from = list.toArray(); // one copy of the array behind the list, then block moves
        Backend[] out = new Backend[n + 1];
        System.arraycopy(from, 0, out, 0, position);
        out[position] = b;
        System.arraycopy(from, position, out, position + 1, n - position);
        return Collections.unmodifiableList(Arrays.asList(out));
    }

    private static List<Backend> appended(List<Backend> list, Backend b) {
        Backend[] out = list.toArray(new Backend[list.size() + 1]);
        out[list.size()] = b;
        return Collections.unmodifiableList(Arrays.asList(out));
    }

    private static List<Backend> without(List<Backend> list, int at) {
        if (at < 0) {
            return list;
        }
        Object[] from = list.toArray();
        Backend[] out = new Backend[from.length - 1];
        System.arraycopy(from, 0, out, 0, at);
        System.arraycopy(from, at + 1, out, at, from.length - at - 1);
        return Collections.unmodifiableList(Arrays.asList(out));
    }

    private static Registry assemble(BalancingStrategy strategy, Selector selector, Subsets subsets,
            List<Backend> all, Predicate<Backend> inService, boolean failOpen, Registry previous) {
        List<Backend> available = new ArrayList<>(all.size());
        List<Backend> serving = failOpen ? new ArrayList<>(all.size()) : null;
        Map<String, Backend> byId = new ConcurrentHashMap<>(Math.max(16, all.size() * 2));
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
        Map<String, Backend> byIdView = byId;
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
     * The picker a selector builds for {@code backends}, which differ from {@code previous} (the set
     * of the last picker it built here) by {@code changed} alone: joined, left, or a new weight. A
     * selector that can follow one change ({@link IncrementalSelector}) derives the picker from its
     * last one; any other builds it afresh.
     *
     * @throws IllegalStateException if it fails or returns null
     */
    static Picker pickerOf(BalancingStrategy strategy, Selector selector, List<Backend> previous,
            List<Backend> backends, Backend changed) {
        if (!(selector instanceof IncrementalSelector incremental)) {
            return pickerOf(strategy, selector, backends);
        }
        Picker picker;
        try {
            picker = incremental.newPicker(previous, backends, changed);
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

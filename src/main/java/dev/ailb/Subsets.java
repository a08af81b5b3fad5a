package dev.ailb;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The kinds of request (a model, a label selector, or both) that a balancer has routed, each with
 * the selector the strategy keeps for it, and the subsets of a view built for them.
 *
 * <h2>One selector per kind, kept across views</h2>
 * A request for a model may only go to the backends that serve it, so its picker must be built for
 * exactly those; a stateful strategy keeps its state (a round-robin cursor, a prefix index) for
 * that subset, so each kind has a selector of its own, created when the kind is first routed and
 * kept until the strategy changes. The balancer's own selector stays with the whole view: a picker
 * built for a subset could make it forget the rest (a prefix index drops the backends missing from
 * its last set).
 *
 * <h2>Tiers, computed when a view is built</h2>
 * Within the backends that serve the model and carry the required labels, those that hold the
 * adapter (by the estimate their load reports keep, {@link ResidentAdapters}) come first, then
 * those with a free adapter slot, then the rest (a saturated backend one tier lower); within a
 * tier, those that carry the preferred labels come first. The picker is built for the best
 * non-empty tier. A load report that changes a backend's tiers republishes the view
 * ({@link CandidateFilter#adaptersChanged}), so a pick never scans.
 *
 * <p>At most {@link #MAX_KINDS} kinds are kept: beyond, a request of a new kind gets candidates
 * built for it alone ({@link #adHoc}), under the balancer's lock, and the first such is logged.
 *
 * <p>Not thread-safe: used under the balancer's lock ({@link RoutingTable}), and by the constructor
 * of the first view.
 */
final class Subsets {
    static final int MAX_KINDS = 256;

    private final BalancingStrategy strategy;
    private final SelectionContext context;
    /** Model ("" for any), then label selector, to the selector of that kind; in the order they came. */
    private final Map<String, Map<LabelSelector, Selector>> selectors = new LinkedHashMap<>();
    private int kinds;

    Subsets(BalancingStrategy strategy, SelectionContext context) {
        this.strategy = strategy;
        this.context = context;
    }

    /**
     * The same kinds under another strategy, each with a new selector of it.
     *
     * @throws IllegalStateException if the strategy fails to create a selector
     */
    Subsets renewed(BalancingStrategy next, SelectionContext nextContext) {
        Subsets copy = new Subsets(next, nextContext);
        selectors.forEach((model, byLabels) -> byLabels.keySet().forEach(labels -> copy.add(model, labels)));
        return copy;
    }

    boolean isEmpty() {
        return kinds == 0;
    }

    /**
     * Keeps a new kind of request, with a new selector of the strategy.
     *
     * @return false if {@link #MAX_KINDS} kinds are kept already (nothing changes)
     * @throws IllegalStateException if the strategy fails to create a selector
     */
    boolean add(String model, LabelSelector labels) {
        Map<LabelSelector, Selector> byLabels = selectors.get(model);
        if (byLabels != null && byLabels.containsKey(labels)) {
            return true;
        }
        if (kinds >= MAX_KINDS) {
            return false;
        }
        Selector selector = RoutingTable.selectorOf(strategy, context);
        selectors.computeIfAbsent(model, m -> new LinkedHashMap<>()).put(labels, selector);
        kinds++;
        return true;
    }

    /** Forgets a kind; the next view is built without it. */
    void remove(String model, LabelSelector labels) {
        Map<LabelSelector, Selector> byLabels = selectors.get(model);
        if (byLabels != null && byLabels.remove(labels) != null) {
            kinds--;
            if (byLabels.isEmpty()) {
                selectors.remove(model);
            }
        }
    }

    /**
     * The candidates of every kind kept, for a view's available backends (or, per kind, its
     * in-service ones when none is available and the balancer fails open). A kind whose backends
     * are those of the previous view keeps its picker.
     *
     * @param inService       the backends in service, or null if the balancer does not fail open
     * @param previous        the view this one follows with the same selectors, or null
     * @param adaptersChanged a backend whose adapters alone changed since {@code previous} (which has
     *                        the same backends): only the kinds of models it serves are rebuilt; or
     *                        null to rebuild every kind
     * @throws IllegalStateException if the strategy fails to build a picker
     */
    Map<String, Map<LabelSelector, Candidates>> build(List<Backend> available, List<Backend> inService,
            Registry previous, Backend adaptersChanged) {
        if (kinds == 0) {
            return Map.of();
        }
        Map<String, Map<LabelSelector, Candidates>> built = new HashMap<>(selectors.size() * 2);
        selectors.forEach((model, byLabels) -> {
            Map<LabelSelector, Candidates> inner = new HashMap<>(byLabels.size() * 2);
            byLabels.forEach((labels, selector) -> {
                Candidates before = previous == null ? null : previous.candidatesOf(model, labels);
                if (before != null && adaptersChanged != null
                        && (model.isEmpty() || !adaptersChanged.serves(model))) {
                    inner.put(labels, before);
                } else {
                    inner.put(labels, candidates(model, labels, selector, available, inService, before));
                }
            });
            built.put(model, Collections.unmodifiableMap(inner));
        });
        return Collections.unmodifiableMap(built);
    }

    /**
     * The candidates of every kind kept after a change of one backend alone (see
     * {@link Registry#withChange}): a kind that does not admit it keeps its candidates; one that
     * does has it put in or taken out of its lists at its place, or, for a new weight, its picker
     * rebuilt, the selector following the one change where it can. A kind whose tiers or panic
     * routing the change may alter is built afresh. Costs a scan of references per kind that
     * admits the backend, never a test of every backend.
     *
     * @param previous  the view this one follows, with the same selectors
     * @param available the new view's available backends
     * @param inService the new view's backends in service, or null if the balancer does not fail open
     * @param reweighed whether the change is a new weight of {@code changed}, not a change of the sets
     * @throws IllegalStateException if the strategy fails to build a picker
     */
    Map<String, Map<LabelSelector, Candidates>> follow(Registry previous, List<Backend> available,
            List<Backend> inService, Backend changed, boolean reweighed) {
        if (kinds == 0) {
            return Map.of();
        }
        Map<String, Map<LabelSelector, Candidates>> built = new HashMap<>(selectors.size() * 2);
        selectors.forEach((model, byLabels) -> {
            Map<LabelSelector, Candidates> inner = new HashMap<>(byLabels.size() * 2);
            byLabels.forEach((labels, selector) -> {
                Candidates before = previous.candidatesOf(model, labels);
                Candidates after;
                if (before == null) {
                    after = candidates(model, labels, selector, available, inService, null);
                } else if (!Candidates.admits(changed, model, labels)) {
                    after = before;
                } else if (reweighed) {
                    after = before.backends.contains(changed)
                            ? new Candidates(model, labels, before.backends, before.admitted, selector,
                                    Registry.pickerOf(strategy, selector, before.backends, before.backends, changed),
                                    before.panic, before.tiered)
                            : before;
                } else {
                    after = spliced(model, labels, selector, before, available, changed);
                    if (after == null) {
                        after = candidates(model, labels, selector, available, inService, before);
                    }
                }
                inner.put(labels, after);
            });
            built.put(model, Collections.unmodifiableMap(inner));
        });
        return Collections.unmodifiableMap(built);
    }

    /**
     * A kind's candidates with {@code changed} put in or taken out as the new available backends
     * say, when that is all that changes: the kind was not split into tiers, is not in panic and
     * does not become empty, and the backend holds no adapter of the kind's model (which could split
     * it). Null when it must be built afresh.
     */
    private Candidates spliced(String model, LabelSelector labels, Selector selector, Candidates before,
            List<Backend> available, Backend changed) {
        if (before.panic || before.tiered || (!model.isEmpty() && changed.servesAsAdapter(model))) {
            return null;
        }
        boolean present = available.contains(changed);
        List<Backend> admitted = Registry.spliced(before.admitted, available, changed, present);
        if (admitted == before.admitted) {
            return before;
        }
        if (admitted.isEmpty()) {
            return null;
        }
        Picker picker = before.picker == null
                ? Registry.pickerOf(strategy, selector, admitted)
                : Registry.pickerOf(strategy, selector, before.backends, admitted, changed);
        return new Candidates(model, labels, admitted, admitted, selector, picker, false, false);
    }

    /**
     * Candidates for a kind not kept, with a selector of their own that nothing else uses.
     *
     * @throws IllegalStateException if the strategy fails to create its selector or build its picker
     */
    Candidates adHoc(String model, LabelSelector labels, Registry view) {
        return candidates(model, labels, RoutingTable.selectorOf(strategy, context), view.available,
                view.inService, null);
    }

    private Candidates candidates(String model, LabelSelector labels, Selector selector, List<Backend> available,
            List<Backend> inService, Candidates before) {
        List<Backend> admitted = admitted(available, model, labels);
        boolean panic = false;
        if (admitted.isEmpty() && inService != null) {
            admitted = admitted(inService, model, labels);
            panic = !admitted.isEmpty();
        }
        boolean tiered = tiered(admitted, model, labels);
        List<Backend> chosen = tiered ? bestTier(admitted, model, labels) : admitted;
        if (before != null && before.panic == panic && same(before.backends, chosen)) {
            return new Candidates(model, labels, before.backends, admitted, selector, before.picker, panic, tiered);
        }
        Picker picker = chosen.isEmpty() ? null : Registry.pickerOf(strategy, selector, chosen);
        return new Candidates(model, labels, chosen, admitted, selector, picker, panic, tiered);
    }

    private static List<Backend> admitted(List<Backend> backends, String model, LabelSelector labels) {
        List<Backend> admitted = new ArrayList<>();
        for (Backend b : backends) {
            if (Candidates.admits(b, model, labels)) {
                admitted.add(b);
            }
        }
        return Collections.unmodifiableList(admitted);
    }

    /**
     * The best tier of the admitted backends: by adapter (held, free slot, the rest) when the
     * model is an adapter of one of them, then by the preferred labels.
     */
    private static List<Backend> bestTier(List<Backend> admitted, String model, LabelSelector labels) {
        boolean adapter = adapterOfAny(admitted, model);
        boolean prefer = !labels.preferred().isEmpty();
        if (!adapter && !prefer) {
            return admitted;
        }
        // Each backend's tier is read once: its load report may be replaced meanwhile.
        int[] levels = new int[admitted.size()];
        int best = Integer.MAX_VALUE;
        for (int i = 0; i < levels.length; i++) {
            Backend b = admitted.get(i);
            int level = (adapter ? b.adapterTier(model) : 0) * 2 + (prefer && !labels.prefers(b.labels()) ? 1 : 0);
            levels[i] = level;
            best = Math.min(best, level);
        }
        List<Backend> tier = new ArrayList<>(levels.length);
        for (int i = 0; i < levels.length; i++) {
            if (levels[i] == best) {
                tier.add(admitted.get(i));
            }
        }
        return tier.size() == admitted.size() ? admitted : Collections.unmodifiableList(tier);
    }

    /**
     * Whether the admitted backends may split into tiers: the model is an adapter of one of them,
     * or the kind prefers labels.
     */
    private static boolean tiered(List<Backend> admitted, String model, LabelSelector labels) {
        return !labels.preferred().isEmpty() || adapterOfAny(admitted, model);
    }

    private static boolean adapterOfAny(List<Backend> admitted, String model) {
        if (!model.isEmpty()) {
            for (Backend b : admitted) {
                if (b.servesAsAdapter(model)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean same(List<Backend> a, List<Backend> b) {
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
}

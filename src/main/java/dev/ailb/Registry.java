package dev.ailb;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * One immutable view of a balancer's backends, published through a volatile field: the registered
 * backends, the available ones, and the picker the strategy built for exactly that set. Readers
 * take one volatile read and never lock; writers build a new view under the balancer's lock.
 */
final class Registry {
    final BalancingStrategy strategy;
    final Selector selector;
    /** Registered backends in registration order, draining ones included. */
    final List<Backend> all;
    final Map<String, Backend> byId;
    /** Backends new requests may go to, in registration order. */
    final List<Backend> available;
    final Picker picker;

    private Registry(BalancingStrategy strategy, Selector selector, List<Backend> all,
            Map<String, Backend> byId, List<Backend> available, Picker picker) {
        this.strategy = strategy;
        this.selector = selector;
        this.all = all;
        this.byId = byId;
        this.available = available;
        this.picker = picker;
    }

    /**
     * Builds a view. {@code isAvailable} decides membership of the available set, so that a writer
     * can publish the view a pending change implies before it flips the backend's own flags.
     *
     * @throws IllegalStateException if the strategy fails to build a picker; nothing is published
     */
    static Registry build(BalancingStrategy strategy, Selector selector, List<Backend> all,
            Predicate<Backend> isAvailable) {
        List<Backend> allCopy = List.copyOf(all);
        return assemble(strategy, selector, allCopy, availableOf(allCopy, isAvailable), null);
    }

    /**
     * A view over {@code newAll} with the same strategy. When the available set comes out exactly
     * as it is now (a draining backend finally leaving, an unavailable one changing state), the
     * current picker is kept: the strategy's state carries on untouched and the final removal of a
     * drained backend cannot fail on a strategy that refuses to build.
     */
    Registry withBackends(List<Backend> newAll, Predicate<Backend> isAvailable) {
        List<Backend> allCopy = List.copyOf(newAll);
        List<Backend> nextAvailable = availableOf(allCopy, isAvailable);
        return assemble(strategy, selector, allCopy, nextAvailable,
                sameBackends(nextAvailable, available) ? this : null);
    }

    private static List<Backend> availableOf(List<Backend> all, Predicate<Backend> isAvailable) {
        List<Backend> available = new ArrayList<>(all.size());
        for (Backend b : all) {
            if (isAvailable.test(b)) {
                available.add(b);
            }
        }
        return Collections.unmodifiableList(available);
    }

    /** The view of {@code all}; its picker is {@code reuse}'s if given, else built for {@code available}. */
    private static Registry assemble(BalancingStrategy strategy, Selector selector, List<Backend> all,
            List<Backend> available, Registry reuse) {
        Map<String, Backend> byId = new HashMap<>(all.size() * 2);
        for (Backend b : all) {
            byId.put(b.id(), b);
        }
        if (reuse != null) {
            return new Registry(strategy, selector, all, Collections.unmodifiableMap(byId),
                    reuse.available, reuse.picker);
        }
        Picker picker;
        try {
            picker = selector.newPicker(available);
        } catch (RuntimeException e) {
            throw new IllegalStateException(
                    "strategy " + strategy.name() + " failed to build a picker for "
                            + available.size() + " backends: " + e, e);
        }
        if (picker == null) {
            throw new IllegalStateException("strategy " + strategy.name() + " built a null picker");
        }
        return new Registry(strategy, selector, all, Collections.unmodifiableMap(byId), available, picker);
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
}

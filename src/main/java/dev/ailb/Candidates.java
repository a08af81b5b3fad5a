package dev.ailb;

import java.util.List;

/**
 * What one kind of request may be routed to in one view: the backends offered to the strategy and
 * the picker it built for exactly them. A request that names no model and no labels gets the view's
 * own ({@link Registry#everything}); one that does gets the subset {@link CandidateFilter} keeps for
 * its model and label selector, built when the view was published.
 *
 * <p>Immutable; the picker is used by many threads at once.
 */
final class Candidates {
    /** The model the backends serve; empty for any. */
    final String model;
    /** The labels the backends carry; {@link LabelSelector#none()} for any. */
    final LabelSelector labels;
    /** The backends offered to the picker, in registration order; empty when none may serve. */
    final List<Backend> backends;
    /**
     * Every backend that may take the request, of which {@link #backends} is the best tier: where a
     * retry may go when the best tier has failed it.
     */
    final List<Backend> admitted;
    /** The picker over {@link #backends}; null when they are empty. */
    final Picker picker;
    /** The selector behind {@link #picker}, if it learns from the selections that stand. */
    final PrefixRecorder recorder;
    /** Whether {@link #backends} are in service but unhealthy, routed to because none is available. */
    final boolean panic;
    /**
     * Whether {@link #admitted} may split into tiers (the model is an adapter of one of them, or the
     * kind prefers labels), so that a change of one backend may change the best tier.
     */
    final boolean tiered;
    private final boolean filtered;

    Candidates(String model, LabelSelector labels, List<Backend> backends, List<Backend> admitted, Selector selector,
            Picker picker, boolean panic, boolean tiered) {
        this.model = model;
        this.labels = labels;
        this.backends = backends;
        this.admitted = admitted;
        this.picker = picker;
        this.recorder = selector instanceof PrefixRecorder r ? r : null;
        this.panic = panic;
        this.tiered = tiered;
        this.filtered = !model.isEmpty() || !labels.isEmpty();
    }

    /**
     * Whether a pick from these candidates may go to {@code b} as it stands now: available, or in
     * panic merely in service. The re-check after a pick; see {@link Registry#routes}.
     */
    boolean routes(Backend b) {
        return panic ? b.isInService() : b.isAvailable();
    }

    /**
     * Whether a request of this kind may go to {@code b} now, wherever it came from (a session's
     * binding): it routes, serves the model and carries the required labels. Tiers (adapters
     * loaded, labels preferred) do not matter here: a session stays where it is while it may.
     */
    boolean accepts(Backend b) {
        return routes(b) && (!filtered || admits(b, model, labels));
    }

    /** Whether a backend serves a model (any, if empty) and carries the required labels. */
    static boolean admits(Backend b, String model, LabelSelector labels) {
        return (model.isEmpty() || b.serves(model)) && labels.admits(b.labels());
    }
}

package dev.ailb;

import java.util.List;

/**
 * What one {@link LoadBalancer#setBackends} call changed, by backend id, each list in the order
 * of the specs given (the backends removed in registration order).
 *
 * <ul>
 *   <li>{@link #added()}: registered now;</li>
 *   <li>{@link #updated()}: kept, with a new weight, a new profile or both;</li>
 *   <li>{@link #draining()}: no longer in the membership, or moved to another address: taken out
 *       of routing now, they leave once their requests in flight are released (or their drain
 *       timeout passes);</li>
 *   <li>{@link #waiting()}: in the membership, but a backend of the same id is still draining (it
 *       was removed, or stood at another address): each is registered when its namesake
 *       leaves, unless a later change leaves it out first;</li>
 *   <li>{@link #unchanged()}: how many backends were already as stated.</li>
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public final class MembershipChange {
    private final List<String> added;
    private final List<String> updated;
    private final List<String> draining;
    private final List<String> waiting;
    private final int unchanged;

    MembershipChange(List<String> added, List<String> updated, List<String> draining, List<String> waiting,
            int unchanged) {
        this.added = List.copyOf(added);
        this.updated = List.copyOf(updated);
        this.draining = List.copyOf(draining);
        this.waiting = List.copyOf(waiting);
        this.unchanged = unchanged;
    }

    /**
     * The ids of the backends registered by the change.
     *
     * @return the ids, unmodifiable
     */
    public List<String> added() {
        return added;
    }

    /**
     * The ids of the backends kept with a new weight or profile.
     *
     * @return the ids, unmodifiable
     */
    public List<String> updated() {
        return updated;
    }

    /**
     * The ids of the backends whose drain the change began.
     *
     * @return the ids, unmodifiable
     */
    public List<String> draining() {
        return draining;
    }

    /**
     * The ids of the backends to be registered once a draining backend of the same id leaves.
     *
     * @return the ids, unmodifiable
     */
    public List<String> waiting() {
        return waiting;
    }

    /**
     * How many backends of the membership were registered already exactly as stated.
     *
     * @return the count
     */
    public int unchanged() {
        return unchanged;
    }

    /**
     * Whether the change changed nothing: the balancer was already at the membership given.
     *
     * @return {@code true} if nothing was added, updated, drained or set waiting
     */
    public boolean isEmpty() {
        return added.isEmpty() && updated.isEmpty() && draining.isEmpty() && waiting.isEmpty();
    }

    /**
     * The counts, e.g. {@code MembershipChange{added=2, updated=0, draining=1, waiting=0, unchanged=7}}.
     *
     * @return a description
     */
    @Override
    public String toString() {
        return "MembershipChange{added=" + added.size() + ", updated=" + updated.size() + ", draining="
                + draining.size() + ", waiting=" + waiting.size() + ", unchanged=" + unchanged + '}';
    }
}

package dev.ailb.internal.probe;

import java.util.Collection;

/**
 * What a {@link Prober} probes: the targets of a round, read afresh for each round.
 *
 * <p>Implementations must be thread-safe.
 *
 * @param <K> the targets probed
 */
public interface Targets<K> {

    /**
     * The targets of a round, in the order they are probed.
     *
     * @return the current targets
     */
    Collection<? extends K> current();

    /**
     * Whether a target has gone since the round read {@link #current()}: the round skips it.
     *
     * @param target one of the current targets
     * @return true if it is no longer to be probed
     */
    boolean isGone(K target);

    /**
     * The target as log lines name it, such as {@code "backend a"}.
     *
     * @param target the target
     * @return its name in log lines
     */
    String describe(K target);
}

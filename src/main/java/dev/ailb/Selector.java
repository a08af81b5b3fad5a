package dev.ailb;

import java.util.List;

/**
 * The state one balancer keeps for one strategy (a round-robin cursor, for example), created by
 * {@link BalancingStrategy#newSelector} when the strategy is set and kept until it is replaced.
 * State that must survive changes of the backend set belongs here; tables derived from one set
 * belong in the {@link Picker}.
 *
 * <p>{@link #newPicker} is called by one thread at a time, whenever the set of available backends
 * changes or the weight of one of them does ({@link LoadBalancer#setWeight}); the pickers it
 * returns are used concurrently.
 */
@FunctionalInterface
public interface Selector {

    /**
     * Builds the picker for a new set of available backends, or for the same set with a new
     * weight. Precompute here whatever makes a pick cheap (weight tables, hash rings).
     *
     * @param available the available backends in registration order; immutable, possibly empty
     *                  (the picker is then never asked to pick)
     * @return the picker for {@code available}, never null
     */
    Picker newPicker(List<Backend> available);
}

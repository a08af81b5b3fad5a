package dev.ailb;

import java.util.List;

/**
 * A built-in selector that can derive its next picker from the last one it built and the one
 * backend that changed, in time that depends on that backend rather than on the whole set: the
 * hash ring moves only that backend's points, the prefix index keeps every other backend's entry.
 * The balancer calls it for a change of one backend ({@link Registry#withChange}); any other
 * change, and every custom strategy, goes through {@link Selector#newPicker}, which builds from
 * the whole set.
 *
 * <p>Called under the balancer's lock, one call at a time, like {@link Selector#newPicker}.
 */
interface IncrementalSelector extends Selector {

    /**
     * The picker for {@code available}, which differs from {@code previous} by {@code changed}
     * alone: it joined, it left, or (present in both, the same list then) its weight changed.
     * When {@code previous} is not the set of the last picker this selector built (a view built
     * before was never published), the implementation must build from the whole set, as
     * {@link #newPicker(List)} does; it tells by identity.
     *
     * @param previous  the set the current picker routes across
     * @param available the new set, in registration order
     * @param changed   the backend that joined, left or changed weight
     * @return the picker for {@code available}, never null
     */
    Picker newPicker(List<Backend> previous, List<Backend> available, Backend changed);
}

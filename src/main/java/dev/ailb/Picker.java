package dev.ailb;

/**
 * Picks one backend for a request from a fixed set of available backends. A picker is built by
 * {@link Selector#newPicker} each time the set changes and then used, without locks, by every
 * thread that selects until the next change.
 *
 * <p>Implementations must be thread-safe and should not block or allocate: {@link #pick} runs on
 * the path of every request.
 */
@FunctionalInterface
public interface Picker {

    /**
     * Returns one of the backends this picker was built for. The balancer calls this only when
     * that set is not empty; the result must be a member of it.
     *
     * @param request the request being routed
     * @return a backend of that set, never null
     */
    Backend pick(Request request);
}

package dev.ailb;

/**
 * The work {@link LoadBalancer#execute} does on a chosen backend, e.g. one HTTP call to it.
 *
 * <p>Called on the thread that called {@code execute}, once per attempt and never concurrently
 * within one {@code execute}; a call object shared by several threads must be thread-safe.
 *
 * @param <T> what the call returns
 */
@FunctionalInterface
public interface BackendCall<T> {

    /**
     * Calls the backend. Throwing means the attempt failed: it is counted as a failure and, if the
     * retry policy says so, tried again on another backend.
     *
     * @param backend the backend to call
     * @return the call's result
     * @throws Exception when the attempt failed
     */
    T call(Backend backend) throws Exception;
}

package dev.ailb;

/**
 * Work started on a backend by {@link LoadBalancer#executeLeased}, given the open lease of its
 * attempt: when it returns normally the lease is its caller's to end, once the work on the
 * backend is over. Called on the thread that called {@code executeLeased}, once per attempt.
 *
 * @param <T> what the call returns
 */
@FunctionalInterface
public interface LeasedCall<T> {

    /**
     * Starts the work on the lease's backend.
     *
     * @param lease the attempt's open lease; {@link Lease#backend()} is where to send the work
     * @return the result, which carries the lease on to whoever ends it
     * @throws Exception if the attempt failed; it is then ended as a failure and may be retried
     */
    T call(Lease lease) throws Exception;
}

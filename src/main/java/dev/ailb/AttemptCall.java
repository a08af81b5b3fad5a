package dev.ailb;

import java.util.concurrent.CompletionStage;

/**
 * The work {@link LoadBalancer#executeAsync} starts on each attempt: a request sent to the
 * attempt's backend, answered through the stage it returns.
 *
 * <p>Started once per attempt, on the thread that called {@code executeAsync} for the first
 * attempt, and for the others on the call scheduler's thread (hedges, retries after a missed
 * first-token deadline) or on the thread that completed the failed attempt's stage (retries after
 * a failure). It should start the work and return at once, never wait for the answer. Several
 * attempts of one call may run at the same time (a hedge), so a call object must be thread-safe.
 *
 * @param <T> what an attempt answers
 */
@FunctionalInterface
public interface AttemptCall<T> {

    /**
     * Starts the work on {@link Attempt#backend()}. The returned stage completes with the answer,
     * or exceptionally when the attempt failed; a failure is counted on the backend and retried
     * as the retry policy allows. Call {@link Attempt#firstToken()} when the first token of a
     * streamed answer arrives, and stop the work when {@link Attempt#onCancel} says so.
     *
     * @param attempt the attempt: its backend, lease and cancellation
     * @return the answer to come, never null
     * @throws Exception if the attempt failed at once; counted as a failed attempt
     */
    CompletionStage<T> start(Attempt attempt) throws Exception;
}

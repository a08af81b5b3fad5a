package dev.ailb.internal.probe;

import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * A kind of probe that a {@link Prober} runs on its targets, such as a health check or a load poll:
 * how to begin one on a target, how to apply its outcome, and what to call it in reasons. Its
 * {@code toString()} names the work in log lines. The prober runs at most one probe of a kind per
 * target at a time and bounds each by its timeout, whatever the work does; see {@link Probes}.
 *
 * <p>Implementations must be thread-safe: one instance serves every target.
 *
 * @param <K> the targets probed
 * @param <T> what a probe yields
 */
public interface ProbeKind<K, T> {

    /**
     * Starts the work of one probe, on a prober thread, and returns promptly: blocking work goes
     * to the context's executor. The stage is cancelled ({@code toCompletableFuture().cancel(true)})
     * if the prober forces the outcome. A {@code null} stage or value, and a throw, count as
     * failures.
     *
     * @param target  the target to probe
     * @param context the timeout and the resources the prober lends this probe
     * @return a stage completed with the outcome
     */
    CompletionStage<T> begin(K target, ProbeContext context);

    /**
     * Applies the outcome of one probe, once per probe; never once the session that started it has
     * closed. An error thrown here is logged and the rounds go on.
     *
     * @param target the target probed
     * @param value  the value, if the probe succeeded
     * @param error  null if the probe succeeded, otherwise the failure: the stage's own error, or
     *               one that stands for an outcome the prober forced ({@link #reasonOf} puts either
     *               into words)
     */
    void apply(K target, T value, Throwable error);

    /**
     * Who does the work, in reasons: {@code "health check"}, {@code "load source"}.
     *
     * @return a short lower-case noun
     */
    String what();

    /**
     * The reason of an outcome forced by the timeout, such as {@code "no verdict within PT2S"}.
     *
     * @return the reason
     */
    String timedOut();

    /**
     * The reason of a failed outcome: an outcome the prober forced gives its own, any other reads
     * {@code "<what> failed with <cause>"}.
     *
     * @param error the error given to {@link #apply}
     * @return the reason, in words
     */
    default String reasonOf(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null
                ? error.getCause() : error;
        if (cause instanceof Probe.ForcedOutcome) {
            return cause.getMessage();
        }
        return what() + " failed with " + cause;
    }
}

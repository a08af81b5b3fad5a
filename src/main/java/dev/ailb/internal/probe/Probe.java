package dev.ailb.internal.probe;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One probe of one target: its outcome, the moment that outcome has been applied, and the stage
 * its work returned, to cancel when the outcome is forced. The outcome is the work's own, or one
 * the prober forces (timeout, stop); a forced outcome does its bookkeeping (cancel the work, mark
 * work still running) before it is published, so that no round sees the target free while its work
 * runs on. See {@link Probes} for the rules a probe lives by.
 */
final class Probe<T> {
    static final long NOT_ARMED = Long.MIN_VALUE;

    final CompletableFuture<T> outcome = new CompletableFuture<>();
    /** The reason of an outcome forced by the timeout. */
    final String timedOut;
    /** {@link System#nanoTime()} and the prober's ticker when the call starting its work began. */
    final long calledAtNanos;
    final long calledAtTick;
    /** Completed once its call has returned and its timeout runs, or once it has an outcome. */
    final CompletableFuture<Void> armed = new CompletableFuture<>();
    CompletableFuture<Void> applied; // set before the probe is visible to other threads
    /** {@link System#nanoTime()} when its timeout started, for on-demand rounds to wait on. */
    volatile long armedAtNanos = NOT_ARMED;
    /** The prober's ticker when its timeout started, for the rounds to expire it by. */
    volatile long armedAtTick;
    private final AtomicBoolean forced = new AtomicBoolean();
    private volatile CompletionStage<T> stage;
    /** Given the cancellation when the outcome is forced: cancels, and marks work still running. */
    private volatile Consumer<Runnable> whenForced;
    private ScheduledFuture<?> timer; // guarded by this
    private boolean settled; // guarded by this

    Probe(String timedOut, long nowTick) {
        this.timedOut = timedOut;
        this.calledAtNanos = System.nanoTime();
        this.calledAtTick = nowTick;
    }

    /** Starts the timeout: the call that started the work has returned. */
    void arm(long nowTick) {
        armedAtTick = nowTick;
        armedAtNanos = System.nanoTime();
        armed.complete(null);
    }

    /**
     * Whether its time is up by the prober's ticker: its timeout since it was armed, or, if its
     * call has not returned, {@code patience} since that call began.
     */
    boolean isOverdue(long nowTick, long timeoutNanos, long patienceNanos) {
        return armedAtNanos != NOT_ARMED
                ? nowTick - armedAtTick - timeoutNanos >= 0
                : nowTick - calledAtTick - patienceNanos >= 0;
    }

    /** Gives the probe its outcome unless it has one, and cancels its work if it had none. */
    void expire(String reason) {
        if (outcome.isDone() || !forced.compareAndSet(false, true)) {
            return;
        }
        Consumer<Runnable> hook = whenForced;
        CompletionStage<T> work = stage;
        try {
            if (hook != null) {
                hook.accept(() -> cancel(work));
            } else {
                cancel(work);
            }
        } finally {
            outcome.completeExceptionally(new ForcedOutcome(reason));
            armed.complete(null);
        }
    }

    /** The work's own outcome, unless one was forced (the work's cancellation included). */
    void complete(T value, Throwable error) {
        if (forced.get()) {
            return;
        }
        if (error != null) {
            outcome.completeExceptionally(error);
        } else {
            outcome.complete(value);
        }
        armed.complete(null);
    }

    /**
     * Records the work's stage and what to do if the outcome is forced; does it at once if the
     * outcome was forced meanwhile.
     */
    void started(CompletionStage<T> work, Consumer<Runnable> hook) {
        stage = work;
        whenForced = hook;
        if (forced.get()) {
            hook.accept(() -> cancel(work));
        }
    }

    private static void cancel(CompletionStage<?> work) {
        if (work == null) {
            return;
        }
        try {
            work.toCompletableFuture().cancel(true);
        } catch (UnsupportedOperationException e) {
            // a stage that cannot be converted cannot be cancelled: its work ends when it ends
        }
    }

    synchronized void setTimeout(ScheduledFuture<?> timeout) {
        if (settled) {
            timeout.cancel(false); // the outcome came first
        } else {
            timer = timeout;
        }
    }

    synchronized void cancelTimeout() {
        settled = true;
        if (timer != null) {
            timer.cancel(false);
        }
    }

    /** Why a probe has the outcome the prober gave it, rather than one its work gave. */
    static final class ForcedOutcome extends Exception {
        private static final long serialVersionUID = 1L;

        ForcedOutcome(String reason) {
            super(reason, null, false, false);
        }
    }
}

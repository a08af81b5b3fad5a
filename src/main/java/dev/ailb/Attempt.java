package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNotNull;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;

/**
 * One attempt of an {@link LoadBalancer#executeAsync} call, as its {@link AttemptCall} sees it:
 * the backend to send to and the lease that holds a connection there, the way to say that the
 * first token came ({@link #firstToken()}), and the way to learn that the balancer abandoned the
 * attempt ({@link #onCancel}, {@link #isCancelled()}).
 *
 * <p>The balancer ends the lease itself: as a success when the attempt's stage completes normally
 * and wins, a failure when it completes exceptionally or misses its first-token deadline, and
 * {@linkplain Lease#cancel() cancelled} when the attempt is abandoned (a hedge that lost, the
 * call's deadline, the caller's cancellation), each exactly once. An answer that outlives its
 * stage, such as a stream still being read, calls {@link #keepLeaseOpen()} before its stage
 * completes: the winner's lease is then the caller's to end.
 *
 * <p>Thread-safe.
 */
public final class Attempt {
    /** The attempt runs. */
    static final int LIVE = 0;
    /** Its stage completed normally. */
    static final int ANSWERED = 1;
    /** Its stage failed. */
    static final int FAILED = 2;
    /** The balancer abandoned it: it lost, missed a deadline or was cancelled by the caller. */
    static final int CANCELLED = 3;

    private final AsyncExecutor.Call<?> call;
    private final Lease lease;
    private final int number;
    private final boolean hedge;
    /** Written under the call's lock; read without it. */
    volatile int state = LIVE;
    /** Whether the first token came; written under the call's lock. */
    boolean firstTokenSeen;
    /** What to run when the attempt is cancelled; guarded by the call's lock, null once run. */
    private List<Runnable> onCancel = new ArrayList<>(1);
    volatile boolean keepLease;
    /** The first-token timer, or null. */
    volatile ScheduledFuture<?> firstTokenTimer;

    Attempt(AsyncExecutor.Call<?> call, Lease lease, int number, boolean hedge) {
        this.call = call;
        this.lease = lease;
        this.number = number;
        this.hedge = hedge;
    }

    /**
     * The backend to send the attempt to.
     *
     * @return the backend, never null
     */
    public Backend backend() {
        return lease.backend();
    }

    /**
     * The lease holding the attempt's connection; the balancer ends it (see the class comment).
     * A call may report on it ({@link Lease#reportCachedTokens}).
     *
     * @return the lease, never null
     */
    public Lease lease() {
        return lease;
    }

    /**
     * The attempt's number in its call: 1 for the first, then in the order they started, hedges
     * and retries alike.
     *
     * @return the number, at least 1
     */
    public int number() {
        return number;
    }

    /**
     * Whether the attempt is a hedge, sent while an earlier one still ran.
     *
     * @return {@code true} for a hedge
     */
    public boolean isHedge() {
        return hedge;
    }

    /**
     * Says that the first token (or first byte) of the answer arrived. The first attempt of a call
     * to say so wins: its first-token deadline stops, no hedge is sent any more, and the other
     * attempts still running are cancelled. The time since the attempt started is recorded as its
     * backend's time to first byte ({@link Lease#firstByte()}), which percentile hedge delays read.
     * An attempt whose stage completes without saying so counts its answer as its first token.
     *
     * @return {@code true} if this call recorded it; {@code false} if the attempt had said so
     *         already, has ended, or lost to another
     */
    public boolean firstToken() {
        return call.firstToken(this);
    }

    /**
     * Whether the balancer has abandoned this attempt: the work should stop, and whatever it
     * answers is ignored.
     *
     * @return {@code true} once cancelled
     */
    public boolean isCancelled() {
        return state == CANCELLED;
    }

    /**
     * Registers what stops the work when the balancer abandons the attempt, such as cancelling
     * the HTTP exchange. Run once, on the thread that abandons the attempt, after the attempt is
     * marked cancelled and before its lease is released; at once, on this thread, if the attempt
     * is cancelled already. Never run for an attempt that answered or failed by itself. An
     * exception it throws is logged at DEBUG and does not stop the others.
     *
     * @param action what to run
     * @throws NullPointerException if {@code action} is null
     */
    public void onCancel(Runnable action) {
        checkNotNull(action, "action");
        if (!call.addCancelAction(this, action)) {
            AsyncExecutor.runQuietly(action, this);
        }
    }

    /**
     * Keeps the lease open after the attempt's stage completes normally, for an answer still
     * being read: the caller then ends it ({@link Lease#success()}, {@link Lease#failure()} or
     * {@link Lease#close()}). Call it before the stage completes. An attempt abandoned later
     * still has its lease cancelled by the balancer.
     */
    public void keepLeaseOpen() {
        keepLease = true;
    }

    /** Takes the cancel actions to run, once; called under the call's lock. */
    List<Runnable> takeCancelActions() {
        List<Runnable> actions = onCancel;
        onCancel = null;
        return actions;
    }

    /** Adds a cancel action unless they were taken; called under the call's lock. */
    boolean addCancelAction(Runnable action) {
        if (onCancel == null) {
            return false;
        }
        onCancel.add(action);
        return true;
    }

    void stopFirstTokenTimer() {
        ScheduledFuture<?> timer = firstTokenTimer;
        if (timer != null) {
            timer.cancel(false);
        }
    }

    @Override
    public String toString() {
        String[] states = {"live", "answered", "failed", "cancelled"};
        return "Attempt{" + number + (hedge ? " hedge" : "") + " on " + lease.backend().id() + ", "
                + states[state] + '}';
    }
}

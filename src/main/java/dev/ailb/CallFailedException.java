package dev.ailb;

import java.util.List;

/**
 * Thrown by {@link LoadBalancer#execute} when no attempt succeeded. The cause is the last
 * attempt's failure; the earlier attempts' failures are attached as suppressed exceptions, in
 * order. {@link #reason()} says why no further attempt was made.
 *
 * <p>Immutable once thrown, like any exception whose suppressed list is no longer added to.
 */
public final class CallFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why the balancer stopped trying. */
    public enum Reason {
        /** The last failure was not retryable under the retry policy. */
        NOT_RETRYABLE,
        /** The policy's maximum number of attempts was reached. */
        ATTEMPTS_EXHAUSTED,
        /** The retry budget refused another attempt (too many retries lately). */
        BUDGET_EXHAUSTED,
        /** Every available backend had been tried already. */
        NO_UNTRIED_BACKEND,
        /** The balancer was closed while the attempt ran, and a closed balancer selects nothing. */
        BALANCER_CLOSED
    }

    /** Why no further attempt was made. */
    private final Reason reason;
    /** How many attempts were made. */
    private final int attempts;

    CallFailedException(Reason reason, List<Throwable> failures) {
        super(message(reason, failures), failures.get(failures.size() - 1));
        this.reason = reason;
        this.attempts = failures.size();
        for (int i = 0; i < failures.size() - 1; i++) {
            addSuppressed(failures.get(i));
        }
    }

    private static String message(Reason reason, List<Throwable> failures) {
        String what = failures.size() == 1 ? "1 attempt failed" : failures.size() + " attempts failed";
        switch (reason) {
            case NOT_RETRYABLE:
                return what + "; the last failure is not retryable: " + failures.get(failures.size() - 1);
            case ATTEMPTS_EXHAUSTED:
                return what + "; no attempts left: " + failures.get(failures.size() - 1);
            case BUDGET_EXHAUSTED:
                return what + "; the retry budget allows no more retries now: " + failures.get(failures.size() - 1);
            case BALANCER_CLOSED:
                return what + "; the load balancer was closed meanwhile: " + failures.get(failures.size() - 1);
            default:
                return what + "; every available backend was tried: " + failures.get(failures.size() - 1);
        }
    }

    /**
     * Why no further attempt was made.
     *
     * @return the reason, never null
     */
    public Reason reason() {
        return reason;
    }

    /**
     * How many attempts were made, each on a different backend.
     *
     * @return the number of attempts, at least 1
     */
    public int attempts() {
        return attempts;
    }
}

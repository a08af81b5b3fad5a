package dev.ailb;

import java.time.Duration;
import java.util.List;

/**
 * A deadline of {@link CallOptions} passed. Of kind {@link Kind#CALL}, it ends the call: the
 * future of {@link LoadBalancer#executeAsync} completes with it, the attempts that had failed
 * before attached as suppressed exceptions. Of kind {@link Kind#FIRST_TOKEN}, it is the failure of
 * one attempt that gave no first token in time; the call goes on with another attempt, and this
 * exception is seen only as the cause (or a suppressed exception) of the
 * {@link CallFailedException} of a call whose every attempt failed.
 *
 * <p>Immutable once thrown.
 */
public final class DeadlineExceededException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Which deadline passed. */
    public enum Kind {
        /** The deadline of the whole call, every attempt included. */
        CALL,
        /** The deadline of one attempt's first token. */
        FIRST_TOKEN
    }

    /** Which deadline passed. */
    private final Kind kind;
    /** The deadline as it was set. */
    private final Duration deadline;
    /** The attempts started when it passed. */
    private final int attempts;

    private DeadlineExceededException(Kind kind, Duration deadline, int attempts, String message) {
        super(message);
        this.kind = kind;
        this.deadline = deadline;
        this.attempts = attempts;
    }

    /** The end of a call whose deadline passed after {@code attempts} attempts. */
    static DeadlineExceededException call(Duration deadline, int attempts, List<Throwable> failures) {
        String when = attempts == 0 ? " passed while it waited for admission"
                : " passed after " + attempts + (attempts == 1 ? " attempt" : " attempts")
                        + (failures.isEmpty() ? "" : ", " + failures.size() + " of them failed");
        DeadlineExceededException e = new DeadlineExceededException(Kind.CALL, deadline, attempts,
                "the call's deadline of " + deadline + when);
        for (Throwable failure : failures) {
            e.addSuppressed(failure);
        }
        return e;
    }

    /** The failure of an attempt whose first token did not come from its backend in time. */
    static DeadlineExceededException firstToken(Duration deadline, String backendId) {
        return new DeadlineExceededException(Kind.FIRST_TOKEN, deadline, 1,
                "no first token from backend " + backendId + " within the first-token deadline of " + deadline);
    }

    /**
     * Which deadline passed.
     *
     * @return the kind, never null
     */
    public Kind kind() {
        return kind;
    }

    /**
     * The deadline that passed, as it was set.
     *
     * @return the deadline
     */
    public Duration deadline() {
        return deadline;
    }

    /**
     * The attempts the call had started when its deadline passed (hedges included), 0 if it was
     * still waiting in the admission queue; 1 for a first-token deadline, which is one attempt's.
     *
     * @return the number of attempts, at least 0
     */
    public int attempts() {
        return attempts;
    }
}

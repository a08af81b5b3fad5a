package dev.ailb.internal.probe;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * A round that a caller runs on demand and waits for: the probes it started or joined, and when its
 * launch last moved on. The caller is blocked in real time, so the round bounds each probe's wait
 * itself, whether or not a scheduler fires the probes' own timeouts, and forces the outcomes that
 * are late (see {@link Probes}); those are then applied on the calling thread.
 */
final class OnDemandRound {
    /** What the round waits beyond a probe's timeout, for an outcome its own timer forced. */
    private static final long GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /**
     * How long the round waits for one call that starts a probe, unless the timeout is longer. Such
     * a call must return promptly, but the first ones in a JVM load the HTTP client's classes and
     * create it, which takes far longer than a short timeout and is not the target's time; a call
     * still running after this is stuck, and the round goes on without it.
     */
    private static final long CALL_PATIENCE_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final List<Probe<?>> probes = new CopyOnWriteArrayList<>();
    private volatile long progressNanos = System.nanoTime();
    /** Set when the waiter gave up on a stuck call: the launch probes no further target. */
    private volatile boolean abandoned;

    private OnDemandRound() {
    }

    /** How long a call that starts a probe may take before it counts as stuck. */
    static long patienceNanos(Duration timeout) {
        return Math.max(timeout.toNanos(), CALL_PATIENCE_NANOS);
    }

    void add(Probe<?> probe) {
        progressNanos = System.nanoTime();
        probes.add(probe);
    }

    boolean isAbandoned() {
        return abandoned;
    }

    /**
     * Starts a round off the calling thread (a probe that blocks must not hold it) and waits for
     * every outcome to be applied. The launch calls each target's probe in turn, and the time those
     * calls take (the first ones create the shared HTTP client) is not held against the targets.
     * Each probe's outcome is then awaited until its own timeout has passed since its call returned,
     * as its own timer would measure it, and forced if still missing.
     *
     * @param what   the round in log lines and errors
     * @param caller whose calls start the probes, for the log line of one that is stuck
     * @throws IllegalStateException if the launch failed
     */
    static void launchAndWait(Session<?> s, Consumer<OnDemandRound> start, String what, Object caller) {
        OnDemandRound round = new OnDemandRound();
        CompletableFuture<Void> launched;
        try {
            launched = CompletableFuture.runAsync(() -> start.accept(round), s.workers());
        } catch (RejectedExecutionException e) {
            return; // stopped meanwhile: a stop drops every outcome
        }
        long timeout = s.timeout.toNanos();
        long patience = patienceNanos(s.timeout);
        try {
            round.awaitLaunch(s, launched, what, caller, patience);
            for (Probe<?> p : round.probes) {
                if (p.armedAtNanos == Probe.NOT_ARMED) {
                    // Its call has not returned: this round's, or another's that this one joined.
                    try {
                        p.armed.get(Math.max(0, p.calledAtNanos + patience - System.nanoTime()), TimeUnit.NANOSECONDS);
                    } catch (TimeoutException e) {
                        p.expire(p.timedOut); // stuck in its call, which breaks its contract
                    }
                }
                long armed = p.armedAtNanos;
                if (armed != Probe.NOT_ARMED) {
                    long wait = armed + timeout + GRACE_NANOS - System.nanoTime();
                    try {
                        p.applied.get(Math.max(0, wait), TimeUnit.NANOSECONDS);
                    } catch (TimeoutException e) {
                        p.expire(p.timedOut);
                    }
                }
                p.applied.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the work goes on and is applied when it ends
        } catch (ExecutionException e) {
            throw new IllegalStateException(what + " failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * Waits for the launch while it makes progress: at most {@code patience} from the start of the
     * call under way. A call that does not return by then breaks its contract; the launch stops
     * there, and the targets after it are not probed this time.
     */
    private void awaitLaunch(Session<?> s, CompletableFuture<Void> launched, String what, Object caller,
            long patience) throws InterruptedException, ExecutionException {
        for (;;) {
            long wait = progressNanos + patience - System.nanoTime();
            if (wait <= 0 && !launched.isDone()) {
                abandoned = true;
                s.id.log().warn("{} - {}: a call to {} has not returned within {}; it must start its work and return "
                        + "promptly. The targets after it are not probed this time", s.id.owner(), what, caller,
                        Duration.ofNanos(patience));
                return;
            }
            try {
                launched.get(Math.max(0, wait), TimeUnit.NANOSECONDS);
                return;
            } catch (TimeoutException e) {
                // progress may have been made meanwhile: measure again
            }
        }
    }
}

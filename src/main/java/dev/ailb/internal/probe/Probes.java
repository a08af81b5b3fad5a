package dev.ailb.internal.probe;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The probes of one kind in one {@link Session}: the ones awaiting their outcome, and the targets
 * whose last probe's work is still under way.
 *
 * <h2>One probe per target</h2>
 * A probe of a target is under way from the call that starts it ({@link ProbeKind#begin}) until
 * its work has ended: the stage it returned has completed and every task it handed to the
 * {@linkplain ProbeContext#executor() executor} has returned. A round that finds a target's probe
 * waiting for its outcome joins it rather than starting another; one that finds its work still
 * running past its outcome fails it at once without starting anything. So a target that never
 * answers, or answers with a body that never ends, holds one connection or one thread, never one
 * more per round.
 *
 * <h2>Forced outcomes</h2>
 * The outcome may come before the work has ended, forced by the timeout (a timer on the scheduler,
 * the overdue check of a scheduled round, or the bound of an on-demand round) or by a stop. The
 * prober then cancels the stage ({@code toCompletableFuture().cancel(true)}), which ends an HTTP
 * exchange and closes its connection, and marks the target busy while work it handed to the
 * executor still runs ({@link Work#forced}). That bookkeeping is done before the outcome is
 * published, so that no round sees the target free while its work runs on. The timeout runs from
 * the moment the call that began the probe returned: the first calls in a JVM may spend a while
 * creating the shared HTTP client, which is not the target's time to answer. An outcome is applied
 * once, and not at all once its session has closed.
 */
final class Probes<K, T> {
    private final Session<K> session;
    private final ProbeKind<K, T> kind;
    private final ConcurrentHashMap<K, Probe<T>> pending = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<K, Work<K>> busy = new ConcurrentHashMap<>();

    Probes(Session<K> session, ProbeKind<K, T> kind) {
        this.session = session;
        this.kind = kind;
    }

    /** Starts a probe of the target, or returns the one awaiting its outcome; adds it to the round. */
    Probe<T> probe(K target, OnDemandRound round) {
        long timeoutNanos = session.timeout.toNanos();
        long now = session.ticker.getAsLong();
        Probe<T> running = pending.get(target);
        if (running != null && round == null
                && running.isOverdue(now, timeoutNanos, OnDemandRound.patienceNanos(session.timeout))) {
            // Past its time with no timer to say so: started by an on-demand round before any
            // scheduler ran, whose caller was interrupted. Its outcome is due.
            running.expire(running.timedOut);
            running = pending.get(target);
        }
        Probe<T> created = null;
        if (running == null) {
            created = newProbe(target, now);
            running = pending.putIfAbsent(target, created);
        }
        Probe<T> p = running != null ? running : created;
        if (round != null) {
            round.add(p); // before the call below: the round times the call from here
        }
        if (running != null) {
            return p; // still under way from an earlier round, or raced: never two at once
        }
        if (busy.containsKey(target)) {
            // Its last probe outlived its outcome and is still running. Starting another would
            // hold one more connection or thread per round on this target alone.
            p.expire("previous " + kind.what() + " still under way, past its timeout of " + session.timeout);
            return p;
        }
        Work<K> work = new Work<>(target, this, session);
        CompletionStage<T> stage;
        try {
            stage = kind.begin(target, work);
        } catch (Throwable t) { // an Error too: one bad call must not end the rounds
            work.stageEnded();
            p.expire(kind.what() + " threw " + t);
            return p;
        }
        if (stage == null) {
            work.stageEnded();
            p.expire(kind.what() + " returned no result");
            return p;
        }
        p.started(stage, work::forced);
        p.arm(session.ticker.getAsLong()); // the call has returned: its timeout starts now
        ScheduledExecutorService timeouts = session.timeoutScheduler();
        if (timeouts != null && !p.outcome.isDone()) {
            try {
                p.setTimeout(timeouts.schedule(() -> p.expire(p.timedOut), timeoutNanos, TimeUnit.NANOSECONDS));
            } catch (RejectedExecutionException e) {
                session.id.log().debug("{} - {}: its scheduler refused a timeout; the round's own bound applies",
                        session.id.owner(), session.id.title(), e);
            }
        }
        stage.whenComplete((value, error) -> {
            work.stageEnded(); // first: once the outcome is applied, the next round may probe again
            if (error == null && value == null) {
                p.expire(kind.what() + " returned no result");
            } else {
                p.complete(value, error);
            }
        });
        return p;
    }

    /** A new probe of the target, whose outcome, once applied, leaves {@link #pending}. */
    private Probe<T> newProbe(K target, long now) {
        Probe<T> p = new Probe<>(kind.timedOut(), now);
        p.applied = p.outcome.handle((value, error) -> {
            p.cancelTimeout();
            pending.remove(target, p);
            if (!session.isClosed()) {
                try {
                    kind.apply(target, value, error);
                } catch (Throwable t) { // a listener's error must not end the rounds
                    session.id.log().error("{} - Could not apply the outcome of the {} of {}", session.id.owner(),
                            kind.what(), session.targets.describe(target), t);
                }
            }
            return null;
        });
        return p;
    }

    /** The probes awaiting their outcome now, for a session that closes to force them. */
    List<Probe<T>> pendingNow() {
        return new ArrayList<>(pending.values());
    }

    /** The target's work outlived its forced outcome: no probe of it starts until the work ends. */
    void busy(K target, Work<K> work) {
        busy.put(target, work);
    }

    /** The target's work that outlived its outcome has ended. */
    void free(K target, Work<K> work) {
        busy.remove(target, work);
    }
}

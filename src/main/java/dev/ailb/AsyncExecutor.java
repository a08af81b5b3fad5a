package dev.ailb;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The attempts of {@link LoadBalancer#executeAsync}: the first admitted by {@link Admission} (at
 * once on the strategy's pick when a backend has room, else from the queue), a hedge
 * to another backend when the first has no first token after the hedge delay, retries of failed
 * attempts and of attempts that missed their first-token deadline, and the call's deadline over
 * them all. Retries and hedges spend the retry budget of {@link RetryingExecutor}, which picks
 * their backends among those not tried yet.
 *
 * <h2>One call</h2>
 * A {@link Call} holds the attempts still running ({@code live}) and decides, under its own lock,
 * what each event does: a first token or an answer picks the winner and cancels the others; a
 * failure waits for the other attempts still running, or starts a retry, or ends the call; the
 * hedge timer starts the hedge; the deadline cancels everything. The lock is the call's alone, is
 * never held while the application's code runs, a lease is released or the result completes:
 * decisions are taken under it, their effects carried out after it.
 *
 * <p>Every attempt leaves {@code LIVE} exactly once, under the lock, and whoever moves it releases
 * its lease: a success for the winner ({@code ANSWERED}, unless it keeps its lease), a failure for
 * a failed attempt or one that missed its first token ({@code FAILED}, or {@code CANCELLED} with
 * its cancel actions run), a cancellation for one abandoned ({@code CANCELLED}). An event about an
 * attempt no longer {@code LIVE} changes nothing. So a lease is released once whatever races.
 *
 * <h2>How the outcomes count</h2>
 * An attempt abandoned without its own fault (a lost race, the call's deadline, the caller's
 * cancellation) is released with {@link Lease#cancel()}: no success or failure on its backend, no
 * response time, nothing for outlier detection. An attempt that missed its first-token deadline is
 * its backend's failure, like a timeout, with the time it held the connection.
 *
 * <h2>Timers</h2>
 * The deadlines and the hedge run on the scheduler given to the builder
 * ({@link LoadBalancerBuilder#callScheduler}), or on a daemon thread of this executor,
 * {@code ailb-call-timer-N}, created on first use and ended a minute after it was last busy, or
 * when the balancer closes once the timers already set have fired.
 *
 * <p>Thread-safe.
 */
final class AsyncExecutor {
    private static final Logger log = LoggerFactory.getLogger(AsyncExecutor.class);
    private static final AtomicInteger TIMER_THREADS = new AtomicInteger();

    private final Router router;
    /** The first attempt's lease, through admission: at once when a backend has room, else when room is freed. */
    private final Function<Request, CompletableFuture<Lease>> admit;
    private final RetryingExecutor retries;
    private final TrafficFigures figures;
    private final BooleanSupplier closed;
    private final ScheduledExecutorService scheduler; // null: timers run on ownTimer
    private final Object timerLock = new Object();
    private volatile ScheduledThreadPoolExecutor ownTimer; // written under timerLock

    AsyncExecutor(Router router, Function<Request, CompletableFuture<Lease>> admit, RetryingExecutor retries,
            TrafficFigures figures, BooleanSupplier closed, ScheduledExecutorService scheduler) {
        this.router = router;
        this.admit = admit;
        this.retries = retries;
        this.figures = figures;
        this.closed = closed;
        this.scheduler = scheduler;
    }

    /** Starts a call; its outcome is the returned future's. */
    <T> CompletableFuture<T> run(Request request, AttemptCall<T> call, CallOptions options) {
        Call<T> c = new Call<>(request, call, options);
        c.start();
        return c.result;
    }

    /** Lets the own timer thread end once the timers already set have fired. */
    void close() {
        ScheduledThreadPoolExecutor timer;
        synchronized (timerLock) {
            timer = ownTimer;
        }
        if (timer != null) {
            timer.shutdown(); // delayed timers still fire, so calls in flight keep their deadlines
        }
    }

    private ScheduledExecutorService timers() {
        if (scheduler != null) {
            return scheduler;
        }
        ScheduledThreadPoolExecutor timer = ownTimer;
        if (timer != null) {
            return timer;
        }
        synchronized (timerLock) { // once in the balancer's life
            if (ownTimer == null) {
                ScheduledThreadPoolExecutor created = new ScheduledThreadPoolExecutor(1, task -> {
                    Thread thread = new Thread(task, "ailb-call-timer-" + TIMER_THREADS.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                });
                created.setKeepAliveTime(1, TimeUnit.MINUTES);
                created.allowCoreThreadTimeOut(true);
                created.setRemoveOnCancelPolicy(true);
                ownTimer = created;
            }
            return ownTimer;
        }
    }

    private ScheduledFuture<?> schedule(Runnable task, long nanos) {
        return timers().schedule(task, nanos, TimeUnit.NANOSECONDS);
    }

    /** Runs an attempt's cancel action; its exception is logged, not thrown. */
    static void runQuietly(Runnable action, Attempt attempt) {
        try {
            action.run();
        } catch (RuntimeException e) {
            log.debug("The cancel action of {} threw", attempt, e);
        }
    }

    private static Throwable unwrap(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** One call of {@code executeAsync}; see the class comment. */
    final class Call<T> {
        final CompletableFuture<T> result = new CompletableFuture<>();
        private final Request request;
        private final AttemptCall<T> call;
        private final CallOptions options;

        // Guarded by this.
        private final List<Attempt> live = new ArrayList<>(2);
        private final List<Backend> tried = new ArrayList<>(2);
        private final List<Throwable> failures = new ArrayList<>(1);
        private int sequential; // the first attempt and its retries; hedges are not counted
        private int started;
        private int starting; // attempts decided on and not started yet
        private boolean hedgeDecided;
        private Attempt winner;
        private boolean done;
        private ScheduledFuture<?> deadlineTimer;
        private ScheduledFuture<?> hedgeTimer;

        Call(Request request, AttemptCall<T> call, CallOptions options) {
            this.request = request;
            this.call = call;
            this.options = options;
        }

        void start() {
            // The deadline is set before anything is acquired, so that a scheduler refusing it
            // leaves the balancer as it was; it covers the wait for admission too.
            long deadline = options.deadlineNanos();
            ScheduledFuture<?> deadlineSet = deadline < 0 ? null : schedule(this::deadlinePassed, deadline);
            CompletableFuture<Lease> admitted;
            try {
                admitted = admit.apply(request);
            } catch (RuntimeException | Error e) {
                stop(deadlineSet);
                throw e;
            }
            synchronized (this) {
                deadlineTimer = deadlineSet;
                starting = 1;
            }
            // Whoever completes the result (the caller cancelling it, the deadline) ends what still
            // runs, and withdraws the request from the admission queue if it still waits there.
            result.whenComplete((value, failure) -> {
                admitted.cancel(false);
                finish();
            });
            admitted.whenComplete((lease, failure) -> {
                if (failure != null) {
                    refused(unwrap(failure));
                } else {
                    firstAdmitted(lease);
                }
            });
        }

        /** Admission refused the first attempt (no backend, a full queue, a shed request) or was withdrawn. */
        private void refused(Throwable failure) {
            synchronized (this) {
                starting--;
                done = true;
            }
            stopTimers();
            result.completeExceptionally(failure); // a no-op when the caller's cancellation withdrew it
        }

        /** The first attempt has its lease: it starts, and the hedge delay runs from now. */
        private void firstAdmitted(Lease lease) {
            Backend first = lease.backend();
            retries.recordRequest(router.now());
            HedgeDelay hedging = options.hedgeDelay();
            ScheduledFuture<?> hedgeSet = null;
            if (hedging != null) {
                try {
                    hedgeSet = schedule(this::hedgeDue, hedging.nanosFor(first));
                } catch (RuntimeException e) {
                    lease.cancel();
                    refused(e);
                    return;
                }
            }
            boolean ended;
            synchronized (this) {
                ended = done;
                hedgeTimer = hedgeSet;
                tried.add(first);
                sequential = 1;
            }
            if (ended) {
                stop(hedgeSet); // the deadline passed or the caller gave up while it waited
            }
            startAttempt(lease, false);
        }

        /** Starts an attempt on the lease acquired for it. */
        private void startAttempt(Lease lease, boolean hedge) {
            Attempt attempt = null;
            synchronized (this) {
                starting--;
                if (!done) {
                    attempt = new Attempt(this, lease, ++started, hedge);
                    live.add(attempt);
                }
            }
            if (attempt == null) {
                lease.cancel(); // the call ended while the attempt was on its way
                return;
            }
            long firstTokenNanos = options.firstTokenNanos();
            if (firstTokenNanos >= 0) {
                Attempt timed = attempt;
                try {
                    attempt.firstTokenTimer = schedule(() -> firstTokenMissed(timed), firstTokenNanos);
                } catch (RejectedExecutionException e) {
                    failed(attempt, e, false);
                    return;
                }
                if (attempt.state != Attempt.LIVE) {
                    attempt.stopFirstTokenTimer(); // it ended while the timer was being set
                }
            }
            CompletionStage<T> stage;
            try {
                stage = call.start(attempt);
                if (stage == null) {
                    throw new NullPointerException("the call returned no stage for " + attempt
                            + " (expected: a CompletionStage)");
                }
            } catch (Throwable t) {
                failed(attempt, t, false);
                return;
            }
            Attempt started = attempt;
            stage.whenComplete((value, failure) -> {
                if (failure == null) {
                    answered(started, value);
                } else {
                    failed(started, unwrap(failure), false);
                }
            });
        }

        /** The first token of an attempt: the winner, unless another won first. */
        boolean firstToken(Attempt attempt) {
            List<Attempt> losers;
            synchronized (this) {
                if (attempt.state != Attempt.LIVE || attempt.firstTokenSeen) {
                    return false;
                }
                attempt.firstTokenSeen = true;
                winner = attempt;
                losers = takeLiveExcept(attempt);
            }
            attempt.stopFirstTokenTimer();
            attempt.lease().firstByte();
            stopHedge();
            abandon(losers);
            return true;
        }

        /** An attempt's stage completed normally: the call's answer, unless the attempt was abandoned. */
        private void answered(Attempt attempt, T value) {
            List<Attempt> losers;
            synchronized (this) {
                if (attempt.state != Attempt.LIVE) {
                    return; // abandoned: its answer is dropped, its lease was cancelled
                }
                attempt.state = Attempt.ANSWERED;
                attempt.takeCancelActions();
                live.remove(attempt);
                losers = takeLive();
                done = true;
            }
            attempt.stopFirstTokenTimer();
            if (!attempt.keepLease) {
                attempt.lease().success();
            }
            abandon(losers);
            stopTimers();
            if (!result.complete(value) && attempt.keepLease) {
                attempt.lease().cancel(); // the caller gave up on the call first: nobody reads this answer
            }
        }

        /**
         * An attempt failed, or missed its first token ({@code timedOut}); returns whether it was
         * still running. Retries when nothing else runs and the policy and budget allow.
         */
        private boolean failed(Attempt attempt, Throwable failure, boolean timedOut) {
            List<Attempt> losers = List.of();
            List<Throwable> failed = null;
            List<Runnable> cancelActions;
            CallFailedException.Reason stop = null;
            Backend next = null;
            int nextNumber = 0;
            synchronized (this) {
                if (attempt.state != Attempt.LIVE || (timedOut && attempt.firstTokenSeen)) {
                    return false;
                }
                attempt.state = timedOut ? Attempt.CANCELLED : Attempt.FAILED;
                cancelActions = attempt.takeCancelActions();
                live.remove(attempt);
                if (winner == attempt) {
                    winner = null;
                }
                failures.add(failure);
                if (failure instanceof Error) {
                    done = true;
                } else if (!timedOut && !retries.policy().isRetryable(failure)) {
                    stop = CallFailedException.Reason.NOT_RETRYABLE;
                } else if (!live.isEmpty() || starting > 0) {
                    // Another attempt still runs: the call waits for it, and retries only if it fails too.
                } else if (closed.getAsBoolean()) {
                    stop = CallFailedException.Reason.BALANCER_CLOSED;
                } else if (sequential >= retries.policy().maxAttempts()) {
                    stop = CallFailedException.Reason.ATTEMPTS_EXHAUSTED;
                } else if (!retries.hasUntried(request, tried)) {
                    stop = CallFailedException.Reason.NO_UNTRIED_BACKEND;
                } else if (!retries.tryRetry(router.now())) {
                    stop = CallFailedException.Reason.BUDGET_EXHAUSTED;
                } else {
                    next = retries.pickUntried(request, tried, false);
                    if (next == null) {
                        stop = closed.getAsBoolean() ? CallFailedException.Reason.BALANCER_CLOSED
                                : CallFailedException.Reason.NO_UNTRIED_BACKEND;
                    } else {
                        tried.add(next);
                        nextNumber = tried.size();
                        sequential++;
                        starting++;
                    }
                }
                if (stop != null || failure instanceof Error) {
                    done = true;
                    losers = takeLive();
                    failed = List.copyOf(failures);
                }
            }
            attempt.stopFirstTokenTimer();
            if (timedOut) {
                for (Runnable action : cancelActions) {
                    runQuietly(action, attempt);
                }
            }
            attempt.lease().failure(failure);
            if (failed != null) {
                abandon(losers);
                stopTimers();
                result.completeExceptionally(failure instanceof Error ? failure : new CallFailedException(stop, failed));
            } else if (next != null) {
                startAttempt(router.lease(next, request, RoutingDecision.Reason.RETRY, nextNumber, attempt.backend()),
                        false);
            }
            return true;
        }

        private void firstTokenMissed(Attempt attempt) {
            Duration deadline = options.firstTokenDeadline().orElseThrow();
            if (failed(attempt, DeadlineExceededException.firstToken(deadline, attempt.backend().id()), true)) {
                figures.countFirstTokenTimeout();
            }
        }

        private void hedgeDue() {
            Backend hedge;
            Backend racing;
            int number;
            synchronized (this) {
                if (done || hedgeDecided || winner != null || live.isEmpty()) {
                    return;
                }
                hedgeDecided = true; // one hedge per call: one refused is not asked for again
                if (closed.getAsBoolean() || !retries.hasUntried(request, tried) || !retries.tryHedge(router.now())) {
                    return;
                }
                hedge = retries.pickUntried(request, tried, true);
                if (hedge == null) {
                    return;
                }
                tried.add(hedge);
                number = tried.size();
                racing = live.get(0).backend();
                starting++;
            }
            startAttempt(router.lease(hedge, request, RoutingDecision.Reason.HEDGE, number, racing), true);
        }

        private void deadlinePassed() {
            List<Attempt> losers;
            List<Throwable> failed;
            int attempts;
            synchronized (this) {
                if (done) {
                    return;
                }
                done = true;
                losers = takeLive();
                failed = List.copyOf(failures);
                attempts = started;
            }
            figures.countDeadlineExceeded();
            abandon(losers);
            stopTimers();
            result.completeExceptionally(
                    DeadlineExceededException.call(options.deadline().orElseThrow(), attempts, failed));
        }

        /** The result completed; whatever still runs is abandoned (the caller cancelled, say). */
        private void finish() {
            List<Attempt> losers;
            synchronized (this) {
                done = true;
                losers = takeLive();
            }
            abandon(losers);
            stopTimers();
        }

        boolean addCancelAction(Attempt attempt, Runnable action) {
            synchronized (this) {
                if (attempt.state == Attempt.LIVE) {
                    return attempt.addCancelAction(action);
                }
                if (attempt.state != Attempt.CANCELLED) {
                    return true; // it ended by itself: nothing to stop, the action is dropped
                }
                return false;
            }
        }

        /** Marks every live attempt cancelled and takes them; holds the lock. */
        private List<Attempt> takeLive() {
            return takeLiveExcept(null);
        }

        private List<Attempt> takeLiveExcept(Attempt kept) {
            if (live.isEmpty() || (live.size() == 1 && live.get(0) == kept)) {
                return List.of();
            }
            List<Attempt> taken = new ArrayList<>(live.size());
            for (Attempt a : live) {
                if (a != kept) {
                    a.state = Attempt.CANCELLED;
                    taken.add(a);
                }
            }
            live.removeAll(taken);
            return taken;
        }

        /** Stops and releases attempts already marked cancelled, outside the lock. */
        private void abandon(List<Attempt> losers) {
            for (Attempt a : losers) {
                List<Runnable> actions;
                synchronized (this) {
                    actions = a.takeCancelActions();
                }
                a.stopFirstTokenTimer();
                if (actions != null) {
                    for (Runnable action : actions) {
                        runQuietly(action, a);
                    }
                }
                a.lease().cancel();
            }
        }

        private void stopTimers() {
            ScheduledFuture<?> deadline;
            ScheduledFuture<?> hedge;
            synchronized (this) {
                deadline = deadlineTimer;
                hedge = hedgeTimer;
                deadlineTimer = null;
                hedgeTimer = null;
            }
            stop(deadline);
            stop(hedge);
        }

        private void stopHedge() {
            ScheduledFuture<?> hedge;
            synchronized (this) {
                hedge = hedgeTimer;
                hedgeTimer = null;
            }
            stop(hedge);
        }

        private void stop(ScheduledFuture<?> timer) {
            if (timer != null) {
                timer.cancel(false);
            }
        }
    }
}

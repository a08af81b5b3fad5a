package dev.ailb;

import dev.ailb.health.HealthCheck;
import dev.ailb.health.HealthCheckContext;
import dev.ailb.health.HealthCheckResult;
import dev.ailb.health.LoadSource;
import java.lang.reflect.Method;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a balancer's active health checks and load polls: rounds on a scheduler with jitter, and
 * for every backend at most one check and one poll under way, each bounded by the timeout whatever
 * it does. Verdicts go to {@link LoadBalancer#onCheckResult}, which applies the thresholds, and
 * reports to {@link LoadBalancer#onLoadPoll}.
 *
 * <h2>One probe per backend</h2>
 * A check and a poll are both <em>probes</em> and share one mechanism ({@link Probes}). A probe of
 * a backend is under way from the call that starts it until its work has ended: the stage it
 * returned has completed and every task it handed to the {@linkplain HealthCheckContext#executor()
 * executor} has returned. Its outcome may come first, forced by the timeout or by a stop; the
 * checker then cancels the stage ({@code toCompletableFuture().cancel(true)}), which ends the
 * built-in HTTP exchanges and closes their connections. A round that finds a backend's probe
 * waiting for its outcome waits for it too; one that finds its work still running past the
 * outcome counts a failure for it without starting anything. So a backend that never answers, or
 * answers with a body that never ends, holds one connection or one thread, never one more per
 * round.
 *
 * <h2>Threads</h2>
 * Blocking work runs on the workers, a pool without a queue: a task gets a thread at once, so work
 * that hangs on one backend never holds up another backend's check, and the work hanging holds one
 * thread per backend at most. Idle workers end after ten seconds. The resources live in a
 * {@link Session}, opened by the first start or on-demand round and closed by {@link #stop()};
 * an outcome that arrives after its session closed is dropped. Once {@link #close()}d, the checker
 * opens no session again.
 */
final class HealthChecker {
    private static final Logger log = LoggerFactory.getLogger(HealthChecker.class);
    private static final AtomicInteger SCHEDULER_THREADS = new AtomicInteger();
    private static final AtomicInteger WORKER_THREADS = new AtomicInteger();
    private static final long AWAIT_TERMINATION_SECONDS = 5;
    private static final long IDLE_WORKER_SECONDS = 10;
    /** What an on-demand round waits beyond a probe's timeout, for an outcome its own timer forced. */
    private static final long GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /**
     * How long an on-demand round waits for one call that starts a probe, unless the timeout is
     * longer. Such a call must return promptly, but the first ones in a JVM load the HTTP client's
     * classes and create it, which takes far longer than a short timeout and is not the backend's
     * time; a call still running after this is stuck, and the round goes on without it.
     */
    private static final long CALL_PATIENCE_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final LoadBalancer balancer;
    private final HealthCheck check; // null: no active check, the rounds only end ejections
    private final long intervalNanos;
    private final long jitterNanos;
    private final Duration timeout;
    private final ScheduledExecutorService userScheduler; // null: the session starts its own
    private final RandomGenerator random;
    private final LoadSource loadSource; // null: no load polling
    private final long pollIntervalNanos;

    private final Object lock = new Object();
    private Session session; // guarded by lock
    private boolean running; // guarded by lock
    private boolean closed; // guarded by lock
    private ScheduledFuture<?> nextRound; // guarded by lock
    private ScheduledFuture<?> nextPoll; // guarded by lock

    HealthChecker(LoadBalancer balancer, HealthCheck check, Duration interval, Duration timeout, Duration jitter,
            ScheduledExecutorService userScheduler, RandomGenerator random, LoadSource loadSource,
            Duration pollInterval) {
        this.balancer = balancer;
        this.check = check;
        this.loadSource = loadSource;
        this.pollIntervalNanos = pollInterval.toNanos();
        this.intervalNanos = interval.toNanos();
        this.jitterNanos = jitter.toNanos();
        this.timeout = timeout;
        this.userScheduler = userScheduler;
        this.random = random;
    }

    /**
     * Starts the periodic rounds (and polls).
     *
     * @return false if they were running already
     * @throws IllegalStateException if the checker was closed, or the scheduler refused the first round
     */
    boolean start() {
        Session opened;
        RejectedExecutionException refused;
        synchronized (lock) {
            if (running) {
                return false;
            }
            opened = session == null ? openSession() : null;
            Session s = session;
            long delay = jitterNanos == 0 ? 0 : random.nextLong(0, jitterNanos + 1);
            try {
                nextRound = s.scheduler().schedule(() -> scheduledRound(s), delay, TimeUnit.NANOSECONDS);
                if (loadSource != null) {
                    nextPoll = s.scheduler().schedule(() -> scheduledPoll(s), 0, TimeUnit.NANOSECONDS);
                }
                running = true;
                refused = null;
            } catch (RejectedExecutionException e) {
                if (nextRound != null) {
                    nextRound.cancel(false);
                    nextRound = null;
                }
                if (opened != null) {
                    session = null; // closed below, outside the lock: closing joins threads
                }
                refused = e;
            }
        }
        if (refused != null) {
            if (opened != null) {
                opened.close();
            }
            throw new IllegalStateException("health check scheduler refused the first round: " + refused, refused);
        }
        if (loadSource != null) {
            log.info("Load polling started: {} every {}", loadSource, Duration.ofNanos(pollIntervalNanos));
        }
        if (check == null) {
            log.info("Health checker started with no active check: its rounds only end ejections on time");
        } else {
            log.info("Health checker started: {} every {} (jitter {}), timeout {}", check,
                    Duration.ofNanos(intervalNanos), Duration.ofNanos(jitterNanos), timeout);
        }
        return true;
    }

    boolean stop() {
        Session s;
        boolean wasRunning;
        synchronized (lock) {
            wasRunning = running;
            running = false;
            if (nextRound != null) {
                nextRound.cancel(false);
                nextRound = null;
            }
            if (nextPoll != null) {
                nextPoll.cancel(false);
                nextPoll = null;
            }
            s = session;
            session = null;
        }
        if (s != null) {
            s.close();
        }
        if (wasRunning) {
            log.info("Health checker stopped");
        }
        return wasRunning;
    }

    /**
     * Stops the checker for good: a start or on-demand round that comes later, or races this call,
     * is refused, so nothing the checker runs outlives the balancer's close.
     */
    void close() {
        synchronized (lock) {
            closed = true;
        }
        stop();
    }

    boolean isRunning() {
        synchronized (lock) {
            return running;
        }
    }

    /**
     * One round on demand; returns once every check has a verdict. The caller is blocked in real
     * time, so each check's wait is bounded by the timeout, counted from the moment its call
     * returned, whether or not a scheduler fires the checks' own timeouts. Verdicts forced by that
     * bound are applied on the calling thread.
     *
     * @throws IllegalStateException if the checker was closed
     */
    void runOnce() {
        if (check == null) {
            synchronized (lock) {
                requireNotClosed();
            }
            balancer.readmitDueNow(); // nothing to send anywhere: no thread needed
            return;
        }
        Session s;
        synchronized (lock) {
            s = openSession();
        }
        launchAndWait(s, round -> startRound(s, round), "health check round");
    }

    /**
     * One poll of every registered backend's load on demand; returns once every poll has ended or
     * its timeout has passed, the late ones then counting as timed out.
     *
     * @throws IllegalStateException if there is no load source, or the checker was closed
     */
    void pollOnce() {
        if (loadSource == null) {
            throw new IllegalStateException("no load source (expected: LoadBalancerBuilder.loadSource)");
        }
        Session s;
        synchronized (lock) {
            s = openSession();
        }
        launchAndWait(s, round -> startPolls(s, round), "load poll");
    }

    /**
     * Starts a round off the calling thread (a probe that blocks must not hold it) and waits for
     * every outcome to be applied. The launch calls each backend's check in turn, and the time
     * those calls take (the first ones create the shared HTTP client) is not held against the
     * backends. Each probe's outcome is then awaited until its own timeout has passed since its
     * call returned, as its own timer would measure it, and expired if still missing.
     */
    private void launchAndWait(Session s, Consumer<Round> start, String what) {
        Round round = new Round();
        CompletableFuture<Void> launched;
        try {
            launched = CompletableFuture.runAsync(() -> start.accept(round), s.workers());
        } catch (RejectedExecutionException e) {
            return; // stopped meanwhile: a stop drops every outcome
        }
        long patience = Math.max(timeout.toNanos(), CALL_PATIENCE_NANOS);
        try {
            awaitLaunch(round, launched, what, patience);
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
                    long wait = armed + timeout.toNanos() + GRACE_NANOS - System.nanoTime();
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
     * there, and the backends after it are not probed this time.
     */
    private void awaitLaunch(Round round, CompletableFuture<Void> launched, String what, long patience)
            throws InterruptedException, ExecutionException {
        for (;;) {
            long wait = round.progressNanos + patience - System.nanoTime();
            if (wait <= 0 && !launched.isDone()) {
                round.abandoned = true;
                log.warn("{}: a call to {} has not returned within {}; it must start its work and return "
                        + "promptly. The backends after it are not probed this time", what,
                        check != null ? check : loadSource, Duration.ofNanos(patience));
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

    private void scheduledPoll(Session s) {
        if (!isCurrent(s)) {
            return;
        }
        try {
            startPolls(s, null);
        } catch (Throwable t) { // the polls must go on whatever one of them does
            log.error("Load poll failed", t);
        }
        synchronized (lock) {
            if (!running || session != s) {
                return;
            }
            try {
                nextPoll = s.scheduler().schedule(() -> scheduledPoll(s), pollIntervalNanos, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                log.error("Load polling stopped: its scheduler refused the next poll", e);
            }
        }
    }

    private void scheduledRound(Session s) {
        if (!isCurrent(s)) {
            return;
        }
        try {
            startRound(s, null);
        } catch (Throwable t) { // the rounds must go on whatever one of them does
            log.error("Health check round failed", t);
        }
        synchronized (lock) {
            if (!running || session != s) {
                return;
            }
            long delay = intervalNanos + (jitterNanos == 0 ? 0 : random.nextLong(-jitterNanos, jitterNanos + 1));
            try {
                nextRound = s.scheduler().schedule(() -> scheduledRound(s), delay, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                running = false;
                log.error("Health checker stopped: its scheduler refused the next round", e);
            }
        }
    }

    private boolean isCurrent(Session s) {
        synchronized (lock) {
            return running && session == s;
        }
    }

    private void startRound(Session s, Round round) {
        balancer.readmitDueNow();
        if (check == null) {
            return;
        }
        for (Backend b : balancer.backendsToCheck()) {
            if (round != null && round.abandoned) {
                return;
            }
            if (!b.isRemoved()) {
                s.checks.probe(b, round);
            }
        }
    }

    private void startPolls(Session s, Round round) {
        for (Backend b : balancer.getBackends()) {
            if (round != null && round.abandoned) {
                return;
            }
            if (!b.isRemoved()) {
                s.polls.probe(b, round);
            }
        }
    }

    /** Holds the lock. */
    private Session openSession() {
        requireNotClosed();
        if (session == null) {
            session = new Session();
        }
        return session;
    }

    /** Holds the lock. */
    private void requireNotClosed() {
        if (closed) {
            throw new IllegalStateException("load balancer is closed");
        }
    }

    /** The probes one on-demand round started or joined, and when its launch last moved on. */
    private static final class Round {
        final List<Probe<?>> probes = new CopyOnWriteArrayList<>();
        volatile long progressNanos = System.nanoTime();
        /** Set when the waiter gave up on a stuck call: the launch probes no further backend. */
        volatile boolean abandoned;

        void add(Probe<?> probe) {
            progressNanos = System.nanoTime();
            probes.add(probe);
        }
    }

    /** Why a probe has the outcome the checker gave it, rather than one its work gave. */
    private static final class ForcedOutcome extends Exception {
        private static final long serialVersionUID = 1L;

        ForcedOutcome(String reason) {
            super(reason, null, false, false);
        }
    }

    /**
     * One check or load poll of one backend: its outcome, the moment that outcome has been applied,
     * and the stage its work returned, to cancel when the outcome is forced. The outcome is the
     * work's own, or one the checker forces (timeout, stop); a forced outcome does its bookkeeping
     * (cancel the work, mark work still running) before it is published, so that no round sees
     * the backend free while its work runs on.
     */
    private static final class Probe<T> {
        static final long NOT_ARMED = Long.MIN_VALUE;

        final CompletableFuture<T> outcome = new CompletableFuture<>();
        /** The reason of an outcome forced by the timeout. */
        final String timedOut;
        /** {@link System#nanoTime()} and the balancer's ticker when the call starting its work began. */
        final long calledAtNanos;
        final long calledAtTick;
        /** Completed once its call has returned and its timeout runs, or once it has an outcome. */
        final CompletableFuture<Void> armed = new CompletableFuture<>();
        CompletableFuture<Void> applied; // set before the probe is visible to other threads
        /** {@link System#nanoTime()} when its timeout started, for on-demand rounds to wait on. */
        volatile long armedAtNanos = NOT_ARMED;
        /** The balancer's ticker when its timeout started, for the rounds to expire it by. */
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
         * Whether its time is up by the balancer's ticker: its timeout since it was armed, or, if
         * its call has not returned, {@code patience} since that call began.
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
    }

    /** Threads this checker started, so that it never waits for its own thread to end. */
    private static final class CheckerThread extends Thread {
        CheckerThread(Runnable task, String name) {
            super(task, name);
            setDaemon(true);
        }
    }

    /** Names the threads of one pool and remembers them, so that stopping can wait for every one. */
    private static final class CheckerThreads implements ThreadFactory {
        private final String prefix;
        private final AtomicInteger counter;
        private final List<Thread> started = new ArrayList<>(); // guarded by this

        CheckerThreads(String prefix, AtomicInteger counter) {
            this.prefix = prefix;
            this.counter = counter;
        }

        @Override
        public synchronized Thread newThread(Runnable task) {
            started.removeIf(t -> t.getState() == Thread.State.TERMINATED);
            Thread thread = new CheckerThread(task, prefix + counter.incrementAndGet());
            started.add(thread);
            return thread;
        }

        synchronized List<Thread> started() {
            return new ArrayList<>(started);
        }
    }

    /** What one run of the checker holds, from its start (or first on-demand round) to its stop. */
    private final class Session {
        final Probes<HealthCheckResult> checks = new Probes<>() {
            @Override
            CompletionStage<HealthCheckResult> begin(Backend backend, Work work) {
                return check.check(backend, work);
            }

            @Override
            void apply(Backend backend, HealthCheckResult result, Throwable error) {
                balancer.onCheckResult(backend, error == null ? result : HealthCheckResult.unhealthy(reasonOf(error)));
            }

            @Override
            String what() {
                return "health check";
            }

            @Override
            String timedOut() {
                return "no verdict within " + timeout;
            }
        };

        final Probes<LoadReport> polls = new Probes<>() {
            @Override
            CompletionStage<LoadReport> begin(Backend backend, Work work) {
                return loadSource.fetch(backend, work);
            }

            @Override
            void apply(Backend backend, LoadReport report, Throwable error) {
                balancer.onLoadPoll(backend, report, error);
            }

            @Override
            String what() {
                return "load source";
            }

            @Override
            String timedOut() {
                return "no report within " + timeout;
            }
        };

        private final CheckerThreads schedulerThreads = new CheckerThreads("ailb-health-", SCHEDULER_THREADS);
        private final CheckerThreads workerThreads = new CheckerThreads("ailb-health-worker-", WORKER_THREADS);
        private volatile boolean closed;
        private ScheduledThreadPoolExecutor ownScheduler; // guarded by this
        private ThreadPoolExecutor workers; // guarded by this
        private HttpClient httpClient; // guarded by this

        synchronized ScheduledExecutorService scheduler() {
            if (userScheduler != null) {
                return userScheduler;
            }
            if (ownScheduler == null) {
                requireOpen();
                ownScheduler = new ScheduledThreadPoolExecutor(1, schedulerThreads);
                ownScheduler.setRemoveOnCancelPolicy(true); // cancelled timeouts must not pile up
            }
            return ownScheduler;
        }

        /** Where probe timeouts fire: a scheduler already there; never one started just for them. */
        private synchronized ScheduledExecutorService timeoutScheduler() {
            return userScheduler != null ? userScheduler : ownScheduler;
        }

        synchronized ExecutorService workers() {
            if (workers == null) {
                requireOpen();
                // No queue: a task that would wait behind work hanging on other backends gets a
                // thread of its own. The probes bound the threads: one probe under way per backend.
                workers = new ThreadPoolExecutor(0, Integer.MAX_VALUE, IDLE_WORKER_SECONDS, TimeUnit.SECONDS,
                        new SynchronousQueue<>(), workerThreads);
            }
            return workers;
        }

        synchronized HttpClient httpClient() {
            if (httpClient == null) {
                requireOpen();
                httpClient = HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(timeout)
                        .followRedirects(HttpClient.Redirect.NEVER)
                        .executor(workers())
                        .build();
            }
            return httpClient;
        }

        private void requireOpen() {
            if (closed) {
                throw new RejectedExecutionException("health checker stopped");
            }
        }

        /**
         * The probes of one kind in this session: the ones awaiting their outcome, and the backends
         * whose last probe's work is still under way. See the class comment.
         */
        private abstract class Probes<T> {
            final ConcurrentHashMap<Backend, Probe<T>> pending = new ConcurrentHashMap<>();
            final ConcurrentHashMap<Backend, Work> busy = new ConcurrentHashMap<>();

            /** Starts the work of one probe. */
            abstract CompletionStage<T> begin(Backend backend, Work work);

            /** Applies an outcome: a value, or the error that stands for the failure. */
            abstract void apply(Backend backend, T value, Throwable error);

            /** Who did the work, for the reasons: "health check", "load source". */
            abstract String what();

            /** The reason of an outcome forced by the timeout. */
            abstract String timedOut();

            /** Starts a probe of the backend, or returns the one awaiting its outcome. */
            Probe<T> probe(Backend backend, Round round) {
                long now = balancer.ticker().read();
                Probe<T> running = pending.get(backend);
                if (running != null && round == null
                        && running.isOverdue(now, timeout.toNanos(), Math.max(timeout.toNanos(), CALL_PATIENCE_NANOS))) {
                    // Past its time with no timer to say so: started by an on-demand round before
                    // any scheduler ran, whose caller was interrupted. Its outcome is due.
                    running.expire(running.timedOut);
                    running = pending.get(backend);
                }
                Probe<T> created = null;
                if (running == null) {
                    created = newProbe(backend, now);
                    running = pending.putIfAbsent(backend, created);
                }
                Probe<T> p = running != null ? running : created;
                if (round != null) {
                    round.add(p); // before the call below: the round times the call from here
                }
                if (running != null) {
                    return p; // still under way from an earlier round, or raced: never two at once
                }
                if (busy.containsKey(backend)) {
                    // Its last probe outlived its outcome and is still running. Starting another
                    // would hold one more connection or thread per round on this backend alone.
                    p.expire("previous " + what() + " still under way, past its timeout of " + timeout);
                    return p;
                }
                Work work = new Work(backend, this);
                CompletionStage<T> stage;
                try {
                    stage = begin(backend, work);
                } catch (Throwable t) { // an Error too: one bad call must not end the rounds
                    work.stageEnded();
                    p.expire(what() + " threw " + t);
                    return p;
                }
                if (stage == null) {
                    work.stageEnded();
                    p.expire(what() + " returned no result");
                    return p;
                }
                p.started(stage, work::forced);
                // The timeout starts once the call has returned: the first call may spend a while
                // creating the shared HTTP client, which is not the backend's time to answer.
                p.arm(balancer.ticker().read());
                ScheduledExecutorService timeouts = timeoutScheduler();
                if (timeouts != null && !p.outcome.isDone()) {
                    try {
                        p.setTimeout(timeouts.schedule(() -> p.expire(p.timedOut), timeout.toNanos(),
                                TimeUnit.NANOSECONDS));
                    } catch (RejectedExecutionException e) {
                        log.debug("Health check scheduler refused a timeout; the round's own bound applies", e);
                    }
                }
                stage.whenComplete((value, error) -> {
                    work.stageEnded(); // first: once the outcome is applied, the next round may probe again
                    if (error == null && value == null) {
                        p.expire(what() + " returned no result");
                    } else {
                        p.complete(value, error);
                    }
                });
                return p;
            }

            /** A new probe of the backend, whose outcome, once applied, leaves {@link #pending}. */
            private Probe<T> newProbe(Backend backend, long now) {
                Probe<T> p = new Probe<>(timedOut(), now);
                p.applied = p.outcome.handle((value, error) -> {
                    p.cancelTimeout();
                    pending.remove(backend, p);
                    if (!closed) {
                        try {
                            apply(backend, value, error);
                        } catch (Throwable t) { // a listener's error must not end the rounds
                            log.error("Could not apply the outcome of the {} of backend {}", what(), backend.id(), t);
                        }
                    }
                    return null;
                });
                return p;
            }

            String reasonOf(Throwable error) {
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                if (cause instanceof ForcedOutcome) {
                    return cause.getMessage();
                }
                return what() + " failed with " + cause;
            }
        }

        /**
         * What one probe of one backend is lent: the session's timeout and HTTP client, and the
         * workers through an executor that counts the tasks handed to it, so that the probe's
         * work is known to have ended once its stage has ended and every one of them has returned.
         */
        private final class Work implements HealthCheckContext, Executor {
            /** The work whose task the current thread is running, if any. */
            private static final ThreadLocal<Work> RUNNING = new ThreadLocal<>();

            private final Backend backend;
            private final Probes<?> owner;
            private int unstarted; // tasks handed to the workers and not started; guarded by this
            private int running; // tasks started and not returned; guarded by this
            private boolean stageEnded; // guarded by this
            private boolean overdue; // guarded by this

            Work(Backend backend, Probes<?> owner) {
                this.backend = backend;
                this.owner = owner;
            }

            @Override
            public Duration timeout() {
                return timeout;
            }

            @Override
            public Executor executor() {
                return this;
            }

            @Override
            public HttpClient httpClient() {
                return Session.this.httpClient();
            }

            @Override
            public void execute(Runnable task) {
                synchronized (this) {
                    unstarted++;
                }
                try {
                    workers().execute(() -> run(task));
                } catch (RuntimeException e) {
                    synchronized (this) {
                        unstarted--;
                    }
                    throw e;
                }
            }

            private void run(Runnable task) {
                synchronized (this) {
                    unstarted--;
                    running++;
                }
                RUNNING.set(this);
                try {
                    task.run();
                } finally {
                    RUNNING.remove();
                    boolean idle;
                    synchronized (this) {
                        running--;
                        idle = overdue && isIdle();
                    }
                    if (idle) {
                        owner.busy.remove(backend, this);
                    }
                }
            }

            void stageEnded() {
                boolean idle;
                synchronized (this) {
                    stageEnded = true;
                    idle = overdue && isIdle();
                }
                if (idle) {
                    owner.busy.remove(backend, this);
                }
            }

            /**
             * The probe's outcome was forced: cancels its stage, and if its work still runs, its
             * backend is busy until that work ends. Only then: work that ended in time never
             * touches the busy map, so a round never races the last moments of a task that
             * delivered its outcome. The tasks that count are those handed over before the
             * cancel: a cancelled HTTP exchange hands its dependants to the executor, and those
             * find the stage complete and return at once.
             */
            void forced(Runnable cancel) {
                boolean wasRunning;
                synchronized (this) {
                    wasRunning = othersRunning() > 0 || unstarted > 0;
                }
                cancel.run();
                synchronized (this) {
                    if ((wasRunning && (othersRunning() > 0 || unstarted > 0)) || !stageEnded) {
                        overdue = true;
                        // Put under this lock, so that the end of the work, which removes under it, comes after.
                        owner.busy.put(backend, this);
                    }
                }
            }

            /** Holds this lock. A task that ends the stage is on its way out: not work left running. */
            private boolean isIdle() {
                return stageEnded && othersRunning() == 0 && unstarted == 0;
            }

            /** Holds this lock. The tasks running, the calling thread's own excepted. */
            private int othersRunning() {
                return running - (RUNNING.get() == this ? 1 : 0);
            }
        }

        void close() {
            List<ExecutorService> ours = new ArrayList<>(2);
            HttpClient client;
            synchronized (this) {
                closed = true;
                if (ownScheduler != null) {
                    ours.add(ownScheduler);
                }
                if (workers != null) {
                    ours.add(workers);
                }
                client = httpClient;
                httpClient = null; // on JDK 17 to 20 its selector thread ends once the client is collected
            }
            // Forcing the outcomes cancels the probes' work: HTTP exchanges end, their connections close.
            List<Probe<?>> under = new ArrayList<>(checks.pending.values());
            under.addAll(polls.pending.values());
            for (Probe<?> p : under) {
                try {
                    p.expire("health checker stopped");
                } catch (Throwable t) { // a custom stage's cancel must not keep the threads alive
                    log.warn("Could not cancel a probe while stopping the health checker", t);
                }
            }
            if (client != null) {
                shutdownNow(client);
            }
            for (ExecutorService executor : ours) {
                executor.shutdownNow();
            }
            if (Thread.currentThread() instanceof CheckerThread) {
                return; // stopped from one of its own threads, which ends when this returns
            }
            List<Thread> threads = schedulerThreads.started();
            threads.addAll(workerThreads.started());
            try {
                for (ExecutorService executor : ours) {
                    executor.awaitTermination(AWAIT_TERMINATION_SECONDS, TimeUnit.SECONDS);
                }
                // A pool reports itself terminated while its last threads are still on their way
                // out; joining them is what makes "no thread left behind" hold when stop() returns.
                for (Thread thread : threads) {
                    thread.join(TimeUnit.SECONDS.toMillis(1));
                    if (thread.isAlive()) {
                        log.warn("Health checker thread {} did not end in time", thread.getName());
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Stops an HTTP client's own threads where the JDK allows it (21 and later); on 17 its selector
     * thread ends once the client is no longer referenced and has been collected.
     */
    private static void shutdownNow(HttpClient client) {
        try {
            Method shutdownNow = HttpClient.class.getMethod("shutdownNow");
            shutdownNow.invoke(client);
        } catch (NoSuchMethodException e) {
            // JDK 17 to 20
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.debug("Could not shut the health check HTTP client down", e);
        }
    }
}

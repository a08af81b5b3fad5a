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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a balancer's active health checks: rounds on a scheduler with jitter, one check per backend
 * at a time, a timeout on every check whatever the check does, and the threads and HTTP client the
 * checks borrow. Verdicts go to {@link LoadBalancer#onCheckResult}, which applies the thresholds.
 *
 * <p>The resources live in a {@link Session}, opened by the first start or on-demand round and
 * closed by {@link #stop()}; a result that arrives after its session closed is dropped.
 */
final class HealthChecker {
    private static final Logger log = LoggerFactory.getLogger(HealthChecker.class);
    private static final AtomicInteger SCHEDULER_THREADS = new AtomicInteger();
    private static final AtomicInteger WORKER_THREADS = new AtomicInteger();
    /** Blocking checks (TCP connects) run at most this many at a time; the rest wait their turn. */
    static final int MAX_WORKERS = 16;
    private static final long AWAIT_TERMINATION_SECONDS = 5;

    private final LoadBalancer balancer;
    private final HealthCheck check; // null: no active check, the rounds only end ejections
    private final long intervalNanos;
    private final long jitterNanos;
    private final Duration timeout;
    private final ScheduledExecutorService userScheduler; // null: the session starts its own
    private final RandomGenerator random;

    private final Object lock = new Object();
    private Session session; // guarded by lock
    private boolean running; // guarded by lock
    private ScheduledFuture<?> nextRound; // guarded by lock
    private final LoadSource loadSource; // null: no load polling
    private final long pollIntervalNanos;
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

    boolean start() {
        synchronized (lock) {
            if (running) {
                return false;
            }
            Session s = openSession();
            long delay = jitterNanos == 0 ? 0 : random.nextLong(0, jitterNanos + 1);
            try {
                nextRound = s.scheduler().schedule(() -> scheduledRound(s), delay, TimeUnit.NANOSECONDS);
                if (loadSource != null) {
                    nextPoll = s.scheduler().schedule(() -> scheduledPoll(s), 0, TimeUnit.NANOSECONDS);
                }
            } catch (RejectedExecutionException e) {
                if (nextRound != null) {
                    nextRound.cancel(false);
                    nextRound = null;
                }
                throw new IllegalStateException("health check scheduler refused the first round: " + e, e);
            }
            running = true;
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

    boolean isRunning() {
        synchronized (lock) {
            return running;
        }
    }

    /**
     * One round on demand; returns once every check has a verdict. The caller is blocked in real
     * time, so the wait is bounded by the timeout whether or not a scheduler fires the checks' own
     * timeouts.
     */
    void runOnce() {
        if (check == null) {
            balancer.readmitDueNow(); // nothing to send anywhere: no thread needed
            return;
        }
        Session s;
        synchronized (lock) {
            s = openSession();
        }
        launchAndWait(s, this::startRound, c -> c.outcome.complete(timedOut()), "health check round");
    }

    /**
     * Starts a round off the calling thread (a check or poll that blocks must not hold it) and
     * waits for every outcome to be applied, bounded by the timeout plus a little: the launch
     * (which may create the shared HTTP client), then the outcomes, as their own timers would
     * measure them. Outcomes still missing then are expired.
     */
    private <R> void launchAndWait(Session s, Function<Session, List<Check<R>>> start, Consumer<Check<R>> expire,
            String what) {
        CompletableFuture<List<Check<R>>> launched;
        try {
            launched = CompletableFuture.supplyAsync(() -> start.apply(s), s.executor());
        } catch (RejectedExecutionException e) {
            return; // stopped meanwhile
        }
        long boundNanos = timeout.toNanos() + TimeUnit.MILLISECONDS.toNanos(50);
        List<Check<R>> checks;
        try {
            checks = launched.get(boundNanos, TimeUnit.NANOSECONDS);
            CompletableFuture.allOf(checks.stream().map(c -> c.applied).toArray(CompletableFuture[]::new))
                    .get(boundNanos, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            checks = launched.getNow(null);
            if (checks == null) {
                return; // not launched yet: the workers are all busy, or were stopped
            }
            for (Check<R> c : checks) {
                expire.accept(c);
            }
            for (Check<R> c : checks) {
                c.applied.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the work goes on and is applied when it ends
        } catch (ExecutionException e) {
            throw new IllegalStateException(what + " failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * One poll of every registered backend's load on demand; returns once every poll has ended or
     * the timeout (plus a little) has passed, the late ones then counting as timed out.
     */
    void pollOnce() {
        if (loadSource == null) {
            throw new IllegalStateException("no load source (expected: LoadBalancer.Builder.loadSource)");
        }
        Session s;
        synchronized (lock) {
            s = openSession();
        }
        launchAndWait(s, this::startPolls, p -> p.outcome.completeExceptionally(
                new TimeoutException("no report within " + timeout)), "load poll");
    }

    private void scheduledPoll(Session s) {
        synchronized (lock) {
            if (!running || session != s) {
                return;
            }
        }
        try {
            startPolls(s);
        } catch (RuntimeException e) {
            log.error("Load poll failed", e);
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

    private List<Check<LoadReport>> startPolls(Session s) {
        List<Check<LoadReport>> polls = new ArrayList<>();
        for (Backend b : balancer.getBackends()) {
            if (!b.isRemoved()) {
                polls.add(s.pollOnce(b));
            }
        }
        return polls;
    }

    private Session openSession() {
        if (session == null) {
            session = new Session();
        }
        return session;
    }

    private void scheduledRound(Session s) {
        synchronized (lock) {
            if (!running || session != s) {
                return;
            }
        }
        try {
            startRound(s);
        } catch (RuntimeException e) {
            log.error("Health check round failed", e);
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

    private List<Check<HealthCheckResult>> startRound(Session s) {
        balancer.readmitDueNow();
        if (check == null) {
            return List.of();
        }
        List<Check<HealthCheckResult>> checks = new ArrayList<>();
        for (Backend b : balancer.backendsToCheck()) {
            if (!b.isRemoved()) {
                checks.add(s.checkOnce(b));
            }
        }
        return checks;
    }

    private HealthCheckResult timedOut() {
        return HealthCheckResult.unhealthy("no verdict within " + timeout);
    }

    private static String describe(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        return "health check failed with " + cause;
    }

    /**
     * One check or load poll of one backend: its outcome, and the moment that outcome has been
     * applied.
     */
    private static final class Check<T> {
        final CompletableFuture<T> outcome = new CompletableFuture<>();
        CompletableFuture<Void> applied; // set before the check is visible to other threads
        private ScheduledFuture<?> timeout; // guarded by this
        private boolean settled; // guarded by this

        synchronized void setTimeout(ScheduledFuture<?> timer) {
            if (settled) {
                timer.cancel(false); // the verdict came first
            } else {
                timeout = timer;
            }
        }

        synchronized void cancelTimeout() {
            settled = true;
            if (timeout != null) {
                timeout.cancel(false);
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
    private final class Session implements HealthCheckContext {
        private final ConcurrentHashMap<Backend, Check<HealthCheckResult>> inFlight = new ConcurrentHashMap<>();
        private final ConcurrentHashMap<Backend, Check<LoadReport>> polling = new ConcurrentHashMap<>();
        // Backends whose last check handed work to the workers and has not ended, verdict or not.
        private final ConcurrentHashMap<Backend, CheckContext> busy = new ConcurrentHashMap<>();
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

        /** Where check timeouts fire: a scheduler already there; never one started just for them. */
        private synchronized ScheduledExecutorService timeoutScheduler() {
            return userScheduler != null ? userScheduler : ownScheduler;
        }

        @Override
        public Duration timeout() {
            return timeout;
        }

        @Override
        public synchronized Executor executor() {
            return workers();
        }

        private ThreadPoolExecutor workers() {
            if (workers == null) {
                requireOpen();
                workers = new ThreadPoolExecutor(MAX_WORKERS, MAX_WORKERS, 10, TimeUnit.SECONDS,
                        new LinkedBlockingQueue<>(), workerThreads);
                workers.allowCoreThreadTimeOut(true);
            }
            return workers;
        }

        @Override
        public synchronized HttpClient httpClient() {
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

        Check<HealthCheckResult> checkOnce(Backend backend) {
            Check<HealthCheckResult> running = inFlight.get(backend);
            if (running != null) {
                return running; // still under way from an earlier round: never two at once
            }
            Check<HealthCheckResult> c = new Check<>();
            c.applied = c.outcome.thenAccept(result -> {
                c.cancelTimeout();
                inFlight.remove(backend, c);
                if (!closed) {
                    try {
                        balancer.onCheckResult(backend, result);
                    } catch (RuntimeException e) {
                        log.error("Could not apply the health check result of backend {}", backend.id(), e);
                    }
                }
            });
            Check<HealthCheckResult> raced = inFlight.putIfAbsent(backend, c);
            if (raced != null) {
                return raced;
            }
            if (busy.containsKey(backend)) {
                // Its last check outlived its timeout on a worker thread. Starting another would take
                // one more worker per round until the pool is stuck on this backend alone.
                c.outcome.complete(HealthCheckResult.unhealthy(
                        "previous check still running on a worker thread, past its timeout of " + timeout));
                return c;
            }
            CheckContext context = new CheckContext(backend);
            CompletionStage<HealthCheckResult> stage;
            try {
                stage = check.check(backend, context);
            } catch (RuntimeException e) {
                context.ended();
                c.outcome.complete(HealthCheckResult.unhealthy("health check threw " + e));
                return c;
            }
            if (stage == null) {
                context.ended();
                c.outcome.complete(HealthCheckResult.unhealthy("health check returned no result"));
                return c;
            }
            // The timeout starts once check() has returned: the first call may spend a while
            // creating the shared HTTP client, which is not the backend's time to answer. A check()
            // that blocks holds this thread, so no timer could fire before it returned anyway.
            ScheduledExecutorService timeouts = timeoutScheduler();
            if (timeouts != null && !c.outcome.isDone()) {
                try {
                    c.setTimeout(timeouts.schedule(() -> c.outcome.complete(timedOut()), timeout.toNanos(),
                            TimeUnit.NANOSECONDS));
                } catch (RejectedExecutionException e) {
                    log.debug("Health check scheduler refused a timeout; the round's own bound applies", e);
                }
            }
            stage.whenComplete((result, error) -> {
                context.ended(); // first: once the verdict is counted, the next round may check again
                c.outcome.complete(error != null
                        ? HealthCheckResult.unhealthy(describe(error))
                        : result != null ? result : HealthCheckResult.unhealthy("health check returned no result"));
            });
            return c;
        }

        Check<LoadReport> pollOnce(Backend backend) {
            Check<LoadReport> running = polling.get(backend);
            if (running != null) {
                return running; // never two polls of one backend at once
            }
            Check<LoadReport> p = new Check<>();
            p.applied = p.outcome.handle((report, error) -> {
                p.cancelTimeout();
                polling.remove(backend, p);
                if (!closed) {
                    try {
                        balancer.onLoadPoll(backend, report, error);
                    } catch (RuntimeException e) {
                        log.error("Could not apply the load report of backend {}", backend.id(), e);
                    }
                }
                return null;
            });
            Check<LoadReport> raced = polling.putIfAbsent(backend, p);
            if (raced != null) {
                return raced;
            }
            CompletionStage<LoadReport> stage;
            try {
                stage = loadSource.fetch(backend, this);
            } catch (RuntimeException e) {
                p.outcome.completeExceptionally(e);
                return p;
            }
            if (stage == null) {
                p.outcome.completeExceptionally(new IllegalStateException("load source returned no stage"));
                return p;
            }
            ScheduledExecutorService timeouts = timeoutScheduler();
            if (timeouts != null && !p.outcome.isDone()) {
                try {
                    p.setTimeout(timeouts.schedule(() -> p.outcome.completeExceptionally(
                            new TimeoutException("no report within " + timeout)), timeout.toNanos(), TimeUnit.NANOSECONDS));
                } catch (RejectedExecutionException e) {
                    log.debug("Health check scheduler refused a poll timeout", e);
                }
            }
            stage.whenComplete((report, error) -> {
                if (error != null) {
                    p.outcome.completeExceptionally(error);
                } else if (report == null) {
                    p.outcome.completeExceptionally(new IllegalStateException("load source returned no report"));
                } else {
                    p.outcome.complete(report);
                }
            });
            return p;
        }

        /**
         * What one check of one backend is lent: the session's timeout and HTTP client, and the
         * workers through an executor that marks the backend busy until the check's stage ends.
         */
        private final class CheckContext implements HealthCheckContext, Executor {
            private final Backend backend;
            private volatile boolean ended;

            CheckContext(Backend backend) {
                this.backend = backend;
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
                Executor pool = Session.this.executor();
                if (!ended) {
                    busy.put(backend, this);
                    if (ended) {
                        busy.remove(backend, this); // ended meanwhile: its removal may have come first
                    }
                }
                pool.execute(task);
            }

            void ended() {
                ended = true;
                busy.remove(backend, this);
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
            }
            for (Check<HealthCheckResult> c : inFlight.values()) {
                c.outcome.complete(HealthCheckResult.unhealthy("health checker stopped"));
            }
            for (Check<LoadReport> p : polling.values()) {
                p.outcome.completeExceptionally(new IllegalStateException("health checker stopped"));
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
     * thread ends once the client is no longer referenced.
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

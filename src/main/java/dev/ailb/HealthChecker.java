package dev.ailb;

import dev.ailb.health.HealthCheck;
import dev.ailb.health.HealthCheckContext;
import dev.ailb.health.HealthCheckResult;
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

    HealthChecker(LoadBalancer balancer, HealthCheck check, Duration interval, Duration timeout, Duration jitter,
            ScheduledExecutorService userScheduler, RandomGenerator random) {
        this.balancer = balancer;
        this.check = check;
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
            } catch (RejectedExecutionException e) {
                throw new IllegalStateException("health check scheduler refused the first round: " + e, e);
            }
            running = true;
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
        CompletableFuture<List<Check>> launched;
        try {
            // Launched off the calling thread: a check that blocks in check() must not hold it.
            launched = CompletableFuture.supplyAsync(() -> startRound(s), s.executor());
        } catch (RejectedExecutionException e) {
            return; // stopped meanwhile
        }
        CompletableFuture<Void> done = launched.thenCompose(checks -> CompletableFuture.allOf(
                checks.stream().map(c -> c.applied).toArray(CompletableFuture[]::new)));
        try {
            done.get(timeout.toNanos() + TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            List<Check> checks = launched.getNow(null);
            if (checks == null) {
                return; // never launched: the workers were stopped or are all busy
            }
            for (Check c : checks) {
                c.outcome.complete(timedOut());
            }
            done.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the checks go on and are counted when they end
        } catch (ExecutionException e) {
            throw new IllegalStateException("health check round failed: " + e.getCause(), e.getCause());
        }
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

    private List<Check> startRound(Session s) {
        balancer.readmitDueNow();
        if (check == null) {
            return List.of();
        }
        List<Check> checks = new ArrayList<>();
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

    /** One check of one backend: its verdict, and the moment that verdict has been counted. */
    private static final class Check {
        final CompletableFuture<HealthCheckResult> outcome = new CompletableFuture<>();
        CompletableFuture<Void> applied; // set before the check is visible to other threads
    }

    /** Threads this checker started, so that it never waits for its own thread to end. */
    private static final class CheckerThread extends Thread {
        CheckerThread(Runnable task, String name) {
            super(task, name);
            setDaemon(true);
        }
    }

    private static ThreadFactory threads(String prefix, AtomicInteger counter) {
        return task -> new CheckerThread(task, prefix + counter.incrementAndGet());
    }

    /** What one run of the checker holds, from its start (or first on-demand round) to its stop. */
    private final class Session implements HealthCheckContext {
        private final ConcurrentHashMap<Backend, Check> inFlight = new ConcurrentHashMap<>();
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
                ownScheduler = new ScheduledThreadPoolExecutor(1, threads("ailb-health-", SCHEDULER_THREADS));
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
                        new LinkedBlockingQueue<>(), threads("ailb-health-worker-", WORKER_THREADS));
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

        Check checkOnce(Backend backend) {
            Check running = inFlight.get(backend);
            if (running != null) {
                return running; // still under way from an earlier round: never two at once
            }
            Check c = new Check();
            ScheduledFuture<?> guard = null;
            ScheduledExecutorService timeouts = timeoutScheduler();
            if (timeouts != null) {
                try {
                    guard = timeouts.schedule(() -> c.outcome.complete(timedOut()), timeout.toNanos(),
                            TimeUnit.NANOSECONDS);
                } catch (RejectedExecutionException e) {
                    log.debug("Health check scheduler refused a timeout; the round's own bound applies", e);
                }
            }
            ScheduledFuture<?> timer = guard;
            c.applied = c.outcome.thenAccept(result -> {
                if (timer != null) {
                    timer.cancel(false);
                }
                inFlight.remove(backend, c);
                if (!closed) {
                    try {
                        balancer.onCheckResult(backend, result);
                    } catch (RuntimeException e) {
                        log.error("Could not apply the health check result of backend {}", backend.id(), e);
                    }
                }
            });
            Check raced = inFlight.putIfAbsent(backend, c);
            if (raced != null) {
                if (timer != null) {
                    timer.cancel(false);
                }
                return raced;
            }
            CompletionStage<HealthCheckResult> stage;
            try {
                stage = check.check(backend, this);
            } catch (RuntimeException e) {
                c.outcome.complete(HealthCheckResult.unhealthy("health check threw " + e));
                return c;
            }
            if (stage == null) {
                c.outcome.complete(HealthCheckResult.unhealthy("health check returned no result"));
                return c;
            }
            stage.whenComplete((result, error) -> c.outcome.complete(error != null
                    ? HealthCheckResult.unhealthy(describe(error))
                    : result != null ? result : HealthCheckResult.unhealthy("health check returned no result")));
            return c;
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
            for (Check c : inFlight.values()) {
                c.outcome.complete(HealthCheckResult.unhealthy("health checker stopped"));
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
            for (ExecutorService executor : ours) {
                try {
                    if (!executor.awaitTermination(AWAIT_TERMINATION_SECONDS, TimeUnit.SECONDS)) {
                        log.warn("Health checker threads did not end within {} s", AWAIT_TERMINATION_SECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
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

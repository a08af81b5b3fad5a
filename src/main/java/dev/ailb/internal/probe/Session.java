package dev.ailb.internal.probe;

import java.lang.reflect.Method;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLContext;

/**
 * What one run of a {@link Prober} holds, from its start (or first on-demand round) to its stop: the
 * probes under way of each kind, and the threads and HTTP client it lends them.
 *
 * <h2>Threads</h2>
 * Rounds and timeouts run on a scheduler: the one given to the prober, or a single thread of the
 * session's own ({@code <prefix>-N}) started by the first start. Timeouts never start a scheduler
 * of their own: an on-demand round with none running bounds its probes itself. Blocking work runs
 * on the workers ({@code <prefix>-worker-N}), a pool without a queue: a task gets a thread at once,
 * so work that hangs on one target never holds up another target's probe, and since a target has
 * one probe under way at most ({@link Probes}), the work hanging holds one thread per target at
 * most. Idle workers end after ten seconds. The HTTP clients run on the workers too: one that
 * trusts as the JVM does by default, and one more for each other TLS context a probe asks for, kept
 * for the session's life (a probe's settings hold one context, so a session holds a few at most).
 * Each of these is created when first asked for. Closing the session forces the outcome of every probe awaiting
 * one, drops every outcome that arrives later, shuts down what the session started (a scheduler
 * given to the prober is left running), and waits for its threads to end, unless it runs on one of
 * them. A closed session creates nothing again.
 */
final class Session<K> {
    private static final long AWAIT_TERMINATION_SECONDS = 5;
    private static final long IDLE_WORKER_SECONDS = 10;

    final Prober.Identity id;
    final Duration timeout;
    final LongSupplier ticker;
    final Targets<K> targets;
    private final ScheduledExecutorService userScheduler; // null: the session starts its own
    private final Map<ProbeKind<K, ?>, Probes<K, ?>> probes;
    private final ProberThreads schedulerThreads;
    private final ProberThreads workerThreads;
    private volatile boolean closed;
    private ScheduledThreadPoolExecutor ownScheduler; // guarded by this
    private ThreadPoolExecutor workers; // guarded by this
    private HttpClient httpClient; // guarded by this
    /** The clients of TLS contexts other than the JVM's default, by identity; guarded by this. */
    private final Map<SSLContext, HttpClient> tlsClients = new IdentityHashMap<>();

    Session(Prober.Identity id, Duration timeout, ScheduledExecutorService userScheduler, LongSupplier ticker,
            Targets<K> targets, List<RecurringTask<K>> tasks) {
        this.id = id;
        this.timeout = timeout;
        this.userScheduler = userScheduler;
        this.ticker = ticker;
        this.targets = targets;
        this.schedulerThreads = ProberThreads.schedulers(id.threadPrefix());
        this.workerThreads = ProberThreads.workers(id.threadPrefix());
        // By kind, not by task: two tasks of one kind still start one probe per target at a time.
        Map<ProbeKind<K, ?>, Probes<K, ?>> kinds = new LinkedHashMap<>();
        for (RecurringTask<K> task : tasks) {
            task.kind().ifPresent(kind -> kinds.computeIfAbsent(kind, k -> new Probes<>(this, k)));
        }
        this.probes = Collections.unmodifiableMap(kinds);
    }

    /** The probes of this kind, which must be the kind of one of the prober's tasks. */
    Probes<K, ?> probes(ProbeKind<K, ?> kind) {
        return probes.get(kind);
    }

    boolean isClosed() {
        return closed;
    }

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
    synchronized ScheduledExecutorService timeoutScheduler() {
        return userScheduler != null ? userScheduler : ownScheduler;
    }

    synchronized ExecutorService workers() {
        if (workers == null) {
            requireOpen();
            // No queue: a task that would wait behind work hanging on other targets gets a thread
            // of its own. The probes bound the threads: one probe under way per target.
            workers = new ThreadPoolExecutor(0, Integer.MAX_VALUE, IDLE_WORKER_SECONDS, TimeUnit.SECONDS,
                    new SynchronousQueue<>(), workerThreads);
        }
        return workers;
    }

    synchronized HttpClient httpClient() {
        if (httpClient == null) {
            requireOpen();
            httpClient = newClient().build();
        }
        return httpClient;
    }

    /** The client whose TLS handshakes use {@code sslContext}, created when first asked for. */
    synchronized HttpClient httpClient(SSLContext sslContext) {
        HttpClient client = tlsClients.get(sslContext);
        if (client == null) {
            requireOpen();
            client = newClient().sslContext(sslContext).build();
            tlsClients.put(sslContext, client);
        }
        return client;
    }

    private HttpClient.Builder newClient() {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .executor(workers());
    }

    private void requireOpen() {
        if (closed) {
            throw new RejectedExecutionException(id.name() + " stopped");
        }
    }

    void close() {
        List<ExecutorService> ours = new ArrayList<>(2);
        List<HttpClient> clients = new ArrayList<>();
        synchronized (this) {
            closed = true;
            if (ownScheduler != null) {
                ours.add(ownScheduler);
            }
            if (workers != null) {
                ours.add(workers);
            }
            if (httpClient != null) {
                clients.add(httpClient);
            }
            clients.addAll(tlsClients.values());
            // on JDK 17 to 20 a client's selector thread ends once the client is collected
            httpClient = null;
            tlsClients.clear();
        }
        // Forcing the outcomes cancels the probes' work: HTTP exchanges end, their connections close.
        List<Probe<?>> under = new ArrayList<>();
        for (Probes<K, ?> kind : probes.values()) {
            under.addAll(kind.pendingNow());
        }
        for (Probe<?> p : under) {
            try {
                p.expire(id.name() + " stopped");
            } catch (Throwable t) { // a custom stage's cancel must not keep the threads alive
                id.log().warn("{} - Could not cancel a probe while stopping the {}", id.owner(), id.name(), t);
            }
        }
        for (HttpClient client : clients) {
            shutdownNow(client);
        }
        for (ExecutorService executor : ours) {
            executor.shutdownNow();
        }
        if (ProberThreads.isProberThread(Thread.currentThread())) {
            return; // stopped from one of its own threads, which ends when this returns
        }
        List<Thread> threads = schedulerThreads.started();
        threads.addAll(workerThreads.started());
        try {
            for (ExecutorService executor : ours) {
                executor.awaitTermination(AWAIT_TERMINATION_SECONDS, TimeUnit.SECONDS);
            }
            // A pool reports itself terminated while its last threads are still on their way out;
            // joining them is what makes "no thread left behind" hold when the stop returns.
            for (Thread thread : threads) {
                thread.join(TimeUnit.SECONDS.toMillis(1));
                if (thread.isAlive()) {
                    id.log().warn("{} - {} thread {} did not end in time", id.owner(), id.title(), thread.getName());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops an HTTP client's own threads where the JDK allows it (21 and later); on 17 its selector
     * thread ends once the client is no longer referenced and has been collected.
     */
    private void shutdownNow(HttpClient client) {
        try {
            Method shutdownNow = HttpClient.class.getMethod("shutdownNow");
            shutdownNow.invoke(client);
        } catch (NoSuchMethodException e) {
            // JDK 17 to 20
        } catch (ReflectiveOperationException | RuntimeException e) {
            id.log().debug("{} - Could not shut the {}'s HTTP client down", id.owner(), id.name(), e);
        }
    }
}

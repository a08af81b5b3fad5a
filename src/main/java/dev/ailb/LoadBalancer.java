package dev.ailb;

import static dev.ailb.internal.Preconditions.checkId;
import static dev.ailb.internal.Preconditions.checkNonNegative;
import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkPositive;
import static dev.ailb.internal.Preconditions.checkRange;
import static dev.ailb.internal.Preconditions.checkUnitInterval;
import static dev.ailb.internal.Preconditions.quote;

import dev.ailb.internal.LatencyHistogram;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spreads requests over a set of backends (AI inference instances) with a pluggable
 * {@link BalancingStrategy}, tracks their connections and collects their metrics.
 *
 * <pre>{@code
 * try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.LEAST_CONNECTIONS)) {
 *     lb.addBackend("instance-1", "192.168.1.1", 8001, 2);
 *     lb.addBackend("instance-2", "192.168.1.1", 8002);
 *
 *     Backend backend = lb.selectBackend(new Request("req-123", "192.168.1.100", "/api/process"));
 *     lb.acquireConnection(backend);
 *     boolean ok = false;
 *     long start = System.nanoTime();
 *     try {
 *         call(backend.host(), backend.port());
 *         ok = true;
 *     } finally {
 *         lb.releaseConnection(backend, Duration.ofNanos(System.nanoTime() - start), ok);
 *     }
 * }
 * }</pre>
 *
 * <h2>Threading</h2>
 * Every method is thread-safe. Selection is lock-free: it reads one immutable snapshot of the
 * backends (published through a volatile field) and asks the picker the strategy built for that
 * snapshot. Changes (adding, removing, health, strategy) take one lock, build a new snapshot and
 * publish it; they never block a selection. Connection counts and metrics are recorded with atomic
 * operations and {@link LongAdder}s.
 *
 * <h2>Errors</h2>
 * Every method checks its arguments before it changes anything: a rejected call leaves the
 * balancer exactly as it was and says which parameter was wrong and what it held.
 */
public final class LoadBalancer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LoadBalancer.class);

    /** The largest weight a backend may have. */
    public static final int MAX_WEIGHT = 1_000_000;

    private final ReentrantLock lock = new ReentrantLock();
    private final Ticker ticker;
    private final RandomGenerator random;
    private final double decayNanos;
    private final SelectionContext context;

    private volatile Registry registry;
    private volatile boolean closed;
    private final Map<Backend, CompletableFuture<Void>> drains = new HashMap<>(); // guarded by lock
    private final List<LoadBalancerListener> listeners = new CopyOnWriteArrayList<>();

    private final LongAdder requests = new LongAdder();
    private final LongAdder rejected = new LongAdder();
    private final LongAdder successes = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder responseNanos = new LongAdder();
    private final LatencyHistogram histogram = new LatencyHistogram();

    /** Creates a round-robin balancer with the default settings. */
    public LoadBalancer() {
        this(BalancingStrategy.ROUND_ROBIN);
    }

    /**
     * Creates a balancer with the given strategy and the default settings.
     *
     * @param strategy the initial strategy
     * @throws NullPointerException if {@code strategy} is null
     */
    public LoadBalancer(BalancingStrategy strategy) {
        this(builder().strategy(strategy));
    }

    private LoadBalancer(Builder builder) {
        this.ticker = builder.ticker != null ? builder.ticker : Ticker.system();
        this.random = builder.random != null ? builder.random : ThreadLocalRandomSource.INSTANCE;
        this.decayNanos = builder.responseTimeDecay != null
                ? builder.responseTimeDecay.toNanos() : Builder.DEFAULT_DECAY.toNanos();
        this.context = new Context(ticker, random);
        BalancingStrategy strategy = builder.strategy != null ? builder.strategy : BalancingStrategy.ROUND_ROBIN;
        this.registry = Registry.build(strategy, newSelector(strategy), List.of(), b -> false);
    }

    /**
     * Returns a builder for a balancer with settings other than the defaults.
     *
     * @return a new builder with no setting given
     */
    public static Builder builder() {
        return new Builder();
    }

    // ---------------------------------------------------------------- backends

    /**
     * Registers a backend of weight 1; see {@link #addBackend(String, String, int, int)}.
     *
     * @param id   unique id, not blank, at most 256 characters
     * @param host host label, not blank; never resolved by the balancer
     * @param port port, 1..65535
     * @return the new backend
     * @throws NullPointerException     if {@code id} or {@code host} is null
     * @throws IllegalArgumentException if an argument is out of range, or the id is already
     *                                  registered (draining backends included)
     * @throws IllegalStateException    if the balancer is closed, or the strategy fails to build
     *                                  its picker for the new set (nothing changes then)
     */
    public Backend addBackend(String id, String host, int port) {
        return addBackend(id, host, port, 1);
    }

    /**
     * Registers a backend. It is healthy and available at once.
     *
     * @param id     unique id, not blank, at most 256 characters
     * @param host   host label, not blank; never resolved by the balancer
     * @param port   port, 1..65535
     * @param weight relative capacity, 1..{@link #MAX_WEIGHT}
     * @return the new backend
     * @throws NullPointerException     if {@code id} or {@code host} is null
     * @throws IllegalArgumentException if an argument is out of range, or the id is already
     *                                  registered (draining backends included)
     * @throws IllegalStateException    if the balancer is closed, or the strategy fails to build
     *                                  its picker for the new set (nothing changes then)
     */
    public Backend addBackend(String id, String host, int port, int weight) {
        checkId(id, "id");
        checkId(host, "host");
        checkRange(port, 1, 65535, "port");
        checkRange(weight, 1, MAX_WEIGHT, "weight");
        Backend backend;
        lock.lock();
        try {
            checkOpen();
            Registry current = registry;
            Backend existing = current.byId.get(id);
            if (existing != null) {
                throw new IllegalArgumentException("id: " + quote(id) + " (expected: an id not registered; "
                        + (existing.isDraining() ? "a backend with this id is still draining)" : "it is taken)"));
            }
            backend = new Backend(this, id, host, port, weight, decayNanos);
            List<Backend> all = new ArrayList<>(current.all);
            all.add(backend);
            registry = current.withBackends(all, Backend::isAvailable);
            log.info("Added backend {} at {}:{} (weight {})", id, host, port, weight);
        } finally {
            lock.unlock();
        }
        notifyListeners(l -> l.onBackendAdded(backend));
        return backend;
    }

    /**
     * Removes a backend gracefully: it takes no new requests at once, its in-flight requests finish
     * and are counted normally, and it leaves the balancer when its last connection is released.
     * Removing a backend that is already draining returns the same completion.
     *
     * @param id the backend's id
     * @return a future completed when the backend has left the balancer (at once if it had no
     *         active connections)
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if no backend has this id
     * @throws IllegalStateException    if the strategy fails to build its picker for the reduced
     *                                  set (nothing changes then)
     */
    public CompletableFuture<Void> removeBackend(String id) {
        checkId(id, "id");
        Backend backend;
        CompletableFuture<Void> done;
        lock.lock();
        try {
            Registry current = registry;
            backend = lookup(current, id);
            done = drains.get(backend);
            if (done != null) {
                return done.copy();
            }
            // Publish the view without the backend before flagging it, so a selection that still
            // sees the flag clear can only be working from the older view.
            registry = current.withBackends(current.all, b -> b != backend && b.isAvailable());
            backend.markDraining();
            done = new CompletableFuture<>();
            drains.put(backend, done);
            log.info("Removing backend {}: draining {} active connections", id, backend.activeConnections());
        } finally {
            lock.unlock();
        }
        notifyListeners(l -> l.onBackendDraining(backend));
        if (backend.activeConnections() == 0) {
            finishDrain(backend);
        }
        return done.copy();
    }

    private void finishDrain(Backend backend) {
        if (!backend.tryFinishDrain()) {
            return; // a connection arrived, or another thread finished it
        }
        CompletableFuture<Void> done;
        lock.lock();
        try {
            Registry current = registry;
            List<Backend> all = new ArrayList<>(current.all);
            all.remove(backend);
            registry = current.withBackends(all, Backend::isAvailable);
            done = drains.remove(backend);
        } finally {
            lock.unlock();
        }
        log.info("Backend {} drained and removed", backend.id());
        notifyListeners(l -> l.onBackendRemoved(backend));
        if (done != null) {
            done.complete(null);
        }
    }

    /**
     * Marks a backend healthy or unhealthy by hand. An unhealthy backend gets no new requests until
     * it is marked healthy again.
     *
     * @param id      the backend's id
     * @param healthy {@code true} to mark it healthy, {@code false} to mark it unhealthy
     * @return whether the state changed
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if no backend has this id
     * @throws IllegalStateException    if the strategy fails to build its picker for the changed
     *                                  set (nothing changes then)
     */
    public boolean setBackendHealthy(String id, boolean healthy) {
        checkId(id, "id");
        Backend backend;
        lock.lock();
        try {
            Registry current = registry;
            backend = lookup(current, id);
            if (backend.isHealthy() == healthy) {
                return false;
            }
            if (healthy) {
                // Build first (a custom strategy may refuse), then flip, then publish: a selection
                // must never find the backend in a view while its flag still says unhealthy.
                Registry next = current.withBackends(current.all,
                        b -> b == backend ? !b.isDraining() && !b.isRemoved() : b.isAvailable());
                backend.setHealthy(true);
                registry = next;
            } else {
                // Publish first, then flip: see removeBackend.
                registry = current.withBackends(current.all, b -> b != backend && b.isAvailable());
                backend.setHealthy(false);
            }
            log.info("Backend {} is now {}", id, healthy ? "healthy" : "unhealthy");
        } finally {
            lock.unlock();
        }
        notifyListeners(l -> l.onBackendHealthChanged(backend, healthy));
        return true;
    }

    /**
     * Records a backend's resource usage, time-stamped with the balancer's ticker; read by
     * {@link BalancingStrategy#RESOURCE_BASED}.
     *
     * @param id     the backend's id
     * @param cpu    CPU utilisation, 0.0..1.0
     * @param memory memory utilisation, 0.0..1.0
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if no backend has this id, or a value is NaN or out of range
     */
    public void updateBackendResources(String id, double cpu, double memory) {
        checkId(id, "id");
        checkUnitInterval(cpu, "cpu");
        checkUnitInterval(memory, "memory");
        Backend backend = lookup(registry, id);
        backend.setResources(new ResourceReport(cpu, memory, ticker.read()));
    }

    /**
     * The backend with this id, if one is registered (draining ones included).
     *
     * @param id the backend's id
     * @return the backend, or empty if none is registered under {@code id}
     * @throws NullPointerException if {@code id} is null
     */
    public Optional<Backend> getBackend(String id) {
        checkNotNull(id, "id");
        return Optional.ofNullable(registry.byId.get(id));
    }

    /**
     * The registered backends in registration order, draining ones included. Immutable.
     *
     * @return the registered backends, possibly empty
     */
    public List<Backend> getBackends() {
        return registry.all;
    }

    /**
     * The backends new requests may go to, in registration order. Immutable.
     *
     * @return the available backends, possibly empty
     */
    public List<Backend> getAvailableBackends() {
        return registry.available;
    }

    // ---------------------------------------------------------------- strategy

    /**
     * Replaces the strategy. Selections already under way finish with the old one; the next ones
     * use the new one. The new strategy starts with fresh state (cursors, tables).
     *
     * @param strategy the new strategy
     * @throws NullPointerException  if {@code strategy} is null
     * @throws IllegalStateException if the strategy fails to build its picker (nothing changes then)
     */
    public void setStrategy(BalancingStrategy strategy) {
        checkNotNull(strategy, "strategy");
        lock.lock();
        try {
            Registry current = registry;
            registry = Registry.build(strategy, newSelector(strategy), current.all, Backend::isAvailable);
            log.info("Strategy set to {}", strategy.name());
        } finally {
            lock.unlock();
        }
        notifyListeners(l -> l.onStrategyChanged(strategy));
    }

    /**
     * The strategy in use.
     *
     * @return the current strategy, never null
     */
    public BalancingStrategy getStrategy() {
        return registry.strategy;
    }

    private Selector newSelector(BalancingStrategy strategy) {
        Selector selector;
        try {
            selector = strategy.newSelector(context);
        } catch (RuntimeException e) {
            throw new IllegalStateException("strategy " + strategy.name() + " failed to create its selector: " + e, e);
        }
        if (selector == null) {
            throw new IllegalStateException("strategy " + strategy.name() + " created a null selector");
        }
        return selector;
    }

    // ---------------------------------------------------------------- selection

    /**
     * Chooses the backend for a request with the current strategy and counts the request against
     * it. Lock-free.
     *
     * @param request the request to route
     * @return an available backend, never null
     * @throws NullPointerException        if {@code request} is null
     * @throws NoAvailableBackendException if no backend is available; its reason says why
     * @throws IllegalStateException       if the balancer is closed, or a custom strategy picked a
     *                                     backend that was not offered to it
     */
    public Backend selectBackend(Request request) {
        return pick(request, true);
    }

    /**
     * Like {@link #selectBackend(Request)}, but returns empty instead of throwing when no backend
     * is available.
     *
     * @param request the request to route
     * @return an available backend, or empty if none is available
     * @throws NullPointerException  if {@code request} is null
     * @throws IllegalStateException if the balancer is closed, or a custom strategy picked a
     *                               backend that was not offered to it
     */
    public Optional<Backend> trySelectBackend(Request request) {
        return Optional.ofNullable(pick(request, false));
    }

    /** Picks and counts; when nothing is available, throws or returns null as asked. */
    private Backend pick(Request request, boolean throwIfNone) {
        checkNotNull(request, "request");
        checkOpen();
        // A backend can leave between reading the view and picking from it. Writers publish the
        // view without it before flagging it, so a second read after seeing the flag finds a view
        // that no longer offers it.
        for (int attempt = 0; attempt < 3; attempt++) {
            Registry current = registry;
            if (current.available.isEmpty()) {
                rejected.increment();
                if (throwIfNone) {
                    throw noAvailableBackend(current);
                }
                return null;
            }
            Backend backend = current.picker.pick(request);
            if (backend == null || backend.owner != this) {
                throw new IllegalStateException("strategy " + current.strategy.name() + " picked "
                        + backend + ", which is not one of the backends offered to it");
            }
            if (backend.isAvailable()) {
                backend.recordSelection();
                requests.increment();
                return backend;
            }
        }
        throw new IllegalStateException("strategy " + registry.strategy.name()
                + " keeps picking backends that are not available");
    }

    private static NoAvailableBackendException noAvailableBackend(Registry current) {
        int registered = current.all.size();
        int unhealthy = 0;
        int draining = 0;
        for (Backend b : current.all) {
            if (b.isDraining() || b.isRemoved()) { // removed: drained, about to leave the view
                draining++;
            } else if (!b.isHealthy()) {
                unhealthy++;
            }
        }
        NoAvailableBackendException.Reason reason;
        if (registered == 0) {
            reason = NoAvailableBackendException.Reason.NO_BACKENDS;
        } else if (unhealthy == registered) {
            reason = NoAvailableBackendException.Reason.ALL_UNHEALTHY;
        } else if (draining == registered) {
            reason = NoAvailableBackendException.Reason.ALL_DRAINING;
        } else {
            reason = NoAvailableBackendException.Reason.ALL_UNHEALTHY_OR_DRAINING;
        }
        return new NoAvailableBackendException(reason, registered, unhealthy, draining);
    }

    // ---------------------------------------------------------------- connections

    /**
     * Counts one more active connection on a backend. Allowed on unhealthy and draining backends
     * (the request was routed before the change), not on removed ones.
     *
     * @param backend a backend of this balancer, usually one just returned by
     *                {@link #selectBackend}
     * @throws NullPointerException     if {@code backend} is null
     * @throws IllegalArgumentException if the backend belongs to another balancer
     * @throws IllegalStateException    if the backend has been removed, the balancer is closed, or
     *                                  the backend already has 2^30 - 1 active connections
     */
    public void acquireConnection(Backend backend) {
        if (!tryAcquireConnection(backend)) {
            throw new IllegalStateException("backend: " + backend.id()
                    + " (expected: a registered backend; it has been removed from this balancer)");
        }
    }

    /**
     * Like {@link #acquireConnection}, but returns false instead of throwing when the backend has
     * already been removed, which can happen when a removal races the request.
     *
     * @param backend a backend of this balancer
     * @return {@code true} if the connection was counted, {@code false} if the backend has been
     *         removed (nothing is counted then)
     * @throws NullPointerException     if {@code backend} is null
     * @throws IllegalArgumentException if the backend belongs to another balancer
     * @throws IllegalStateException    if the balancer is closed, or the backend already has
     *                                  2^30 - 1 active connections
     */
    public boolean tryAcquireConnection(Backend backend) {
        checkOwned(backend);
        checkOpen();
        return backend.tryAcquire();
    }

    /**
     * Counts the end of a connection and records its outcome.
     *
     * @param backend      the backend a connection was acquired on
     * @param responseTime how long the request took, >= 0
     * @param success      whether it succeeded
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the backend belongs to another balancer, or the time is
     *                                  negative or too large to count in nanoseconds
     * @throws IllegalStateException    if the backend has no active connection to release
     */
    public void releaseConnection(Backend backend, Duration responseTime, boolean success) {
        checkNotNull(backend, "backend"); // ownership is checked by the overload below
        checkNonNegative(responseTime, "responseTime");
        long nanos;
        try {
            nanos = responseTime.toNanos();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("responseTime: " + responseTime
                    + " (expected: at most " + Duration.ofNanos(Long.MAX_VALUE) + ")");
        }
        releaseConnection(backend, nanos, success);
    }

    /**
     * Like {@link #releaseConnection(Backend, Duration, boolean)} with the response time in
     * nanoseconds, for callers that measure with {@link System#nanoTime()} and want no allocation.
     * Accepted after {@link #close()}, so requests in flight at close are still counted.
     *
     * @param backend           the backend a connection was acquired on
     * @param responseTimeNanos how long the request took, in nanoseconds, >= 0
     * @param success           whether it succeeded
     * @throws NullPointerException     if {@code backend} is null
     * @throws IllegalArgumentException if the backend belongs to another balancer, or
     *                                  {@code responseTimeNanos} is negative
     * @throws IllegalStateException    if the backend has no active connection to release
     */
    public void releaseConnection(Backend backend, long responseTimeNanos, boolean success) {
        checkOwned(backend);
        checkNonNegative(responseTimeNanos, "responseTimeNanos");
        int ctl = backend.tryRelease();
        if (ctl < 0) {
            throw new IllegalStateException("backend: " + backend.id()
                    + " has no active connection to release (expected: one acquireConnection per release)");
        }
        backend.recordCompletion(responseTimeNanos, success, ticker.read());
        (success ? successes : failures).increment();
        responseNanos.add(responseTimeNanos);
        histogram.record(responseTimeNanos);
        if (ctl == Backend.DRAINING) {
            finishDrain(backend);
        }
    }

    private void checkOwned(Backend backend) {
        checkNotNull(backend, "backend");
        if (backend.owner != this) {
            throw new IllegalArgumentException("backend: " + backend + " (expected: a backend of this balancer)");
        }
    }

    // ---------------------------------------------------------------- stats

    /**
     * The figures of one registered backend (draining ones included).
     *
     * @param id the backend's id
     * @return the backend's figures as of this call
     * @throws NullPointerException     if {@code id} is null
     * @throws IllegalArgumentException if no backend has this id
     */
    public BackendStats getBackendStats(String id) {
        checkId(id, "id");
        return statsOf(lookup(registry, id));
    }

    /**
     * The overall figures and those of every registered backend.
     *
     * @return the figures as of this call
     */
    public LoadBalancerStats getAllStats() {
        Registry current = registry;
        List<BackendStats> perBackend = new ArrayList<>(current.all.size());
        long active = 0;
        int healthy = 0;
        int draining = 0;
        for (Backend b : current.all) {
            BackendStats s = statsOf(b);
            perBackend.add(s);
            active += s.activeConnections();
            if (s.healthy()) {
                healthy++;
            }
            if (s.draining()) {
                draining++;
            }
        }
        long ok = successes.sum();
        long failed = failures.sum();
        LatencyHistogram.Snapshot h = histogram.snapshot();
        LoadBalancerMetrics metrics = new LoadBalancerMetrics(
                requests.sum(), rejected.sum(), ok, failed, average(responseNanos.sum(), ok + failed),
                Duration.ofNanos(h.valueAt(0.50)), Duration.ofNanos(h.valueAt(0.95)),
                Duration.ofNanos(h.valueAt(0.99)), active, perBackend.size(), healthy, current.available.size(), draining);
        return new LoadBalancerStats(current.strategy.name(), metrics, perBackend);
    }

    private static BackendStats statsOf(Backend b) {
        long ok = b.successes.sum();
        long failed = b.failures.sum();
        LatencyHistogram.Snapshot h = b.histogramSnapshot();
        return new BackendStats(b.id(), b.host(), b.port(), b.weight(), b.isHealthy(), b.isDraining(),
                b.activeConnections(), b.selections.sum(), ok, failed, average(b.responseNanos.sum(), ok + failed),
                Duration.ofNanos(h.valueAt(0.50)), Duration.ofNanos(h.valueAt(0.95)),
                Duration.ofNanos(h.valueAt(0.99)), b.resources());
    }

    private static Duration average(long totalNanos, long count) {
        return count == 0 ? Duration.ZERO : Duration.ofNanos(totalNanos / count);
    }

    // ---------------------------------------------------------------- listeners

    /**
     * Registers a listener for backend and strategy changes. A listener added twice is called
     * twice.
     *
     * @param listener the listener to call on each change
     * @throws NullPointerException if {@code listener} is null
     */
    public void addListener(LoadBalancerListener listener) {
        listeners.add(checkNotNull(listener, "listener"));
    }

    /**
     * Unregisters one registration of a listener; returns whether it was registered.
     *
     * @param listener the listener to unregister
     * @return {@code true} if it was registered (one registration is then removed)
     * @throws NullPointerException if {@code listener} is null
     */
    public boolean removeListener(LoadBalancerListener listener) {
        return listeners.remove(checkNotNull(listener, "listener"));
    }

    private void notifyListeners(Consumer<LoadBalancerListener> event) {
        for (LoadBalancerListener listener : listeners) {
            try {
                event.accept(listener);
            } catch (RuntimeException e) {
                log.warn("Listener {} failed", listener, e);
            }
        }
    }

    // ---------------------------------------------------------------- lifecycle

    /**
     * Closes the balancer: selections, acquisitions and new backends are refused from now on,
     * while releases of connections still in flight are accepted and counted, drains still
     * complete (and backends may still be removed or marked), and stats stay readable. Idempotent.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            lock.unlock();
        }
        log.info("Load balancer closed");
    }

    /**
     * Whether {@link #close()} has been called.
     *
     * @return {@code true} once the balancer is closed
     */
    public boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("load balancer is closed");
        }
    }

    private static Backend lookup(Registry current, String id) {
        Backend backend = current.byId.get(id);
        if (backend == null) {
            throw new IllegalArgumentException("id: " + quote(id) + " (expected: the id of a registered backend)");
        }
        return backend;
    }

    @Override
    public String toString() {
        Registry current = registry;
        return "LoadBalancer{strategy=" + current.strategy.name() + ", backends=" + current.all.size()
                + ", available=" + current.available.size() + (closed ? ", closed" : "") + '}';
    }

    private record Context(Ticker ticker, RandomGenerator random) implements SelectionContext {}

    /**
     * Draws from the calling thread's {@link ThreadLocalRandom}. Holding the object returned by
     * {@code ThreadLocalRandom.current()} on one thread and using it on others would skip their
     * seeding, so every call looks the generator up afresh.
     */
    private static final class ThreadLocalRandomSource implements RandomGenerator {
        static final ThreadLocalRandomSource INSTANCE = new ThreadLocalRandomSource();

        @Override
        public long nextLong() {
            return ThreadLocalRandom.current().nextLong();
        }

        @Override
        public int nextInt() {
            return ThreadLocalRandom.current().nextInt();
        }

        @Override
        public int nextInt(int bound) {
            return ThreadLocalRandom.current().nextInt(bound);
        }

        @Override
        public double nextDouble() {
            return ThreadLocalRandom.current().nextDouble();
        }

        @Override
        public String toString() {
            return "ThreadLocalRandom";
        }
    }

    // ---------------------------------------------------------------- builder

    /**
     * Settings for a {@link LoadBalancer}. Each setting may be given once; a second call throws
     * {@link IllegalStateException}. Not thread-safe; the balancer it builds is.
     */
    public static final class Builder {
        static final Duration DEFAULT_DECAY = Duration.ofSeconds(10);

        private BalancingStrategy strategy;
        private Ticker ticker;
        private RandomGenerator random;
        private Duration responseTimeDecay;

        private Builder() {}

        /**
         * The initial strategy; default {@link BalancingStrategy#ROUND_ROBIN}.
         *
         * @param strategy the initial strategy
         * @return this builder
         * @throws NullPointerException  if {@code strategy} is null
         * @throws IllegalStateException if the strategy was already set
         */
        public Builder strategy(BalancingStrategy strategy) {
            requireUnset(this.strategy, "strategy");
            this.strategy = checkNotNull(strategy, "strategy");
            return this;
        }

        /**
         * The source of time; default {@link Ticker#system()}.
         *
         * @param ticker the ticker
         * @return this builder
         * @throws NullPointerException  if {@code ticker} is null
         * @throws IllegalStateException if the ticker was already set
         */
        public Builder ticker(Ticker ticker) {
            requireUnset(this.ticker, "ticker");
            this.ticker = checkNotNull(ticker, "ticker");
            return this;
        }

        /**
         * The random source of the strategies that draw ({@code RANDOM}, {@code RESOURCE_BASED}, tie
         * breaks). It is shared by all selecting threads, so it must be thread-safe, e.g.
         * {@code new Random(seed)} for reproducible tests; default {@link ThreadLocalRandom}.
         *
         * @param random the random source
         * @return this builder
         * @throws NullPointerException  if {@code random} is null
         * @throws IllegalStateException if the random source was already set
         */
        public Builder random(RandomGenerator random) {
            requireUnset(this.random, "random");
            this.random = checkNotNull(random, "random");
            return this;
        }

        /**
         * How fast the response-time average forgets: after this long without a slower answer,
         * an old measurement keeps about 37% (1/e) of its weight; default 10 seconds.
         *
         * @param decay the decay time, > 0
         * @return this builder
         * @throws NullPointerException     if {@code decay} is null
         * @throws IllegalArgumentException if {@code decay} is zero or negative
         * @throws IllegalStateException    if the decay was already set
         */
        public Builder responseTimeDecay(Duration decay) {
            requireUnset(this.responseTimeDecay, "responseTimeDecay");
            this.responseTimeDecay = checkPositive(decay, "responseTimeDecay");
            return this;
        }

        /**
         * Builds the balancer. The builder may be used again afterwards.
         *
         * @return a new balancer with these settings
         */
        public LoadBalancer build() {
            return new LoadBalancer(this);
        }

        private static void requireUnset(Object current, String name) {
            if (current != null) {
                throw new IllegalStateException(name + " was already set to " + current);
            }
        }
    }
}

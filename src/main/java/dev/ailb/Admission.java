package dev.ailb;

import dev.ailb.internal.LatencyHistogram;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Admission: a request that finds the fleet full ({@link ConnectionLimits}) waits here for room,
 * in a bounded queue ordered by priority and shared fairly between tenants, until room is freed,
 * its deadline passes, its caller withdraws it or the balancer closes.
 *
 * <h2>Order</h2>
 * {@link Priority#CRITICAL} waiters are admitted before {@link Priority#STANDARD} ones;
 * {@link Priority#SHEDDABLE} requests never wait (they are shed). Within a priority the tenants
 * with waiters take turns, one admission each, and each tenant's waiters go in arrival order. This
 * is deficit round robin with a cost of one connection per request, the unit a limit counts: while
 * several tenants wait, each gets an equal share of the room freed, whatever it holds already and
 * however many requests it queued, so a tenant that floods the queue only lengthens its own line.
 * Counting tenants' requests in flight instead would cost every admitted request a shared-map
 * update on the fast path, which this design keeps free of any per-tenant state.
 *
 * <h2>A mixed fleet</h2>
 * Requests that name a model or labels are placed on their own candidates. When the waiter whose
 * turn it is cannot be placed (its model's backends are full) the drain looks further down the
 * queue, in the same order, for the first waiter whose backends have room, trying each kind of
 * request (model and labels) once per pass: a full model never holds up another model's requests.
 * While no waiter names a model or labels, the first that does not fit ends the pass.
 *
 * <h2>Full queue</h2>
 * A queue at capacity refuses a standard arrival; a critical arrival takes the place of the newest
 * standard waiter, which is refused ({@link RequestRejectedException.Reason#QUEUE_FULL}): the
 * newest has waited least, so the least work is lost.
 *
 * <h2>Exactly once</h2>
 * Each waiter's future is completed once, by whoever gets there first: the drain (with a lease),
 * the deadline, a displacement or the close (with a rejection), or the caller (cancelling or
 * completing it). Whoever removes a waiter from the queue, under the lock, decides its outcome and
 * counts it; the caller's completion is seen by a completion callback that removes the waiter if it
 * is still queued. When the drain or a rejection finds the future already completed by the caller,
 * it counts a withdrawal instead, and the drain gives the connection it had acquired back without
 * an outcome: nothing leaks, nothing counts as a failure. A waiter's selection is counted only once
 * its lease has been handed over.
 *
 * <h2>No lost wake-up</h2>
 * Room is freed without the lock (a release, a backend added or back up, a limit raised), so each
 * such event calls {@link #onRoom()}, which reads the volatile {@link #waiting} count and, when
 * requests wait, asks for a drain. A drain runs on one thread at a time: a request for a drain
 * while one runs makes the running one go round again ({@link #drainRequests}), so a room freed
 * during a drain is never missed. An arrival that found no room enqueues and then drains itself:
 * either its drain sees the room a concurrent release freed, or the release sees the arrival in
 * {@code waiting} and drains.
 *
 * <p>Thread-safe. The fast path (no waiter, room found) takes no lock; the queue's structure is
 * guarded by {@link #lock}, never held while a future is completed (its callbacks run user code).
 */
final class Admission {
    private final String name;
    private final RequestPath path;
    private final Membership membership;
    private final ConnectionLimits limits;
    private final Ticker ticker;
    private final int capacity;
    private final long defaultMaxWaitNanos;

    private final ReentrantLock lock = new ReentrantLock();
    /** Index 0: critical, 1: standard. Guarded by {@link #lock}. */
    private final Lane[] lanes = {new Lane(), new Lane()};
    /** Guarded by {@link #lock}. */
    private boolean closed;
    /** The waiters queued now; written under the lock, read without it. */
    private volatile int waiting;
    /** Of those, the ones whose request names a model or labels. Guarded by {@link #lock}. */
    private int filteredWaiting;
    private final AtomicInteger drainRequests = new AtomicInteger();

    private final LongAdder queued = new LongAdder();
    private final LongAdder admitted = new LongAdder();
    private final LongAdder withdrawn = new LongAdder();
    private final LongAdder shed = new LongAdder();
    private final LongAdder queueFull = new LongAdder();
    private final LongAdder displaced = new LongAdder();
    private final LongAdder deadlinePassed = new LongAdder();
    private final LongAdder balancerClosed = new LongAdder();
    private final LatencyHistogram waits = new LatencyHistogram();

    Admission(String name, RequestPath path, Membership membership, ConnectionLimits limits, Ticker ticker,
            BalancerSettings.Admission settings) {
        this.name = name;
        this.path = path;
        this.membership = membership;
        this.limits = limits;
        this.ticker = ticker;
        this.capacity = settings.queueCapacity();
        this.defaultMaxWaitNanos = settings.maxWaitNanos();
    }

    /** The longest wait of a call that gives none. */
    long defaultMaxWaitNanos() {
        return defaultMaxWaitNanos;
    }

    /**
     * A lease for a request, waiting for room up to {@code maxWaitNanos} if the fleet is full.
     * Interrupted while it waits, the call withdraws the request and throws
     * {@link CancellationException} with the thread's interrupt flag set again; if the lease was
     * handed over at that very moment, it is returned instead, the flag set.
     */
    Lease acquire(Request request, long maxWaitNanos) {
        Lease now = tryNow(request);
        if (now != null) {
            return now;
        }
        CompletableFuture<Lease> future = enqueue(request, maxWaitNanos);
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (future.cancel(false)) {
                CancellationException c = new CancellationException("request " + request.id()
                        + " withdrawn from the admission queue: the waiting thread was interrupted");
                c.initCause(e);
                throw c;
            }
            return joined(future);
        } catch (ExecutionException e) {
            throw rethrown(e.getCause());
        }
    }

    /** A future of a lease for a request; see {@link LoadBalancer#acquireAsync(Request, Duration)}. */
    CompletableFuture<Lease> acquireAsync(Request request, long maxWaitNanos) {
        Lease now;
        try {
            now = tryNow(request);
        } catch (NoAvailableBackendException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (now != null) {
            return CompletableFuture.completedFuture(now);
        }
        return enqueue(request, maxWaitNanos);
    }

    /** A lease for a request now, or null if it must wait: no room, or waiters ahead. */
    private Lease tryNow(Request request) {
        // Waiters ahead of an arrival keep their turn: it does not take the room freed for them.
        // One for which no backend is there at all is refused now (tryPlace throws), not queued.
        if (waiting == 0 || path.candidates(path.view(), request).backends.isEmpty()) {
            return path.tryLease(request);
        }
        return null;
    }

    private static Lease joined(CompletableFuture<Lease> future) {
        try {
            return future.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw rethrown(e.getCause());
        }
    }

    private static RuntimeException rethrown(Throwable cause) {
        if (cause instanceof RuntimeException r) {
            return r;
        }
        if (cause instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(cause);
    }

    /** Room may have been freed: admits waiters while there is room. Cheap when none waits. */
    void onRoom() {
        if (waiting != 0) {
            drain();
        }
    }

    /** Rejects every waiter: the balancer is closed. */
    void close() {
        List<Waiter> rejected = new ArrayList<>();
        lock.lock();
        try {
            closed = true;
            for (Lane lane : lanes) {
                for (Waiter w = lane.oldest; w != null; w = w.newer) {
                    rejected.add(w);
                }
                lane.clear();
            }
            waiting = 0;
            filteredWaiting = 0;
        } finally {
            lock.unlock();
        }
        for (Waiter w : rejected) {
            reject(w, RequestRejectedException.Reason.BALANCER_CLOSED, balancerClosed, "the balancer was closed");
        }
    }

    AdmissionStats stats() {
        LatencyHistogram.Snapshot h = waits.snapshot();
        return new AdmissionStats(waiting, queued.sum(), admitted.sum(), withdrawn.sum(), shed.sum(),
                queueFull.sum(), displaced.sum(), deadlinePassed.sum(), balancerClosed.sum(),
                Duration.ofNanos(h.valueAt(0.50)), Duration.ofNanos(h.valueAt(0.99)));
    }

    // ---------------------------------------------------------------- the queue

    private CompletableFuture<Lease> enqueue(Request request, long maxWaitNanos) {
        Waiter w = new Waiter(request, ticker.read(), path.tracingForQueuedRequest());
        if (request.priority() == Priority.SHEDDABLE) {
            refuse(w, RequestRejectedException.Reason.SHED, shed, "the fleet is full and the request is sheddable");
            return w.future;
        }
        if (maxWaitNanos == 0) {
            refuse(w, RequestRejectedException.Reason.DEADLINE_PASSED, deadlinePassed,
                    "the fleet is full and the request may not wait");
            return w.future;
        }
        Waiter victim = null;
        boolean refused = false;
        boolean closedNow;
        lock.lock();
        try {
            closedNow = closed;
            if (!closedNow) {
                if (waiting >= capacity) {
                    Lane standard = lanes[1];
                    if (request.priority() == Priority.CRITICAL && standard.newest != null) {
                        victim = standard.newest;
                        standard.remove(victim);
                        waiting--;
                        if (victim.filtered) {
                            filteredWaiting--;
                        }
                    } else {
                        refused = true;
                    }
                }
                if (!refused) {
                    lanes[laneOf(request)].add(w);
                    waiting++;
                    if (w.filtered) {
                        filteredWaiting++;
                    }
                    queued.increment();
                }
            }
        } finally {
            lock.unlock();
        }
        if (closedNow) {
            refuse(w, RequestRejectedException.Reason.BALANCER_CLOSED, balancerClosed, "the balancer is closed");
            return w.future;
        }
        if (refused) {
            refuse(w, RequestRejectedException.Reason.QUEUE_FULL, queueFull,
                    "the fleet is full and " + capacity + " requests wait already");
            return w.future;
        }
        if (victim != null) {
            displaced.increment();
            reject(victim, RequestRejectedException.Reason.QUEUE_FULL, queueFull,
                    "the queue was full and a critical request took its place");
        }
        w.future.whenComplete((lease, error) -> withdraw(w));
        ScheduledFuture<?> timer = membership.schedule(() -> expire(w), maxWaitNanos);
        if (timer == null) {
            expire(w); // closed meanwhile, or a scheduler that refuses: never wait without a deadline
        } else {
            w.timer = timer;
            if (w.future.isDone()) {
                timer.cancel(false);
            }
        }
        drain();
        return w.future;
    }

    private static int laneOf(Request request) {
        return request.priority() == Priority.CRITICAL ? 0 : 1;
    }

    /** Admits waiters, in order, while there is room; one thread at a time. */
    private void drain() {
        if (drainRequests.getAndIncrement() != 0) {
            return; // the running drain goes round again
        }
        int missed = 1;
        do {
            for (;;) {
                Waiter w;
                Backend backend;
                lock.lock();
                try {
                    w = next();
                    if (w == null) {
                        break;
                    }
                    backend = placeQuietly(w);
                    if (backend != null) {
                        lanes[laneOf(w.request)].removeNext(w);
                    } else if (filteredWaiting == 0) {
                        break; // every waiter asks for the same backends, and they are full
                    } else {
                        w = nextThatFits(w);
                        if (w == null) {
                            break;
                        }
                        backend = w.placed;
                        w.placed = null;
                        lanes[laneOf(w.request)].remove(w);
                    }
                    waiting--;
                    if (w.filtered) {
                        filteredWaiting--;
                    }
                } finally {
                    lock.unlock();
                }
                handOver(w, backend);
            }
            missed = drainRequests.addAndGet(-missed);
        } while (missed != 0);
    }

    /**
     * A connection for a waiter, or null if its backends are all full or none is there now. Holds
     * the lock.
     */
    private Backend placeQuietly(Waiter w) {
        if (path.candidates(path.view(), w.request).backends.isEmpty()) {
            return null; // no backend at all now: it waits for one, or for its deadline
        }
        try {
            return path.tryPlace(w.request, false);
        } catch (NoAvailableBackendException e) {
            return null; // the last backend went since the check above
        }
    }

    /**
     * When the waiter whose turn it is cannot be placed and others ask for other backends (another
     * model, other labels), the first waiter in admission order whose backends have room, with its
     * connection acquired ({@link Waiter#placed}); null if none. Waiters asking for the same
     * backends as one that did not fit are not tried again, so a pass tries each kind of request
     * once: a mixed fleet's full model does not hold up requests for the others. Holds the lock.
     */
    private Waiter nextThatFits(Waiter head) {
        java.util.Set<Kind> full = new java.util.HashSet<>();
        full.add(Kind.of(head.request));
        for (Lane lane : lanes) {
            for (TenantLine line : lane.turns) {
                for (Waiter x : line.waiters) {
                    Kind kind = Kind.of(x.request);
                    if (full.contains(kind)) {
                        continue;
                    }
                    Backend b = placeQuietly(x);
                    if (b != null) {
                        x.placed = b;
                        return x;
                    }
                    full.add(kind);
                }
            }
        }
        return null;
    }

    /** What a request asks of its backends: the model and the labels. */
    private record Kind(String model, LabelSelector labels) {
        static Kind of(Request r) {
            return new Kind(r.model(), r.labels());
        }
    }

    /** The waiter admitted next: the first lane with waiters, its tenant whose turn it is. Holds the lock. */
    private Waiter next() {
        for (Lane lane : lanes) {
            TenantLine line = lane.turns.peekFirst();
            if (line != null) {
                return line.waiters.peekFirst();
            }
        }
        return null;
    }

    /** Gives an admitted waiter its lease, or the connection back if its caller has gone. */
    private void handOver(Waiter w, Backend backend) {
        cancelTimer(w);
        Lease lease = path.queuedLease(backend, w.request, w.tracing);
        if (w.future.complete(lease)) {
            path.countSelection(backend, w.request, path.candidates(path.published(), w.request));
            admitted.increment();
            waits.record(Math.max(0L, ticker.read() - w.arrivalNanos));
        } else {
            lease.discard(); // its connection is given back below, its tracer ended
            giveBack(backend, w.request);
            withdrawn.increment();
        }
    }

    /** Releases a connection acquired for a waiter that had gone, with no outcome counted. */
    private void giveBack(Backend backend, Request request) {
        long ctl = backend.tryRelease(path.tokensOf(request));
        if (ctl != LifecycleWord.NO_CONNECTION) {
            membership.released(backend, ctl);
        }
        // the connection it held is room for the next waiter: the running drain goes on
    }

    /** The deadline of a waiter passed. */
    private void expire(Waiter w) {
        lock.lock();
        try {
            if (!w.queued) {
                return;
            }
            lanes[laneOf(w.request)].remove(w);
            waiting--;
            if (w.filtered) {
                filteredWaiting--;
            }
        } finally {
            lock.unlock();
        }
        reject(w, RequestRejectedException.Reason.DEADLINE_PASSED, deadlinePassed,
                "no backend had room within its deadline");
    }

    /** The caller completed a waiter's future (cancelled it, most often); removes it if still queued. */
    private void withdraw(Waiter w) {
        lock.lock();
        try {
            if (!w.queued) {
                return; // admitted or rejected: counted there
            }
            lanes[laneOf(w.request)].remove(w);
            waiting--;
            if (w.filtered) {
                filteredWaiting--;
            }
        } finally {
            lock.unlock();
        }
        cancelTimer(w);
        withdrawn.increment();
        // its place in the queue is free; the fleet's room is unchanged
    }

    /** Rejects a waiter removed from the queue; a withdrawal if its caller completed it first. */
    private void reject(Waiter w, RequestRejectedException.Reason reason, LongAdder counter, String detail) {
        cancelTimer(w);
        long waited = Math.max(0L, ticker.read() - w.arrivalNanos);
        if (w.future.completeExceptionally(new RequestRejectedException(reason, w.request, waited, detail))) {
            counter.increment();
        } else {
            withdrawn.increment();
        }
    }

    /** Rejects an arrival that never entered the queue. */
    private void refuse(Waiter w, RequestRejectedException.Reason reason, LongAdder counter, String detail) {
        w.future.completeExceptionally(new RequestRejectedException(reason, w.request, 0L, detail));
        counter.increment();
    }

    private static void cancelTimer(Waiter w) {
        ScheduledFuture<?> timer = w.timer;
        if (timer != null) {
            timer.cancel(false);
        }
    }

    @Override
    public String toString() {
        return name + " admission{waiting=" + waiting + ", capacity=" + capacity + ", limits="
                + (limits.on() ? "on" : "off") + '}';
    }

    /** A request waiting for room. */
    private static final class Waiter {
        final Request request;
        final long arrivalNanos;
        final CompletableFuture<Lease> future = new CompletableFuture<>();
        /** Whether the request names a model or labels: it may fit where the others do not. */
        final boolean filtered;
        /** The factory of its attempt's tracer, taken on its own thread; null for none or the balancer's. */
        final AttemptTracer.Factory tracing;
        /** The connection {@link #nextThatFits} acquired for it, until the drain hands it over. */
        Backend placed;
        /** Set once the deadline is scheduled; cancelled when the wait ends. */
        volatile ScheduledFuture<?> timer;
        /** Guarded by the lock, as the links below. */
        boolean queued;
        Waiter older;
        Waiter newer;
        TenantLine line;

        Waiter(Request request, long arrivalNanos, AttemptTracer.Factory tracing) {
            this.request = request;
            this.arrivalNanos = arrivalNanos;
            this.tracing = tracing;
            this.filtered = !request.model().isEmpty() || !request.labels().isEmpty();
        }
    }

    /** One tenant's waiters of one priority, in arrival order. */
    private static final class TenantLine {
        final String tenant;
        final ArrayDeque<Waiter> waiters = new ArrayDeque<>();

        TenantLine(String tenant) {
            this.tenant = tenant;
        }
    }

    /**
     * The waiters of one priority: the tenants with waiters in the order of their turns, each
     * tenant's line, and every waiter in arrival order (a doubly linked list, for the newest).
     * Guarded by the admission lock.
     */
    private static final class Lane {
        final ArrayDeque<TenantLine> turns = new ArrayDeque<>();
        final Map<String, TenantLine> byTenant = new HashMap<>();
        Waiter oldest;
        Waiter newest;

        void add(Waiter w) {
            TenantLine line = byTenant.get(w.request.tenant());
            if (line == null) {
                line = new TenantLine(w.request.tenant());
                byTenant.put(line.tenant, line);
                turns.addLast(line);
            }
            line.waiters.addLast(w);
            w.line = line;
            w.older = newest;
            if (newest != null) {
                newest.newer = w;
            } else {
                oldest = w;
            }
            newest = w;
            w.queued = true;
        }

        /** Removes the waiter whose turn it was ({@link #next()}); its tenant's turn passes. */
        void removeNext(Waiter w) {
            TenantLine line = turns.pollFirst();
            line.waiters.pollFirst();
            if (line.waiters.isEmpty()) {
                byTenant.remove(line.tenant);
            } else {
                turns.addLast(line);
            }
            unlink(w);
        }

        /** Removes a waiter from anywhere in the lane; its tenant keeps its turn. */
        void remove(Waiter w) {
            TenantLine line = w.line;
            line.waiters.remove(w);
            if (line.waiters.isEmpty()) {
                byTenant.remove(line.tenant);
                turns.remove(line);
            }
            unlink(w);
        }

        private void unlink(Waiter w) {
            if (w.older != null) {
                w.older.newer = w.newer;
            } else {
                oldest = w.newer;
            }
            if (w.newer != null) {
                w.newer.older = w.older;
            } else {
                newest = w.older;
            }
            w.older = null;
            w.newer = null;
            w.line = null;
            w.queued = false;
        }

        void clear() {
            for (Waiter w = oldest; w != null; ) {
                Waiter next = w.newer;
                w.older = null;
                w.newer = null;
                w.line = null;
                w.queued = false;
                w = next;
            }
            oldest = null;
            newest = null;
            turns.clear();
            byTenant.clear();
        }
    }
}

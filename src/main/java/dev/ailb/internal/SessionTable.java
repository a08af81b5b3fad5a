package dev.ailb.internal;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.internal.AccessOrder.Node;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bounded map from session id to the value (typically a backend) the session is bound to, with
 * least-recently-used eviction and idle expiry. It backs sticky sessions, so it is on the path of
 * every sticky request and must stay small under a flood of distinct session ids: it never holds
 * more than {@code maxSessions} entries, at any moment and under any interleaving of callers.
 *
 * <p>Time is never read here; every timed operation takes a reading {@code nowNanos} of the
 * caller's ticker. Only differences between readings matter, so readings may be negative or wrap.
 * A reading that arrives late (another thread read the ticker later but got here first) counts as
 * the latest reading already seen.
 * An entry idle for {@code idleTimeoutNanos} or longer is expired: {@link #get} no longer returns
 * it, and {@link #get}, {@link #put} and {@link #expire} drop it.
 *
 * <p>The table is split into up to 16 segments, each with its own lock, LRU order and a share of
 * {@code maxSessions}; the shares add up to {@code maxSessions}. A hit (a {@link #get} of a live
 * entry) takes no lock: it stamps the entry's last access, and the segment's {@link AccessOrder}
 * moves stamped entries to their place when it next looks for its least recently used or expired
 * ones, so eviction and expiry still follow the order of last access exactly. Eviction is
 * least-recently-used within a segment, so a new session may evict an entry while other segments
 * still have room.
 * Tables of fewer than 128 sessions have a single segment and are exactly LRU.
 *
 * <p>Every value that leaves the table is reported exactly once to the {@link RemovalListener},
 * so that a caller can keep exact per-backend session counts from {@code put} and the listener.
 * Memory is bounded by {@code maxSessions} entries; session ids are held as given, so callers
 * should bound their length. Thread-safe.
 *
 * <p>A value can also leave while its sessions stay: {@link #unbind} and {@link #unbindIf}
 * withdraw it (a backend that left, say), report it ({@link Cause#UNBOUND}) and keep each of its
 * sessions as an unbound entry, which holds no reference to the value. {@link #get} returns null
 * for an unbound session, as for an unknown one, but {@link #bind} tells the two apart
 * ({@link Outcome#REBOUND} rather than {@link Outcome#NEW}), so that a caller can count a
 * session that comes back after its value was withdrawn as moved, not as new. An unbound entry
 * counts toward {@code maxSessions}, ages, expires and is evicted like any other; leaving then,
 * it reports nothing, since its value was reported when it was withdrawn.
 *
 * @param <V> the bound value; compared with {@link Object#equals} by {@link #remove} and
 *     {@link #unbind}
 */
public final class SessionTable<V> {
    private static final Logger log = LoggerFactory.getLogger(SessionTable.class);

    // A binding that was made carries no value, so one instance per outcome serves every table.
    private static final Binding<?> BOUND_NEW = new Binding<>(Outcome.NEW, null);
    private static final Binding<?> BOUND_AGAIN = new Binding<>(Outcome.REBOUND, null);

    private static final int MAX_SEGMENTS = 16;
    /**
     * Segmenting makes eviction only approximately LRU: a segment can fill up while the table has
     * room. Small shares make that skew large relative to the share, and a small table is cheap to
     * lock as a whole anyway, so each segment gets at least this many sessions.
     */
    private static final int MIN_SEGMENT_SHARE = 64;

    private final long idleTimeoutNanos;
    private final RemovalListener<V> listener;
    private final SessionSegment<V>[] segments;

    /**
     * Creates an empty table.
     *
     * @param maxSessions the most entries the table ever holds
     * @param idleTimeoutNanos how long an entry may go without {@link #get} or {@link #put}
     *     before it expires
     * @param listener told of every value that leaves the table; see {@link RemovalListener}
     * @throws IllegalArgumentException if {@code maxSessions < 1} or {@code idleTimeoutNanos <= 0}
     * @throws NullPointerException if {@code listener} is null
     */
    public SessionTable(int maxSessions, long idleTimeoutNanos, RemovalListener<V> listener) {
        if (maxSessions < 1) {
            throw new IllegalArgumentException("maxSessions: " + maxSessions + " (expected: >= 1)");
        }
        if (idleTimeoutNanos <= 0) {
            throw new IllegalArgumentException("idleTimeoutNanos: " + idleTimeoutNanos + " (expected: > 0)");
        }
        this.idleTimeoutNanos = idleTimeoutNanos;
        this.listener = checkNotNull(listener, "listener");
        int count = Math.min(MAX_SEGMENTS, Integer.highestOneBit(Math.max(1, maxSessions / MIN_SEGMENT_SHARE)));
        @SuppressWarnings("unchecked")
        SessionSegment<V>[] array = (SessionSegment<V>[]) new SessionSegment<?>[count];
        for (int i = 0; i < count; i++) {
            // Spread the remainder over the first segments so that the shares add up exactly.
            array[i] = new SessionSegment<>(maxSessions / count + (i < maxSessions % count ? 1 : 0));
        }
        this.segments = array;
    }

    /**
     * Returns the value bound to {@code sessionId} and marks the session as used now, or returns
     * null if there is none (an unbound session is marked as used all the same) or it has been
     * idle for the idle timeout or longer (such an entry is removed, and its value reported as
     * {@link Cause#EXPIRED}).
     *
     * @param nowNanos a reading of the caller's ticker
     * @throws NullPointerException if {@code sessionId} is null
     */
    public V get(String sessionId, long nowNanos) {
        checkNotNull(sessionId, "sessionId");
        SessionSegment<V> s = segmentFor(sessionId);
        // A hit takes no lock: it reads the binding and stamps the access, and the segment's next
        // walk of its order (an eviction or an expiry) moves the entry to its place then.
        Node<V> node = s.map.get(sessionId);
        if (node == null) {
            return null;
        }
        long latest = s.latest;
        long now = nowNanos - latest > 0 ? nowNanos : latest;
        long last = node.lastAccess;
        if (now - last >= idleTimeoutNanos) {
            return getExpired(s, sessionId, nowNanos);
        }
        if (now - last > 0) {
            node.stamp(now);
        }
        return node.value;
    }

    /** {@link #get} of an entry that looked expired: settled under the lock, where it is removed. */
    private V getExpired(SessionSegment<V> s, String sessionId, long nowNanos) {
        s.lock.lock();
        try {
            Node<V> node = s.map.get(sessionId);
            if (node == null) {
                return null;
            }
            long now = s.advance(nowNanos);
            if (now - node.lastAccess >= idleTimeoutNanos) {
                takeOut(s, node, Cause.EXPIRED);
                return null;
            }
            s.order.touch(node, now); // another thread used the session meanwhile
            return node.value;
        } finally {
            s.lock.unlock();
        }
    }

    /**
     * Binds {@code sessionId} to {@code value}, marking the session as used now. Rebinding reports
     * the old value as {@link Cause#REPLACED}, even when it equals the new one. A new session
     * first drops the segment's expired entries ({@link Cause#EXPIRED}) and only then, if the
     * segment is still full, evicts its least recently used entry ({@link Cause#EVICTED}).
     *
     * @param nowNanos a reading of the caller's ticker
     * @throws NullPointerException if {@code sessionId} or {@code value} is null
     */
    public void put(String sessionId, V value, long nowNanos) {
        bind(sessionId, value, bound -> false, nowNanos);
    }

    /**
     * Binds {@code sessionId} to {@code value} unless it is bound already to a value that
     * {@code keep} accepts, in one step: of several callers placing the same session at once, the
     * first binding that {@code keep} accepts holds and the others are told of it. Marks the
     * session as used now either way; otherwise like {@link #put}. An unbound session is bound
     * without asking {@code keep}, and reports nothing: its value was reported when withdrawn.
     *
     * @param keep tested, under the segment's lock, on the value bound now (never on an expired
     *     one); it must be quick and must not call back into this table
     * @param nowNanos a reading of the caller's ticker
     * @return what was found and done, decided under the segment's lock: {@link Outcome#KEPT}
     *     with the value kept (which may equal {@code value}: then the caller's binding was not
     *     made, so it must not be counted), or {@link Outcome#NEW} or {@link Outcome#REBOUND} when
     *     {@code value} was bound
     * @throws NullPointerException if an argument is null
     */
    public Binding<V> bind(String sessionId, V value, Predicate<? super V> keep, long nowNanos) {
        checkNotNull(sessionId, "sessionId");
        checkNotNull(value, "value");
        checkNotNull(keep, "keep");
        SessionSegment<V> s = segmentFor(sessionId);
        s.lock.lock();
        try {
            long now = s.advance(nowNanos);
            // Before the lookup, so that an expired binding is reported as expired, not replaced.
            dropExpired(s, now);
            Node<V> node = s.map.get(sessionId);
            if (node != null) {
                V old = node.value;
                s.order.touch(node, now);
                if (old == null) {
                    s.rebind(node, value);
                    return made(BOUND_AGAIN);
                }
                if (keep.test(old)) {
                    return new Binding<>(Outcome.KEPT, old);
                }
                node.value = value;
                notify(sessionId, old, Cause.REPLACED);
                return made(BOUND_AGAIN);
            }
            if (s.map.size() >= s.capacity) {
                takeOut(s, s.order.eldest(), Cause.EVICTED);
            }
            s.add(new Node<>(sessionId, value, now));
            return made(BOUND_NEW);
        } finally {
            s.lock.unlock();
        }
    }

    /**
     * Removes the binding of {@code sessionId} if it is bound to a value equal to
     * {@code expected}, reporting it as {@link Cause#EXPLICIT}. Idle entries not yet dropped
     * count as bound.
     *
     * @return whether a binding was removed
     * @throws NullPointerException if {@code sessionId} or {@code expected} is null
     */
    public boolean remove(String sessionId, V expected) {
        return withdraw(sessionId, expected, Cause.EXPLICIT);
    }

    /**
     * Removes every entry whose value matches {@code stale}, reporting each as
     * {@link Cause#EXPLICIT}; unbound entries are left alone. The predicate is called with a
     * segment lock held, so, like the listener, it must be quick and must not call back into the
     * table.
     *
     * @return how many entries were removed
     * @throws NullPointerException if {@code stale} is null
     */
    public int removeIf(Predicate<? super V> stale) {
        return withdrawAll(stale, Cause.EXPLICIT);
    }

    /**
     * Withdraws {@code expected} from {@code sessionId} if the session is bound to a value equal
     * to it, reporting the value as {@link Cause#UNBOUND}; the session stays, unbound (see the
     * class comment). Idle entries not yet dropped count as bound.
     *
     * @return whether the value was withdrawn
     * @throws NullPointerException if {@code sessionId} or {@code expected} is null
     */
    public boolean unbind(String sessionId, V expected) {
        return withdraw(sessionId, expected, Cause.UNBOUND);
    }

    /**
     * Withdraws every value that matches {@code stale}, such as a backend that left, from the
     * sessions bound to it, reporting each as {@link Cause#UNBOUND}; the sessions stay, unbound
     * (see the class comment), and the table no longer refers to the value. Costs time in
     * proportion to the size of the table. The predicate is called with a segment lock held, so,
     * like the listener, it must be quick and must not call back into the table.
     *
     * @return how many sessions were unbound
     * @throws NullPointerException if {@code stale} is null
     */
    public int unbindIf(Predicate<? super V> stale) {
        return withdrawAll(stale, Cause.UNBOUND);
    }

    /** {@link #remove} or {@link #unbind}, as {@code cause} says. */
    private boolean withdraw(String sessionId, V expected, Cause cause) {
        checkNotNull(sessionId, "sessionId");
        checkNotNull(expected, "expected");
        SessionSegment<V> s = segmentFor(sessionId);
        s.lock.lock();
        try {
            Node<V> node = s.map.get(sessionId);
            if (node == null || !expected.equals(node.value)) {
                return false;
            }
            takeOut(s, node, cause);
            return true;
        } finally {
            s.lock.unlock();
        }
    }

    /** {@link #removeIf} or {@link #unbindIf}, as {@code cause} says. */
    private int withdrawAll(Predicate<? super V> stale, Cause cause) {
        checkNotNull(stale, "stale");
        int withdrawn = 0;
        for (SessionSegment<V> s : segments) {
            s.lock.lock();
            try {
                Node<V> node = s.order.first();
                while (node != null) {
                    Node<V> next = node.next(); // read first: a removed node leaves the list
                    V value = node.value;
                    if (value != null && stale.test(value)) {
                        takeOut(s, node, cause);
                        withdrawn++;
                    }
                    node = next;
                }
            } finally {
                s.lock.unlock();
            }
        }
        return withdrawn;
    }

    /**
     * Removes every entry idle for the idle timeout or longer, reporting the value of each bound
     * one as {@link Cause#EXPIRED}. Costs time in proportion to the entries removed, not to the size of
     * the table, so it can be called often (for example from a periodic task).
     *
     * @param nowNanos a reading of the caller's ticker
     * @return how many entries expired
     */
    public int expire(long nowNanos) {
        int expired = 0;
        for (SessionSegment<V> s : segments) {
            s.lock.lock();
            try {
                expired += dropExpired(s, s.advance(nowNanos));
            } finally {
                s.lock.unlock();
            }
        }
        return expired;
    }

    /**
     * Returns the number of entries, including idle ones not yet dropped and unbound ones. Does
     * not lock, so under concurrent updates the result may be slightly stale; it is never more
     * than {@code maxSessions}.
     */
    public int size() {
        int size = 0;
        for (SessionSegment<V> s : segments) {
            size += s.size;
        }
        return size;
    }

    /**
     * Returns the number of sessions bound to a value: {@link #size()} less the unbound ones. Does
     * not lock, so under concurrent updates the result may be slightly stale.
     */
    public int boundSize() {
        int bound = 0;
        for (SessionSegment<V> s : segments) {
            bound += Math.max(0, s.size - s.unbound);
        }
        return bound;
    }

    /** The number of segments, a power of two; for tests. */
    int segmentCount() {
        return segments.length;
    }

    /**
     * A segment's expired entries are the prefix of its {@link AccessOrder}, so dropping them
     * costs O(expired + touched).
     */
    private int dropExpired(SessionSegment<V> s, long now) {
        int dropped = 0;
        for (Node<V> eldest = s.order.eldest(); eldest != null && now - eldest.lastAccess >= idleTimeoutNanos;
                eldest = s.order.eldest()) {
            takeOut(s, eldest, Cause.EXPIRED);
            dropped++;
        }
        return dropped;
    }

    private SessionSegment<V> segmentFor(String sessionId) {
        // The top bits of a Fibonacci product depend on every bit of the hash. The segment's map
        // picks buckets by the low bits, so choosing the segment by those too would leave most of
        // every segment's buckets empty.
        return segments[((sessionId.hashCode() * 0x9E3779B9) >>> 28) & (segments.length - 1)];
    }

    @SuppressWarnings("unchecked") // a binding that was made holds no value of any type
    private static <V> Binding<V> made(Binding<?> binding) {
        return (Binding<V>) binding;
    }

    /**
     * Takes an entry's value out of the table and reports it, if the entry is bound to one: with
     * {@link Cause#UNBOUND} the session stays, unbound (the entry must be bound then); with any
     * other cause the entry leaves too. Every way out but a rebinding ({@link Cause#REPLACED})
     * comes through here.
     */
    private void takeOut(SessionSegment<V> s, Node<V> node, Cause cause) {
        V value = node.value;
        if (cause == Cause.UNBOUND) {
            s.unbind(node);
        } else {
            s.remove(node);
        }
        if (value != null) {
            notify(node.key, value, cause);
        }
    }

    private void notify(String sessionId, V value, Cause cause) {
        try {
            listener.onRemoval(sessionId, value, cause);
        } catch (RuntimeException e) {
            // The entry is already gone; a throwing listener must not leave a segment half updated.
            // The session id stays out of the log: it may be a credential such as a cookie value.
            log.warn("Session removal listener failed ({}); ignored", cause, e);
        }
    }

    /**
     * Told of each value that leaves a {@link SessionTable}, exactly once per value. Called on the
     * thread that removed it, possibly with a segment lock held: it must be quick and must not call
     * back into the table. An exception it throws is logged and ignored. Implementations must be
     * thread-safe.
     */
    @FunctionalInterface
    public interface RemovalListener<V> {
        void onRemoval(String sessionId, V value, Cause cause);
    }

    /** Why a value left the table. */
    public enum Cause {
        /** The session was idle for the idle timeout or longer. */
        EXPIRED,
        /** The session was the least recently used one in a full segment when another was added. */
        EVICTED,
        /** The session was bound to another value (or bound again to the same one). */
        REPLACED,
        /** The value was removed by {@link SessionTable#remove} or {@link SessionTable#removeIf}. */
        EXPLICIT,
        /**
         * The value was withdrawn by {@link SessionTable#unbind} or {@link SessionTable#unbindIf};
         * the session stays, unbound.
         */
        UNBOUND
    }

    /** How {@link SessionTable#bind} found the session, decided under its segment's lock. */
    public enum Outcome {
        /** Not in the table (never bound, or expired or evicted since): the value was bound. */
        NEW,
        /**
         * In the table, bound to a value the caller did not keep or unbound since its value was
         * withdrawn: the value was bound.
         */
        REBOUND,
        /** Bound to a value the caller kept: the caller's value was not bound. */
        KEPT
    }

    /**
     * What {@link SessionTable#bind} did.
     *
     * @param outcome how the session was found
     * @param kept    the value kept when the outcome is {@link Outcome#KEPT}, null otherwise
     * @param <V>     the bound value
     */
    public record Binding<V>(Outcome outcome, V kept) {}
}

package dev.ailb.internal;

import dev.ailb.internal.AccessOrder.Node;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One segment of a {@link SessionTable}: its share of the sessions, held in a hash map for lookup
 * and in their {@link AccessOrder}, with the counts and the latest ticker reading that the table
 * reads without the lock. Every change is made under {@code lock}, which the table takes; the
 * volatile fields and the map may be read without it. A ReentrantLock rather than
 * {@code synchronized} so that a virtual thread waiting for it does not pin its carrier thread on
 * JDKs before 24.
 */
final class SessionSegment<V> {
    final ReentrantLock lock = new ReentrantLock();
    // Changed under the lock; read by hits without it.
    final ConcurrentHashMap<String, Node<V>> map = new ConcurrentHashMap<>();
    final AccessOrder<V> order = new AccessOrder<>();
    final int capacity;
    /** The latest reading seen under the lock; hits read it to place late readings. */
    volatile long latest;
    /** A copy of {@code map.size()} that {@link SessionTable#size()} may read without the lock. */
    volatile int size;
    /** How many of the entries are unbound; written under the lock, read without it. */
    volatile int unbound;

    SessionSegment(int capacity) {
        this.capacity = capacity;
    }

    /**
     * Returns the time to use for an operation at {@code nowNanos}: the latest reading this
     * segment has seen. Two threads can read the ticker in one order and take the lock in the
     * other; without this the later reading could be stored before the earlier one, the order
     * would no longer be sorted by last access, and an expired entry could hide behind a live one.
     */
    long advance(long nowNanos) {
        if (order.isEmpty() || nowNanos - latest > 0) {
            latest = nowNanos;
        }
        return latest;
    }

    void add(Node<V> node) {
        map.put(node.key, node);
        order.add(node);
        size = map.size();
    }

    void remove(Node<V> node) {
        if (node.value == null) {
            unbound--;
        }
        map.remove(node.key);
        order.remove(node);
        size = map.size();
    }

    /** Withdraws a bound node's value, which the caller reports. */
    void unbind(Node<V> node) {
        node.value = null;
        unbound++;
    }

    /** Binds an unbound node again. */
    void rebind(Node<V> node, V value) {
        node.value = value;
        unbound--;
    }
}

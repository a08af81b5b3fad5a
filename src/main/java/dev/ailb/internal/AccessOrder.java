package dev.ailb.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The entries of one {@link SessionTable} segment in order of last access, least recently used
 * first: the order that eviction and idle expiry follow. A doubly linked list threaded through the
 * entries themselves, so that reordering allocates nothing.
 *
 * <p>A hit stamps its entry's last access without the segment's lock ({@link Node#stamp}) and
 * leaves the entry where it is. Each entry remembers the access it was placed by
 * ({@code linkedAt}), and the list is sorted by that; {@link #eldest} first moves the entries
 * stamped since they were placed, so the entry it returns is exactly the least recently used one.
 * Not thread-safe: every method runs under the segment's lock.
 *
 * @param <V> the value the entries carry; the order never reads it
 */
final class AccessOrder<V> {
    private Node<V> head;
    private Node<V> tail;

    boolean isEmpty() {
        return head == null;
    }

    /** The first entry in the list, for a walk over all of them with {@link Node#next}. */
    Node<V> first() {
        return head;
    }

    /** Marks an entry used at {@code now} (never earlier than it was) and moves it to its place. */
    void touch(Node<V> node, long now) {
        if (now - node.lastAccess > 0) {
            node.lastAccess = now;
        }
        remove(node);
        add(node);
    }

    /**
     * The least recently used entry, or null if there is none. Entries that hits stamped since
     * they took their place are first moved to their new place, so the head that comes out
     * untouched has the oldest last access of all: every other entry's is at least its own
     * place's, which is at least the head's. The entries idle longest thus form a prefix that is
     * found in O(that prefix + entries moved).
     */
    Node<V> eldest() {
        Node<V> node = head;
        while (node != null && node.touched()) {
            remove(node);
            add(node);
            node = head;
        }
        return node;
    }

    /**
     * Places an entry by its last access, after the last entry placed at or before it:
     * usually the tail, but a late reading, or a hit stamped long before the walk that moves it,
     * belongs further in. The list is searched from both ends at once, so a place near either end
     * (a session used just after it was bound, or just now) costs a few steps, and none costs more
     * than the length of the list.
     */
    void add(Node<V> node) {
        long at = node.lastAccess;
        node.linkedAt = at;
        Node<V> fromTail = tail;
        Node<V> fromHead = head;
        Node<V> after;
        for (;;) {
            if (fromTail == null || fromTail.linkedAt - at <= 0) {
                after = fromTail;
                break;
            }
            if (fromHead.linkedAt - at > 0) {
                after = fromHead.prev;
                break;
            }
            fromTail = fromTail.prev;
            fromHead = fromHead.next;
        }
        node.prev = after;
        node.next = after == null ? head : after.next;
        if (after == null) {
            head = node;
        } else {
            after.next = node;
        }
        if (node.next == null) {
            tail = node;
        } else {
            node.next.prev = node;
        }
    }

    void remove(Node<V> node) {
        if (node.prev == null) {
            head = node.next;
        } else {
            node.prev.next = node.next;
        }
        if (node.next == null) {
            tail = node.prev;
        } else {
            node.next.prev = node.prev;
        }
        node.prev = null;
        node.next = null;
    }

    /** A session entry: its id, its value and its place in the order. */
    static final class Node<V> {
        private static final VarHandle LAST_ACCESS;

        static {
            try {
                LAST_ACCESS = MethodHandles.lookup().findVarHandle(Node.class, "lastAccess", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final String key;
        /** Null once withdrawn (an unbound session). Written under the segment's lock, read by hits without it. */
        volatile V value;
        /** The latest access; hits stamp it without the lock (see {@link #stamp}). */
        volatile long lastAccess;
        /** lastAccess as of the node's place in the list; guarded by the lock. */
        private long linkedAt;
        private Node<V> prev; // guarded by the lock
        private Node<V> next; // guarded by the lock

        Node(String key, V value, long lastAccess) {
            this.key = key;
            this.value = value;
            this.lastAccess = lastAccess;
            this.linkedAt = lastAccess;
        }

        /**
         * A hit's stamp, stored with release semantics only: a plain store on x86, where a
         * volatile store would add a full fence to every hit. A walk under the lock that misses a
         * stamp made in the same instant treats the hit as coming just after it.
         */
        void stamp(long now) {
            LAST_ACCESS.setRelease(this, now);
        }

        /** The next entry in the list, or null at its end; guarded by the lock. */
        Node<V> next() {
            return next;
        }

        /** Whether a hit stamped the node since it took its place in the list. */
        private boolean touched() {
            return lastAccess - linkedAt > 0;
        }
    }
}

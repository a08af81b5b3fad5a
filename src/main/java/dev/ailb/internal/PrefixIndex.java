package dev.ailb.internal;

import java.util.concurrent.locks.StampedLock;

/**
 * A bounded set of prefix hashes in least-recently-used order: what one balancer believes one
 * backend holds in its prefix cache. Hashes come from {@link PromptHashes}; a prompt's blocks are
 * recorded last block first, so that the shorter prefixes of a prompt are always more recent than
 * the longer ones and eviction takes the longest first, as a server's own LRU does. The set then
 * stays closed under prefixes: if it holds the hash of block {@code i}, it holds those of blocks
 * {@code 0..i-1} (eviction by {@link #evictNotNewerThan} may break this; {@link #match} does not rely on it).
 *
 * <h2>Design</h2>
 * Entries are nodes in parallel arrays (key, stamp, previous and next in the LRU list) that never
 * move; an open-addressing table with linear probing maps a key to its node, and a removal shifts
 * the probe run back (no tombstones), so a lookup ends at the first empty slot. The arrays grow by
 * doubling up to {@link #maxEntries}, so an index costs memory in proportion to what it holds:
 * at most about 32 bytes per entry (24 for the node, two table slots of 4).
 *
 * <p>Readers never lock: {@link #match} reads under a {@link StampedLock}'s
 * optimistic stamp and validate it afterwards, repeating the read (under the read lock after a
 * few tries) if a writer overlapped. Every index they compute from what they read is bounds-checked,
 * so a read that overlaps a write can return a wrong answer, which validation then throws away,
 * but never fails. Writers ({@link #record}, {@link #refresh}, the evictions, {@link #resize}) hold
 * the write lock for the time of their own entries only.
 *
 * <p>Thread-safe.
 */
public final class PrefixIndex {
    /** The most entries an index may hold: 2^24, which the 32-bit table still addresses with room. */
    public static final int MAX_ENTRIES = 1 << 24;
    private static final int MIN_NODES = 16;
    private static final int OPTIMISTIC_TRIES = 3;
    private static final int NONE = -1;

    private final StampedLock lock = new StampedLock();
    /** Written under the write lock; read without it by {@link #maxEntries()}. */
    private volatile int maxEntries;
    // Written under the write lock; read optimistically (see the class comment).
    private long[] keys;
    private long[] stamps;
    private int[] prev;
    private int[] next;
    /** Slot -> node + 1; 0 is an empty slot. Its length is a power of two, at least twice the nodes'. */
    private int[] table;
    private int size;
    private int head = NONE; // the most recent
    private int tail = NONE; // the least recent
    private int free = NONE; // free nodes below the high-water mark, linked through next
    private int used;        // the high-water mark: nodes [used, keys.length) were never used
    private long clock;

    /**
     * An empty index.
     *
     * @param maxEntries the most hashes it holds, 1..{@link #MAX_ENTRIES}
     * @throws IllegalArgumentException if {@code maxEntries} is out of range
     */
    public PrefixIndex(int maxEntries) {
        checkMaxEntries(maxEntries);
        this.maxEntries = maxEntries;
        allocate(Math.min(maxEntries, MIN_NODES));
    }

    private static void checkMaxEntries(int maxEntries) {
        Preconditions.checkRange(maxEntries, 1, MAX_ENTRIES, "maxEntries");
    }

    private void allocate(int nodes) {
        keys = new long[nodes];
        stamps = new long[nodes];
        prev = new int[nodes];
        next = new int[nodes];
        table = new int[Integer.highestOneBit(nodes * 2 - 1) << 1];
    }

    /**
     * The length of the longest run of leading hashes that this index holds.
     *
     * @param hashes chained block hashes of a prompt
     * @param count  how many of them to look at
     * @return the number of leading hashes held, 0..{@code count}
     */
    public int match(long[] hashes, int count) {
        for (int attempt = 0; attempt < OPTIMISTIC_TRIES; attempt++) {
            long stamp = lock.tryOptimisticRead();
            if (stamp != 0) {
                int matched = scan(table, keys, hashes, count);
                if (lock.validate(stamp)) {
                    return matched;
                }
            }
            Thread.onSpinWait();
        }
        long stamp = lock.readLock();
        try {
            return scan(table, keys, hashes, count);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    private static int scan(int[] table, long[] keys, long[] hashes, int count) {
        for (int i = 0; i < count; i++) {
            if (find(table, keys, hashes[i]) == NONE) {
                return i;
            }
        }
        return count;
    }

    /** The node holding {@code key}, or NONE; safe on arrays read racily (see the class comment). */
    private static int find(int[] table, long[] keys, long key) {
        int mask = table.length - 1;
        int slot = spread(key) & mask;
        for (int probes = 0; probes < table.length; probes++) {
            int entry = table[slot];
            if (entry == 0) {
                return NONE;
            }
            int node = entry - 1;
            if (node < keys.length && keys[node] == key) {
                return node;
            }
            slot = (slot + 1) & mask;
        }
        return NONE;
    }

    private static int spread(long key) {
        return (int) (key ^ (key >>> 32));
    }

    /**
     * Records that the backend now holds these prefixes: each hash becomes the most recent, the
     * first one last; hashes not held are added, evicting the least recent beyond the bound.
     *
     * @param hashes    chained block hashes of a prompt
     * @param count     how many of them to record
     * @param oldStamps receives, for each hash, its last-use stamp before this call (larger is more
     *                  recent), or -1 if it was not held, as it was before any insertion of this
     *                  call could evict it; long enough for {@code count}
     */
    public void record(long[] hashes, int count, long[] oldStamps) {
        long stamp = lock.writeLock();
        try {
            // What was held before any of this prompt's own insertions evicts anything.
            for (int i = 0; i < count; i++) {
                int node = find(table, keys, hashes[i]);
                oldStamps[i] = node == NONE ? -1 : stamps[node];
            }
            for (int i = count - 1; i >= 0; i--) {
                int node = find(table, keys, hashes[i]);
                if (node == NONE) {
                    insert(hashes[i]);
                } else {
                    moveToHead(node);
                }
            }
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    /**
     * Makes the held hashes among these the most recent, the first one last; adds none.
     *
     * @param hashes chained block hashes of a prompt
     * @param count  how many of them to refresh
     */
    public void refresh(long[] hashes, int count) {
        long stamp = lock.writeLock();
        try {
            for (int i = count - 1; i >= 0; i--) {
                int node = find(table, keys, hashes[i]);
                if (node != NONE) {
                    moveToHead(node);
                }
            }
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    /**
     * Drops every entry whose last use is at most {@code stamp}: what a server running its own LRU
     * has evicted, once one entry of that age turned out to be gone.
     *
     * @param stamp a stamp from {@link #record}
     * @return the number of entries dropped
     */
    public int evictNotNewerThan(long stamp) {
        long s = lock.writeLock();
        try {
            int dropped = 0;
            while (tail != NONE && stamps[tail] <= stamp) {
                removeNode(tail);
                dropped++;
            }
            return dropped;
        } finally {
            lock.unlockWrite(s);
        }
    }

    /**
     * Changes the bound, dropping the least recent entries beyond a smaller one.
     *
     * @param maxEntries the most hashes it holds, 1..{@link #MAX_ENTRIES}
     * @throws IllegalArgumentException if {@code maxEntries} is out of range
     */
    public void resize(int maxEntries) {
        checkMaxEntries(maxEntries);
        long s = lock.writeLock();
        try {
            this.maxEntries = maxEntries;
            while (size > maxEntries) {
                removeNode(tail);
            }
        } finally {
            lock.unlockWrite(s);
        }
    }

    /**
     * The bound.
     *
     * @return the most hashes this index holds
     */
    public int maxEntries() {
        return maxEntries;
    }

    /**
     * The hashes held now.
     *
     * @return the count
     */
    public int size() {
        long s = lock.readLock();
        try {
            return size;
        } finally {
            lock.unlockRead(s);
        }
    }

    /**
     * The heap this index's arrays take now, headers included: a bound on what it retains.
     *
     * @return bytes
     */
    public long retainedBytes() {
        long s = lock.readLock();
        try {
            long arrayHeader = 16;
            return 4 * arrayHeader + (long) keys.length * (8 + 8 + 4 + 4) + arrayHeader + (long) table.length * 4;
        } finally {
            lock.unlockRead(s);
        }
    }

    // ---------------------------------------------------------------- under the write lock

    private void insert(long key) {
        int node;
        if (size == maxEntries) {
            node = tail;
            removeNode(node); // frees it; taken back at once below
        }
        if (free != NONE) {
            node = free;
            free = next[node];
        } else {
            if (used == keys.length) {
                grow();
            }
            node = used++;
        }
        keys[node] = key;
        linkHead(node);
        int mask = table.length - 1;
        int slot = spread(key) & mask;
        while (table[slot] != 0) {
            slot = (slot + 1) & mask;
        }
        table[slot] = node + 1;
        size++;
    }

    private void grow() {
        int nodes = (int) Math.min((long) keys.length * 2, maxEntries);
        long[] oldKeys = keys;
        long[] oldStamps = stamps;
        int[] oldPrev = prev;
        int[] oldNext = next;
        int[] oldTable = table;
        long[] k = java.util.Arrays.copyOf(oldKeys, nodes);
        long[] st = java.util.Arrays.copyOf(oldStamps, nodes);
        int[] p = java.util.Arrays.copyOf(oldPrev, nodes);
        int[] n = java.util.Arrays.copyOf(oldNext, nodes);
        int[] t = new int[Integer.highestOneBit(nodes * 2 - 1) << 1];
        int mask = t.length - 1;
        for (int entry : oldTable) {
            if (entry != 0) {
                int slot = spread(k[entry - 1]) & mask;
                while (t[slot] != 0) {
                    slot = (slot + 1) & mask;
                }
                t[slot] = entry;
            }
        }
        keys = k;
        stamps = st;
        prev = p;
        next = n;
        table = t;
    }

    private void moveToHead(int node) {
        if (node != head) {
            unlink(node);
            linkHead(node);
        } else {
            stamps[node] = ++clock;
        }
    }

    private void linkHead(int node) {
        stamps[node] = ++clock;
        prev[node] = NONE;
        next[node] = head;
        if (head != NONE) {
            prev[head] = node;
        }
        head = node;
        if (tail == NONE) {
            tail = node;
        }
    }

    private void unlink(int node) {
        int p = prev[node];
        int n = next[node];
        if (p != NONE) {
            next[p] = n;
        } else {
            head = n;
        }
        if (n != NONE) {
            prev[n] = p;
        } else {
            tail = p;
        }
    }

    /** Takes a node out of the list and the table and puts it on the free list. */
    private void removeNode(int node) {
        unlink(node);
        int mask = table.length - 1;
        int slot = spread(keys[node]) & mask;
        while (table[slot] != node + 1) {
            slot = (slot + 1) & mask;
        }
        // Backward shift: move later entries of the probe run into the hole when their home slot
        // does not lie cyclically between the hole and where they are.
        int hole = slot;
        int j = slot;
        while (true) {
            j = (j + 1) & mask;
            int entry = table[j];
            if (entry == 0) {
                break;
            }
            int home = spread(keys[entry - 1]) & mask;
            boolean stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
            if (!stays) {
                table[hole] = entry;
                hole = j;
            }
        }
        table[hole] = 0;
        next[node] = free;
        free = node;
        size--;
    }

    @Override
    public String toString() {
        return "PrefixIndex{size=" + size() + ", maxEntries=" + maxEntries() + '}';
    }
}

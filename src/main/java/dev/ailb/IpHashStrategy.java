package dev.ailb;

import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;

/**
 * Consistent hashing of the client address; see {@link BalancingStrategy#IP_HASH}. Immutable.
 *
 * <p>A hash ring (Karger et al.), chosen over rendezvous hashing, whose pick costs O(n), and over
 * Maglev, whose table moves some clients of backends that did not change. Each available backend
 * owns {@value #POINTS_PER_WEIGHT} points per unit of weight (at most
 * {@value #MAX_POINTS_PER_BACKEND}, so weights above 10 count as 10 here and the ring of even a
 * 10,000-backend fleet stays within 128 MB), placed by hashing its
 * id; a client address belongs to the first point at or after its hash. A backend's points depend
 * on nothing but its own id and weight, and the ring is always made of the available backends'
 * points, hence:
 * <ul>
 *   <li>a stable set sends each address to the same backend, on every JVM, whatever the order in
 *       which backends were added;</li>
 *   <li>when a backend leaves (unhealthy, draining, removed), only its addresses move, each to the
 *       next backend along the ring, and they return when it comes back;</li>
 *   <li>a new backend takes about {@code 1/(n+1)} of the addresses (for equal weights), and every
 *       address that moves, moves to it;</li>
 *   <li>a backend given a higher weight keeps its points and gains more (only addresses moving to
 *       it move), a lower one loses its last points (only its addresses move).</li>
 * </ul>
 *
 * <p>A pick is a binary search of a sorted {@code long[]}. The selector keeps the last ring, so a
 * change of the set filters it and merges in the points of new backends in linear time instead of
 * sorting everything again.
 */
final class IpHashStrategy implements BalancingStrategy {
    static final int POINTS_PER_WEIGHT = 160;
    static final int MAX_POINTS_PER_BACKEND = 1_600;
    // A ring entry keeps the high 44 bits of a point's hash as its position; the low 20 bits carry
    // the index of its backend, so that one primitive array holds positions and owners together.
    private static final int INDEX_BITS = 20;
    private static final long INDEX_MASK = (1L << INDEX_BITS) - 1;
    private static final long KEY_SEED = 0x9e3779b97f4a7c15L;

    @Override
    public Selector newSelector(SelectionContext context) {
        return new RingSelector();
    }

    /** Builds the ring of a set of backends from scratch. */
    static Ring ring(List<Backend> available) {
        return (Ring) new RingSelector().newPicker(available);
    }

    /**
     * The backend a ring built by this strategy's selector places {@code key} on, hashed as a client
     * address would be; consistent session affinity uses it with session ids.
     */
    static Backend backendForKey(Picker ring, String key) {
        return ((Ring) ring).backendFor(keyOf(key));
    }

    static long keyOf(String clientIp) {
        return Hashing.mix(clientIp.hashCode() ^ KEY_SEED) & ~INDEX_MASK;
    }

    static int pointsOf(Backend backend) {
        return (int) Math.min(MAX_POINTS_PER_BACKEND, (long) POINTS_PER_WEIGHT * backend.weight());
    }

    private static long position(long entry) {
        return entry & ~INDEX_MASK;
    }

    private static int owner(long entry) {
        return (int) (entry & INDEX_MASK);
    }

    /**
     * Ring order: by position, then, for the rare points of two backends at one position, by
     * backend id, so that the order never depends on how the ring was built.
     */
    private static int compare(long a, long b, Backend[] owners) {
        int byPosition = Long.compare(position(a), position(b));
        return byPosition != 0 ? byPosition : owners[owner(a)].id().compareTo(owners[owner(b)].id());
    }

    /** Per-balancer state: the last ring built, reused by the next change. */
    static final class RingSelector implements Selector {
        private long[] entries = new long[0];
        private Backend[] owners = new Backend[0];

        @Override
        public Picker newPicker(List<Backend> available) {
            int n = available.size();
            if (n > INDEX_MASK + 1) {
                throw new IllegalStateException("IP_HASH supports at most " + (INDEX_MASK + 1)
                        + " available backends, got " + n);
            }
            Backend[] next = available.toArray(new Backend[0]);
            IdentityHashMap<Backend, Integer> indexOf = new IdentityHashMap<>(n * 2);
            for (int i = 0; i < n; i++) {
                indexOf.put(next[i], i);
            }
            // Points of backends that stay keep their order; only their owner index changes. A
            // backend whose weight changed its number of points has them all placed afresh: its
            // points are the first ones of one sequence, so the ones it keeps land where they were.
            int[] points = new int[n];
            for (int i = 0; i < n; i++) {
                points[i] = pointsOf(next[i]);
            }
            int[] ownerPoints = new int[owners.length]; // counted, not kept: the ring stays its size
            for (long e : entries) {
                ownerPoints[owner(e)]++;
            }
            int[] remap = new int[owners.length];
            boolean[] known = new boolean[n];
            int keptCount = 0;
            for (int j = 0; j < owners.length; j++) {
                Integer i = indexOf.get(owners[j]);
                remap[j] = i == null || points[i] != ownerPoints[j] ? -1 : i;
                if (remap[j] >= 0) {
                    known[i] = true;
                }
            }
            for (long e : entries) {
                if (remap[owner(e)] >= 0) {
                    keptCount++;
                }
            }
            long[] kept = new long[keptCount];
            int k = 0;
            for (long e : entries) {
                int i = remap[owner(e)];
                if (i >= 0) {
                    kept[k++] = position(e) | i;
                }
            }
            long[] fresh = freshPoints(next, points, known);
            long[] merged = merge(kept, fresh, next);
            entries = merged;
            owners = next;
            return new Ring(merged, next);
        }

        private static long[] freshPoints(Backend[] next, int[] points, boolean[] known) {
            long count = 0;
            for (int i = 0; i < next.length; i++) {
                if (!known[i]) {
                    count += points[i];
                }
            }
            long[] fresh = new long[Math.toIntExact(count)];
            int p = 0;
            for (int i = 0; i < next.length; i++) {
                if (known[i]) {
                    continue;
                }
                long idHash = Hashing.hash(next[i].id());
                for (long r = 0; r < points[i]; r++) {
                    fresh[p++] = (Hashing.mix(idHash + r * KEY_SEED) & ~INDEX_MASK) | i;
                }
            }
            Arrays.sort(fresh);
            // Arrays.sort orders equal positions by index; restore the id order of compare().
            for (int i = 1; i < fresh.length; i++) {
                for (int j = i; j > 0 && position(fresh[j]) == position(fresh[j - 1])
                        && compare(fresh[j], fresh[j - 1], next) < 0; j--) {
                    long t = fresh[j];
                    fresh[j] = fresh[j - 1];
                    fresh[j - 1] = t;
                }
            }
            return fresh;
        }

        private static long[] merge(long[] a, long[] b, Backend[] owners) {
            long[] out = new long[a.length + b.length];
            int i = 0;
            int j = 0;
            int o = 0;
            while (i < a.length && j < b.length) {
                out[o++] = compare(a[i], b[j], owners) <= 0 ? a[i++] : b[j++];
            }
            while (i < a.length) {
                out[o++] = a[i++];
            }
            while (j < b.length) {
                out[o++] = b[j++];
            }
            return out;
        }
    }

    /**
     * The picker for one set: the sorted ring, its backends, and an index of the ring by the top
     * bits of a position, so that a lookup searches only the few points of one slice. Immutable.
     */
    static final class Ring implements Picker {
        private final long[] entries;
        private final Backend[] backends;
        /**
         * {@code slices[b]} is the first entry at or after the start of slice {@code b}, the
         * positions whose top {@code sliceBits} bits (in signed order) are {@code b}; one more
         * element holds the ring's length.
         */
        private final int[] slices;
        private final int sliceShift;

        Ring(long[] entries, Backend[] backends) {
            this.entries = entries;
            this.backends = backends;
            // About four points per slice: a lookup takes two or three steps of binary search, and
            // the index adds about two bytes per point to the ring's eight.
            int sliceBits = Math.max(1, 31 - Integer.numberOfLeadingZeros(Math.max(1, entries.length / 4)));
            this.sliceShift = 64 - sliceBits;
            int count = 1 << sliceBits;
            int[] index = new int[count + 1];
            int e = 0;
            for (int b = 0; b < count; b++) {
                while (e < entries.length && sliceOf(position(entries[e])) < b) {
                    e++;
                }
                index[b] = e;
            }
            index[count] = entries.length;
            this.slices = index;
        }

        /** The slice of a position: its top bits, taken so that slices follow signed order. */
        private int sliceOf(long position) {
            return (int) ((position ^ Long.MIN_VALUE) >>> sliceShift);
        }

        @Override
        public Backend pick(Request request) {
            return backendFor(keyOf(request.clientIp()));
        }

        Backend backendFor(long key) {
            // First entry whose position is >= key; past the last one, wrap to the first. It lies
            // in the key's slice, or is the first entry after it.
            int slice = sliceOf(key);
            int lo = slices[slice];
            int hi = slices[slice + 1];
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (position(entries[mid]) < key) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return backends[owner(entries[lo == entries.length ? 0 : lo])];
        }

        int size() {
            return entries.length;
        }

        /** The position of the i-th point in ring order; for tests. */
        long positionAt(int i) {
            return position(entries[i]);
        }

        /** The owner of the i-th point in ring order; for tests. */
        Backend ownerAt(int i) {
            return backends[owner(entries[i])];
        }
    }

    @Override
    public String name() {
        return "IP_HASH";
    }

    @Override
    public String toString() {
        return name();
    }
}

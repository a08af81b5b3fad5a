package dev.ailb;

import java.util.ArrayList;
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
 * <h2>A ring in cells, so that a change costs one backend's points</h2>
 * The positions are cut into {@code 2^g} cells by their top bits, about four points a cell. Each
 * cell holds its points in ring order, then one more entry that names the owner of the first
 * point after the cell, so that a lookup reads one short array: the cell of the key, scanned to
 * the first entry at or after the key (the last entry ends every scan). A backend joining,
 * leaving or taking a new weight changes only the cells its points fall in (and the last entry of
 * the cells before them that end on one of those points): the picker of the next set shares every
 * other cell with the last one. The table of cells of a large ring (more than
 * {@value #FLAT_MAX} cells) is kept in two levels, chunks of {@value #CHUNK} cells under a top
 * level, so that a change copies the top level and only the chunks its backend's points fall in
 * (at most one per point), never the whole table: at 10,000 backends of weight 2 the table has
 * 2^20 cells, whose copy (4 MB) would cost more than the change itself. A smaller ring keeps its
 * table in one chunk, copied whole by a change, so that its pick reads one chunk that stays in
 * the cache. The change costs work in proportion to the backend's points, rather than the
 * milliseconds of a whole ring. A backend keeps a slot, its index in the entries, for as long
 * as it is in the ring. The table is cut afresh when the number of points drifts too far from
 * four a cell (a factor of two either way), so over a run of joins its cost is amortized.
 * {@link Selector#newPicker} compares the new set with the last one (a hash lookup per backend)
 * and applies the differences; a change of one backend is told to
 * {@link IncrementalSelector#newPicker(List, List, Backend)} and skips the comparison.
 */
final class IpHashStrategy implements BalancingStrategy {
    static final int POINTS_PER_WEIGHT = 160;
    static final int MAX_POINTS_PER_BACKEND = 1_600;
    // A ring entry keeps the high 44 bits of a point's hash as its position; the low 20 bits carry
    // the slot of its backend, so that one primitive array holds positions and owners together.
    private static final int INDEX_BITS = 20;
    private static final long INDEX_MASK = (1L << INDEX_BITS) - 1;
    private static final long KEY_SEED = 0x9e3779b97f4a7c15L;
    /** The position of the entry that ends each cell: at or after every key. */
    private static final long END = Long.MAX_VALUE & ~INDEX_MASK;
    /** Points per cell the table is cut for, and the factor either way that makes it cut afresh. */
    private static final int POINTS_PER_CELL = 4;
    /** Cells per chunk of the table of cells of a large ring: a power of two. */
    static final int CHUNK = 64;
    private static final int CHUNK_BITS = Integer.numberOfTrailingZeros(CHUNK);
    /**
     * The most cells a ring keeps in one chunk (a flat table): its copy costs a change some tens
     * of microseconds at most (a ring of about 1,600 backends of weight 1), and its pick reads
     * the one chunk, always in the cache, rather than one chunk of many.
     */
    static final int FLAT_MAX = 1 << 16;
    private static final int DRIFT = 2;
    /** Beyond this share of the ring changing at once, a new set is built whole. */
    private static final int WHOLE_BUILD_FRACTION = 4;

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

    /** The points of one backend in its slot, sorted by position. */
    private static long[] pointsOf(Backend backend, int count, int slot) {
        long[] points = new long[count];
        long idHash = Hashing.hash(backend.id());
        for (int r = 0; r < count; r++) {
            points[r] = (Hashing.mix(idHash + r * KEY_SEED) & ~INDEX_MASK) | slot;
        }
        Arrays.sort(points);
        return points;
    }

    /** Sorts a run of entries into ring order: by position, then (for equal positions) by id. */
    private static void sortRun(long[] entries, int from, int to, Backend[] owners) {
        if (to - from < 32) {
            // A cell's few points: an insertion sort in ring order, cheaper than a call to the
            // general sort for each of the hundreds of thousands of cells of a large ring.
            for (int i = from + 1; i < to; i++) {
                long e = entries[i];
                int j = i;
                while (j > from && compare(e, entries[j - 1], owners) < 0) {
                    entries[j] = entries[j - 1];
                    j--;
                }
                entries[j] = e;
            }
            return;
        }
        Arrays.sort(entries, from, to);
        // Arrays.sort orders equal positions by slot; restore the id order of compare().
        for (int i = from + 1; i < to; i++) {
            for (int j = i; j > from && position(entries[j]) == position(entries[j - 1])
                    && compare(entries[j], entries[j - 1], owners) < 0; j--) {
                long t = entries[j];
                entries[j] = entries[j - 1];
                entries[j - 1] = t;
            }
        }
    }

    /**
     * Per-balancer state: the last ring built, the slot of each backend in it and the points it
     * was given, reused by the next change. Used under the balancer's lock only.
     */
    static final class RingSelector implements IncrementalSelector {
        private final IdentityHashMap<Backend, Integer> slots = new IdentityHashMap<>();
        private Backend[] bySlot = new Backend[16];
        private int[] pointsBySlot = new int[16];
        private int[] freeSlots = new int[16];
        private int freeCount;
        private int slotCount;
        private Ring last;
        private List<Backend> lastGiven;

        @Override
        public Picker newPicker(List<Backend> previous, List<Backend> available, Backend changed) {
            if (previous != lastGiven || last == null) {
                return newPicker(available);
            }
            Integer slot = slots.get(changed);
            if (slot == null && available.size() > INDEX_MASK + 1) {
                return newPicker(available); // which refuses the set
            }
            boolean fits = slot == null ? available.size() == previous.size() + 1
                    : available.size() == previous.size() - 1
                            || (available == previous && pointsOf(changed) != pointsBySlot[slot]);
            if (!fits) {
                return available == previous && slot != null ? remember(available, last) : newPicker(available);
            }
            Edit edit = new Edit(last);
            if (slot != null) {
                leave(edit, changed, slot);
            }
            if (slot == null || available == previous) {
                join(edit, changed);
            }
            return remember(available, edit.finish(bySlot, pointsBySlot, slotCount));
        }

        @Override
        public Picker newPicker(List<Backend> available) {
            int n = available.size();
            if (n > INDEX_MASK + 1) {
                throw new IllegalStateException("IP_HASH supports at most " + (INDEX_MASK + 1)
                        + " available backends, got " + n);
            }
            // What differs from the last ring: backends gone, new, or with another number of points.
            boolean[] kept = new boolean[slotCount];
            List<Backend> joining = new ArrayList<>();
            long changedPoints = 0;
            for (Backend b : available) {
                Integer slot = slots.get(b);
                if (slot == null || pointsOf(b) != pointsBySlot[slot]) {
                    joining.add(b);
                    changedPoints += pointsOf(b);
                } else {
                    kept[slot] = true;
                }
            }
            List<Backend> leaving = new ArrayList<>();
            for (int s = 0; s < slotCount; s++) {
                if (bySlot[s] != null && !kept[s]) {
                    leaving.add(bySlot[s]);
                    changedPoints += pointsBySlot[s];
                }
            }
            if (last == null || changedPoints * WHOLE_BUILD_FRACTION > last.size()) {
                for (Backend b : leaving) {
                    free(slots.remove(b));
                }
                for (Backend b : joining) {
                    if (!slots.containsKey(b)) {
                        slots.put(b, take(b));
                    }
                    pointsBySlot[slots.get(b)] = pointsOf(b);
                }
                return remember(available, Ring.whole(bySlot.clone(), pointsBySlot, slotCount));
            }
            Edit edit = new Edit(last);
            for (Backend b : leaving) {
                leave(edit, b, slots.get(b));
            }
            for (Backend b : joining) {
                Integer slot = slots.get(b);
                if (slot != null) {
                    leave(edit, b, slot);
                }
                join(edit, b);
            }
            return remember(available, edit.finish(bySlot, pointsBySlot, slotCount));
        }

        private Ring remember(List<Backend> available, Ring ring) {
            last = ring;
            lastGiven = available;
            return ring;
        }

        private void leave(Edit edit, Backend b, int slot) {
            edit.remove(pointsOf(b, pointsBySlot[slot], slot));
            slots.remove(b);
            free(slot);
        }

        private void join(Edit edit, Backend b) {
            int slot = take(b);
            slots.put(b, slot);
            int points = pointsOf(b);
            pointsBySlot[slot] = points;
            edit.add(pointsOf(b, points, slot), bySlot);
        }

        private int take(Backend b) {
            int slot;
            if (freeCount > 0) {
                slot = freeSlots[--freeCount];
            } else {
                slot = slotCount++;
                if (slot == bySlot.length) {
                    bySlot = Arrays.copyOf(bySlot, slot * 2);
                    pointsBySlot = Arrays.copyOf(pointsBySlot, slot * 2);
                }
            }
            bySlot[slot] = b;
            return slot;
        }

        private void free(int slot) {
            bySlot[slot] = null;
            pointsBySlot[slot] = 0;
            if (freeCount == freeSlots.length) {
                freeSlots = Arrays.copyOf(freeSlots, freeCount * 2);
            }
            freeSlots[freeCount++] = slot;
        }

    }

    /**
     * The next ring in the making: a copy of the last one's table of cells, each changed cell
     * replaced by a new array, never written in place, since the last ring is in use.
     */
    static final class Edit {
        private final long[][][] chunks;
        /** Whether a chunk is this edit's own copy, which it may write. */
        private final boolean[] copied;
        private final int count;
        private final int chunkBits;
        private final int shift;
        private long size;

        Edit(Ring from) {
            this.chunks = from.chunks.clone();
            this.copied = new boolean[chunks.length];
            this.count = from.count;
            this.chunkBits = from.chunkBits;
            this.shift = from.shift;
            this.size = from.size();
        }

        private long[] cell(int c) {
            return chunks[c >>> chunkBits][c & ((1 << chunkBits) - 1)];
        }

        /** Puts a cell in place, copying its chunk first if the last ring still shares it. */
        private void set(int c, long[] cell) {
            int k = c >>> chunkBits;
            if (!copied[k]) {
                chunks[k] = chunks[k].clone();
                copied[k] = true;
            }
            chunks[k][c & ((1 << chunkBits) - 1)] = cell;
        }

        /** Takes out one backend's points, sorted. */
        void remove(long[] points) {
            int slot = owner(points[0]);
            forEachCellDescending(points, (c, from, to) -> {
                long[] cell = cell(c);
                long[] out = new long[cell.length - (to - from)];
                int o = 0;
                for (int i = 0; i < cell.length - 1; i++) {
                    if (owner(cell[i]) != slot) {
                        out[o++] = cell[i];
                    }
                }
                out[o] = cell[cell.length - 1];
                replace(c, out);
            });
            size -= points.length;
        }

        /** Puts in one backend's points, sorted, its slot already in {@code owners}. */
        void add(long[] points, Backend[] owners) {
            forEachCellDescending(points, (c, from, to) -> {
                long[] cell = cell(c);
                long[] out = new long[cell.length + (to - from)];
                int i = 0;
                int j = from;
                int o = 0;
                int end = cell.length - 1;
                while (i < end && j < to) {
                    out[o++] = compare(cell[i], points[j], owners) <= 0 ? cell[i++] : points[j++];
                }
                while (i < end) {
                    out[o++] = cell[i++];
                }
                while (j < to) {
                    out[o++] = points[j++];
                }
                out[o] = cell[end];
                replace(c, out);
            });
            size += points.length;
        }

        /**
         * Puts a new array in cell {@code c}; if the owner of its first entry changed, the
         * cells before it that end on it (up to and including the first that has a point) are
         * given their new last entry.
         */
        private void replace(int c, long[] cell) {
            int headBefore = owner(cell(c)[0]);
            set(c, cell);
            int head = owner(cell[0]);
            if (head == headBefore) {
                return;
            }
            int mask = count - 1;
            for (int d = (c - 1) & mask, steps = 1; steps < count; d = (d - 1) & mask, steps++) {
                long[] before = cell(d);
                int lastIndex = before.length - 1;
                if (owner(before[lastIndex]) == head) {
                    return;
                }
                long[] copy = before.clone();
                copy[lastIndex] = END | head;
                set(d, copy);
                if (lastIndex > 0) {
                    return;
                }
            }
        }

        private void forEachCellDescending(long[] points, CellRun run) {
            int to = points.length;
            while (to > 0) {
                int c = cellOf(points[to - 1], shift);
                int from = to - 1;
                while (from > 0 && cellOf(points[from - 1], shift) == c) {
                    from--;
                }
                run.apply(c, from, to);
                to = from;
            }
        }

        /**
         * The ring with these cells, or a whole new one of the backends in {@code bySlot} if the
         * points drifted from the cells' size.
         */
        Ring finish(Backend[] bySlot, int[] pointsBySlot, int slotCount) {
            if (size > (long) count * POINTS_PER_CELL * DRIFT
                    || (count > 2 && size * DRIFT * DRIFT < (long) count * POINTS_PER_CELL)) {
                return Ring.whole(bySlot.clone(), pointsBySlot, slotCount);
            }
            return new Ring(chunks, count, chunkBits, shift, bySlot.clone(), Math.toIntExact(size));
        }
    }

    @FunctionalInterface
    interface CellRun {
        void apply(int cell, int from, int to);
    }

    private static int cellOf(long position, int shift) {
        return (int) ((position ^ Long.MIN_VALUE) >>> shift);
    }

    /**
     * The picker for one set: the ring in cells (see the class comment) and the backends by slot.
     * Immutable; its cells may be shared with the rings of the sets before and after it.
     */
    static final class Ring implements Picker {
        private final long[][][] chunks;
        private final int count;
        private final int chunkBits;
        private final int chunkMask;
        private final int shift;
        private final Backend[] backends;
        private final int size;

        Ring(long[][][] chunks, int count, int chunkBits, int shift, Backend[] backends, int size) {
            this.chunks = chunks;
            this.count = count;
            this.chunkBits = chunkBits;
            this.chunkMask = (1 << chunkBits) - 1;
            this.shift = shift;
            this.backends = backends;
            this.size = size;
        }

        /** The ring of the backends in {@code bySlot} (null slots are free), each with its points. */
        static Ring whole(Backend[] bySlot, int[] pointsBySlot, int slotCount) {
            long total = 0;
            for (int s = 0; s < slotCount; s++) {
                if (bySlot[s] != null) {
                    total += pointsBySlot[s];
                }
            }
            int bits = 1;
            while (bits < 30 && (1L << bits) * POINTS_PER_CELL < total) {
                bits++;
            }
            int shift = 64 - bits;
            int count = 1 << bits;
            // Every point, then a counting sort by cell: the cells come out in order, each to be
            // sorted within, so that the build is linear rather than a sort of the whole ring.
            long[] all = new long[Math.toIntExact(total)];
            int p = 0;
            for (int s = 0; s < slotCount; s++) {
                Backend b = bySlot[s];
                if (b == null) {
                    continue;
                }
                long idHash = Hashing.hash(b.id());
                for (long r = 0; r < pointsBySlot[s]; r++) {
                    all[p++] = (Hashing.mix(idHash + r * KEY_SEED) & ~INDEX_MASK) | s;
                }
            }
            int[] starts = new int[count + 1];
            for (long e : all) {
                starts[cellOf(e, shift) + 1]++;
            }
            for (int c = 0; c < count; c++) {
                starts[c + 1] += starts[c];
            }
            int[] fill = Arrays.copyOf(starts, count);
            long[] byCell = new long[all.length];
            for (long e : all) {
                byCell[fill[cellOf(e, shift)]++] = e;
            }
            int chunkBits = count > FLAT_MAX ? CHUNK_BITS : bits;
            long[][][] chunks = new long[count >>> chunkBits][1 << chunkBits][];
            int head = -1; // the owner of the first point of the ring: where the last cells end
            for (int c = 0; c < count && head < 0; c++) {
                if (starts[c + 1] > starts[c]) {
                    sortRun(byCell, starts[c], starts[c + 1], bySlot);
                    head = owner(byCell[starts[c]]);
                }
            }
            int next = Math.max(head, 0);
            for (int c = count - 1; c >= 0; c--) {
                int from = starts[c];
                int to = starts[c + 1];
                sortRun(byCell, from, to, bySlot);
                long[] cell = Arrays.copyOfRange(byCell, from, to + 1);
                cell[to - from] = END | next;
                chunks[c >>> chunkBits][c & ((1 << chunkBits) - 1)] = cell;
                if (to > from) {
                    next = owner(cell[0]);
                }
            }
            return new Ring(chunks, count, chunkBits, shift, bySlot, all.length);
        }

        @Override
        public Backend pick(Request request) {
            return backendFor(keyOf(request.clientIp()));
        }

        Backend backendFor(long key) {
            // The first entry at or after the key in its cell; the cell's last entry, past every
            // key, names the first point after the cell (the ring's first point, past the last).
            int c = (int) ((key ^ Long.MIN_VALUE) >>> shift);
            long[] cell = chunks[c >>> chunkBits][c & chunkMask];
            int i = 0;
            while (position(cell[i]) < key) {
                i++;
            }
            return backends[owner(cell[i])];
        }

        int size() {
            return size;
        }

        /** Every point in ring order, with the index of its owner in the low bits; for tests. */
        long[] points() {
            long[] out = new long[size];
            int o = 0;
            for (long[][] chunk : chunks) {
                for (long[] cell : chunk) {
                    for (int i = 0; i < cell.length - 1; i++) {
                        out[o++] = cell[i];
                    }
                }
            }
            return out;
        }

        /** The position of a point of {@link #points()}; for tests. */
        static long positionOf(long point) {
            return position(point);
        }

        /** The owner of a point of {@link #points()}; for tests. */
        Backend ownerOf(long point) {
            return backends[owner(point)];
        }

        /** The number of cells; for tests. */
        int cellCount() {
            return count;
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

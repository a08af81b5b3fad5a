package dev.ailb.strategy;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.Request;
import dev.ailb.SelectionContext;
import dev.ailb.Selector;
import java.util.Arrays;
import java.util.List;

/**
 * Consistent hashing of the client address; see {@link BalancingStrategy#IP_HASH}. Immutable.
 *
 * <p>A hash ring (Karger et al.), chosen over rendezvous hashing, whose pick costs O(n), and over
 * Maglev, whose table moves some clients of backends that did not change. Each available backend
 * owns points on the ring derived from its id alone, in proportion to its weight; a client address
 * belongs to the first point at or after its hash. Because the ring is rebuilt from the available
 * backends and point positions do not depend on which other backends exist:
 * <ul>
 *   <li>a stable set sends each address to the same backend, on every JVM;</li>
 *   <li>when a backend leaves (unhealthy, draining, removed), only its addresses move, each to the
 *       next backend along the ring, and they return when it comes back;</li>
 *   <li>a new backend takes about {@code 1/(n+1)} of the addresses, from all the others.</li>
 * </ul>
 *
 * <p>A backend owns 160 points per unit of weight while the total weight is at most 1,000; beyond
 * that the points per unit shrink so that the ring stays near 160,000 points, but every backend
 * keeps at least 16. A pick is a binary search of a sorted {@code long[]}.
 */
public final class IpHashStrategy implements BalancingStrategy {
    static final int MAX_POINTS_PER_WEIGHT = 160;
    static final int MIN_POINTS = 16;
    static final long RING_BUDGET = 160_000;
    // Ring positions keep the high 44 bits of a point's hash; the low 20 bits carry the index of
    // its backend, so that one primitive sort orders positions and owners together.
    private static final int INDEX_BITS = 20;
    private static final long INDEX_MASK = (1L << INDEX_BITS) - 1;
    private static final long KEY_SEED = 0x9e3779b97f4a7c15L;

    @Override
    public Selector newSelector(SelectionContext context) {
        return IpHashStrategy::ring;
    }

    static Ring ring(List<Backend> available) {
        int n = available.size();
        if (n > INDEX_MASK + 1) {
            throw new IllegalStateException("IP_HASH supports at most " + (INDEX_MASK + 1)
                    + " available backends, got " + n);
        }
        long totalWeight = 0;
        for (Backend b : available) {
            totalWeight += b.weight();
        }
        double perWeight = Math.min(MAX_POINTS_PER_WEIGHT, (double) RING_BUDGET / Math.max(1, totalWeight));
        int[] counts = new int[n];
        long points = 0;
        for (int i = 0; i < n; i++) {
            counts[i] = (int) Math.max(MIN_POINTS, Math.round(perWeight * available.get(i).weight()));
            points += counts[i];
        }
        long[] ring = new long[(int) points];
        int p = 0;
        for (int i = 0; i < n; i++) {
            long idHash = Hashing.hash(available.get(i).id());
            for (long r = 0; r < counts[i]; r++) {
                long position = Hashing.mix(idHash + r * KEY_SEED);
                ring[p++] = (position & ~INDEX_MASK) | i;
            }
        }
        Arrays.sort(ring);
        return new Ring(ring, available.toArray(new Backend[0]));
    }

    static long keyOf(String clientIp) {
        return Hashing.mix(clientIp.hashCode() ^ KEY_SEED) & ~INDEX_MASK;
    }

    static final class Ring implements dev.ailb.Picker {
        private final long[] points;
        private final Backend[] backends;

        Ring(long[] points, Backend[] backends) {
            this.points = points;
            this.backends = backends;
        }

        @Override
        public Backend pick(Request request) {
            return backendFor(keyOf(request.clientIp()));
        }

        Backend backendFor(long key) {
            // First point whose position is >= key; past the last point, wrap to the first.
            int lo = 0;
            int hi = points.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if ((points[mid] & ~INDEX_MASK) < key) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            long point = points[lo == points.length ? 0 : lo];
            return backends[(int) (point & INDEX_MASK)];
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

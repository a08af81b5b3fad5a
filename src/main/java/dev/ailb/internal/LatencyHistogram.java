package dev.ailb.internal;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A lock-free log-linear histogram of durations in nanoseconds: 16 linear sub-buckets per power
 * of two, so a reported percentile is within about 3% of the true value. Recording is one atomic
 * increment; reading copies the counts into an immutable {@link Snapshot}. A histogram can be
 * folded once, like a {@link FoldableCounter}.
 *
 * <p>The buckets cover every {@code long} count of nanoseconds, up to 2^63 - 1 (292 years), with
 * no last bucket where long durations pile up: a batch job's answers of hours are reported as
 * precisely as answers of milliseconds. That takes 960 buckets of 8 bytes: 7.7 KB in all.
 * Thread-safe.
 */
public final class LatencyHistogram {
    private static final int SUB_BITS = 4;
    private static final int SUB_COUNT = 1 << SUB_BITS;
    /** The highest bit a duration can have: bit 62, the top of a non-negative {@code long}. */
    private static final int MAX_EXPONENT = 62;
    // Values below SUB_COUNT have a bucket each (exponents 0..3); then each exponent from
    // SUB_BITS to MAX_EXPONENT has SUB_COUNT buckets.
    static final int BUCKETS = (MAX_EXPONENT - SUB_BITS + 2) * SUB_COUNT;

    /** The fold mark, the top bit of every count of a folded histogram. */
    private static final long FOLDED = Long.MIN_VALUE;
    private static final long COUNT = Long.MAX_VALUE;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
    private boolean folded; // guarded by this

    /** An empty histogram: about 7.7 KB. */
    public LatencyHistogram() {}

    /**
     * Counts one duration.
     *
     * @param nanos the duration in nanoseconds; negative values count as 0
     * @return {@code true} if the count is in the snapshot {@link #fold()} returned or will
     *         return, {@code false} if this histogram had already been folded (the caller then
     *         counts the duration elsewhere)
     */
    public boolean record(long nanos) {
        return (counts.getAndIncrement(bucketOf(nanos)) & FOLDED) == 0;
    }

    /**
     * Marks every bucket folded and returns the counts at that instant, as
     * {@link FoldableCounter#fold()} does for one count: a later {@link #record(long)} returns
     * {@code false}, an earlier one is in the result. A backend's histogram is folded when the
     * backend leaves its balancer, which from then on counts the stragglers in its own.
     *
     * @return the counts at the fold
     * @throws IllegalStateException if folded already
     */
    public synchronized Snapshot fold() {
        if (folded) {
            throw new IllegalStateException("folded already");
        }
        folded = true;
        long[] copy = new long[BUCKETS];
        for (int i = 0; i < BUCKETS; i++) {
            copy[i] = counts.getAndAccumulate(i, FOLDED, (c, mark) -> c | mark) & COUNT;
        }
        return new Snapshot(copy);
    }

    /**
     * Adds every count of {@code snapshot} to this histogram, as if each duration had been
     * recorded here.
     *
     * @param snapshot the counts to add
     */
    public void recordAll(Snapshot snapshot) {
        for (int i = 0; i < BUCKETS; i++) {
            long n = snapshot.counts[i];
            if (n != 0) {
                counts.getAndAdd(i, n);
            }
        }
    }

    static int bucketOf(long nanos) {
        if (nanos < SUB_COUNT) {
            return (int) Math.max(0, nanos);
        }
        int exponent = 63 - Long.numberOfLeadingZeros(nanos); // at most MAX_EXPONENT
        int sub = (int) (nanos >>> (exponent - SUB_BITS)) & (SUB_COUNT - 1);
        return (exponent - SUB_BITS + 1) * SUB_COUNT + sub;
    }

    /**
     * The duration in nanoseconds below or at which {@code quantile} of the recorded durations
     * lie (nearest rank), read from the live counts without copying them, for a caller that needs
     * one percentile per request; or -1 when fewer than {@code minCount} durations were recorded.
     * Durations recorded during the read may or may not be seen, as with {@link #snapshot()}.
     *
     * @param quantile 0.0..1.0
     * @param minCount the fewest recorded durations the percentile is worth reading from, >= 1
     * @return the duration, or -1
     */
    public long valueAt(double quantile, long minCount) {
        long total = 0;
        for (int i = 0; i < BUCKETS; i++) {
            total += counts.get(i) & COUNT;
        }
        if (total < Math.max(1, minCount)) {
            return -1;
        }
        long rank = Math.max(1, (long) Math.ceil(quantile * total));
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts.get(i) & COUNT;
            if (seen >= rank) {
                return representativeOf(i);
            }
        }
        // Not reached: counts only grow, so the second pass sees at least the first pass's total.
        return representativeOf(BUCKETS - 1);
    }

    /**
     * The value a bucket stands for: the middle of the durations it counts. In the last bucket,
     * [31 &times; 2^58, 2^63), the middle is 63 &times; 2^57, below {@code Long.MAX_VALUE}.
     */
    static long representativeOf(int bucket) {
        if (bucket < SUB_COUNT) {
            return bucket;
        }
        int exponent = bucket / SUB_COUNT + SUB_BITS - 1;
        int sub = bucket % SUB_COUNT;
        long width = 1L << (exponent - SUB_BITS);
        long lower = (long) (SUB_COUNT + sub) << (exponent - SUB_BITS);
        return lower + width / 2;
    }

    public Snapshot snapshot() {
        long[] copy = new long[BUCKETS];
        for (int i = 0; i < BUCKETS; i++) {
            copy[i] = counts.get(i) & COUNT;
        }
        return new Snapshot(copy);
    }

    /** The counts of a histogram at one moment. Immutable. */
    public static final class Snapshot {
        private static final Snapshot EMPTY = new Snapshot(new long[BUCKETS]);
        private final long[] counts;
        private final long total;

        Snapshot(long[] counts) {
            this.counts = counts;
            long sum = 0;
            for (long c : counts) {
                sum += c;
            }
            this.total = sum;
        }

        public static Snapshot empty() {
            return EMPTY;
        }

        /**
         * The counts of several histograms together, as if every duration had been recorded in
         * one.
         *
         * @param snapshots the snapshots to add up
         * @return their sum
         */
        public static Snapshot sum(Iterable<Snapshot> snapshots) {
            long[] total = new long[BUCKETS];
            for (Snapshot s : snapshots) {
                if (s.total != 0) {
                    for (int i = 0; i < BUCKETS; i++) {
                        total[i] += s.counts[i];
                    }
                }
            }
            return new Snapshot(total);
        }

        public long count() {
            return total;
        }

        /**
         * Returns the duration in nanoseconds below or at which {@code quantile} of the recorded
         * durations lie (nearest rank), or 0 when nothing was recorded.
         */
        public long valueAt(double quantile) {
            if (total == 0) {
                return 0;
            }
            long rank = Math.max(1, (long) Math.ceil(quantile * total));
            long seen = 0;
            for (int i = 0; i < counts.length; i++) {
                seen += counts[i];
                if (seen >= rank) {
                    return representativeOf(i);
                }
            }
            return representativeOf(counts.length - 1);
        }
    }
}

package dev.ailb.internal;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A lock-free log-linear histogram of durations in nanoseconds: 16 linear sub-buckets per power
 * of two, so a reported percentile is within about 3% of the true value. Recording is one atomic
 * increment; reading copies the counts into an immutable {@link Snapshot}.
 *
 * <p>Durations of 2^41 ns (about 36 minutes) or more are counted in the last bucket.
 * Thread-safe.
 */
public final class LatencyHistogram {
    private static final int SUB_BITS = 4;
    private static final int SUB_COUNT = 1 << SUB_BITS;
    private static final int MAX_EXPONENT = 40;
    static final int BUCKETS = (MAX_EXPONENT - SUB_BITS + 2) * SUB_COUNT;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);

    public void record(long nanos) {
        counts.incrementAndGet(bucketOf(nanos));
    }

    static int bucketOf(long nanos) {
        if (nanos < SUB_COUNT) {
            return (int) Math.max(0, nanos);
        }
        int exponent = 63 - Long.numberOfLeadingZeros(nanos);
        if (exponent > MAX_EXPONENT) {
            return BUCKETS - 1;
        }
        int sub = (int) (nanos >>> (exponent - SUB_BITS)) & (SUB_COUNT - 1);
        return (exponent - SUB_BITS + 1) * SUB_COUNT + sub;
    }

    /** The value a bucket stands for: the middle of the durations it counts. */
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
            copy[i] = counts.get(i);
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

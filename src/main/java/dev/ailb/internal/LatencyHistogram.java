package dev.ailb.internal;

import java.util.concurrent.ThreadLocalRandom;
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

    /** Stripes of a shared histogram: twice the processors rounded up to a power of two, at most 32. */
    private static final int SHARED_STRIPES = Math.min(32, 2 * Integer.highestOneBit(
            Math.max(1, Runtime.getRuntime().availableProcessors()) * 2 - 1));

    private final AtomicLongArray counts;
    private final int stripes;
    /** Mixed into a thread's identity hash to choose its stripe; changed when two threads collide. */
    private volatile int salt;

    /** A histogram with one set of counters, for one backend: about 5 KB. */
    public LatencyHistogram() {
        this(1);
    }

    private LatencyHistogram(int stripes) {
        this.counts = new AtomicLongArray(stripes * BUCKETS);
        this.stripes = stripes;
    }

    /**
     * A histogram every thread records into, such as a balancer's overall one: two sets of
     * counters per processor (up to 32), each thread counting in the set its identity selects.
     * Responses of similar duration fall in the same bucket, and with one set threads completing
     * requests at once would take turns on that bucket's cache line. Two threads that collide in a
     * set change the salt that maps threads to sets.
     *
     * @return a new striped histogram
     */
    public static LatencyHistogram shared() {
        return new LatencyHistogram(SHARED_STRIPES);
    }

    public void record(long nanos) {
        int bucket = bucketOf(nanos);
        if (stripes == 1) {
            counts.incrementAndGet(bucket);
            return;
        }
        int at = bucket + ThreadStripes.of(salt, stripes) * BUCKETS;
        long c = counts.get(at);
        if (!counts.compareAndSet(at, c, c + 1)) {
            // Another thread counts in this stripe: move the threads to other stripes.
            salt = ThreadLocalRandom.current().nextInt();
            counts.incrementAndGet(bucket + ThreadStripes.of(salt, stripes) * BUCKETS);
        }
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
        for (int i = 0; i < counts.length(); i++) {
            copy[i % BUCKETS] += counts.get(i);
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

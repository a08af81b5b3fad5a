package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void everyValueLandsInABucketWhoseRepresentativeIsWithinThreePercent() {
        Random random = new Random(3);
        for (int i = 0; i < 100_000; i++) {
            long value = (long) Math.exp(random.nextDouble() * Math.log(1L << 41));
            long shown = LatencyHistogram.representativeOf(LatencyHistogram.bucketOf(value));
            assertThat((double) Math.abs(shown - value)).isLessThanOrEqualTo(Math.max(1.0, value * 0.032));
        }
    }

    @Test
    void bucketsAreContiguousAndIncreasing() {
        int previous = -1;
        for (long v = 0; v < 1 << 16; v++) {
            int b = LatencyHistogram.bucketOf(v);
            assertThat(b).isBetween(previous, previous + 1);
            previous = b;
        }
        assertThat(LatencyHistogram.bucketOf(Long.MAX_VALUE)).isEqualTo(LatencyHistogram.BUCKETS - 1);
        assertThat(LatencyHistogram.bucketOf(-5)).isZero();
    }

    @Test
    void percentilesUseNearestRank() {
        LatencyHistogram h = new LatencyHistogram();
        for (int ms = 1; ms <= 1000; ms++) {
            h.record(ms * 1_000_000L);
        }
        LatencyHistogram.Snapshot s = h.snapshot();
        assertThat(s.count()).isEqualTo(1000);
        assertThat((double) s.valueAt(0.5)).isCloseTo(500e6, org.assertj.core.data.Percentage.withPercentage(3.2));
        assertThat((double) s.valueAt(0.99)).isCloseTo(990e6, org.assertj.core.data.Percentage.withPercentage(3.2));
        assertThat(LatencyHistogram.Snapshot.empty().valueAt(0.99)).isZero();
    }

    /** Threads record into their own stripes; the snapshot merges them into one set of buckets. */
    @Test
    void sharedHistogramMergesItsStripesExactly() throws Exception {
        LatencyHistogram shared = LatencyHistogram.shared();
        LatencyHistogram single = new LatencyHistogram();
        int threads = 6;
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int offset = t;
            workers[t] = new Thread(() -> {
                for (int ms = 1; ms <= 1000; ms++) {
                    shared.record((ms + offset) * 1_000_000L);
                }
            });
            workers[t].start();
            for (int ms = 1; ms <= 1000; ms++) {
                single.record((ms + offset) * 1_000_000L);
            }
        }
        for (Thread worker : workers) {
            worker.join();
        }
        LatencyHistogram.Snapshot merged = shared.snapshot();
        LatencyHistogram.Snapshot expected = single.snapshot();
        assertThat(merged.count()).isEqualTo(6_000);
        for (double q : new double[] {0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0}) {
            assertThat(merged.valueAt(q)).as("p%s", q * 100).isEqualTo(expected.valueAt(q));
        }
    }
}

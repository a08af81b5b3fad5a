package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void everyValueLandsInABucketWhoseRepresentativeIsWithinThreePercent() {
        Random random = new Random(3);
        for (int i = 0; i < 100_000; i++) {
            long value = (long) Math.exp(random.nextDouble() * Math.log(Long.MAX_VALUE));
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
    void theWholeRangeOfLongKeepsTheSamePrecision() {
        long twoHours = Duration.ofHours(2).toNanos();
        for (long value : new long[] {0, 15}) {
            assertThat(LatencyHistogram.representativeOf(LatencyHistogram.bucketOf(value))).isEqualTo(value);
        }
        for (long value : new long[] {16, 1L << 41, twoHours, Long.MAX_VALUE - 1, Long.MAX_VALUE}) {
            long shown = LatencyHistogram.representativeOf(LatencyHistogram.bucketOf(value));
            assertThat((double) shown).as("%s ns", value).isCloseTo((double) value, Percentage.withPercentage(3.2));
        }
        // each power of two opens the bucket after the one that holds the value just below it
        for (int exponent = 4; exponent <= 62; exponent++) {
            long power = 1L << exponent;
            assertThat(LatencyHistogram.bucketOf(power)).isEqualTo(LatencyHistogram.bucketOf(power - 1) + 1);
            assertThat(LatencyHistogram.representativeOf(LatencyHistogram.bucketOf(power)))
                    .isGreaterThan(LatencyHistogram.representativeOf(LatencyHistogram.bucketOf(power - 1)));
        }
        assertThat(LatencyHistogram.bucketOf(Long.MAX_VALUE)).isEqualTo(LatencyHistogram.BUCKETS - 1);
        assertThat(LatencyHistogram.representativeOf(LatencyHistogram.BUCKETS - 1)).isPositive();
    }

    @Test
    void aHundredAnswersOfTwoHoursGiveTwoHoursAtEveryPercentile() {
        long twoHours = Duration.ofHours(2).toNanos();
        LatencyHistogram h = new LatencyHistogram();
        for (int i = 0; i < 100; i++) {
            h.record(twoHours);
        }
        for (double q : new double[] {0.0, 0.5, 0.99, 1.0}) {
            assertThat((double) h.snapshot().valueAt(q)).as("p%s", q * 100)
                    .isCloseTo((double) twoHours, Percentage.withPercentage(3));
        }
    }

    @Test
    void theLongestDurationsFoldAndAddUpLikeAnyOther() {
        LatencyHistogram h = new LatencyHistogram();
        h.record(Long.MAX_VALUE);
        h.record(Long.MAX_VALUE);
        h.record(0);
        LatencyHistogram.Snapshot folded = h.fold();
        assertThat(h.record(Long.MAX_VALUE)).isFalse();

        assertThat(folded.count()).isEqualTo(3);
        assertThat((double) folded.valueAt(1.0)).isCloseTo((double) Long.MAX_VALUE, Percentage.withPercentage(3.2));
        assertThat(folded.valueAt(0.0)).isZero();
        assertThat(h.snapshot().count()).isEqualTo(4);
        LatencyHistogram sum = new LatencyHistogram();
        sum.recordAll(folded);
        sum.recordAll(h.snapshot());
        assertThat(sum.snapshot().count()).isEqualTo(7);
        assertThat(sum.snapshot().valueAt(0.99)).isEqualTo(folded.valueAt(1.0));
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

    /** Every recording is either in the folded counts or reports that it came after the fold. */
    @Test
    void aFoldSplitsRacingRecordingsExactly() throws Exception {
        for (int round = 0; round < 20; round++) {
            LatencyHistogram h = new LatencyHistogram();
            int threads = 4;
            int perThread = 20_000;
            long[][] late = new long[threads][LatencyHistogram.BUCKETS];
            CountDownLatch started = new CountDownLatch(threads);
            Thread[] workers = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                int me = t;
                workers[t] = new Thread(() -> {
                    started.countDown();
                    for (int k = 0; k < perThread; k++) {
                        long nanos = 1_000L * (1 + (k * 31L + me) % 5_000);
                        if (!h.record(nanos)) {
                            late[me][LatencyHistogram.bucketOf(nanos)]++;
                        }
                    }
                });
                workers[t].start();
            }
            started.await();
            LatencyHistogram.Snapshot folded = h.fold();
            for (Thread worker : workers) {
                worker.join();
            }
            LatencyHistogram.Snapshot all = h.snapshot();
            long lateTotal = 0;
            for (long[] perBucket : late) {
                for (long n : perBucket) {
                    lateTotal += n;
                }
            }
            assertThat(all.count()).isEqualTo((long) threads * perThread);
            assertThat(folded.count() + lateTotal).isEqualTo(all.count());
            // Bucket by bucket too: the folded counts plus the late ones are all the counts.
            LatencyHistogram rebuilt = new LatencyHistogram();
            rebuilt.recordAll(folded);
            for (long[] perBucket : late) {
                for (int b = 0; b < perBucket.length; b++) {
                    for (long n = 0; n < perBucket[b]; n++) {
                        rebuilt.record(LatencyHistogram.representativeOf(b));
                    }
                }
            }
            for (double q : new double[] {0.0, 0.1, 0.5, 0.9, 0.99, 1.0}) {
                assertThat(rebuilt.snapshot().valueAt(q)).as("p%s", q * 100).isEqualTo(all.valueAt(q));
            }
        }
    }

    @Test
    void aHistogramFoldsOnceAndKeepsCountingAfterwards() {
        LatencyHistogram h = new LatencyHistogram();
        assertThat(h.record(5_000)).isTrue();
        assertThat(h.fold().count()).isEqualTo(1);
        assertThat(h.record(5_000)).isFalse();
        assertThat(h.snapshot().count()).isEqualTo(2);
        assertThatThrownBy(h::fold).isInstanceOf(IllegalStateException.class).hasMessage("folded already");
    }

    @Test
    void snapshotsAddUpBucketByBucket() {
        LatencyHistogram a = new LatencyHistogram();
        LatencyHistogram b = new LatencyHistogram();
        LatencyHistogram both = new LatencyHistogram();
        for (int ms = 1; ms <= 300; ms++) {
            (ms % 3 == 0 ? a : b).record(ms * 1_000_000L);
            both.record(ms * 1_000_000L);
        }
        LatencyHistogram.Snapshot sum = LatencyHistogram.Snapshot.sum(List.of(a.snapshot(), b.snapshot()));
        assertThat(sum.count()).isEqualTo(300);
        for (double q : new double[] {0.0, 0.5, 0.95, 0.99, 1.0}) {
            assertThat(sum.valueAt(q)).isEqualTo(both.snapshot().valueAt(q));
        }
    }
}

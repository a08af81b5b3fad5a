package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class FoldableDoubleAdderTest {

    @Test
    void addsAndFoldsOnOneThread() {
        FoldableDoubleAdder adder = new FoldableDoubleAdder();
        assertThat(adder.sum()).isZero();
        assertThat(adder.add(1.5)).isTrue();
        assertThat(adder.add(2.25)).isTrue();
        assertThat(adder.add(0.0)).isTrue();
        assertThat(adder.sum()).isEqualTo(3.75);
        assertThat(adder.fold()).isEqualTo(3.75);

        assertThat(adder.add(4.0)).as("an addition after the fold says so").isFalse();
        assertThat(adder.sum()).as("the adder itself still has it").isEqualTo(7.75);
        assertThatThrownBy(adder::fold).isInstanceOf(IllegalStateException.class).hasMessage("folded already");
    }

    @Test
    void foldOfAnUntouchedAdderIsZero() {
        FoldableDoubleAdder adder = new FoldableDoubleAdder();
        assertThat(adder.fold()).isZero();
        assertThat(adder.add(1e18)).isFalse();
        assertThat(adder.sum()).isEqualTo(1e18);
    }

    /** The fold mark is the sign bit: sums far beyond a long's range are kept as doubles are. */
    @Test
    void hugeSumsDoNotTouchTheMark() {
        FoldableDoubleAdder adder = new FoldableDoubleAdder();
        for (int i = 0; i < 4; i++) {
            assertThat(adder.add(Long.MAX_VALUE)).isTrue();
        }
        assertThat(adder.sum()).isEqualTo(4.0 * Long.MAX_VALUE);
        assertThat(adder.fold()).isEqualTo(4.0 * Long.MAX_VALUE);
    }

    /**
     * Threads add while another folds part-way: every addition is either in the folded sum or
     * reported as late. The values are halves of small integers, so every sum is exact and the
     * comparison can be too.
     */
    @RepeatedTest(20)
    void everyAdditionIsInTheFoldOrReportedLate() throws Exception {
        int threads = 4;
        int perThread = 50_000;
        FoldableDoubleAdder adder = new FoldableDoubleAdder();
        double[] late = new double[threads];
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        CountDownLatch halfway = new CountDownLatch(threads);
        List<Thread> workers = new ArrayList<>();
        double expected = 0;
        for (int t = 0; t < threads; t++) {
            int me = t;
            for (int i = 0; i < perThread; i++) {
                expected += value(me, i);
            }
            Thread worker = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                for (int i = 0; i < perThread; i++) {
                    if (!adder.add(value(me, i))) {
                        late[me] += value(me, i);
                    }
                    if (i == perThread / 2) {
                        halfway.countDown();
                    }
                }
            });
            worker.start();
            workers.add(worker);
        }
        start.await();
        halfway.await();
        double folded = adder.fold();
        for (Thread worker : workers) {
            worker.join();
        }

        double lateTotal = 0;
        for (double l : late) {
            lateTotal += l;
        }
        assertThat(folded + lateTotal).isEqualTo(expected);
        assertThat(adder.sum()).isEqualTo(expected);
    }

    private static double value(int thread, int i) {
        return ((i * 7 + thread) % 1_000) + 0.5;
    }
}

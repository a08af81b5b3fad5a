package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class FoldableCounterTest {

    @Test
    void countsAndFoldsOnOneThread() {
        FoldableCounter counter = new FoldableCounter();
        assertThat(counter.sum()).isZero();
        for (int i = 0; i < 5; i++) {
            assertThat(counter.increment()).isTrue();
        }
        assertThat(counter.sum()).isEqualTo(5);
        assertThat(counter.fold()).isEqualTo(5);

        assertThat(counter.increment()).as("an increment after the fold says so").isFalse();
        assertThat(counter.sum()).as("the counter itself still counts it").isEqualTo(6);
        assertThatThrownBy(counter::fold).isInstanceOf(IllegalStateException.class).hasMessage("folded already");
        assertThat(counter.sum()).isEqualTo(6);
    }

    @Test
    void foldOfAnUntouchedCounterIsZero() {
        FoldableCounter counter = new FoldableCounter();
        assertThat(counter.fold()).isZero();
        assertThat(counter.increment()).isFalse();
        assertThat(counter.sum()).isOne();
    }

    /**
     * Threads increment while another folds part-way: every increment is either in the folded
     * count or reported as late, never both and never neither, and the counter's own sum has them
     * all. Four threads on two cores collide often enough to move the counter onto its cells.
     */
    @RepeatedTest(20)
    void everyIncrementIsInTheFoldOrReportedLate() throws Exception {
        int threads = 4;
        int perThread = 50_000;
        FoldableCounter counter = new FoldableCounter();
        AtomicLong late = new AtomicLong();
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        CountDownLatch halfway = new CountDownLatch(threads);
        List<Thread> workers = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                try {
                    start.await();
                    long mine = 0;
                    for (int i = 0; i < perThread; i++) {
                        if (!counter.increment()) {
                            mine++;
                        }
                        if (i == perThread / 2) {
                            halfway.countDown();
                        }
                    }
                    late.addAndGet(mine);
                } catch (Throwable e) {
                    synchronized (errors) {
                        errors.add(e);
                    }
                }
            });
            worker.start();
            workers.add(worker);
        }
        start.await();
        halfway.await();
        long folded = counter.fold();
        for (Thread worker : workers) {
            worker.join();
        }

        assertThat(errors).isEmpty();
        long total = (long) threads * perThread;
        assertThat(folded + late.get()).isEqualTo(total);
        assertThat(folded).isBetween((long) threads * (perThread / 2), total);
        assertThat(counter.sum()).isEqualTo(total);
    }

    @Test
    void contendedIncrementsAreAllCounted() throws Exception {
        int threads = 4;
        int perThread = 100_000;
        FoldableCounter counter = new FoldableCounter();
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                for (int i = 0; i < perThread; i++) {
                    counter.increment();
                }
            });
            worker.start();
            workers.add(worker);
        }
        for (Thread worker : workers) {
            worker.join();
        }
        assertThat(counter.sum()).isEqualTo((long) threads * perThread);
        assertThat(counter.fold()).isEqualTo((long) threads * perThread);
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class SelectionCountTest {

    private static Backend newBackend(LoadBalancer lb) {
        return lb.addBackend("b-1", "127.0.0.1", 8001);
    }

    @Test
    void countsInlineAndFoldsOnce() {
        try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN)) {
            Backend b = newBackend(lb);
            for (int i = 0; i < 5; i++) {
                assertThat(b.recordSelection()).isTrue();
            }
            assertThat(b.totalRequests()).isEqualTo(5);

            assertThat(b.foldSelections()).isEqualTo(5);
            assertThat(b.recordSelection()).as("a selection after the fold says so").isFalse();
            assertThat(b.totalRequests()).as("the backend itself still counts it").isEqualTo(6);
            assertThatThrownBy(b::foldSelections).isInstanceOf(IllegalStateException.class)
                    .hasMessage("selections of backend b-1 folded already");
            assertThat(b.totalRequests()).isEqualTo(6);
        }
    }

    @Test
    void foldOfAnUntouchedCountIsZero() {
        try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN)) {
            Backend b = newBackend(lb);
            assertThat(b.foldSelections()).isZero();
            assertThat(b.recordSelection()).isFalse();
            assertThat(b.totalRequests()).isOne();
        }
    }

    /**
     * Threads select one backend while another folds its count part-way: every selection is either
     * in the folded count or reported as late, never both and never neither, and the backend's own
     * count has them all. Four threads on two cores collide on the inline word often enough to move
     * the count onto its striped counter, before or after the fold.
     */
    @RepeatedTest(20)
    void everySelectionIsInTheFoldOrReportedLate() throws Exception {
        int threads = 4;
        int perThread = 50_000;
        try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN)) {
            Backend b = newBackend(lb);
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
                            if (!b.recordSelection()) {
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
            long folded = b.foldSelections();
            for (Thread worker : workers) {
                worker.join();
            }

            assertThat(errors).isEmpty();
            long total = (long) threads * perThread;
            assertThat(folded + late.get()).isEqualTo(total);
            assertThat(folded).isBetween((long) threads * (perThread / 2), total);
            assertThat(b.totalRequests()).isEqualTo(total);
        }
    }

    @Test
    void contendedSelectionsAreAllCounted() throws Exception {
        int threads = 4;
        int perThread = 100_000;
        try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN)) {
            Backend b = newBackend(lb);
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
                        b.recordSelection();
                    }
                });
                worker.start();
                workers.add(worker);
            }
            for (Thread worker : workers) {
                worker.join();
            }
            assertThat(b.totalRequests()).isEqualTo((long) threads * perThread);
            assertThat(b.foldSelections()).isEqualTo((long) threads * perThread);
        }
    }
}

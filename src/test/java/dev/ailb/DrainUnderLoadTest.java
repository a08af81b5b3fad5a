package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.RepeatedTest;

/**
 * Removing a backend while 8 threads run requests through leases: nothing already acquired is
 * refused or lost, nothing is routed to it once removeBackend has returned, and the drain completes
 * exactly when its last request is released.
 */
class DrainUnderLoadTest {
    private static final int THREADS = 8;
    private static final int REQUESTS_PER_THREAD = 20_000;

    @RepeatedTest(3)
    void removingABackendUnderLoadLosesNothingAndCompletesWithItsLastRequest() throws Exception {
        try (LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS).build()) {
            for (int i = 1; i <= 4; i++) {
                lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
            }
            Backend victim = lb.getBackend("b2").orElseThrow();
            AtomicBoolean removeReturned = new AtomicBoolean();
            AtomicLong routedAfterRemoval = new AtomicLong();
            AtomicLong completedOnVictim = new AtomicLong();
            AtomicLong ok = new AtomicLong();
            AtomicLong activeAtCompletion = new AtomicLong(-1);
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            CompletableFuture<Void> drained;
            try {
                List<Future<?>> clients = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    clients.add(pool.submit(() -> {
                        start.await();
                        Request request = new Request("r", "10.9.9.9", "/v1/completions");
                        for (int n = 0; n < REQUESTS_PER_THREAD; n++) {
                            boolean removedBefore = removeReturned.get();
                            try (Lease lease = lb.acquire(request)) {
                                if (lease.backend() == victim) {
                                    if (removedBefore) {
                                        routedAfterRemoval.incrementAndGet();
                                    }
                                    completedOnVictim.incrementAndGet();
                                }
                                if (n % 3 == 0) {
                                    Thread.onSpinWait(); // hold the connection a little
                                }
                                lease.success();
                            }
                            ok.incrementAndGet();
                        }
                        return null;
                    }));
                }
                start.countDown();
                while (lb.getAllStats().metrics().totalRequests() < THREADS * REQUESTS_PER_THREAD / 4) {
                    Thread.onSpinWait();
                }
                drained = lb.removeBackend("b2");
                removeReturned.set(true);
                drained.thenRun(() -> activeAtCompletion.set(victim.activeConnections()));
                for (Future<?> f : clients) {
                    f.get(2, TimeUnit.MINUTES);
                }
            } finally {
                pool.shutdownNow();
            }

            assertThat(drained).isCompleted();
            assertThat(activeAtCompletion.get()).isZero();
            assertThat(victim.isRemoved()).isTrue();
            assertThat(routedAfterRemoval.get()).isZero();
            LoadBalancerMetrics metrics = lb.getAllStats().metrics();
            long total = (long) THREADS * REQUESTS_PER_THREAD;
            assertThat(ok.get()).isEqualTo(total);
            assertThat(metrics.totalRequests()).isEqualTo(total);
            assertThat(metrics.successes()).isEqualTo(total);
            assertThat(metrics.activeConnections()).isZero();
            assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("b1", "b3", "b4");
            long onOthers = lb.getAllStats().backends().stream().mapToLong(BackendStats::totalRequests).sum();
            assertThat(onOthers + completedOnVictim.get()).isEqualTo(total);
        }
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Leases taken and ended on two threads while a third reconciles the balancer to membership after
 * membership: no request is lost or counted twice, every backend left out leaves exactly once,
 * when its last request is released.
 */
class ReconcileConcurrencyTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/completions");

    @Test
    void requestsInFlightSurviveEveryReconcileAndAreCountedOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        Set<Backend> removed = ConcurrentHashMap.newKeySet();
        try (LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS).build()) {
            lb.addListener(new LoadBalancerListener() {
                @Override
                public void onBackendRemoved(Backend backend) {
                    assertThat(removed.add(backend)).as("removed once: %s", backend.id()).isTrue();
                }
            });
            lb.setBackends(membership(new SplittableRandom(1)));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong ended = new AtomicLong();
            AtomicLong refused = new AtomicLong();
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                workers.add(pool.submit(() -> {
                    start.await();
                    List<Lease> held = new ArrayList<>();
                    SplittableRandom random = new SplittableRandom(Thread.currentThread().getId());
                    while (!stop.get()) {
                        try {
                            held.add(lb.acquire(REQUEST)); // its backend may start draining right after

                        } catch (NoAvailableBackendException e) {
                            refused.incrementAndGet();
                        }
                        if (held.size() > 8 || (!held.isEmpty() && random.nextBoolean())) {
                            Lease lease = held.remove(random.nextInt(held.size()));
                            if (random.nextInt(4) == 0) {
                                lease.failure();
                            } else {
                                lease.success();
                            }
                            ended.incrementAndGet();
                        }
                    }
                    for (Lease lease : held) {
                        lease.success();
                        ended.incrementAndGet();
                    }
                    return null;
                }));
            }
            Future<?> reconciler = pool.submit(() -> {
                start.await();
                SplittableRandom random = new SplittableRandom(7);
                for (int i = 0; i < 2_000; i++) {
                    lb.setBackends(membership(random));
                }
                stop.set(true);
                return null;
            });
            start.countDown();
            reconciler.get(2, TimeUnit.MINUTES);
            for (Future<?> worker : workers) {
                worker.get(2, TimeUnit.MINUTES);
            }
            lb.setBackends(List.of());

            assertThat(lb.getBackends()).as("every backend left once its requests were released").isEmpty();
            LoadBalancerMetrics metrics = lb.getAllStats().metrics();
            assertThat(metrics.completedRequests()).isEqualTo(ended.get());
            assertThat(metrics.activeConnections()).isZero();
            assertThat(ended.get()).isPositive();
            for (Backend b : removed) {
                assertThat(b.activeConnections()).isZero();
                assertThat(b.isRemoved()).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Three to eight of twelve backends, some at a second address, some reweighted. */
    private static List<BackendSpec> membership(SplittableRandom random) {
        List<BackendSpec> specs = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        while (specs.size() < 3 + random.nextInt(6)) {
            String id = "gpu-" + random.nextInt(12);
            if (ids.add(id)) {
                int port = 8000 + (random.nextInt(5) == 0 ? 100 : 0);
                specs.add(BackendSpec.of(id, "10.0.0.1", port).withWeight(1 + random.nextInt(3)));
            }
        }
        return specs;
    }
}

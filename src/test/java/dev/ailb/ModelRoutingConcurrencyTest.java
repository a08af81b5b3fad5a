package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.health.OutlierDetection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Picks by model racing the changes that rebuild their candidates: profiles set, adapters
 * reported, kinds of request seen for the first time. Exact invariants only.
 */
class ModelRoutingConcurrencyTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/completions");
    private static final BackendProfile SERVES = BackendProfile.builder().model("llama").adapter("sql-v2").build();
    private static final BackendProfile OTHER = BackendProfile.builder().model("qwen").build();

    @Test
    void picksRacingProfileAndAdapterChangesGoOnlyWhereTheModelWasServedAndEveryLeaseIsCounted() throws Exception {
        for (BalancingStrategy strategy : List.of(BalancingStrategy.ROUND_ROBIN, BalancingStrategy.LEAST_CONNECTIONS,
                BalancingStrategy.PREFIX_AFFINITY)) {
            try (LoadBalancer lb = LoadBalancer.builder().strategy(strategy)
                    .outlierDetection(OutlierDetection.disabled()).build()) {
                lb.addBackend("b1", "10.0.0.1", 8001, 1, SERVES);
                lb.addBackend("b2", "10.0.0.2", 8002, 1, SERVES);
                lb.addBackend("flip", "10.0.0.3", 8003, 1, SERVES);
                lb.addBackend("never", "10.0.0.4", 8004, 1, OTHER);
                int pickers = 3;
                int picksEach = 3_000;
                CountDownLatch start = new CountDownLatch(1);
                Set<String> chosen = ConcurrentHashMap.newKeySet();
                AtomicLong leases = new AtomicLong();
                ExecutorService pool = Executors.newFixedThreadPool(pickers + 1);
                try {
                    Future<?> writer = pool.submit(() -> {
                        start.await();
                        for (int i = 0; i < 300; i++) {
                            lb.setProfile("flip", i % 2 == 0 ? OTHER : SERVES);
                            lb.updateBackendResources("b" + (1 + i % 2), LoadReport.builder().waitingRequests(0)
                                    .runningAdapters(i % 3 == 0 ? List.of("sql-v2") : List.of()).maxAdapters(1)
                                    .build());
                        }
                        lb.setProfile("flip", SERVES);
                        return null;
                    });
                    List<Future<?>> readers = new java.util.ArrayList<>();
                    for (int t = 0; t < pickers; t++) {
                        int thread = t;
                        readers.add(pool.submit(() -> {
                            start.await();
                            for (int i = 0; i < picksEach; i++) {
                                String model = i % 2 == 0 ? "llama" : "sql-v2";
                                LabelSelector labels = i % 7 == 0
                                        ? LabelSelector.prefer("kind", "k" + (i % 5)) : LabelSelector.none();
                                try (Lease lease = lb.acquire(REQUEST.withModel(model).withLabels(labels)
                                        .withPrompt("thread " + thread + " prompt " + (i % 50)))) {
                                    chosen.add(lease.backend().id());
                                    leases.incrementAndGet();
                                    lease.success();
                                }
                            }
                            return null;
                        }));
                    }
                    start.countDown();
                    writer.get(60, TimeUnit.SECONDS);
                    for (Future<?> r : readers) {
                        r.get(60, TimeUnit.SECONDS);
                    }
                } finally {
                    pool.shutdownNow();
                }

                assertThat(chosen).as(strategy.name()).doesNotContain("never").contains("b1", "b2");
                assertThat(leases.get()).isEqualTo((long) pickers * picksEach);
                LoadBalancerMetrics metrics = lb.getAllStats().metrics();
                assertThat(metrics.totalRequests()).isEqualTo(leases.get());
                assertThat(metrics.successes()).isEqualTo(leases.get());
                assertThat(metrics.rejectedRequests()).isZero();
                lb.getBackends().forEach(b -> assertThat(b.activeConnections()).isZero());
                assertThat(lb.getBackend("never").orElseThrow().totalRequests()).isZero();
            }
        }
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Health flips racing with selections: once {@code setBackendHealthy(id, false)} has returned, no
 * selection that starts afterwards may return that backend, under any strategy.
 */
class HealthRaceTest {
    private static final int BACKENDS = 6;
    private static final int SELECTORS = 6;
    private static final int SELECTIONS_PER_THREAD = 40_000;

    private static boolean isDown(int transitions) {
        return (transitions & 1) == 1;
    }

    static List<BalancingStrategy> strategies() {
        return BalancingStrategy.builtIns();
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void aBackendMarkedDownIsNeverPickedBySelectionsStartedAfterwards(BalancingStrategy strategy) throws Exception {
        try (LoadBalancer lb = LoadBalancer.builder().strategy(strategy).random(new Random(11)).build()) {
            List<Backend> backends = new ArrayList<>();
            for (int i = 0; i < BACKENDS; i++) {
                backends.add(lb.addBackend("b" + i, "10.0.0." + (i + 1), 8000 + i, 1 + i % 3));
            }
            // confirmed[i] counts transitions: odd from the moment setBackendHealthy(false) returned
            // until just before the backend is marked healthy again, when it becomes even.
            AtomicIntegerArray confirmed = new AtomicIntegerArray(BACKENDS);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong violations = new AtomicLong();
            AtomicLong selections = new AtomicLong();
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(SELECTORS + 1);
            try {
                Future<?> flipper = pool.submit(() -> {
                    Random random = new Random(5);
                    start.await();
                    while (!stop.get()) {
                        int i = 1 + random.nextInt(BACKENDS - 1); // b0 stays healthy: no panic routing
                        String id = "b" + i;
                        if (isDown(confirmed.get(i))) {
                            confirmed.incrementAndGet(i);
                            lb.setBackendHealthy(id, true);
                        } else {
                            lb.setBackendHealthy(id, false);
                            confirmed.incrementAndGet(i);
                        }
                    }
                    return null;
                });
                List<Future<?>> selectors = new ArrayList<>();
                for (int t = 0; t < SELECTORS; t++) {
                    int seed = t;
                    selectors.add(pool.submit(() -> {
                        start.await();
                        Request request = new Request("r", "10.9.0." + seed, "/v1/completions");
                        int[] before = new int[BACKENDS];
                        for (int n = 0; n < SELECTIONS_PER_THREAD; n++) {
                            for (int i = 0; i < BACKENDS; i++) {
                                before[i] = confirmed.get(i);
                            }
                            Backend picked = lb.selectBackend(request);
                            selections.incrementAndGet();
                            int i = backends.indexOf(picked);
                            // Down before the selection started, and not brought back meanwhile.
                            if (isDown(before[i]) && confirmed.get(i) == before[i]) {
                                violations.incrementAndGet();
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : selectors) {
                    f.get(2, TimeUnit.MINUTES);
                }
                stop.set(true);
                flipper.get(1, TimeUnit.MINUTES);
            } finally {
                pool.shutdownNow();
            }

            assertThat(violations.get()).isZero();
            assertThat(selections.get()).isEqualTo((long) SELECTORS * SELECTIONS_PER_THREAD);
            assertThat(lb.getAllStats().metrics().totalRequests()).isEqualTo(selections.get());
            assertThat(lb.getAllStats().metrics().panicSelections()).isZero();
        }
    }
}

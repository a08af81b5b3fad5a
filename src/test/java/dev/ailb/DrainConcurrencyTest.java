package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Races around the end of a drain: it must complete exactly once, with every request counted. */
class DrainConcurrencyTest {

    @Test
    void concurrentReleasesOfTheLastConnectionsFinishTheDrainExactlyOnce() throws Exception {
        int threads = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < 300; round++) {
                AtomicInteger removedEvents = new AtomicInteger();
                try (LoadBalancer lb = new LoadBalancer()) {
                    lb.addListener(new LoadBalancerListener() {
                        @Override
                        public void onBackendRemoved(Backend backend) {
                            removedEvents.incrementAndGet();
                        }
                    });
                    Backend b = lb.addBackend("b", "10.0.0.1", 8001);
                    lb.addBackend("other", "10.0.0.2", 8002);
                    for (int i = 0; i < threads; i++) {
                        lb.acquireConnection(b);
                    }
                    CountDownLatch start = new CountDownLatch(1);
                    List<Future<?>> releases = new ArrayList<>();
                    for (int i = 0; i < threads; i++) {
                        boolean ok = i % 2 == 0;
                        releases.add(pool.submit(() -> {
                            start.await();
                            lb.releaseConnection(b, Duration.ofMillis(1), ok);
                            return null;
                        }));
                    }

                    CompletableFuture<Void> removed = lb.removeBackend("b");
                    start.countDown();
                    for (Future<?> f : releases) {
                        f.get(30, TimeUnit.SECONDS);
                    }

                    assertThat(removed).isCompleted();
                    assertThat(removedEvents).hasValue(1);
                    assertThat(b.isRemoved()).isTrue();
                    assertThat(b.activeConnections()).isZero();
                    assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("other");
                    assertThat(lb.getAllStats().metrics().completedRequests()).isEqualTo(threads);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void acquiresRacingTheEndOfADrainEitherCountOrAreRefused() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 300; round++) {
                try (LoadBalancer lb = new LoadBalancer()) {
                    Backend b = lb.addBackend("b", "10.0.0.1", 8001);
                    lb.acquireConnection(b);
                    CountDownLatch start = new CountDownLatch(1);
                    Future<Boolean> acquirer = pool.submit(() -> {
                        start.await();
                        return lb.tryAcquireConnection(b);
                    });
                    Future<?> releaser = pool.submit(() -> {
                        start.await();
                        lb.releaseConnection(b, Duration.ofMillis(1), true);
                        return null;
                    });
                    CompletableFuture<Void> removed = lb.removeBackend("b");
                    start.countDown();
                    boolean acquired = acquirer.get(30, TimeUnit.SECONDS);
                    releaser.get(30, TimeUnit.SECONDS);

                    if (acquired) {
                        // The late acquire holds the drain open until it is released.
                        assertThat(removed).isNotDone();
                        assertThat(b.activeConnections()).isEqualTo(1);
                        lb.releaseConnection(b, Duration.ofMillis(1), true);
                    }
                    assertThat(removed).isCompleted();
                    assertThat(b.activeConnections()).isZero();
                    assertThat(lb.getBackends()).isEmpty();
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}

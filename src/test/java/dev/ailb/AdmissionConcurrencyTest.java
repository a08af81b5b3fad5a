package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Many threads acquiring, cancelling and releasing through a fleet far smaller than they are: every
 * request ends exactly once, every admitted request is counted and released once, nothing leaks.
 */
class AdmissionConcurrencyTest {
    private static final int THREADS = 8;
    private static final int ROUNDS = 3_000;

    @Test
    void racingArrivalsCancellationsAndReleasesKeepExactCounts() throws Exception {
        ManualTicker ticker = new ManualTicker();
        try (LoadBalancer lb = LoadBalancer.builder().ticker(ticker).healthCheckScheduler(new ManualScheduler(ticker))
                .strategy(BalancingStrategy.LEAST_CONNECTIONS).connectionLimit(1)
                .admissionQueue(THREADS, Duration.ofDays(1)).build()) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            Backend b = lb.addBackend("b", "10.0.0.2", 8000);
            AtomicLong leases = new AtomicLong();
            AtomicLong rejected = new AtomicLong();
            AtomicLong cancelled = new AtomicLong();
            AtomicLong overLimit = new AtomicLong();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
            Priority[] priorities = Priority.values();
            for (int t = 0; t < THREADS; t++) {
                SplittableRandom random = new SplittableRandom(t);
                Thread thread = new Thread(() -> {
                    try {
                        start.await();
                        for (int i = 0; i < ROUNDS; i++) {
                            Request r = new Request("r" + i, "", "/v1/completions")
                                    .withPriority(priorities[random.nextInt(3)]).withTenant("t" + random.nextInt(4));
                            CompletableFuture<Lease> f = lb.acquireAsync(r);
                            if (random.nextInt(4) == 0) {
                                f.cancel(false);
                            }
                            Lease lease;
                            try {
                                lease = f.join();
                            } catch (CancellationException e) {
                                cancelled.incrementAndGet();
                                continue;
                            } catch (CompletionException e) {
                                assertThat(e.getCause()).isInstanceOf(RequestRejectedException.class);
                                rejected.incrementAndGet();
                                continue;
                            }
                            leases.incrementAndGet();
                            if (lease.backend().activeConnections() > 1) {
                                overLimit.incrementAndGet();
                            }
                            lease.success();
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                });
                thread.start();
                threads.add(thread);
            }

            start.countDown();
            for (Thread thread : threads) {
                thread.join();
            }

            assertThat(errors).isEmpty();
            assertThat(overLimit.get()).as("no backend ever past its limit").isZero();
            assertThat(leases.get() + rejected.get() + cancelled.get()).isEqualTo((long) THREADS * ROUNDS);
            AdmissionStats s = lb.getAdmissionStats();
            LoadBalancerMetrics m = lb.getAllStats().metrics();
            assertThat(s.waiting()).isZero();
            assertThat(s.rejected()).isEqualTo(rejected.get());
            assertThat(s.queued()).isEqualTo(s.admitted() + s.withdrawn() + s.displaced() + s.deadlinePassed());
            assertThat(s.withdrawn()).isLessThanOrEqualTo(cancelled.get());
            assertThat(m.totalRequests()).isEqualTo(leases.get());
            assertThat(m.successes()).isEqualTo(leases.get());
            assertThat(m.failures()).isZero();
            assertThat(a.activeConnections() + b.activeConnections()).isZero();
            assertThat(s.admitted()).isPositive();
            assertThat(s.shed()).isPositive();
        }
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Eight threads run a fixed number of operations each, mixing every public operation of the
 * balancer (selection with and without sessions, leases, hand-held connections, {@code execute}
 * with retries, adding, removing, maintenance, health by hand, strategy switches, load reports,
 * time), each thread counting what it did. Afterwards every count the balancer keeps must equal
 * the sum of the threads' counts exactly, every connection must be released, every removal must
 * have completed exactly once, and no selection may have returned a backend whose removal had
 * completed before the selection began.
 *
 * <p>The number of operations is fixed, not the time, so the test checks the same amount of work
 * on any machine; each thread's choices come from its own seeded random source.
 */
class ConcurrentStressTest {
    private static final int THREADS = 8;
    private static final int OPERATIONS_PER_THREAD = 25_000;
    private static final int IDS = 8;

    private final ManualTicker ticker = new ManualTicker();
    private final AtomicLong clock = new AtomicLong();
    private final Map<Backend, AtomicInteger> added = new ConcurrentHashMap<>();
    private final Map<Backend, Long> removedAt = new ConcurrentHashMap<>();
    private final Map<Backend, AtomicInteger> removedEvents = new ConcurrentHashMap<>();
    private final List<CompletableFuture<Void>> removals = new CopyOnWriteArrayList<>();
    private final List<CompletableFuture<Void>> maintenanceDrains = new CopyOnWriteArrayList<>();

    /** What one thread did. */
    private static final class Counts {
        long selections;
        long rejected;
        long successes;
        long failures;
        long sessionSelections;
        long executeCalls;
        long executeAttempts;
        long lateSelections;
        final List<String> lateExamples = new ArrayList<>();

        void add(Counts o) {
            selections += o.selections;
            rejected += o.rejected;
            successes += o.successes;
            failures += o.failures;
            sessionSelections += o.sessionSelections;
            executeCalls += o.executeCalls;
            executeAttempts += o.executeAttempts;
            lateSelections += o.lateSelections;
            lateExamples.addAll(o.lateExamples);
        }
    }

    @Test
    void everyCountAddsUpAfterEightThreadsMixEveryOperation() throws Exception {
        LoadBalancer lb = LoadBalancer.builder()
                .strategy(BalancingStrategy.LEAST_CONNECTIONS)
                .ticker(ticker)
                .random(new SplittableRandom(7))
                .maxSessions(64)
                .retryPolicy(RetryPolicy.builder().maxAttempts(3).budgetPercent(50).build())
                .outlierDetection(OutlierDetection.builder().consecutiveFailures(4)
                        .baseEjectionTime(Duration.ofSeconds(5)).maxEjectionTime(Duration.ofSeconds(20)).build())
                .build();
        lb.addListener(new LoadBalancerListener() {
            @Override
            public void onBackendAdded(Backend backend) {
                added.computeIfAbsent(backend, b -> new AtomicInteger()).incrementAndGet();
            }

            @Override
            public void onBackendRemoved(Backend backend) {
                removedAt.putIfAbsent(backend, clock.incrementAndGet());
                removedEvents.computeIfAbsent(backend, b -> new AtomicInteger()).incrementAndGet();
            }
        });
        for (int i = 0; i < 6; i++) {
            lb.addBackend("b" + i, "127.0.0.1", 9000 + i, 1 + i % 3);
        }

        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        CyclicBarrier start = new CyclicBarrier(THREADS);
        List<Future<Counts>> results = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            long seed = 1_000 + t;
            results.add(pool.submit(() -> {
                start.await();
                return work(lb, new SplittableRandom(seed));
            }));
        }
        Counts total = new Counts();
        for (Future<Counts> f : results) {
            total.add(f.get(2, TimeUnit.MINUTES));
        }
        pool.shutdown();
        assertThat(pool.awaitTermination(1, TimeUnit.MINUTES)).isTrue();

        // Every connection was released by the thread that held it, so every removal is complete.
        assertThat(removals).allSatisfy(f -> assertThat(f).isCompleted());
        assertThat(maintenanceDrains).as("maintenance waits").allMatch(CompletableFuture::isDone);
        assertThat(total.lateExamples).as("selections of a backend removed before they began").isEmpty();

        List<Backend> registered = lb.getBackends();
        long selectionsOnBackends = 0;
        long successesOnBackends = 0;
        long failuresOnBackends = 0;
        long sessionsOnBackends = 0;
        for (Map.Entry<Backend, AtomicInteger> e : added.entrySet()) {
            Backend b = e.getKey();
            assertThat(e.getValue()).as("added events of %s", b).hasValue(1);
            assertThat(b.activeConnections()).as("active connections of %s", b).isZero();
            assertThat(b.isDraining()).as("%s still draining", b).isFalse();
            if (b.isRemoved()) {
                assertThat(registered).doesNotContain(b);
                assertThat(removedEvents.get(b)).as("removed events of %s", b).hasValue(1);
                assertThat(b.sessions.get()).as("sessions still bound to %s after it left", b).isZero();
            } else {
                assertThat(registered).contains(b);
                assertThat(removedEvents).doesNotContainKey(b);
            }
            selectionsOnBackends += b.totalRequests();
            successesOnBackends += b.successes();
            failuresOnBackends += b.failures();
            sessionsOnBackends += b.sessions.get();
        }
        assertThat(registered).allMatch(added::containsKey);

        LoadBalancerMetrics m = lb.getAllStats().metrics();
        assertThat(m.totalRequests()).as("requests").isEqualTo(total.selections).isEqualTo(selectionsOnBackends);
        assertThat(m.rejectedRequests()).as("rejected").isEqualTo(total.rejected);
        assertThat(m.successes()).as("successes").isEqualTo(total.successes).isEqualTo(successesOnBackends);
        assertThat(m.failures()).as("failures").isEqualTo(total.failures).isEqualTo(failuresOnBackends);
        assertThat(m.activeConnections()).isZero();
        assertThat(m.sessions()).as("sessions").isEqualTo(sessionsOnBackends).isLessThanOrEqualTo(64);
        assertThat(m.sessionHits() + m.sessionMisses() + m.sessionRebinds()).as("session selections")
                .isEqualTo(total.sessionSelections);
        assertThat(m.retries()).as("retries").isEqualTo(total.executeAttempts - total.executeCalls);
        assertThat(lb.getAvailableBackends()).containsExactlyElementsOf(
                registered.stream().filter(Backend::isAvailable).toList());
        System.out.printf("%,d operations: %,d selections, %,d rejected, %,d successes, %,d failures, %,d retries, "
                + "%,d backends registered in all%n", THREADS * OPERATIONS_PER_THREAD, total.selections, total.rejected,
                total.successes, total.failures, m.retries(), added.size());
        // How much is rejected depends on how the threads interleave (every backend may be in
        // maintenance for a while); a run where nearly nothing was routed would prove little.
        assertThat(total.selections).as("the run did real work").isGreaterThan(THREADS * OPERATIONS_PER_THREAD / 5);
        lb.close();
    }

    private Counts work(LoadBalancer lb, SplittableRandom random) {
        Counts c = new Counts();
        List<Lease> leases = new ArrayList<>();
        List<Backend> byHand = new ArrayList<>();
        for (int i = 0; i < OPERATIONS_PER_THREAD; i++) {
            int op = random.nextInt(100);
            Request request = new Request("r", "10.0." + random.nextInt(4) + "." + random.nextInt(256), "/v1");
            String id = "b" + random.nextInt(IDS);
            try {
                if (op < 30) {
                    // select, acquire, release at once
                    long started = clock.get();
                    Optional<Backend> picked = lb.trySelectBackend(request);
                    if (picked.isEmpty()) {
                        c.rejected++;
                        continue;
                    }
                    c.selections++;
                    checkNotRemovedBefore(picked.get(), started, c);
                    if (lb.tryAcquireConnection(picked.get())) {
                        release(lb, picked.get(), random, c);
                    }
                } else if (op < 45) {
                    // A thread holds a few leases at most: held for long, they would keep removed
                    // backends draining until every id is taken by one.
                    if (leases.size() >= 4) {
                        leases.remove(0).success();
                        c.successes++;
                    }
                    long started = clock.get();
                    boolean withSession = random.nextBoolean();
                    Lease lease = withSession ? lb.acquire(request, "s" + random.nextInt(200)) : lb.acquire(request);
                    c.selections++;
                    if (withSession) {
                        c.sessionSelections++;
                    }
                    if (random.nextInt(50) == 0) {
                        lease.close(); // closed without an outcome: a failure
                        lease.success(); // too late: changes nothing
                        c.failures++;
                    } else {
                        leases.add(lease);
                    }
                    checkNotRemovedBefore(lease.backend(), started, c);
                } else if (op < 58) {
                    if (!leases.isEmpty()) {
                        Lease lease = leases.remove(random.nextInt(leases.size()));
                        ticker.advance(Duration.ofMillis(random.nextInt(20)));
                        if (random.nextInt(5) == 0) {
                            lease.failure();
                            c.failures++;
                        } else {
                            lease.success();
                            c.successes++;
                        }
                    }
                    if (!byHand.isEmpty()) {
                        release(lb, byHand.remove(byHand.size() - 1), random, c);
                    }
                } else if (op < 66) {
                    long started = clock.get();
                    Backend b = lb.selectBackend(request, "s" + random.nextInt(200));
                    c.selections++;
                    c.sessionSelections++;
                    checkNotRemovedBefore(b, started, c);
                    if (random.nextBoolean() && lb.tryAcquireConnection(b)) {
                        byHand.add(b);
                    }
                } else if (op < 76) {
                    boolean failing = random.nextInt(4) == 0;
                    AtomicInteger attempts = new AtomicInteger();
                    try {
                        lb.execute(request, backend -> {
                            attempts.incrementAndGet();
                            if (failing) {
                                throw new java.io.IOException("refused by " + backend.id());
                            }
                            return backend.id();
                        });
                        c.successes++;
                        c.failures += attempts.get() - 1;
                    } catch (CallFailedException e) {
                        assertThat(e.attempts()).isEqualTo(attempts.get());
                        c.failures += attempts.get();
                    }
                    c.executeCalls++;
                    c.executeAttempts += attempts.get();
                    c.selections += attempts.get();
                } else if (op < 80) {
                    if (random.nextBoolean()) {
                        lb.addBackend(id, "127.0.0.1", 9000 + random.nextInt(IDS), 1 + random.nextInt(3));
                    } else if (lb.getBackends().size() > 2) {
                        removals.add(lb.removeBackend(id));
                    }
                } else if (op < 85) {
                    // Undrained twice as often as drained, so the fleet is not all in maintenance.
                    if (random.nextInt(3) == 0) {
                        maintenanceDrains.add(lb.beginMaintenance(id));
                    } else {
                        lb.endMaintenance(id);
                    }
                } else if (op < 89) {
                    lb.setBackendHealthy(id, random.nextInt(3) != 0);
                } else if (op < 91) {
                    List<BalancingStrategy> all = BalancingStrategy.builtIns();
                    lb.setStrategy(all.get(random.nextInt(all.size())));
                } else if (op < 95) {
                    lb.updateBackendResources(id, random.nextDouble(), random.nextDouble());
                } else if (op < 97) {
                    ticker.advance(Duration.ofSeconds(1));
                } else {
                    lb.getAllStats();
                }
            } catch (NoAvailableBackendException e) {
                c.rejected++;
            } catch (IllegalArgumentException | IllegalStateException e) {
                // Expected races: an id that is absent, taken, or being removed at that moment.
                String message = String.valueOf(e.getMessage());
                assertThat(message).matches(s -> s.contains("id: \"" + id + "\"") || s.contains(id),
                        "names the id: " + message);
            }
        }
        for (Lease lease : leases) {
            lease.success();
            c.successes++;
        }
        for (Backend b : byHand) {
            lb.releaseConnection(b, 1_000_000L, true);
            c.successes++;
        }
        return c;
    }

    private void release(LoadBalancer lb, Backend b, SplittableRandom random, Counts c) {
        boolean ok = random.nextInt(5) != 0;
        lb.releaseConnection(b, Duration.ofMillis(random.nextInt(50)), ok);
        if (ok) {
            c.successes++;
        } else {
            c.failures++;
        }
    }

    /** A selection must not return a backend whose removal was announced before it started. */
    private void checkNotRemovedBefore(Backend b, long startedAt, Counts c) {
        Long removed = removedAt.get(b);
        if (removed != null && removed <= startedAt) {
            c.lateSelections++;
            if (c.lateExamples.size() < 5) {
                c.lateExamples.add(b + " removed at " + removed + ", selection started at " + startedAt);
            }
        }
    }
}

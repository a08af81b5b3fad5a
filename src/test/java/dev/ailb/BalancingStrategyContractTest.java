package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.AllUnhealthyPolicy;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** What every built-in strategy must do, whatever its algorithm. */
class BalancingStrategyContractTest {

    static Stream<BalancingStrategy> strategies() {
        return BalancingStrategy.builtIns().stream();
    }

    private static LoadBalancer balancer(BalancingStrategy strategy) {
        return LoadBalancer.builder().strategy(strategy).random(new Random(7)).ticker(new ManualTicker()).build();
    }

    private static Request request(int i) {
        return new Request("req-" + i, "10.0." + (i % 50) + "." + (i % 7), "/v1/completions");
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void failsClearlyWhenNoBackendIsRegistered(BalancingStrategy strategy) {
        try (LoadBalancer lb = balancer(strategy)) {
            assertThatThrownBy(() -> lb.selectBackend(request(1)))
                    .isInstanceOf(NoAvailableBackendException.class)
                    .hasMessageContaining("none is registered")
                    .satisfies(e -> assertThat(((NoAvailableBackendException) e).reason())
                            .isEqualTo(NoAvailableBackendException.Reason.NO_BACKENDS));
            assertThat(lb.trySelectBackend(request(1))).isEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void failsClearlyWhenEveryBackendIsUnhealthyAndThePolicyFailsClosed(BalancingStrategy strategy) {
        try (LoadBalancer lb = LoadBalancer.builder().strategy(strategy).random(new Random(7))
                .ticker(new ManualTicker()).allUnhealthyPolicy(AllUnhealthyPolicy.FAIL_CLOSED).build()) {
            lb.addBackend("a", "10.0.0.1", 8001);
            lb.addBackend("b", "10.0.0.2", 8002);
            lb.setBackendHealthy("a", false);
            lb.setBackendHealthy("b", false);

            assertThatThrownBy(() -> lb.selectBackend(request(1)))
                    .isInstanceOf(NoAvailableBackendException.class)
                    .hasMessageContaining("all 2 registered backends are unhealthy");
            assertThat(lb.trySelectBackend(request(2))).isEmpty();
            assertThat(lb.getAllStats().metrics().totalRequests()).isZero();
            assertThat(lb.getAllStats().metrics().rejectedRequests()).isEqualTo(2);
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void failingOpenRoutesAcrossTheUnhealthyBackendsButNeverADrainingOne(BalancingStrategy strategy) {
        try (LoadBalancer lb = balancer(strategy)) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8001);
            Backend b = lb.addBackend("b", "10.0.0.2", 8002);
            Backend c = lb.addBackend("c", "10.0.0.3", 8003);
            lb.acquireConnection(c); // keeps c draining instead of gone
            lb.removeBackend("c");
            lb.setBackendHealthy("a", false);
            lb.setBackendHealthy("b", false);

            Set<Backend> picked = new HashSet<>();
            for (int i = 0; i < 300; i++) {
                picked.add(lb.selectBackend(request(i)));
            }

            assertThat(picked).doesNotContain(c).isNotEmpty().isSubsetOf(a, b);
            LoadBalancerMetrics metrics = lb.getAllStats().metrics();
            assertThat(metrics.panicMode()).isTrue();
            assertThat(metrics.panicSelections()).isEqualTo(300);
            assertThat(metrics.totalRequests()).isEqualTo(300);
            assertThat(lb.getAvailableBackends()).isEmpty();

            lb.setBackendHealthy("b", true);
            for (int i = 0; i < 50; i++) {
                assertThat(lb.selectBackend(request(i))).isSameAs(b);
            }
            assertThat(lb.getAllStats().metrics().panicMode()).isFalse();
            assertThat(lb.getAllStats().metrics().panicSelections()).isEqualTo(300);
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void neverPicksAnUnhealthyOrDrainingBackend(BalancingStrategy strategy) {
        try (LoadBalancer lb = balancer(strategy)) {
            for (int i = 1; i <= 6; i++) {
                lb.addBackend("instance-" + i, "10.0.0." + i, 8000 + i, 1 + i % 3);
            }
            lb.setBackendHealthy("instance-2", false);
            Backend draining = lb.getBackend("instance-5").orElseThrow();
            lb.acquireConnection(draining);
            lb.removeBackend("instance-5");

            Set<String> picked = new HashSet<>();
            for (int i = 0; i < 3_000; i++) {
                Backend b = lb.selectBackend(request(i));
                picked.add(b.id());
                assertThat(b.isAvailable()).isTrue();
                // Load some backends so that load-aware strategies move around.
                if (i % 3 == 0) {
                    lb.acquireConnection(b);
                    lb.releaseConnection(b, Duration.ofMillis(1 + i % 40), true);
                }
            }
            assertThat(picked).doesNotContain("instance-2", "instance-5");
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void picksOnlyFromTheBackendsOfItsOwnBalancerAndCountsEachPick(BalancingStrategy strategy) {
        try (LoadBalancer one = balancer(strategy); LoadBalancer two = balancer(strategy)) {
            Set<Backend> ofOne = new HashSet<>();
            for (int i = 1; i <= 3; i++) {
                ofOne.add(one.addBackend("x" + i, "10.0.0." + i, 9000 + i));
                two.addBackend("x" + i, "10.0.0." + i, 9000 + i);
            }
            for (int i = 0; i < 300; i++) {
                assertThat(ofOne).contains(one.selectBackend(request(i)));
            }
            assertThat(one.getAllStats().metrics().totalRequests()).isEqualTo(300);
            assertThat(one.getAllStats().backends().stream().mapToLong(BackendStats::totalRequests).sum())
                    .isEqualTo(300);
            assertThat(two.getAllStats().metrics().totalRequests()).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void oneStrategyConstantServesManyBalancersIndependently(BalancingStrategy strategy) {
        try (LoadBalancer one = balancer(strategy); LoadBalancer two = balancer(strategy)) {
            one.addBackend("a", "10.0.0.1", 8001);
            two.addBackend("a", "10.0.0.1", 8001);
            two.addBackend("b", "10.0.0.2", 8002);
            for (int i = 0; i < 100; i++) {
                assertThat(one.selectBackend(request(i)).id()).isEqualTo("a");
                assertThat(two.selectBackend(request(i)).id()).isIn("a", "b");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void keepsExactCountsUnderConcurrentTrafficWhileBackendsComeAndGo(BalancingStrategy strategy) throws Exception {
        int threads = 8;
        int perThread = 4_000;
        try (LoadBalancer lb = LoadBalancer.builder().strategy(strategy).build()) {
            for (int i = 1; i <= 4; i++) {
                lb.addBackend("stable-" + i, "10.0.0." + i, 8000 + i, i);
            }
            CountDownLatch start = new CountDownLatch(1);
            AtomicInteger succeeded = new AtomicInteger();
            AtomicInteger failed = new AtomicInteger();
            AtomicInteger selected = new AtomicInteger();
            AtomicInteger raced = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
            try {
                List<Future<?>> work = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int seed = t;
                    work.add(pool.submit(() -> {
                        Random random = new Random(seed);
                        start.await();
                        for (int i = 0; i < perThread; i++) {
                            Backend b = lb.selectBackend(request(random.nextInt(1000)));
                            selected.incrementAndGet();
                            if (!lb.tryAcquireConnection(b)) {
                                raced.incrementAndGet(); // removed between select and acquire
                                continue;
                            }
                            boolean ok = random.nextInt(10) != 0;
                            lb.releaseConnection(b, Duration.ofMillis(random.nextInt(50)), ok);
                            (ok ? succeeded : failed).incrementAndGet();
                        }
                        return null;
                    }));
                }
                work.add(pool.submit(() -> {
                    start.await();
                    for (int round = 0; round < 200; round++) {
                        lb.addBackend("churn-" + round, "10.0.1." + (round % 250), 9000 + round % 1000);
                        if (round % 5 == 0) {
                            lb.setBackendHealthy("stable-1", round % 10 != 0);
                        }
                        lb.removeBackend("churn-" + round);
                    }
                    return null;
                }));
                start.countDown();
                for (Future<?> f : work) {
                    f.get(2, TimeUnit.MINUTES);
                }
            } finally {
                pool.shutdownNow();
            }

            LoadBalancerMetrics m = lb.getAllStats().metrics();
            assertThat(m.totalRequests()).isEqualTo(selected.get()).isEqualTo(threads * perThread);
            assertThat(m.successes()).isEqualTo(succeeded.get());
            assertThat(m.failures()).isEqualTo(failed.get());
            assertThat(m.completedRequests()).isEqualTo(threads * perThread - raced.get());
            assertThat(m.activeConnections()).isZero();
            // Every churn backend drained and left; only the stable ones remain.
            assertThat(lb.getBackends()).extracting(Backend::id)
                    .containsExactly("stable-1", "stable-2", "stable-3", "stable-4");
            assertThat(lb.getBackends()).allSatisfy(b -> assertThat(b.activeConnections()).isZero());
        }
    }
}

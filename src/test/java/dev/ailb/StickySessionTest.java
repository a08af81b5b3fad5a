package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.openjdk.jol.info.GraphWalker;

/** Sticky sessions: bound while usable, moved once when not, bounded in time and number. */
class StickySessionTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/api/user");

    private final ManualTicker ticker = new ManualTicker();

    private LoadBalancer balancer(LoadBalancerBuilder builder, int backends) {
        LoadBalancer lb = builder.ticker(ticker).random(new Random(17)).build();
        for (int i = 1; i <= backends; i++) {
            lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
        }
        return lb;
    }

    @Test
    void tenThousandSessionsEachStayOnTheirBackendAndSpreadAsTheStrategyDoes() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN), 4)) {
            Map<String, Backend> first = new HashMap<>();
            for (int i = 0; i < 10_000; i++) {
                first.put("s" + i, lb.selectBackend(REQUEST, "s" + i));
            }
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 10_000; i++) {
                    assertThat(lb.selectBackend(REQUEST, "s" + i)).isSameAs(first.get("s" + i));
                }
            }

            LoadBalancerStats stats = lb.getAllStats();
            assertThat(stats.backends()).extracting(BackendStats::sessions).containsOnly(2_500);
            assertThat(stats.metrics().sessions()).isEqualTo(10_000);
            assertThat(stats.metrics().sessionMisses()).isEqualTo(10_000);
            assertThat(stats.metrics().sessionHits()).isEqualTo(30_000);
            assertThat(stats.metrics().sessionRebinds()).isZero();
        }
    }

    @Test
    void requestsOfANewSessionArrivingTogetherAllGoToTheFirstBackendItIsBoundTo() throws Exception {
        int threads = 4;
        int sessions = 500;
        try (LoadBalancer lb = balancer(LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN), 4)) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CyclicBarrier together = new CyclicBarrier(threads);
            Backend[][] placed = new Backend[sessions][threads];
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < sessions; i++) {
                        together.await();
                        // Half the threads lease, half only select: both paths bind the same way.
                        if (thread % 2 == 0) {
                            try (Lease lease = lb.acquire(REQUEST, "s" + i)) {
                                placed[i][thread] = lease.backend();
                                lease.success();
                            }
                        } else {
                            placed[i][thread] = lb.selectBackend(REQUEST, "s" + i);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(1, TimeUnit.MINUTES);
            }
            pool.shutdown();

            for (int i = 0; i < sessions; i++) {
                Backend bound = lb.selectBackend(REQUEST, "s" + i);
                assertThat(placed[i]).as("session s%d", i).containsOnly(bound);
            }
            LoadBalancerMetrics m = lb.getAllStats().metrics();
            assertThat(m.sessions()).isEqualTo(sessions);
            assertThat(m.sessionMisses()).as("one placement per session").isEqualTo(sessions);
            assertThat(m.sessionHits() + m.sessionMisses() + m.sessionRebinds())
                    .isEqualTo((long) sessions * (threads + 1));
            assertThat(lb.getAllStats().backends().stream().mapToInt(BackendStats::sessions).sum())
                    .isEqualTo(sessions);
            assertThat(m.totalRequests()).isEqualTo((long) sessions * (threads + 1));
        }
    }

    @Test
    void aSessionMovesWhenItsBackendStopsTakingRequestsAndStaysWhereItMoved() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder(), 3)) {
            Backend original = lb.selectBackend(REQUEST, "s");

            lb.setBackendHealthy(original.id(), false);
            Backend moved = lb.selectBackend(REQUEST, "s");
            lb.setBackendHealthy(original.id(), true);

            assertThat(moved).isNotSameAs(original);
            for (int i = 0; i < 10; i++) {
                assertThat(lb.selectBackend(REQUEST, "s")).isSameAs(moved);
            }
            assertThat(lb.getAllStats().metrics().sessionRebinds()).isEqualTo(1);
            assertThat(lb.getBackendStats(original.id()).sessions()).isZero();
            assertThat(lb.getBackendStats(moved.id()).sessions()).isEqualTo(1);
        }
    }

    @Test
    void aSessionMovesOffAnEjectedADrainedAndARemovedBackend() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder(), 4)) {
            Backend first = lb.selectBackend(REQUEST, "s");
            for (int i = 0; i < 5; i++) {
                lb.acquireConnection(first);
                lb.releaseConnection(first, 1_000L, false); // ejected after 5
            }
            Backend second = lb.selectBackend(REQUEST, "s");
            assertThat(second).isNotSameAs(first);

            lb.beginMaintenance(second.id());
            Backend third = lb.selectBackend(REQUEST, "s");
            assertThat(third).isNotIn(first, second);

            lb.removeBackend(third.id());
            Backend fourth = lb.selectBackend(REQUEST, "s");
            assertThat(fourth).isNotIn(first, second, third);
            assertThat(lb.getAllStats().metrics().sessionRebinds()).isEqualTo(3);
            assertThat(lb.getAllStats().metrics().sessionMisses()).isEqualTo(1);
            assertThat(lb.getAllStats().metrics().sessions()).isEqualTo(1);
        }
    }

    @Test
    void sessionsOfARemovedBackendAreRebindsOnceWhenTheyComeBackAndTheTableLetsTheBackendGo() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN), 4)) {
            // given: 40 sessions, 10 on each backend
            Map<String, Backend> placed = new HashMap<>();
            for (int i = 0; i < 40; i++) {
                placed.put("s" + i, lb.selectBackend(REQUEST, "s" + i));
            }
            Backend leaving = lb.getBackend("b2").orElseThrow();
            assertThat(leaving.boundSessions()).isEqualTo(10);

            // when: its backend leaves (no request in flight, so at once)
            lb.removeBackend("b2");

            // then: its sessions are no longer bound to it, and the balancer holds it no more
            assertThat(leaving.isRemoved()).isTrue();
            assertThat(leaving.boundSessions()).isZero();
            assertThat(lb.getAllStats().backends()).extracting(BackendStats::sessions).containsExactly(10, 10, 10);
            assertThat(lb.getAllStats().metrics().sessions()).isEqualTo(30);
            assertThat(backendsReachableFrom(lb)).isEqualTo(3);

            // and when every session comes back, twice
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 40; i++) {
                    Backend now = lb.selectBackend(REQUEST, "s" + i);
                    if (placed.get("s" + i) != leaving) {
                        assertThat(now).isSameAs(placed.get("s" + i));
                    }
                    assertThat(now).isNotSameAs(leaving);
                }
            }

            // then: the ten sessions of the removed backend moved once each, as rebinds
            LoadBalancerMetrics m = lb.getAllStats().metrics();
            assertThat(m.sessionMisses()).isEqualTo(40);
            assertThat(m.sessionRebinds()).isEqualTo(10);
            assertThat(m.sessionHits()).isEqualTo(30 + 40);
            assertThat(m.sessions()).isEqualTo(40);
            assertThat(lb.getAllStats().backends().stream().mapToInt(BackendStats::sessions).sum()).isEqualTo(40);
            assertThat(leaving.boundSessions()).isZero();
            assertThat(backendsReachableFrom(lb)).isEqualTo(3);
        }
    }

    /** How many backends the balancer's object graph holds, as JOL walks it. */
    private static int backendsReachableFrom(LoadBalancer lb) {
        int[] backends = new int[1];
        new GraphWalker(record -> {
            if (record.klass() == Backend.class) {
                backends[0]++;
            }
        }).walk(lb);
        return backends[0];
    }

    @Test
    void aSessionIdleForItsTimeoutIsForgottenAndPlacedAfresh() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder().sessionIdleTimeout(Duration.ofMinutes(10)), 3)) {
            lb.selectBackend(REQUEST, "s");
            ticker.advance(Duration.ofMinutes(10).minusNanos(1));
            lb.selectBackend(REQUEST, "s"); // a hit, which refreshes it
            ticker.advance(Duration.ofMinutes(10).minusNanos(1));
            assertThat(lb.getAllStats().metrics().sessions()).isEqualTo(1);

            ticker.advance(Duration.ofNanos(1));
            assertThat(lb.getAllStats().metrics().sessions()).isZero();
            assertThat(lb.getAllStats().backends()).extracting(BackendStats::sessions).containsOnly(0);
            lb.selectBackend(REQUEST, "s");

            LoadBalancerMetrics metrics = lb.getAllStats().metrics();
            assertThat(metrics.sessionMisses()).isEqualTo(2);
            assertThat(metrics.sessionHits()).isEqualTo(1);
        }
    }

    @Test
    void aFloodOfDistinctSessionIdsStaysWithinTheBound() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder().maxSessions(10_000), 6)) {
            for (int i = 0; i < 1_000_000; i++) {
                lb.selectBackend(REQUEST, "flood-" + i);
            }

            LoadBalancerStats stats = lb.getAllStats();
            assertThat(stats.metrics().sessions()).isEqualTo(10_000);
            assertThat(stats.backends().stream().mapToInt(BackendStats::sessions).sum()).isEqualTo(10_000);
            assertThat(stats.metrics().sessionMisses()).isEqualTo(1_000_000);
            // The most recent sessions are the ones kept.
            Backend recent = lb.selectBackend(REQUEST, "flood-999999");
            assertThat(lb.getAllStats().metrics().sessionHits()).isEqualTo(1);
            assertThat(recent).isNotNull();
        }
    }

    @Test
    void leasesKeepToTheSessionToo() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder(), 3)) {
            Backend bound = lb.selectBackend(REQUEST, "s");
            try (Lease lease = lb.acquire(REQUEST, "s")) {
                assertThat(lease.backend()).isSameAs(bound);
                assertThat(bound.activeConnections()).isEqualTo(1);
                lease.success();
            }
        }
    }

    @Test
    void consistentHashingSendsASessionToTheSameBackendOnEveryReplicaWithoutATable() {
        LoadBalancerBuilder hashed = LoadBalancer.builder().sessionAffinity(SessionAffinity.CONSISTENT_HASH);
        try (LoadBalancer replica1 = balancer(hashed, 5);
                LoadBalancer replica2 = balancer(LoadBalancer.builder()
                        .sessionAffinity(SessionAffinity.CONSISTENT_HASH), 5)) {
            Map<String, String> placed = new HashMap<>();
            for (int i = 0; i < 2_000; i++) {
                String session = "user-" + i;
                String id = replica1.selectBackend(REQUEST, session).id();
                assertThat(replica2.selectBackend(REQUEST, session).id()).isEqualTo(id);
                placed.put(session, id);
            }
            assertThat(placed.values()).contains("b1", "b2", "b3", "b4", "b5");

            replica1.removeBackend("b3");
            int moved = 0;
            for (Map.Entry<String, String> e : placed.entrySet()) {
                String now = replica1.selectBackend(REQUEST, e.getKey()).id();
                if (!now.equals(e.getValue())) {
                    moved++;
                    assertThat(e.getValue()).as("only sessions of the removed backend move").isEqualTo("b3");
                }
            }
            assertThat(moved).isEqualTo((int) placed.values().stream().filter("b3"::equals).count());
            assertThat(replica1.getAllStats().metrics().sessions()).isZero();
        }
    }

    @Test
    void badSessionIdsAreRejectedNamingTheValue() {
        try (LoadBalancer lb = balancer(LoadBalancer.builder(), 2)) {
            assertThatThrownBy(() -> lb.selectBackend(REQUEST, " ")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sessionId: \" \" (expected: not blank)");
            assertThatThrownBy(() -> lb.selectBackend(REQUEST, (String) null))
                    .isInstanceOf(NullPointerException.class).hasMessage("sessionId: null (expected: non-null)");
            assertThatThrownBy(() -> lb.selectBackend(REQUEST, "x".repeat(300)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 256");
            assertThatThrownBy(() -> LoadBalancer.builder().maxSessions(0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("maxSessions: 0 (expected: 1..10000000)");
            assertThat(lb.getAllStats().metrics().totalRequests()).isZero();
            assertThat(List.of(lb.getAllStats().metrics().sessions())).containsExactly(0);
        }
    }
}

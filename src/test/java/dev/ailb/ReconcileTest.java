package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link LoadBalancer#setBackends} and {@link LoadBalancer#addBackends}: one published change each, in virtual time. */
class ReconcileTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/completions");
    private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(2);

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private final CountingStrategy strategy = new CountingStrategy();
    private final List<String> events = new ArrayList<>();
    private final LoadBalancer lb = LoadBalancer.builder().strategy(strategy).ticker(ticker)
            .healthCheckScheduler(scheduler).drainTimeout(DRAIN_TIMEOUT).build();

    {
        lb.addListener(new LoadBalancerListener() {
            @Override
            public void onBackendAdded(Backend backend) {
                events.add("added " + backend.id() + "@" + backend.port());
            }

            @Override
            public void onBackendDraining(Backend backend) {
                events.add("draining " + backend.id() + "@" + backend.port());
            }

            @Override
            public void onBackendRemoved(Backend backend) {
                events.add("removed " + backend.id() + "@" + backend.port());
            }
        });
    }

    @AfterEach
    void close() {
        lb.close();
    }

    private static BackendSpec spec(String id, int port) {
        return BackendSpec.of(id, "10.0.0." + port % 250, port);
    }

    @Test
    void aWholeFleetIsRegisteredWithOnePickerBuilt() {
        List<BackendSpec> fleet = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            fleet.add(spec("gpu-" + i, 8000 + i));
        }
        int builds = strategy.builds.get();

        MembershipChange change = lb.setBackends(fleet);

        assertThat(strategy.builds.get() - builds).isEqualTo(1);
        assertThat(change.added()).hasSize(1000).startsWith("gpu-0", "gpu-1").endsWith("gpu-999");
        assertThat(change.updated()).isEmpty();
        assertThat(change.draining()).isEmpty();
        assertThat(change.unchanged()).isZero();
        assertThat(lb.getAvailableBackends()).hasSize(1000);
        assertThat(lb.getBackends()).extracting(Backend::id).startsWith("gpu-0", "gpu-1");
    }

    @Test
    void theSameMembershipAgainChangesAndPublishesNothing() {
        lb.setBackends(List.of(spec("a", 8001), spec("b", 8002).withWeight(3)));
        int builds = strategy.builds.get();
        events.clear();

        MembershipChange change = lb.setBackends(List.of(spec("b", 8002).withWeight(3), spec("a", 8001)));

        assertThat(change.isEmpty()).isTrue();
        assertThat(change.unchanged()).isEqualTo(2);
        assertThat(strategy.builds.get()).isEqualTo(builds);
        assertThat(events).isEmpty();
    }

    @Test
    void keptBackendsTakeTheStatedWeightAndProfileAndKeepTheirFigures() {
        Backend a = lb.addBackend("a", "10.0.0.1", 8001);
        lb.addBackend("b", "10.0.0.2", 8002);
        lb.acquireConnection(a);
        lb.releaseConnection(a, Duration.ofMillis(20), true);
        BackendProfile llama = BackendProfile.builder().model("llama").build();

        MembershipChange change = lb.setBackends(List.of(
                BackendSpec.of("a", "10.0.0.1", 8001).withWeight(5).withProfile(llama),
                BackendSpec.of("b", "10.0.0.2", 8002)));

        assertThat(change.updated()).containsExactly("a");
        assertThat(change.unchanged()).isEqualTo(1);
        assertThat(lb.getBackend("a")).containsSame(a);
        assertThat(a.weight()).isEqualTo(5);
        assertThat(a.profile()).isEqualTo(llama);
        assertThat(lb.getBackendStats("a").successes()).isEqualTo(1);
        assertThat(strategy.lastBuiltWeights()).containsExactly(5, 1);
        assertThat(lb.selectBackend(REQUEST.withModel("llama"))).isSameAs(a);
    }

    @Test
    void backendsLeftOutDrainKeepingTheirRequestsInFlightAndCountingThem() {
        lb.setBackends(List.of(spec("a", 8001), spec("b", 8002), spec("c", 8003)));
        Backend b = lb.getBackend("b").orElseThrow();
        lb.acquireConnection(b);
        lb.acquireConnection(b);
        LoadBalancerMetrics before = lb.getAllStats().metrics();
        events.clear();

        MembershipChange change = lb.setBackends(List.of(spec("a", 8001), spec("c", 8003), spec("d", 8004)));

        assertThat(change.added()).containsExactly("d");
        assertThat(change.draining()).containsExactly("b");
        assertThat(events).containsExactly("added d@8004", "draining b@8002");
        assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("a", "c", "d");
        assertThat(b.isDraining()).isTrue();
        for (int i = 0; i < 30; i++) {
            assertThat(lb.selectBackend(REQUEST)).isNotSameAs(b);
        }

        lb.releaseConnection(b, Duration.ofMillis(10), true);
        assertThat(lb.getBackend("b")).isPresent();
        lb.releaseConnection(b, Duration.ofMillis(10), false);

        assertThat(lb.getBackend("b")).isEmpty();
        assertThat(events).endsWith("removed b@8002");
        LoadBalancerMetrics after = lb.getAllStats().metrics();
        assertThat(after.successes()).isEqualTo(before.successes() + 1);
        assertThat(after.failures()).isEqualTo(before.failures() + 1);
    }

    @Test
    void aBackendWithNoRequestInFlightLeavesAtOnce() {
        lb.setBackends(List.of(spec("a", 8001), spec("b", 8002)));
        events.clear();

        lb.setBackends(List.of(spec("a", 8001)));

        assertThat(events).containsExactly("draining b@8002", "removed b@8002");
        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a");
    }

    @Test
    void anEmptyMembershipDrainsEveryBackend() {
        lb.setBackends(List.of(spec("a", 8001), spec("b", 8002)));

        MembershipChange change = lb.setBackends(List.of());

        assertThat(change.draining()).containsExactly("a", "b");
        assertThat(lb.getBackends()).isEmpty();
        assertThatThrownBy(() -> lb.selectBackend(REQUEST)).isInstanceOf(NoAvailableBackendException.class);
    }

    @Test
    void aDrainBegunByAReconcileHasTheDrainTimeout() {
        lb.setBackends(List.of(spec("a", 8001), spec("b", 8002)));
        Backend b = lb.getBackend("b").orElseThrow();
        lb.acquireConnection(b);

        lb.setBackends(List.of(spec("a", 8001)));
        scheduler.advance(DRAIN_TIMEOUT.minusNanos(1));
        assertThat(lb.getBackend("b")).isPresent();
        scheduler.advance(Duration.ofNanos(1));

        assertThat(lb.getBackend("b")).isEmpty();
        lb.releaseConnection(b, Duration.ofMillis(3), true); // a late release still counts
        assertThat(b.activeConnections()).isZero();
    }

    @Test
    void anIdAtAnotherAddressDrainsTheOldBackendAndRegistersTheNewOneWhenItHasLeft() {
        lb.setBackends(List.of(spec("a", 8001), spec("b", 8002)));
        Backend old = lb.getBackend("b").orElseThrow();
        lb.acquireConnection(old);
        events.clear();

        MembershipChange change = lb.setBackends(List.of(spec("a", 8001), spec("b", 9002)));

        assertThat(change.draining()).containsExactly("b");
        assertThat(change.waiting()).containsExactly("b");
        assertThat(change.added()).isEmpty();
        assertThat(lb.getBackend("b")).containsSame(old);
        assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("a");

        lb.releaseConnection(old, Duration.ofMillis(4), true);

        Backend now = lb.getBackend("b").orElseThrow();
        assertThat(now).isNotSameAs(old);
        assertThat(now.port()).isEqualTo(9002);
        assertThat(events).containsExactly("draining b@8002", "removed b@8002", "added b@9002");
        assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("a", "b");
        assertThat(lb.setBackends(List.of(spec("a", 8001), spec("b", 9002))).isEmpty()).isTrue();
    }

    @Test
    void aWaitingBackendLeftOutBeforeItsNamesakeLeavesIsNeverRegistered() {
        lb.setBackends(List.of(spec("a", 8001)));
        Backend old = lb.getBackend("a").orElseThrow();
        lb.acquireConnection(old);
        lb.setBackends(List.of(spec("a", 9001)));

        MembershipChange change = lb.setBackends(List.of());
        lb.releaseConnection(old, Duration.ofMillis(4), true);

        assertThat(change.waiting()).isEmpty();
        assertThat(lb.getBackends()).isEmpty();
    }

    @Test
    void aRemovalOutranksAWaitingRegistration() {
        lb.setBackends(List.of(spec("a", 8001)));
        Backend old = lb.getBackend("a").orElseThrow();
        lb.acquireConnection(old);
        lb.setBackends(List.of(spec("a", 9001)));

        CompletableFuture<Void> removed = lb.removeBackend("a");
        lb.releaseConnection(old, Duration.ofMillis(4), true);

        assertThat(removed).isCompleted();
        assertThat(lb.getBackends()).isEmpty();
    }

    @Test
    void aDrainingIdStatedAgainIsRegisteredWhenItHasLeft() {
        lb.setBackends(List.of(spec("a", 8001), spec("b", 8002)));
        Backend b = lb.getBackend("b").orElseThrow();
        lb.acquireConnection(b);
        lb.setBackends(List.of(spec("a", 8001)));

        MembershipChange change = lb.setBackends(List.of(spec("a", 8001), spec("b", 8002).withWeight(2)));
        assertThat(change.waiting()).containsExactly("b");
        assertThat(change.unchanged()).isEqualTo(1);
        lb.releaseConnection(b, Duration.ofMillis(4), true);

        Backend again = lb.getBackend("b").orElseThrow();
        assertThat(again).isNotSameAs(b);
        assertThat(again.weight()).isEqualTo(2);
        assertThat(again.isAvailable()).isTrue();
    }

    @Test
    void maintenanceIsKeptAndALeftOutBackendInMaintenanceDrains() {
        lb.setBackends(List.of(spec("a", 8001), spec("b", 8002), spec("c", 8003)));
        lb.beginMaintenance("a");
        CompletableFuture<Void> maintained = lb.beginMaintenance("b");
        Backend b = lb.getBackend("b").orElseThrow();

        lb.setBackends(List.of(spec("a", 8001).withWeight(4), spec("c", 8003)));

        assertThat(lb.getBackend("a").orElseThrow().isInMaintenance()).isTrue();
        assertThat(lb.getBackend("a").orElseThrow().weight()).isEqualTo(4);
        assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("c");
        assertThat(b.isRemoved()).isTrue();
        assertThat(maintained).isCompleted();
    }

    @Test
    void newBackendsWaitForTheirFirstCheckWhenBackendsStartUnhealthy() {
        try (LoadBalancer checked = LoadBalancer.builder().ticker(ticker).healthCheckScheduler(scheduler)
                .initiallyHealthy(false).build()) {
            checked.setBackends(List.of(spec("a", 8001)));
            assertThat(checked.getBackend("a").orElseThrow().isAvailable()).isFalse();
            assertThat(checked.getAvailableBackends()).isEmpty();
        }
    }

    @Test
    void anIdGivenTwiceOrANullSpecIsRefusedAndChangesNothing() {
        lb.setBackends(List.of(spec("a", 8001)));
        int builds = strategy.builds.get();

        assertThatThrownBy(() -> lb.setBackends(List.of(spec("b", 8002), spec("b", 8003))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("backends: id \"b\" given twice (expected: each id once)");
        assertThatThrownBy(() -> lb.setBackends(Arrays.asList(spec("b", 8002), null)))
                .isInstanceOf(NullPointerException.class).hasMessage("backends[1]: null (expected: non-null)");
        assertThatThrownBy(() -> lb.setBackends(null))
                .isInstanceOf(NullPointerException.class).hasMessage("backends: null (expected: non-null)");

        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a");
        assertThat(strategy.builds.get()).isEqualTo(builds);
    }

    @Test
    void aPickerThatCannotBeBuiltLeavesEverythingAsItWas() {
        lb.setBackends(List.of(spec("a", 8001), spec("b", 8002)));
        Backend a = lb.getBackend("a").orElseThrow();
        strategy.refuseAbove = 2;

        assertThatThrownBy(() -> lb.setBackends(List.of(spec("a", 8001).withWeight(7), spec("b", 8002),
                spec("c", 8003)))).isInstanceOf(IllegalStateException.class).hasMessageContaining("3 backends");
        assertThatThrownBy(() -> lb.setBackends(List.of(spec("a", 8001).withWeight(7).withProfile(
                BackendProfile.builder().model("m").build()), spec("c", 8003), spec("d", 8004))))
                .isInstanceOf(IllegalStateException.class);

        assertThat(a.weight()).isEqualTo(1);
        assertThat(a.profile()).isEqualTo(BackendProfile.none());
        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a", "b");
        assertThat(lb.getAvailableBackends()).extracting(Backend::id).containsExactly("a", "b");
        assertThat(a.isDraining()).isFalse();
    }

    @Test
    void aClosedBalancerRefusesAReconcile() {
        lb.close();
        assertThatThrownBy(() -> lb.setBackends(List.of(spec("a", 8001))))
                .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");
        assertThatThrownBy(() -> lb.addBackends(List.of(spec("a", 8001))))
                .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");
    }

    @Test
    void addBackendsRegistersAllWithOnePickerBuiltOrNone() {
        lb.addBackend("a", "10.0.0.1", 8001);
        int builds = strategy.builds.get();

        List<Backend> added = lb.addBackends(List.of(spec("b", 8002), spec("c", 8003).withWeight(2)));

        assertThat(added).extracting(Backend::id).containsExactly("b", "c");
        assertThat(strategy.builds.get() - builds).isEqualTo(1);
        assertThat(events).containsSubsequence("added b@8002", "added c@8003");

        assertThatThrownBy(() -> lb.addBackends(List.of(spec("d", 8004), spec("a", 9001))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("backends: id \"a\" (expected: ids not registered; it is taken)");
        assertThatThrownBy(() -> lb.addBackends(List.of(spec("d", 8004), spec("d", 8005))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("backends: id \"d\" given twice (expected: each id once)");
        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a", "b", "c");
        assertThat(strategy.builds.get() - builds).isEqualTo(1);
    }

    @Test
    void requestsWaitingForRoomAreServedWhenAReconcileAddsABackend() {
        try (LoadBalancer limited = LoadBalancer.builder().ticker(ticker).healthCheckScheduler(scheduler)
                .callScheduler(scheduler).connectionLimit(1).admissionQueue(4, Duration.ofSeconds(5)).build()) {
            limited.setBackends(List.of(spec("a", 8001)));
            Lease first = limited.acquire(REQUEST);
            CompletableFuture<Lease> second = limited.acquireAsync(REQUEST, Duration.ofSeconds(5));
            assertThat(second).isNotDone();

            limited.setBackends(List.of(spec("a", 8001), spec("b", 8002)));

            assertThat(second).isCompleted();
            assertThat(second.join().backend().id()).isEqualTo("b");
            first.success();
            second.join().success();
        }
    }

    /** Round robin that counts the pickers it builds, can refuse big sets, and remembers the weights of the last. */
    private static final class CountingStrategy implements BalancingStrategy {
        final AtomicInteger builds = new AtomicInteger();
        volatile int refuseAbove = Integer.MAX_VALUE;
        volatile List<Integer> lastWeights = List.of();

        List<Integer> lastBuiltWeights() {
            return lastWeights;
        }

        @Override
        public Selector newSelector(SelectionContext context) {
            Selector rr = BalancingStrategy.ROUND_ROBIN.newSelector(context);
            return available -> {
                if (available.size() > refuseAbove) {
                    throw new IllegalArgumentException("too many");
                }
                builds.incrementAndGet();
                List<Integer> weights = new ArrayList<>();
                for (Backend b : available) {
                    weights.add(b.weight());
                }
                lastWeights = weights;
                return rr.newPicker(available);
            };
        }
    }
}

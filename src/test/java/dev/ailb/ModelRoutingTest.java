package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.AllUnhealthyPolicy;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Requests naming a model: only the backends that serve it are candidates, under every strategy. */
class ModelRoutingTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");
    private static final BackendProfile LLAMA = BackendProfile.builder().model("llama").build();
    private static final BackendProfile QWEN = BackendProfile.builder().model("qwen").adapter("sql-v2").build();

    private final ManualTicker ticker = new ManualTicker();

    static List<BalancingStrategy> strategies() {
        return BalancingStrategy.builtIns();
    }

    private LoadBalancer balancer(BalancingStrategy strategy) {
        return LoadBalancer.builder().strategy(strategy).ticker(ticker).random(new Random(7))
                .allUnhealthyPolicy(AllUnhealthyPolicy.FAIL_CLOSED).outlierDetection(OutlierDetection.disabled()).build();
    }

    /** b1, b2: llama; b3, b4: qwen with the adapter sql-v2; b5: nothing declared. */
    private LoadBalancer mixedFleet(BalancingStrategy strategy) {
        LoadBalancer lb = balancer(strategy);
        lb.addBackend("b1", "10.0.0.1", 8001, 1, LLAMA);
        lb.addBackend("b2", "10.0.0.2", 8002, 1, LLAMA);
        lb.addBackend("b3", "10.0.0.3", 8003, 1, QWEN);
        lb.addBackend("b4", "10.0.0.4", 8004, 1, QWEN);
        lb.addBackend("b5", "10.0.0.5", 8005);
        return lb;
    }

    private static Set<String> picks(LoadBalancer lb, Request request, int n) {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < n; i++) {
            Request r = new Request("r" + i, "10.1." + i / 200 + "." + (i % 200 + 1), request.path())
                    .withModel(request.model()).withLabels(request.labels())
                    .withPrompt("conversation " + i + " about the weather");
            ids.add(lb.selectBackend(r).id());
        }
        return ids;
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void everyStrategyPicksOnlyAmongTheBackendsServingTheModel(BalancingStrategy strategy) {
        try (LoadBalancer lb = mixedFleet(strategy)) {
            assertThat(picks(lb, REQUEST.withModel("llama"), 200)).isSubsetOf("b1", "b2").isNotEmpty();
            assertThat(picks(lb, REQUEST.withModel("qwen"), 200)).isSubsetOf("b3", "b4").isNotEmpty();
            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 200)).isSubsetOf("b3", "b4").isNotEmpty();
            assertThat(picks(lb, REQUEST, 400)).isSubsetOf("b1", "b2", "b3", "b4", "b5").hasSizeGreaterThan(1);
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void everyStrategyAcquiresAndReleasesOnTheServingBackendsOnly(BalancingStrategy strategy) {
        try (LoadBalancer lb = mixedFleet(strategy)) {
            List<Lease> leases = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                leases.add(lb.acquire(REQUEST.withModel("qwen")));
            }
            assertThat(lb.getBackend("b3").orElseThrow().activeConnections()
                    + lb.getBackend("b4").orElseThrow().activeConnections()).isEqualTo(20);
            leases.forEach(Lease::success);
            assertThat(lb.getAllStats().metrics().totalRequests()).isEqualTo(20);
            lb.getBackends().forEach(b -> assertThat(b.activeConnections()).isZero());
        }
    }

    @Test
    void roundRobinRotatesExactlyWithinTheServingBackendsWhateverElseIsPicked() {
        try (LoadBalancer lb = mixedFleet(BalancingStrategy.ROUND_ROBIN)) {
            List<String> llama = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                llama.add(lb.selectBackend(REQUEST.withModel("llama")).id());
                lb.selectBackend(REQUEST); // the whole fleet's cursor moves on its own
            }
            assertThat(llama).containsExactly("b1", "b2", "b1", "b2", "b1", "b2");
        }
    }

    @Test
    void aModelNobodyServesIsRefusedWithItsOwnReasonAndName() {
        try (LoadBalancer lb = mixedFleet(BalancingStrategy.ROUND_ROBIN)) {
            assertThatThrownBy(() -> lb.selectBackend(REQUEST.withModel("mistral")))
                    .isInstanceOfSatisfying(NoAvailableBackendException.class, e -> {
                        assertThat(e.reason()).isEqualTo(NoAvailableBackendException.Reason.MODEL_NOT_SERVED);
                        assertThat(e.model()).isEqualTo("mistral");
                        assertThat(e.registeredBackends()).isEqualTo(5);
                    })
                    .hasMessage("no backend available: none of the 5 registered backends serves model \"mistral\"");
            assertThat(lb.trySelectBackend(REQUEST.withModel("mistral"))).isEmpty();
            assertThat(lb.getAllStats().metrics().rejectedRequests()).isEqualTo(2);
        }
    }

    @Test
    void aServedModelWhoseBackendsAreDownIsRefusedWithTheReasonsCountedOverItsBackends() {
        try (LoadBalancer lb = mixedFleet(BalancingStrategy.ROUND_ROBIN)) {
            lb.setBackendHealthy("b1", false);
            lb.setBackendHealthy("b2", false);

            assertThatThrownBy(() -> lb.selectBackend(REQUEST.withModel("llama")))
                    .isInstanceOfSatisfying(NoAvailableBackendException.class, e -> {
                        assertThat(e.reason()).isEqualTo(NoAvailableBackendException.Reason.ALL_UNHEALTHY);
                        assertThat(e.registeredBackends()).isEqualTo(2);
                        assertThat(e.model()).isEqualTo("llama");
                    })
                    .hasMessage("no backend available: all 2 registered backends serving model \"llama\" are unhealthy");
            lb.removeBackend("b1");
            assertThatThrownBy(() -> lb.selectBackend(REQUEST.withModel("llama")))
                    .isInstanceOfSatisfying(NoAvailableBackendException.class, e -> assertThat(e.reason())
                            .isEqualTo(NoAvailableBackendException.Reason.ALL_UNHEALTHY));
            assertThat(lb.selectBackend(REQUEST.withModel("qwen")).id()).isIn("b3", "b4");

            lb.setBackendHealthy("b2", true);
            assertThat(lb.selectBackend(REQUEST.withModel("llama")).id()).isEqualTo("b2");
        }
    }

    @Test
    void aModelWhoseBackendsAreAllUnhealthyIsRoutedAcrossThemWhenTheBalancerFailsOpen() {
        try (LoadBalancer lb = LoadBalancer.builder().ticker(ticker).allUnhealthyPolicy(AllUnhealthyPolicy.FAIL_OPEN)
                .outlierDetection(OutlierDetection.disabled()).build()) {
            lb.addBackend("b1", "10.0.0.1", 8001, 1, LLAMA);
            lb.addBackend("b2", "10.0.0.2", 8002, 1, QWEN);
            lb.setBackendHealthy("b1", false);

            assertThat(lb.selectBackend(REQUEST.withModel("llama")).id()).isEqualTo("b1");
            assertThat(lb.selectBackend(REQUEST.withModel("qwen")).id()).isEqualTo("b2");
        }
    }

    @Test
    void aNewProfileRoutesFromTheNextPickAndReturnsThePreviousOne() {
        try (LoadBalancer lb = mixedFleet(BalancingStrategy.ROUND_ROBIN)) {
            assertThat(picks(lb, REQUEST.withModel("llama"), 10)).containsExactlyInAnyOrder("b1", "b2");

            BackendProfile previous = lb.setProfile("b5", LLAMA);
            BackendProfile again = lb.setProfile("b5", LLAMA);
            lb.setProfile("b1", QWEN);

            assertThat(previous).isEqualTo(BackendProfile.none());
            assertThat(again).isEqualTo(LLAMA);
            assertThat(lb.getBackend("b5").orElseThrow().profile()).isEqualTo(LLAMA);
            assertThat(lb.getBackendStats("b5").profile()).isEqualTo(LLAMA);
            assertThat(picks(lb, REQUEST.withModel("llama"), 10)).containsExactlyInAnyOrder("b2", "b5");
            assertThat(picks(lb, REQUEST.withModel("qwen"), 10)).containsExactlyInAnyOrder("b1", "b3", "b4");
        }
    }

    @Test
    void aProfileTheStrategyCannotBuildForLeavesEverythingAsItWas() {
        AtomicInteger builds = new AtomicInteger();
        BalancingStrategy refusesThree = BalancingStrategy.named("REFUSES_THREE", context -> available -> {
            if (available.size() == 3 && available.get(2).id().equals("b5")) {
                throw new IllegalArgumentException("three");
            }
            builds.incrementAndGet();
            return request -> available.get(0);
        });
        try (LoadBalancer lb = mixedFleet(refusesThree)) {
            lb.selectBackend(REQUEST.withModel("llama"));

            assertThatThrownBy(() -> lb.setProfile("b5", LLAMA)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("REFUSES_THREE failed to build a picker for 3 backends");

            assertThat(lb.getBackend("b5").orElseThrow().profile()).isEqualTo(BackendProfile.none());
            assertThat(picks(lb, REQUEST.withModel("llama"), 4)).containsExactly("b1");
        }
    }

    @Test
    void aSessionBoundToABackendThatDoesNotServeTheModelIsPlacedAgain() {
        try (LoadBalancer lb = mixedFleet(BalancingStrategy.ROUND_ROBIN)) {
            Backend first = lb.selectBackend(REQUEST.withModel("llama"), "s1");
            assertThat(first.id()).isIn("b1", "b2");
            assertThat(lb.selectBackend(REQUEST.withModel("llama"), "s1")).isSameAs(first);

            Backend moved = lb.selectBackend(REQUEST.withModel("qwen"), "s1");

            assertThat(moved.id()).isIn("b3", "b4");
            assertThat(lb.selectBackend(REQUEST.withModel("qwen"), "s1")).isSameAs(moved);
            assertThat(lb.selectBackend(REQUEST, "s1")).isSameAs(moved);
        }
    }

    @Test
    void aConsistentHashSessionWhoseBackendDoesNotServeTheModelGoesToOneThatDoes() {
        try (LoadBalancer lb = LoadBalancer.builder().ticker(ticker).sessionAffinity(SessionAffinity.CONSISTENT_HASH)
                .outlierDetection(OutlierDetection.disabled()).build()) {
            lb.addBackend("b1", "10.0.0.1", 8001, 1, LLAMA);
            lb.addBackend("b2", "10.0.0.2", 8002, 1, QWEN);
            for (int i = 0; i < 50; i++) {
                assertThat(lb.selectBackend(REQUEST.withModel("qwen"), "s" + i).id()).isEqualTo("b2");
                assertThat(lb.selectBackend(REQUEST.withModel("llama"), "s" + i).id()).isEqualTo("b1");
            }
        }
    }

    @Test
    void executeRetriesOnlyAmongTheBackendsServingTheModel() {
        try (LoadBalancer lb = LoadBalancer.builder().ticker(ticker).outlierDetection(OutlierDetection.disabled())
                .allUnhealthyPolicy(AllUnhealthyPolicy.FAIL_CLOSED).retryPolicy(RetryPolicy.builder().maxAttempts(5).build()).build()) {
            lb.addBackend("b1", "10.0.0.1", 8001, 1, LLAMA);
            lb.addBackend("b2", "10.0.0.2", 8002, 1, LLAMA);
            lb.addBackend("b3", "10.0.0.3", 8003, 1, QWEN);
            lb.addBackend("b4", "10.0.0.4", 8004, 1, QWEN);
            List<String> tried = new ArrayList<>();

            assertThatThrownBy(() -> lb.execute(REQUEST.withModel("qwen"), backend -> {
                tried.add(backend.id());
                throw new java.io.IOException("refused");
            })).isInstanceOfSatisfying(CallFailedException.class, e -> assertThat(e.reason())
                    .isEqualTo(CallFailedException.Reason.NO_UNTRIED_BACKEND));

            assertThat(tried).containsExactlyInAnyOrder("b3", "b4");
        }
    }

    @Test
    void aBackendServesWhatItsProfileDeclaresAndStatsShowIt() {
        try (LoadBalancer lb = mixedFleet(BalancingStrategy.ROUND_ROBIN)) {
            Backend b3 = lb.getBackend("b3").orElseThrow();
            assertThat(b3.serves("qwen")).isTrue();
            assertThat(b3.serves("sql-v2")).isTrue();
            assertThat(b3.serves("llama")).isFalse();
            assertThat(b3.learntProfile()).isEqualTo(BackendProfile.none());
            assertThat(lb.getBackendStats("b3").profile().adapters()).containsExactly("sql-v2");
        }
    }

    @Test
    void manyKindsOfRequestBeyondTheKeptOnesAreStillRoutedCorrectly() {
        try (LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN)) {
            Map<String, String> served = new HashMap<>();
            BackendProfile.Builder odd = BackendProfile.builder();
            BackendProfile.Builder even = BackendProfile.builder();
            for (int i = 0; i < Subsets.MAX_KINDS + 20; i++) {
                (i % 2 == 0 ? even : odd).model("m" + i);
                served.put("m" + i, i % 2 == 0 ? "even" : "odd");
            }
            lb.addBackend("even", "10.0.0.1", 8001, 1, even.build());
            lb.addBackend("odd", "10.0.0.2", 8002, 1, odd.build());

            for (int round = 0; round < 2; round++) {
                served.forEach((model, id) -> assertThat(lb.selectBackend(REQUEST.withModel(model)).id())
                        .isEqualTo(id));
            }
        }
    }
}

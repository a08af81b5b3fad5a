package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.AllUnhealthyPolicy;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Label selectors: required labels filter the candidates, preferred ones are a tier among them. */
class LabelRoutingTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");

    private final ManualTicker ticker = new ManualTicker();

    static List<BalancingStrategy> strategies() {
        return BalancingStrategy.builtIns();
    }

    private static BackendProfile profile(String model, String gpu, String zone) {
        return BackendProfile.builder().model(model).label("gpu", gpu).label("zone", zone).build();
    }

    /** a1: h100 in zone a; b1: h100 in b; a2: l4 in a; q: qwen on h100 in a. */
    private LoadBalancer fleet(BalancingStrategy strategy) {
        LoadBalancer lb = LoadBalancer.builder().strategy(strategy).ticker(ticker).random(new Random(11))
                .allUnhealthyPolicy(AllUnhealthyPolicy.FAIL_CLOSED).outlierDetection(OutlierDetection.disabled())
                .build();
        lb.addBackend("a1", "10.0.0.1", 8001, 1, profile("llama", "h100", "a"));
        lb.addBackend("b1", "10.0.0.2", 8002, 1, profile("llama", "h100", "b"));
        lb.addBackend("a2", "10.0.0.3", 8003, 1, profile("llama", "l4", "a"));
        lb.addBackend("q", "10.0.0.4", 8004, 1, profile("qwen", "h100", "a"));
        return lb;
    }

    private static Set<String> picks(LoadBalancer lb, Request request, int n) {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < n; i++) {
            Request r = new Request("r" + i, "10.3." + i / 200 + "." + (i % 200 + 1), request.path())
                    .withModel(request.model()).withLabels(request.labels()).withPrompt("prompt " + i);
            ids.add(lb.selectBackend(r).id());
        }
        return ids;
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void requiredLabelsFilterAndPreferredOnesComeFirstUnderEveryStrategy(BalancingStrategy strategy) {
        try (LoadBalancer lb = fleet(strategy)) {
            LabelSelector h100 = LabelSelector.require("gpu", "h100");

            assertThat(picks(lb, REQUEST.withModel("llama").withLabels(h100), 200))
                    .containsExactlyInAnyOrder("a1", "b1");
            assertThat(picks(lb, REQUEST.withModel("llama").withLabels(h100.andPrefer("zone", "a")), 50))
                    .containsExactly("a1");
            assertThat(picks(lb, REQUEST.withLabels(LabelSelector.prefer("zone", "b")), 50)).containsExactly("b1");
            assertThat(picks(lb, REQUEST.withLabels(h100), 300)).containsExactlyInAnyOrder("a1", "b1", "q");
        }
    }

    @Test
    void preferredLabelsNobodyAvailableCarriesFallBackToTheRest() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            LabelSelector preferA = LabelSelector.require("gpu", "h100").andPrefer("zone", "a");
            assertThat(picks(lb, REQUEST.withModel("llama").withLabels(preferA), 4)).containsExactly("a1");

            lb.setBackendHealthy("a1", false);

            assertThat(picks(lb, REQUEST.withModel("llama").withLabels(preferA), 4)).containsExactly("b1");
            assertThat(picks(lb, REQUEST.withModel("llama").withLabels(LabelSelector.prefer("zone", "c")), 6))
                    .containsExactlyInAnyOrder("b1", "a2");
        }
    }

    @Test
    void labelsNobodyCarriesAreRefusedWithTheirOwnReason() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            LabelSelector b200 = LabelSelector.require("gpu", "b200");

            assertThatThrownBy(() -> lb.selectBackend(REQUEST.withModel("llama").withLabels(b200)))
                    .isInstanceOfSatisfying(NoAvailableBackendException.class, e -> {
                        assertThat(e.reason()).isEqualTo(NoAvailableBackendException.Reason.LABELS_NOT_CARRIED);
                        assertThat(e.labels()).isEqualTo(b200);
                        assertThat(e.model()).isEqualTo("llama");
                    })
                    .hasMessage("no backend available: none of the 4 registered backends serving model \"llama\" "
                            + "carries labels {gpu=b200}");
            assertThatThrownBy(() -> lb.selectBackend(REQUEST.withModel("qwen")
                    .withLabels(LabelSelector.require("gpu", "l4"))))
                    .hasMessage("no backend available: none of the 4 registered backends serving model \"qwen\" "
                            + "carries labels {gpu=l4}");
            assertThatThrownBy(() -> lb.selectBackend(REQUEST.withLabels(b200)))
                    .hasMessage("no backend available: none of the 4 registered backends carries labels {gpu=b200}");
        }
    }

    @Test
    void carriedLabelsWhoseBackendsAreDownGetTheUsualReasonsCountedOverThem() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            lb.setBackendHealthy("a2", false);
            lb.beginMaintenance("b1");
            LabelSelector l4 = LabelSelector.require("gpu", "l4");

            assertThatThrownBy(() -> lb.selectBackend(REQUEST.withModel("llama").withLabels(l4)))
                    .isInstanceOfSatisfying(NoAvailableBackendException.class, e ->
                            assertThat(e.registeredBackends()).isEqualTo(1))
                    .hasMessage("no backend available: all 1 registered backend serving model \"llama\" and carrying "
                            + "labels {gpu=l4} are unhealthy");
            lb.setBackendHealthy("a1", false);
            assertThatThrownBy(() -> lb.selectBackend(REQUEST.withLabels(LabelSelector.require("zone", "b"))))
                    .hasMessage("no backend available: all 1 registered backend carrying labels {zone=b} are out of "
                            + "service (being removed or in maintenance)");
        }
    }

    @Test
    void newLabelsTakeEffectFromTheNextPick() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            LabelSelector zoneB = LabelSelector.require("zone", "b");
            assertThat(picks(lb, REQUEST.withLabels(zoneB), 4)).containsExactly("b1");

            lb.setProfile("a2", profile("llama", "l4", "b"));

            assertThat(picks(lb, REQUEST.withLabels(zoneB), 4)).containsExactlyInAnyOrder("b1", "a2");
            assertThat(lb.getBackend("a2").orElseThrow().labels()).containsEntry("zone", "b");
        }
    }

    @Test
    void aSessionStaysOnItsBackendWhileItCarriesTheRequiredLabelsEvenIfNotPreferred() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            Backend bound = lb.selectBackend(REQUEST.withModel("llama"), "s");
            LabelSelector preferOther = LabelSelector.prefer("zone", "a".equals(bound.labels().get("zone")) ? "b" : "a");

            assertThat(lb.selectBackend(REQUEST.withModel("llama").withLabels(preferOther), "s")).isSameAs(bound);

            LabelSelector requireOther = LabelSelector.require("gpu", "h100".equals(bound.labels().get("gpu"))
                    ? "l4" : "h100");
            Backend moved = lb.selectBackend(REQUEST.withModel("llama").withLabels(requireOther), "s");
            assertThat(moved).isNotSameAs(bound);
            assertThat(moved.labels().get("gpu")).isEqualTo(requireOther.required().get("gpu"));
        }
    }
}

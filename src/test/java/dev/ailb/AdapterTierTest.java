package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Requests for a LoRA adapter: among the backends that serve it, those that hold it come first,
 * then those with a free adapter slot, then the rest, as their load reports say: an adapter a report
 * listed stays held after its requests finish, until newer ones fill the slots
 * ({@link ResidentAdapters}).
 */
class AdapterTierTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/completions");
    private static final BackendProfile LLAMA_WITH_SQL =
            BackendProfile.builder().model("llama").adapter("sql-v2").adapter("chat").build();

    private final ManualTicker ticker = new ManualTicker();

    static List<BalancingStrategy> strategies() {
        return BalancingStrategy.builtIns();
    }

    private LoadBalancer fleet(BalancingStrategy strategy) {
        LoadBalancer lb = LoadBalancer.builder().strategy(strategy).ticker(ticker).random(new Random(3))
                .outlierDetection(OutlierDetection.disabled()).build();
        for (int i = 1; i <= 4; i++) {
            lb.addBackend("b" + i, "10.0.0." + i, 8000 + i, 1, LLAMA_WITH_SQL);
        }
        return lb;
    }

    private static LoadReport adapters(List<String> running, List<String> waiting, int max) {
        LoadReport.Builder report = LoadReport.builder().waitingRequests(0).runningAdapters(running)
                .waitingAdapters(waiting);
        return (max == LoadReport.UNKNOWN_COUNT ? report : report.maxAdapters(max)).build();
    }

    private static Set<String> picks(LoadBalancer lb, Request request, int n) {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < n; i++) {
            Request r = new Request("r" + i, "10.2." + i / 200 + "." + (i % 200 + 1), request.path())
                    .withModel(request.model()).withPrompt("question " + i);
            ids.add(lb.selectBackend(r).id());
        }
        return ids;
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void theBackendsWithTheAdapterLoadedComeFirstUnderEveryStrategy(BalancingStrategy strategy) {
        try (LoadBalancer lb = fleet(strategy)) {
            lb.updateBackendResources("b1", adapters(List.of("chat"), List.of(), 1));
            lb.updateBackendResources("b2", adapters(List.of(), List.of("sql-v2"), 2));
            lb.updateBackendResources("b3", adapters(List.of("sql-v2"), List.of(), 1));
            lb.updateBackendResources("b4", adapters(List.of(), List.of(), 2));

            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 100)).containsExactlyInAnyOrder("b2", "b3");
            assertThat(picks(lb, REQUEST.withModel("chat"), 50)).containsExactly("b1");
            assertThat(picks(lb, REQUEST.withModel("llama"), 200)).hasSize(4);
        }
    }

    @Test
    void withoutTheAdapterLoadedTheBackendsWithAFreeSlotComeFirstThenTheRest() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            lb.updateBackendResources("b1", adapters(List.of("chat"), List.of(), 1));
            lb.updateBackendResources("b2", adapters(List.of("chat"), List.of(), 2));
            lb.updateBackendResources("b3", adapters(List.of("chat"), List.of("other"), 2));

            // b4 has no report: it counts among the rest
            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 20)).containsExactly("b2");

            lb.updateBackendResources("b2", adapters(List.of("chat", "x"), List.of(), 2));

            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 20)).containsExactlyInAnyOrder("b1", "b2", "b3", "b4");
        }
    }

    @Test
    void aNewReportMovesTheAdaptersRequestsAtOnceAndAReportWithTheSameAdaptersKeepsThePicker() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            lb.updateBackendResources("b1", adapters(List.of("sql-v2"), List.of(), 2));
            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 10)).containsExactly("b1");
            Object view = lb.getStrategy(); // the strategy is unchanged throughout
            lb.updateBackendResources("b1", adapters(List.of("sql-v2"), List.of(), 2)); // the same adapters

            lb.updateBackendResources("b4", adapters(List.of(), List.of("sql-v2"), 2));

            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 10)).containsExactlyInAnyOrder("b1", "b4");
            assertThat(lb.getStrategy()).isSameAs(view);
        }
    }

    @Test
    void aBackendServingTheNameAsABaseModelCountsAsLoaded() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            lb.addBackend("merged", "10.0.0.9", 8009, 1, BackendProfile.builder().model("sql-v2").build());
            lb.updateBackendResources("b1", adapters(List.of(), List.of(), 4));

            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 10)).containsExactly("merged");
        }
    }

    @Test
    void theLeastLoadedAmongTheLoadedIsChosenAndRetriesMayGoToTheOtherServingBackends() {
        try (LoadBalancer lb = fleet(BalancingStrategy.LEAST_CONNECTIONS)) {
            lb.updateBackendResources("b1", adapters(List.of("sql-v2"), List.of(), 2));
            lb.updateBackendResources("b2", adapters(List.of("sql-v2"), List.of(), 2));
            Lease held = lb.acquire(REQUEST.withModel("sql-v2"));

            Backend next = lb.selectBackend(REQUEST.withModel("sql-v2"));

            assertThat(Set.of(held.backend().id(), next.id())).containsExactlyInAnyOrder("b1", "b2");
            held.success();
            List<String> tried = new java.util.ArrayList<>();
            try {
                lb.execute(REQUEST.withModel("sql-v2"), b -> {
                    tried.add(b.id());
                    throw new java.io.IOException("down");
                });
            } catch (CallFailedException expected) {
                // every attempt failed
            }
            assertThat(tried).hasSizeGreaterThan(1).doesNotHaveDuplicates();
            assertThat(tried.get(0)).isIn("b1", "b2");
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void anAdapterWhoseRequestsFinishedStillGoesWhereItIsHeldUnderEveryStrategy(BalancingStrategy strategy) {
        try (LoadBalancer lb = fleet(strategy)) {
            lb.updateBackendResources("b1", adapters(List.of("sql-v2"), List.of(), 2));
            lb.updateBackendResources("b2", adapters(List.of("chat"), List.of(), 2));
            lb.updateBackendResources("b3", adapters(List.of(), List.of(), 2));
            lb.updateBackendResources("b4", adapters(List.of(), List.of(), 2));

            // the burst ended: the reports list nothing, but the slots still hold the adapters
            lb.updateBackendResources("b1", adapters(List.of(), List.of(), 2));
            lb.updateBackendResources("b2", adapters(List.of(), List.of(), 2));

            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 50)).containsExactly("b1");
            assertThat(picks(lb, REQUEST.withModel("chat"), 50)).containsExactly("b2");
            assertThat(picks(lb, REQUEST.withModel("llama"), 200)).hasSize(4);
        }
    }

    @Test
    void anAdapterPushedOutByNewerOnesNoLongerCounts() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            lb.updateBackendResources("b1", adapters(List.of("sql-v2"), List.of(), 1));
            lb.updateBackendResources("b2", adapters(List.of(), List.of(), 1));
            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 10)).containsExactly("b1");

            lb.updateBackendResources("b1", adapters(List.of("chat"), List.of(), 1));
            lb.updateBackendResources("b1", adapters(List.of(), List.of(), 1));

            // b1's one slot holds chat; b2's is free
            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 10)).containsExactly("b2");
            assertThat(picks(lb, REQUEST.withModel("chat"), 10)).containsExactly("b1");
        }
    }

    @Test
    void aBackendFullOfIdleAdaptersHasNoFreeSlot() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            lb.updateBackendResources("b1", adapters(List.of("chat", "x"), List.of(), 2));
            lb.updateBackendResources("b1", adapters(List.of(), List.of(), 2));
            lb.updateBackendResources("b2", adapters(List.of("chat"), List.of(), 2));
            lb.updateBackendResources("b2", adapters(List.of(), List.of(), 2));

            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 20)).containsExactly("b2");
        }
    }

    @Test
    void aReportWithoutAMaximumKeepsOnlyWhatItLists() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            lb.updateBackendResources("b1", adapters(List.of("sql-v2"), List.of(), LoadReport.UNKNOWN_COUNT));
            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 10)).containsExactly("b1");

            lb.updateBackendResources("b1", adapters(List.of(), List.of(), LoadReport.UNKNOWN_COUNT));

            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 40)).containsExactlyInAnyOrder("b1", "b2", "b3", "b4");
        }
    }

    @Test
    void aBackendRemovedAndAddedAgainHoldsNothing() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            for (String id : List.of("b1", "b2", "b3", "b4")) {
                lb.updateBackendResources(id, adapters(List.of("chat"), List.of(), 2));
            }
            lb.updateBackendResources("b1", adapters(List.of("sql-v2"), List.of(), 2));
            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 10)).containsExactly("b1");

            lb.removeBackend("b1");
            lb.addBackend("b1", "10.0.0.1", 8001, 1, LLAMA_WITH_SQL);

            // every backend holds one of two: b1 has no report, so it counts among the rest
            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 40)).containsExactlyInAnyOrder("b2", "b3", "b4");
        }
    }

    @Test
    void aRestartWithOtherSlotsForgetsTheIdleAdapters() {
        try (LoadBalancer lb = fleet(BalancingStrategy.ROUND_ROBIN)) {
            lb.updateBackendResources("b1", adapters(List.of("sql-v2"), List.of(), 1));
            lb.updateBackendResources("b2", adapters(List.of("chat"), List.of(), 1));

            lb.updateBackendResources("b1", adapters(List.of(), List.of(), 2));

            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 10)).containsExactly("b1"); // by its free slot
            lb.updateBackendResources("b3", adapters(List.of(), List.of(), 1));
            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 20)).containsExactlyInAnyOrder("b1", "b3");
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void aSaturatedHolderSharesItsAdapterWithTheBackendsWithAFreeSlotUnderEveryStrategy(BalancingStrategy strategy) {
        try (LoadBalancer lb = fleet(strategy)) {
            lb.updateBackendResources("b1", adapters(List.of("sql-v2"), List.of(), 2));
            lb.updateBackendResources("b2", adapters(List.of("chat"), List.of(), 2));
            lb.updateBackendResources("b3", adapters(List.of("chat", "x"), List.of(), 2));
            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 50)).containsExactly("b1");

            // b1 now has 5 requests queued (the default saturation)
            lb.updateBackendResources("b1", LoadReport.builder().waitingRequests(5).runningAdapters(List.of("sql-v2"))
                    .maxAdapters(2).build());

            // a load-aware strategy may avoid b1 altogether; none goes beyond the free slot
            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 200)).contains("b2").isSubsetOf("b1", "b2");

            lb.updateBackendResources("b1", adapters(List.of(), List.of(), 2));

            assertThat(picks(lb, REQUEST.withModel("sql-v2"), 50)).containsExactly("b1");
        }
    }
}

package dev.ailb.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.testing.Docs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The mixed fleet, the overload and the straggler ({@link FleetTargets}) on the runs of
 * {@link SimulationReport}: the same scenarios at the same size and seed, so the figures here are
 * those of the report and of the AI-fleets guide. The targets met are asserted; those missed are
 * listed as missed, with their figures, in the report and the guide, which this test holds to the
 * runs.
 */
class FleetTargetsTest {
    private static final Path GUIDE = Docs.guide("ai-fleets.md");
    private static final String SECTION = "## Mixed fleets, overload and stragglers: a simulated fleet";
    private static Map<String, Map<String, FleetSimulation.Result>> runs;
    private static List<FleetTargets.Target> targets;

    @BeforeAll
    static void runEveryFleetScenario() {
        runs = FleetTargets.runs(SimulationReport.SEED);
        targets = FleetTargets.of(runs);
    }

    private static FleetTargets.Target target(String prefix) {
        return targets.stream().filter(t -> t.name().startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("no target " + prefix));
    }

    private static FleetSimulation.Result run(FleetScenario scenario, String policy) {
        return runs.get(scenario.name()).get(policy);
    }

    @Test
    void everyRequestOfTheMixedFleetReachesAnInstanceServingItsModel() {
        FleetTargets.Target t = target("mixed fleet: requests sent to an instance without their model");

        assertThat(t.met()).as(t.figure()).isTrue();
        for (FleetSimulation.Result r : runs.get(FleetScenario.mixedFleet().name()).values()) {
            assertThat(r.misrouted()).as(r.policy()).isZero();
            assertThat(r.all().completed()).as(r.policy()).isEqualTo(r.all().requests());
        }
    }

    /**
     * The target (at most half of model-only filtering's adapter loads), met because the balancer
     * remembers the adapters idle in their slots; and the requests reach their first token sooner,
     * since they no longer wait for a slot among other adapters, nor pile up on the first instances
     * to hold a popular adapter (a saturated one gives way to one with a free slot).
     */
    @Test
    void loraAffinityLoadsAtMostHalfTheAdaptersAndGivesTheFirstTokenSoonerThanModelOnlyFiltering() {
        FleetTargets.Target t = target("mixed fleet: adapter loads / model filtering's");
        FleetSimulation.Result modelOnly = run(FleetScenario.mixedFleet(), FleetTargets.MODEL_ONLY);
        FleetSimulation.Result affinity = run(FleetScenario.mixedFleet(), FleetTargets.LORA_AFFINITY);
        FleetSimulation.Figures before = modelOnly.byModel().get(FleetScenario.LLAMA);
        FleetSimulation.Figures after = affinity.byModel().get(FleetScenario.LLAMA);

        assertThat(t.met()).as(t.figure()).isTrue();
        assertThat(affinity.coldStarts()).isLessThan(modelOnly.coldStarts() / 2);
        assertThat(after.ttftP99()).isLessThan(before.ttftP99() / 2);
        assertThat(after.p99()).isLessThan(before.p99());
    }

    /** Filtering by model in one balancer does what a balancer per model did: the same loads, give or take. */
    @Test
    void modelFilteringInOneBalancerLoadsAsManyAdaptersAsABalancerPerModel() {
        FleetSimulation.Result perModel = run(FleetScenario.mixedFleet(), FleetTargets.PER_MODEL);
        FleetSimulation.Result modelOnly = run(FleetScenario.mixedFleet(), FleetTargets.MODEL_ONLY);

        assertThat((double) modelOnly.coldStarts() / perModel.coldStarts()).isBetween(0.9, 1.1);
    }

    /** The model without adapters is served alike whatever the adapters' routing. */
    @Test
    void theModelWithoutAdaptersIsNotAffectedByTheAdaptersRouting() {
        double perModel = run(FleetScenario.mixedFleet(), FleetTargets.PER_MODEL).byModel().get(FleetScenario.QWEN).p99();
        for (FleetSimulation.Result r : runs.get(FleetScenario.mixedFleet().name()).values()) {
            assertThat(r.byModel().get(FleetScenario.QWEN).p99()).as(r.policy()).isBetween(perModel * 0.9, perModel * 1.1);
        }
    }

    /**
     * The hedges stay within the budget and cost little: a cancelled attempt stops on its instance
     * at once. (The p99 targets are missed; the guide says why.)
     */
    @Test
    void hedgingStaysWithinItsBudgetAndTheLosersWorkIsSmall() {
        for (FleetScenario scenario : List.of(FleetScenario.straggler(), FleetScenario.stallingStraggler())) {
            FleetTargets.Target budget = target(scenario.name() + ": extra attempts");
            assertThat(budget.met()).as(budget.figure()).isTrue();
            for (String policy : List.of(FleetTargets.HEDGING_P95, FleetTargets.HEDGING_FIXED)) {
                FleetSimulation.Result r = run(scenario, policy);
                assertThat(r.extraAttempts()).as("%s, %s", scenario.name(), policy).isPositive();
                assertThat(FleetTargets.extraAttempts(r)).as("%s, %s", scenario.name(), policy).isLessThanOrEqualTo(0.05);
                assertThat(r.wastedWork() / r.workDone()).as("%s, %s", scenario.name(), policy).isLessThan(0.01);
                assertThat(r.all().completed()).as("%s, %s", scenario.name(), policy).isEqualTo(r.all().requests());
            }
            assertThat(run(scenario, FleetTargets.NO_HEDGING).extraAttempts()).isZero();
        }
    }

    /** Why hedging has little to rescue: the straggler already gets less than its sixth of the requests. */
    @Test
    void leastConnectionsSendsTheStragglerLessThanItsShareWithoutHedging() {
        for (FleetScenario scenario : List.of(FleetScenario.straggler(), FleetScenario.stallingStraggler())) {
            assertThat(run(scenario, FleetTargets.NO_HEDGING).share().get("i6")).as(scenario.name())
                    .isLessThan(1.0 / 6);
        }
    }

    @Test
    void underOverloadNoCriticalRequestIsLostTheSheddableOnesAreShedFirstAndEveryTenantGetsItsFairShare() {
        for (String name : List.of("overload: critical requests refused or abandoned, of those sent",
                "overload: sheddable requests served / standard ones", "overload: lowest tenant's served / its fair share")) {
            FleetTargets.Target t = target(name);
            assertThat(t.met()).as("%s: %s", t.name(), t.figure()).isTrue();
        }
        FleetSimulation.Result admitted = run(FleetScenario.overload(), FleetTargets.ADMISSION);
        FleetSimulation.Figures sheddable = admitted.byPriority().get(dev.ailb.Priority.SHEDDABLE);
        assertThat(sheddable.rejected()).isEqualTo(sheddable.requests() - sheddable.completed());
    }

    /**
     * Not the target (1.2), which the guide lists with its figure: admission keeps the critical
     * requests' p99 far below what it was without it, and their first tokens within seconds.
     */
    @Test
    void admissionKeepsTheCriticalRequestsTailFarBelowItsBaseline() {
        FleetSimulation.Figures before = run(FleetScenario.overload(), FleetTargets.NO_ADMISSION).byPriority()
                .get(dev.ailb.Priority.CRITICAL);
        FleetSimulation.Figures after = run(FleetScenario.overload(), FleetTargets.ADMISSION).byPriority()
                .get(dev.ailb.Priority.CRITICAL);

        assertThat(after.p99()).isLessThan(before.p99() * 0.8);
        assertThat(after.ttftP99()).isLessThan(before.ttftP99() / 10);
    }

    @Test
    void aRunIsDeterministic() {
        FleetSimulation.Policy policy = new FleetSimulation.Policy(FleetTargets.LORA_AFFINITY,
                FleetSimulation.Routing.LORA_AFFINITY);
        FleetScenario small = FleetScenario.mixedFleet().withRequests(3_000);

        assertThat(FleetSimulation.run(small, policy, 7)).isEqualTo(FleetSimulation.run(small, policy, 7));
    }

    /** The guide shows the runs' figures and the targets' as the report prints them. */
    @Test
    void theGuidesTablesAreThoseOfTheseRuns() {
        List<List<String>> tables = tables(Docs.section(GUIDE, SECTION));
        List<String> expected = new ArrayList<>(lines(FleetTargets.markdown(runs)));
        expected.addAll(lines(FleetTargets.targetsTable(targets)));

        List<String> shown = new ArrayList<>();
        tables.forEach(shown::addAll);
        assertThat(shown).containsExactlyElementsOf(expected);
    }

    private static List<String> lines(String text) {
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isEmpty()) {
                lines.add(line);
            }
        }
        return lines;
    }

    /** The tables of a section, each as its lines. */
    private static List<List<String>> tables(List<String> section) {
        List<List<String>> tables = new ArrayList<>();
        List<String> table = null;
        for (String line : section) {
            if (line.startsWith("|")) {
                if (table == null) {
                    table = new ArrayList<>();
                    tables.add(table);
                }
                table.add(line);
            } else {
                table = null;
            }
        }
        return tables;
    }
}

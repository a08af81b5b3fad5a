package dev.ailb.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.testing.Docs;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the AI-fleets guide claims of slow start from {@link ColdStartSimulation}: a cold instance
 * that joins a loaded fleet gets a small share at first, serves its requests faster and leaves the
 * fleet's p99 no worse, then takes its full share; checked with the guide's seed and with seeds 1
 * to 5, under {@code LEAST_CONNECTIONS} and {@code WEIGHTED_ROUND_ROBIN}, and the guide's table
 * held to the runs' figures.
 */
class ColdStartTargetsTest {
    private static final Path GUIDE = Docs.guide("ai-fleets.md");
    private static final String SECTION = "## A cold instance joins a loaded fleet: slow start";
    private static List<ColdStartSimulation.Result> runs;

    @BeforeAll
    static void run() {
        runs = ColdStartSimulation.runAll(ColdStartSimulation.SEED);
    }

    @Test
    void theGuidesTableShowsTheFiguresOfTheseRuns() {
        List<String> table = Docs.section(GUIDE, SECTION).stream().filter(l -> l.startsWith("|")).toList();

        assertThat(table).containsExactlyElementsOf(ColdStartSimulation.markdown(runs).lines().toList());
    }

    @Test
    void slowStartMeetsItsTargetsWithTheGuidesSeed() {
        assertTargets(runs);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void slowStartMeetsItsTargetsWithOtherSeeds(long seed) {
        assertTargets(ColdStartSimulation.runAll(seed));
    }

    /** The runs come in pairs, without then with slow start, per strategy. */
    private static void assertTargets(List<ColdStartSimulation.Result> results) {
        assertThat(results).hasSize(4);
        double fullShare = 1.0 / (ColdStartSimulation.WARM + 1);
        for (int i = 0; i < results.size(); i += 2) {
            ColdStartSimulation.Result without = results.get(i);
            ColdStartSimulation.Result with = results.get(i + 1);
            assertThat(with.firstQuarterShare()).as("%s: share over the first quarter", with.policy())
                    .isLessThanOrEqualTo(0.5 * without.firstQuarterShare());
            assertThat(with.newcomerMean()).as("%s: the newcomer's mean latency", with.policy())
                    .isLessThan(without.newcomerMean());
            assertThat(with.fleetP99()).as("%s: the fleet's p99 during the warm-up", with.policy())
                    .isLessThanOrEqualTo(without.fleetP99());
            assertThat(with.afterShare() / fullShare).as("%s: the share after the warm-up", with.policy())
                    .isBetween(0.85, 1.15);
        }
    }
}

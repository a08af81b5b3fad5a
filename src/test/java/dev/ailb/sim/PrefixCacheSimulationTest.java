package dev.ailb.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.BalancingStrategy;
import org.junit.jupiter.api.Test;

/** The prefix-cache simulation itself, on short runs: what it measures and what it reports. */
class PrefixCacheSimulationTest {
    private static final Simulation.Policy LEAST_CONNECTIONS = Simulation.Policy.of(BalancingStrategy.LEAST_CONNECTIONS);
    private static final Simulation.Policy ORACLE = new Simulation.Policy(TtftOracle.NAME, TtftOracle.MARKER, false,
            null);

    @Test
    void aRunIsDeterministic() {
        PrefixCacheScenario scenario = PrefixCacheScenario.sharedPrefix(8, 300);

        assertThat(PrefixCacheSimulation.run(scenario, LEAST_CONNECTIONS, 3))
                .isEqualTo(PrefixCacheSimulation.run(scenario, LEAST_CONNECTIONS, 3));
    }

    @Test
    void everyTurnOfEveryConversationIsSentAndRoutedAndEveryInstanceTakesSome() {
        PrefixCacheSimulation.Result r = PrefixCacheSimulation.run(PrefixCacheScenario.sharedPrefix(8, 300),
                LEAST_CONNECTIONS, 1);

        // 2 to 8 turns each: about 5 on average
        assertThat(r.issued()).isBetween(300L * 4, 300L * 6);
        assertThat(r.routed()).isEqualTo(r.issued());
        assertThat(r.share()).hasSize(PrefixCacheScenario.INSTANCES).allSatisfy((id, s) -> assertThat(s).isPositive());
        assertThat(r.share().values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1.0,
                org.assertj.core.api.Assertions.within(1e-9));
    }

    @Test
    void theFirstTokenComesBeforeTheLastAndNothingIsCachedWithoutSharing() {
        PrefixCacheSimulation.Result r = PrefixCacheSimulation.run(PrefixCacheScenario.noSharing(1, 1_500),
                LEAST_CONNECTIONS, 1);

        assertThat(r.hitRate()).isZero();
        assertThat(r.ttftP50()).isPositive().isLessThan(r.e2eP50());
        assertThat(r.ttftP99()).isLessThan(r.e2eP99());
        assertThat(r.ttftMean()).isBetween(r.ttftP50() / 2, r.ttftP99());
    }

    /**
     * Seeing the caches, the oracle sends a conversation's turns where its previous turns are:
     * far more of the prompts are found cached than when routing ignores them, and the first
     * token comes sooner.
     */
    @Test
    void theOracleFindsMoreOfThePromptsCachedThanLeastConnections() {
        PrefixCacheScenario scenario = PrefixCacheScenario.sharedPrefix(1, 600);

        PrefixCacheSimulation.Result lc = PrefixCacheSimulation.run(scenario, LEAST_CONNECTIONS, 1);
        PrefixCacheSimulation.Result oracle = PrefixCacheSimulation.run(scenario, ORACLE, 1);

        assertThat(lc.hitRate()).isBetween(0.2, 0.7); // the system prompts, on every instance
        assertThat(oracle.hitRate()).isGreaterThan(lc.hitRate() + 0.2);
        assertThat(oracle.followedShare()).isGreaterThan(0.8);
        assertThat(lc.followedShare()).isLessThan(0.3);
        assertThat(oracle.ttftMean()).isLessThan(lc.ttftMean());
    }
}

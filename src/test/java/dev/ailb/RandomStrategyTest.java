package dev.ailb;

import static dev.ailb.testing.Traffic.chiSquare;
import static dev.ailb.testing.Traffic.pickMany;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RandomStrategyTest {

    private static final Request REQUEST = new Request("req-1", "192.168.1.100", "/api/process");

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1L, 42L, 20_240_601L})
    void picksAreUniformOverAllBackends(long seed) {
        // given
        int n = 6;
        int draws = 60_000;
        LoadBalancer lb = seededBalancer(seed, n);

        // when
        Map<String, Integer> picks = pickMany(lb, draws);

        // then: chi-square with 5 degrees of freedom; 40 is far beyond the 0.0001% critical value (35.9)
        assertThat(picks).hasSize(n);
        assertThat(chiSquare(picks, n, draws)).isLessThan(40.0);
    }

    @Test
    void onlyAvailableBackendsAreEverPickedAndThoseUniformly() {
        // given
        int draws = 40_000;
        LoadBalancer lb = seededBalancer(7, 6);
        lb.setBackendHealthy("b1", false);
        lb.setBackendHealthy("b4", false);
        lb.removeBackend("b5");

        // when
        Map<String, Integer> picks = pickMany(lb, draws);

        // then: chi-square with 2 degrees of freedom; 30 is far beyond the 0.0001% critical value (27.6)
        assertThat(picks).containsOnlyKeys("b0", "b2", "b3");
        assertThat(chiSquare(picks, 3, draws)).isLessThan(30.0);
    }

    @Test
    void aBackendMarkedHealthyAgainIsPickedAgain() {
        // given
        LoadBalancer lb = seededBalancer(3, 3);
        lb.setBackendHealthy("b2", false);
        assertThat(pickMany(lb, 1000)).doesNotContainKey("b2");

        // when
        lb.setBackendHealthy("b2", true);
        Map<String, Integer> picks = pickMany(lb, 3000);

        // then
        assertThat(picks).containsOnlyKeys("b0", "b1", "b2");
        assertThat(picks.get("b2")).isBetween(800, 1200);
    }

    @Test
    void aSingleBackendIsAlwaysPicked() {
        // given
        LoadBalancer lb = seededBalancer(5, 1);

        // when
        Map<String, Integer> picks = pickMany(lb, 100);

        // then
        assertThat(picks).containsOnly(Map.entry("b0", 100));
    }

    @Test
    void theSameSeedGivesTheSameSequence() {
        // given
        LoadBalancer first = seededBalancer(99, 5);
        LoadBalancer second = seededBalancer(99, 5);

        // when
        List<String> fromFirst = sequence(first, 200);
        List<String> fromSecond = sequence(second, 200);

        // then
        assertThat(fromSecond).isEqualTo(fromFirst);
    }

    @Test
    void consecutivePicksAreIndependent() {
        // given
        int n = 4;
        int draws = 64_001;
        LoadBalancer lb = seededBalancer(123, n);

        // when: count every ordered pair of consecutive picks
        List<String> picks = sequence(lb, draws);
        Map<String, Integer> pairs = new HashMap<>();
        for (int i = 1; i < picks.size(); i++) {
            pairs.merge(picks.get(i - 1) + ">" + picks.get(i), 1, Integer::sum);
        }

        // then: chi-square over 16 cells (15 degrees of freedom); 60 is far beyond the 0.0001% value (46.8)
        assertThat(chiSquare(pairs, n * n, draws - 1)).isLessThan(60.0);
    }

    // ---------------------------------------------------------------- helpers

    private static LoadBalancer seededBalancer(long seed, int backends) {
        LoadBalancer lb = LoadBalancer.builder()
                .strategy(BalancingStrategy.RANDOM)
                .random(new Random(seed))
                .build();
        for (int i = 0; i < backends; i++) {
            lb.addBackend("b" + i, "10.0.0." + (i + 1), 8000);
        }
        return lb;
    }

    private static List<String> sequence(LoadBalancer lb, int times) {
        List<String> picks = new ArrayList<>(times);
        for (int i = 0; i < times; i++) {
            picks.add(lb.selectBackend(REQUEST).id());
        }
        return picks;
    }
}

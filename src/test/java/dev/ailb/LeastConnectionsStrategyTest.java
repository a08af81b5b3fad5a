package dev.ailb;

import static dev.ailb.testing.Traffic.acquire;
import static dev.ailb.testing.Traffic.chiSquare;
import static dev.ailb.testing.Traffic.pickMany;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class LeastConnectionsStrategyTest {

    private static final Request REQUEST = new Request("req-1", "192.168.1.100", "/api/process");

    @Test
    void picksTheBackendWithTheFewestActiveConnections() {
        // given
        LoadBalancer lb = seededBalancer(42);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        Backend c = lb.addBackend("c", "10.0.0.3", 8000);
        acquire(lb, a, 3);
        acquire(lb, b, 1);
        acquire(lb, c, 2);

        // when
        Map<String, Integer> picks = pickMany(lb, 500);

        // then
        assertThat(picks).containsOnly(Map.entry("b", 500));
    }

    @Test
    void anIdleBackendWinsOverLoadedOnes() {
        // given
        LoadBalancer lb = seededBalancer(7);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        Backend c = lb.addBackend("c", "10.0.0.3", 8000);
        acquire(lb, a, 1);
        acquire(lb, c, 1);

        // when
        Map<String, Integer> picks = pickMany(lb, 500);

        // then
        assertThat(picks).containsOnly(Map.entry("b", 500));
    }

    @Test
    void loadIsMeasuredRelativeToWeight() {
        // given: a carries 2 of weight 3 (0.67 each), b carries 1 of weight 1
        LoadBalancer lb = seededBalancer(3);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000, 3);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000, 1);
        acquire(lb, a, 2);
        acquire(lb, b, 1);

        // when
        Map<String, Integer> picks = pickMany(lb, 500);

        // then
        assertThat(picks).containsOnly(Map.entry("a", 500));
    }

    @Test
    void weightTwoWithTwoConnectionsTiesWeightOneWithOneConnection() {
        // given: a and b both carry one connection per unit of weight; c carries two
        LoadBalancer lb = seededBalancer(11);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000, 2);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000, 1);
        Backend c = lb.addBackend("c", "10.0.0.3", 8000, 1);
        acquire(lb, a, 2);
        acquire(lb, b, 1);
        acquire(lb, c, 2);

        // when
        Map<String, Integer> picks = pickMany(lb, 3000);

        // then: both tied backends get traffic, the more loaded one none
        assertThat(picks).containsOnlyKeys("a", "b");
        assertThat(picks.get("a")).isGreaterThan(500);
        assertThat(picks.get("b")).isGreaterThan(500);
    }

    @Test
    void oneMoreConnectionOnTheTiedBackendBreaksTheTie() {
        // given
        LoadBalancer lb = seededBalancer(5);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000, 2);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000, 1);
        acquire(lb, a, 2);
        acquire(lb, b, 1);

        // when: 3 of weight 2 (1.5) against 1 of weight 1
        acquire(lb, a, 1);
        Map<String, Integer> picks = pickMany(lb, 500);

        // then
        assertThat(picks).containsOnly(Map.entry("b", 500));
    }

    @Test
    void tiesBetweenIdleBackendsAreSpreadEvenly() {
        // given
        int n = 5;
        int draws = 50_000;
        LoadBalancer lb = seededBalancer(42);
        for (int i = 0; i < n; i++) {
            lb.addBackend("b" + i, "10.0.0." + (i + 1), 8000);
        }

        // when
        Map<String, Integer> picks = pickMany(lb, draws);

        // then: chi-square with 4 degrees of freedom; 30 is far beyond the 0.01% critical value (23.5)
        assertThat(picks).hasSize(n);
        assertThat(chiSquare(picks, n, draws)).isLessThan(30.0);
        assertThat(picks.get("b0")).isLessThan(draws / 2);
    }

    /**
     * A pick settles a tie among the backends that were tied when it looked at them, after a
     * random draw: connections that arrive during the draw do not change that set.
     */
    @Test
    void aTieIsSettledAmongTheBackendsTiedWhenThePickLookedAtThem() {
        // given: three idle backends, and a random source that, asked to settle their tie, loads
        // two of them with a connection each, as concurrent requests would, and draws the last
        Backend[] fleet = new Backend[3];
        LoadBalancer[] holder = new LoadBalancer[1];
        RandomGenerator meddling = new RandomGenerator() {
            @Override
            public long nextLong() {
                holder[0].acquireConnection(fleet[1]);
                holder[0].acquireConnection(fleet[2]);
                return -1L;
            }
        };
        LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS).random(meddling).build();
        holder[0] = lb;
        fleet[0] = lb.addBackend("a", "10.0.0.1", 8000);
        fleet[1] = lb.addBackend("b", "10.0.0.2", 8000);
        fleet[2] = lb.addBackend("c", "10.0.0.3", 8000);

        // when
        Backend picked = lb.selectBackend(REQUEST);

        // then: c, the last of the three tied when the pick looked, as the draw says
        assertThat(picked).isSameAs(fleet[2]);
        assertThat(fleet[1].activeConnections()).isOne();
    }

    /** Ties among all 32 backends of an exact scan, the bit set's width in use, are spread evenly. */
    @Test
    void tiesAcrossAFullExactScanAreSpreadEvenly() {
        int n = LeastConnectionsStrategy.EXACT_SCAN_MAX;
        int draws = 64_000;
        LoadBalancer lb = seededBalancer(9);
        for (int i = 0; i < n; i++) {
            lb.addBackend("b" + i, "10.0.0." + (i + 1), 8000);
        }

        Map<String, Integer> picks = pickMany(lb, draws);

        // chi-square with 31 degrees of freedom: the 0.01% critical value is about 65
        assertThat(picks).hasSize(n);
        assertThat(chiSquare(picks, n, draws)).isLessThan(65.0);
    }

    @Test
    void pickingAndAcquiringKeepsConnectionsProportionalToWeights() {
        // given
        LoadBalancer lb = seededBalancer(2024);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000, 1);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000, 2);
        Backend c = lb.addBackend("c", "10.0.0.3", 8000, 3);

        // when: every picked backend keeps the connection open
        for (int i = 0; i < 6 * 40; i++) {
            lb.acquireConnection(lb.selectBackend(REQUEST));
        }

        // then
        assertThat(a.activeConnections()).isEqualTo(40);
        assertThat(b.activeConnections()).isEqualTo(80);
        assertThat(c.activeConnections()).isEqualTo(120);
    }

    @Test
    void releasedConnectionsMakeABackendAttractiveAgain() {
        // given
        LoadBalancer lb = seededBalancer(8);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        acquire(lb, a, 3);
        acquire(lb, b, 2);
        assertThat(lb.selectBackend(REQUEST)).isSameAs(b);

        // when
        lb.releaseConnection(a, Duration.ofMillis(5), true);
        lb.releaseConnection(a, Duration.ofMillis(5), true);

        // then
        assertThat(pickMany(lb, 100)).containsOnly(Map.entry("a", 100));
    }

    @Test
    void anIdleUnhealthyBackendIsNeverPicked() {
        // given
        LoadBalancer lb = seededBalancer(9);
        lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        acquire(lb, b, 4);

        // when
        lb.setBackendHealthy("a", false);
        Map<String, Integer> picks = pickMany(lb, 200);

        // then
        assertThat(picks).containsOnly(Map.entry("b", 200));
    }

    @Test
    void tiedBackendsShareEvenlyWhateverLiesBetweenThem() {
        // given: a and d tie at one connection; b and c, busier, sit between d and a
        LoadBalancer lb = seededBalancer(1);
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        Backend c = lb.addBackend("c", "10.0.0.3", 8000);
        Backend d = lb.addBackend("d", "10.0.0.4", 8000);
        acquire(lb, a, 1);
        acquire(lb, b, 2);
        acquire(lb, c, 2);
        acquire(lb, d, 1);

        // when
        Map<String, Integer> picks = pickMany(lb, 40_000);

        // then: a fair coin between a and d (chi-square, 1 degree of freedom, far above p = 0.001)
        assertThat(picks.keySet()).containsOnly("a", "d");
        assertThat(chiSquare(picks, 2, 40_000)).isLessThan(15.0);
    }

    // ---------------------------------------------------------------- helpers

    @Test
    void upToThirtyTwoBackendsThePickIsTheExactMinimum() {
        LoadBalancer lb = seededBalancer(11);
        Backend idle = null;
        for (int i = 0; i < LeastConnectionsStrategy.EXACT_SCAN_MAX; i++) {
            Backend b = lb.addBackend("b" + i, "10.0.0.1", 8000 + i);
            if (i == 17) {
                idle = b;
            } else {
                acquire(lb, b, 1);
            }
        }

        assertThat(pickMany(lb, 2_000)).containsOnly(Map.entry(idle.id(), 2_000));
    }

    @Test
    void beyondThirtyTwoBackendsAPickTakesTheLessLoadedOfTwoDrawnAtRandom() {
        // given: half the backends carry 3 connections, half none
        LoadBalancer lb = seededBalancer(5);
        for (int i = 0; i < 100; i++) {
            Backend b = lb.addBackend("b" + i, "10.0.0.1", 8000 + i);
            if (i % 2 == 0) {
                acquire(lb, b, 3);
            }
        }

        // when
        int draws = 100_000;
        Map<String, Integer> picks = pickMany(lb, draws);

        // then: a loaded backend wins only when both draws are loaded, 50/100 * 49/99 of the time
        long loaded = picks.entrySet().stream()
                .filter(e -> Integer.parseInt(e.getKey().substring(1)) % 2 == 0)
                .mapToLong(Map.Entry::getValue).sum();
        assertThat((double) loaded / draws).isCloseTo(50.0 / 100 * 49 / 99, within(0.01));
    }

    @Test
    void beyondThirtyTwoBackendsIdleOnesShareTheTrafficEvenly() {
        LoadBalancer lb = seededBalancer(9);
        int n = 1_000;
        for (int i = 0; i < n; i++) {
            lb.addBackend("b" + i, "10.0.0.1", 1 + i);
        }

        int draws = 200_000;
        Map<String, Integer> picks = pickMany(lb, draws);

        assertThat(picks).hasSize(n);
        // 999 degrees of freedom: mean 999, standard deviation about 45
        assertThat(chiSquare(picks, n, draws)).isLessThan(1_200);
    }

    @Test
    void beyondThirtyTwoBackendsTheComparisonIsRelativeToWeight() {
        // given: weight-4 backends with 4 connections (1 per unit) and weight-1 ones with 2 (2 per unit)
        LoadBalancer lb = seededBalancer(13);
        for (int i = 0; i < 40; i++) {
            boolean heavy = i < 20;
            Backend b = lb.addBackend("b" + i, "10.0.0.1", 8000 + i, heavy ? 4 : 1);
            acquire(lb, b, heavy ? 4 : 2);
        }

        int draws = 50_000;
        Map<String, Integer> picks = pickMany(lb, draws);

        // then: a light backend wins only when both draws are light, 20/40 * 19/39 of the time
        long light = picks.entrySet().stream().filter(e -> Integer.parseInt(e.getKey().substring(1)) >= 20)
                .mapToLong(Map.Entry::getValue).sum();
        assertThat((double) light / draws).isCloseTo(20.0 / 40 * 19 / 39, within(0.01));
    }

    private static LoadBalancer seededBalancer(long seed) {
        return LoadBalancer.builder()
                .strategy(BalancingStrategy.LEAST_CONNECTIONS)
                .random(new Random(seed))
                .build();
    }
}

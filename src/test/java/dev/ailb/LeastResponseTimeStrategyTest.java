package dev.ailb;

import static dev.ailb.testing.Traffic.acquire;
import static dev.ailb.testing.Traffic.pickMany;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LeastResponseTimeStrategyTest {

    private static final Request REQUEST = new Request("req-1", "192.168.1.100", "/api/process");
    private static final Duration DECAY = Duration.ofSeconds(10);

    private ManualTicker ticker;
    private LoadBalancer lb;

    @BeforeEach
    void setUp() {
        ticker = new ManualTicker();
        lb = LoadBalancer.builder()
                .strategy(BalancingStrategy.LEAST_RESPONSE_TIME)
                .ticker(ticker)
                .random(new Random(77))
                .responseTimeDecay(DECAY)
                .build();
    }

    @Test
    void theBackendWithTheLowestAverageIsChosen() {
        // given
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        Backend c = lb.addBackend("c", "10.0.0.3", 8000);
        respond(a, Duration.ofMillis(30));
        respond(b, Duration.ofMillis(10));
        respond(c, Duration.ofMillis(20));

        // when
        Map<String, Integer> picks = pickMany(lb, 300);

        // then
        assertThat(picks).containsOnly(Map.entry("b", 300));
    }

    @Test
    void theFirstResponseSetsTheAverageExactly() {
        // given
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        assertThat(a.responseTimeEwmaNanos()).isNaN();

        // when
        respond(a, Duration.ofMillis(12));

        // then
        assertThat(a.responseTimeEwmaNanos()).isEqualTo(12_000_000.0);
    }

    @Test
    void anUnmeasuredIdleBackendIsTriedFirst() {
        // given
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        respond(a, Duration.ofMillis(1));
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);

        // when
        Backend picked = lb.selectBackend(REQUEST);

        // then
        assertThat(picked).isSameAs(b);
    }

    @Test
    void onceMeasuredANewBackendCompetesOnItsAverage() {
        // given
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        respond(a, Duration.ofMillis(10));
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        assertThat(lb.selectBackend(REQUEST)).isSameAs(b);

        // when
        respond(b, Duration.ofMillis(50));

        // then
        assertThat(pickMany(lb, 100)).containsOnly(Map.entry("a", 100));
    }

    @Test
    void anUnmeasuredBackendWithARequestInFlightIsCostedLikeTheSlowestMeasuredOne() {
        // given: a costs 10 ms x 8 = 80, b costs 30 ms x 1 = 30, c (unmeasured, 1 in flight) 30 ms x 2 = 60
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        Backend c = lb.addBackend("c", "10.0.0.3", 8000);
        respond(a, Duration.ofMillis(10));
        respond(b, Duration.ofMillis(30));
        acquire(lb, a, 7);
        acquire(lb, c, 1);
        assertThat(lb.selectBackend(REQUEST)).isSameAs(b);

        // when: b costs 30 ms x 3 = 90
        acquire(lb, b, 2);

        // then
        assertThat(pickMany(lb, 100)).containsOnly(Map.entry("c", 100));
    }

    @Test
    void withNothingMeasuredTheCostIsTheConnectionCount() {
        // given
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        Backend c = lb.addBackend("c", "10.0.0.3", 8000);
        acquire(lb, a, 3);
        acquire(lb, b, 1);
        acquire(lb, c, 2);

        // when
        Map<String, Integer> picks = pickMany(lb, 100);

        // then
        assertThat(picks).containsOnly(Map.entry("b", 100));
    }

    @Test
    void costIsTheAverageTimesActiveConnectionsPlusOne() {
        // given: a answers in 10 ms, b in 33 ms
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        respond(a, Duration.ofMillis(10));
        respond(b, Duration.ofMillis(33));

        // when: a with 3 in flight costs 40, more than idle b at 33
        acquire(lb, a, 3);
        Backend picked = lb.selectBackend(REQUEST);

        // then
        assertThat(picked).isSameAs(b);
    }

    @Test
    void theFastestBackendStopsTakingAllTrafficAsItsConnectionsPileUp() {
        // given: a answers in 10 ms, b in 33 ms
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        respond(a, Duration.ofMillis(10));
        respond(b, Duration.ofMillis(33));

        // when: every pick keeps its connection open
        List<String> picks = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            Backend picked = lb.selectBackend(REQUEST);
            lb.acquireConnection(picked);
            picks.add(picked.id());
        }

        // then: a's cost climbs 10, 20, 30, 40 ... and b's 33, 66, 99 as connections open
        assertThat(picks).containsExactly("a", "a", "a", "b", "a", "a", "a", "b", "a", "a", "a", "b");
        assertThat(a.activeConnections()).isEqualTo(9);
        assertThat(b.activeConnections()).isEqualTo(3);
    }

    @Test
    void aSingleSlowResponseRaisesTheAverageImmediately() {
        // given
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        respond(a, Duration.ofMillis(10));
        respond(b, Duration.ofMillis(20));
        assertThat(lb.selectBackend(REQUEST)).isSameAs(a);
        ticker.advance(Duration.ofSeconds(1));

        // when
        respond(a, Duration.ofMillis(100));

        // then
        assertThat(a.responseTimeEwmaNanos()).isEqualTo(100_000_000.0);
        assertThat(pickMany(lb, 100)).containsOnly(Map.entry("b", 100));
    }

    @Test
    void fasterResponsesPullThePeakDownWithTheConfiguredDecay() {
        // given
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        respond(a, Duration.ofMillis(100));

        // when: one decay time later a 10 ms response keeps 1/e of the old average
        ticker.advance(DECAY);
        respond(a, Duration.ofMillis(10));

        // then
        double keep = Math.exp(-1.0);
        double expected = 100_000_000.0 * keep + 10_000_000.0 * (1.0 - keep);
        assertThat(a.responseTimeEwmaNanos()).isCloseTo(expected, within(1.0));
    }

    @Test
    void aBackendThatRecoversWinsTrafficBackOnceItsPeakHasDecayed() {
        // given
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        respond(a, Duration.ofMillis(10));
        respond(b, Duration.ofMillis(20));
        ticker.advance(Duration.ofSeconds(1));
        respond(a, Duration.ofMillis(100));
        assertThat(lb.selectBackend(REQUEST)).isSameAs(b);

        // when: six decay times later a answers in 10 ms again, and b still in 20 ms
        ticker.advance(DECAY.multipliedBy(6));
        respond(a, Duration.ofMillis(10));
        respond(b, Duration.ofMillis(20));

        // then: 10 ms + 90 ms x e^-6 is about 10.2 ms, below b's 20 ms
        assertThat(a.responseTimeEwmaNanos()).isCloseTo(10_000_000.0 + 90_000_000.0 * Math.exp(-6.0), within(1.0));
        assertThat(pickMany(lb, 100)).containsOnly(Map.entry("a", 100));
    }

    @Test
    void failedResponsesCountTowardTheAverageToo() {
        // given
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        respond(b, Duration.ofMillis(20));

        // when
        lb.acquireConnection(a);
        lb.releaseConnection(a, Duration.ofMillis(500), false);

        // then
        assertThat(a.responseTimeEwmaNanos()).isEqualTo(500_000_000.0);
        assertThat(pickMany(lb, 50)).containsOnly(Map.entry("b", 50));
    }

    @Test
    void tiesBetweenUnmeasuredIdleBackendsAreSpreadEvenly() {
        // given
        int n = 4;
        int draws = 40_000;
        for (int i = 0; i < n; i++) {
            lb.addBackend("b" + i, "10.0.0." + (i + 1), 8000);
        }

        // when
        Map<String, Integer> picks = pickMany(lb, draws);

        // then: chi-square with 3 degrees of freedom; 30 is far beyond the 0.01% critical value (21.1)
        assertThat(picks).hasSize(n);
        double expected = (double) draws / n;
        double chiSquare = 0;
        for (int observed : picks.values()) {
            chiSquare += (observed - expected) * (observed - expected) / expected;
        }
        assertThat(chiSquare).isLessThan(30.0);
    }

    @Test
    void tiesBetweenEquallyFastBackendsAreSpread() {
        // given
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        respond(a, Duration.ofMillis(15));
        respond(b, Duration.ofMillis(15));

        // when
        Map<String, Integer> picks = pickMany(lb, 2000);

        // then
        assertThat(picks.get("a")).isBetween(800, 1200);
        assertThat(picks.get("b")).isBetween(800, 1200);
    }

    @Test
    void tiedBackendsShareEvenlyWhateverLiesBetweenThem() {
        // given: a and d equally fast and idle; b and c slower, between d and a in scan order
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        Backend c = lb.addBackend("c", "10.0.0.3", 8000);
        Backend d = lb.addBackend("d", "10.0.0.4", 8000);
        respond(a, Duration.ofMillis(10));
        respond(b, Duration.ofMillis(30));
        respond(c, Duration.ofMillis(30));
        respond(d, Duration.ofMillis(10));

        // when
        Map<String, Integer> picks = pickMany(lb, 40_000);

        // then: a fair coin between a and d (chi-square, 1 degree of freedom, far above p = 0.001)
        assertThat(picks.keySet()).containsOnly("a", "d");
        double statistic = 0;
        for (int observed : picks.values()) {
            statistic += (observed - 20_000.0) * (observed - 20_000.0) / 20_000.0;
        }
        assertThat(statistic).isLessThan(15.0);
    }

    // ---------------------------------------------------------------- helpers

    @Test
    void beyondThirtyTwoBackendsAPickTakesTheFasterOfTwoDrawnAtRandom() {
        // given: half the backends answer in 100 ms, half in 10 ms
        for (int i = 0; i < 100; i++) {
            Backend b = lb.addBackend("b" + i, "10.0.0.1", 8000 + i);
            respond(b, Duration.ofMillis(i % 2 == 0 ? 100 : 10));
        }

        // when
        int draws = 100_000;
        Map<String, Integer> picks = pickMany(lb, draws);

        // then: a slow backend wins only when both draws are slow, 50/100 * 49/99 of the time
        long slow = picks.entrySet().stream().filter(e -> Integer.parseInt(e.getKey().substring(1)) % 2 == 0)
                .mapToLong(Map.Entry::getValue).sum();
        assertThat((double) slow / draws).isCloseTo(50.0 / 100 * 49 / 99, within(0.01));
    }

    @Test
    void beyondThirtyTwoBackendsAnUnmeasuredIdleBackendIsTakenWheneverItIsDrawn() {
        Backend fresh = null;
        for (int i = 0; i < 50; i++) {
            Backend b = lb.addBackend("b" + i, "10.0.0.1", 8000 + i);
            if (i == 25) {
                fresh = b;
            } else {
                respond(b, Duration.ofMillis(1));
            }
        }

        int draws = 100_000;
        Map<String, Integer> picks = pickMany(lb, draws);

        // drawn first or second: 1 - 49/50 * 48/49 = 2/50 of the picks
        assertThat((double) picks.get(fresh.id()) / draws).isCloseTo(2.0 / 50, within(0.004));
    }

    @Test
    void beyondThirtyTwoBackendsABusyUnmeasuredBackendIsCostedWithTheOtherOnesLatency() {
        // given: 40 measured backends with one request each; an unmeasured one with three
        for (int i = 0; i < 40; i++) {
            Backend b = lb.addBackend("b" + i, "10.0.0.1", 8000 + i);
            respond(b, Duration.ofMillis(20));
            lb.acquireConnection(b);
        }
        Backend fresh = lb.addBackend("fresh", "10.0.0.2", 9000);
        for (int i = 0; i < 3; i++) {
            lb.acquireConnection(fresh);
        }

        // then: against any measured one it costs 20 ms x 4 > 20 ms x 2, so it is never chosen
        assertThat(pickMany(lb, 20_000)).doesNotContainKey("fresh");
    }

    private void respond(Backend backend, Duration responseTime) {
        lb.acquireConnection(backend);
        lb.releaseConnection(backend, responseTime, true);
    }
}

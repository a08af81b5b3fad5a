package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class RoundRobinStrategyTest {

    private static final Request REQUEST = new Request("req-1", "192.168.1.100", "/api/process");

    @Test
    void picksBackendsInRegistrationOrderAndWrapsAround() {
        // given
        LoadBalancer lb = balancerWith("a", "b", "c");

        // when
        List<String> picks = pick(lb, 7);

        // then
        assertThat(picks).containsExactly("a", "b", "c", "a", "b", "c", "a");
    }

    @Test
    void overKTimesNConsecutivePicksEachBackendIsPickedExactlyKTimes() {
        // given
        int n = 7;
        int k = 13;
        LoadBalancer lb = balancerWith(ids(n));
        pick(lb, 3); // the window does not have to start at the first backend

        // when
        List<String> picks = pick(lb, k * n);

        // then
        assertThat(countById(picks)).hasSize(n).allSatisfy((id, count) -> assertThat(count).isEqualTo(k));
    }

    @Test
    void everyWindowOfNConsecutivePicksHoldsEachBackendOnce() {
        // given
        LoadBalancer lb = balancerWith(ids(5));

        // when
        List<String> picks = pick(lb, 53);

        // then
        for (int start = 0; start + 5 <= picks.size(); start++) {
            assertThat(picks.subList(start, start + 5))
                    .as("window starting at pick %d", start)
                    .containsExactlyInAnyOrder("b0", "b1", "b2", "b3", "b4");
        }
    }

    @Test
    void aSingleBackendIsPickedEveryTime() {
        // given
        LoadBalancer lb = balancerWith("only");

        // when
        List<String> picks = pick(lb, 10);

        // then
        assertThat(picks).containsOnly("only").hasSize(10);
    }

    @Test
    void unhealthyBackendIsSkippedAndTheRotationOverTheOthersStaysStrict() {
        // given
        LoadBalancer lb = balancerWith("a", "b", "c", "d");
        pick(lb, 6);

        // when
        lb.setBackendHealthy("b", false);
        List<String> picks = pick(lb, 3 * 20);

        // then
        assertThat(picks).doesNotContain("b");
        assertThat(countById(picks)).containsOnly(Map.entry("a", 20), Map.entry("c", 20), Map.entry("d", 20));
        assertStrictRotation(picks, List.of("a", "c", "d"));
    }

    @Test
    void backendMarkedHealthyAgainRejoinsTheRotationInItsRegistrationPlace() {
        // given
        LoadBalancer lb = balancerWith("a", "b", "c", "d");
        pick(lb, 5);
        lb.setBackendHealthy("c", false);
        pick(lb, 7);

        // when
        lb.setBackendHealthy("c", true);
        List<String> picks = pick(lb, 4 * 25);

        // then
        assertThat(countById(picks)).containsOnly(
                Map.entry("a", 25), Map.entry("b", 25), Map.entry("c", 25), Map.entry("d", 25));
        assertStrictRotation(picks, List.of("a", "b", "c", "d"));
    }

    @Test
    void cursorIsKeptAcrossChangesOfTheAvailableSet() {
        // given: eight picks over four backends leave the cursor at 8
        LoadBalancer lb = balancerWith("a", "b", "c", "d");
        assertThat(pick(lb, 8)).containsExactly("a", "b", "c", "d", "a", "b", "c", "d");

        // when: the set shrinks to [a, c, d], the next slot is 8 % 3 = 2
        lb.setBackendHealthy("b", false);
        List<String> whileDown = pick(lb, 4);
        // and once b is back, cursor 12 % 4 = 0
        lb.setBackendHealthy("b", true);
        List<String> afterRecovery = pick(lb, 5);

        // then
        assertThat(whileDown).containsExactly("d", "a", "c", "d");
        assertThat(afterRecovery).containsExactly("a", "b", "c", "d", "a");
    }

    @Test
    void eachBalancerKeepsItsOwnCursorWhenTheStrategyConstantIsShared() {
        // given
        LoadBalancer first = balancerWith("a", "b", "c");
        LoadBalancer second = balancerWith("a", "b", "c");
        pick(first, 2);

        // when
        List<String> fromSecond = pick(second, 3);
        List<String> fromFirst = pick(first, 1);

        // then
        assertThat(fromSecond).containsExactly("a", "b", "c");
        assertThat(fromFirst).containsExactly("c");
    }

    // ---------------------------------------------------------------- helpers

    private static LoadBalancer balancerWith(String... ids) {
        LoadBalancer lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN);
        for (int i = 0; i < ids.length; i++) {
            lb.addBackend(ids[i], "10.0.0." + (i + 1), 8000);
        }
        return lb;
    }

    private static String[] ids(int n) {
        String[] ids = new String[n];
        for (int i = 0; i < n; i++) {
            ids[i] = "b" + i;
        }
        return ids;
    }

    private static List<String> pick(LoadBalancer lb, int times) {
        List<String> picks = new ArrayList<>(times);
        for (int i = 0; i < times; i++) {
            Backend backend = lb.selectBackend(REQUEST);
            picks.add(backend.id());
        }
        return picks;
    }

    private static Map<String, Integer> countById(List<String> picks) {
        Map<String, Integer> counts = new TreeMap<>();
        for (String id : picks) {
            counts.merge(id, 1, Integer::sum);
        }
        return counts;
    }

    /** Each pick is followed by the next backend of {@code order}, wrapping from the last to the first. */
    private static void assertStrictRotation(List<String> picks, List<String> order) {
        for (int i = 1; i < picks.size(); i++) {
            int previous = order.indexOf(picks.get(i - 1));
            String expected = order.get((previous + 1) % order.size());
            assertThat(picks.get(i)).as("pick %d after %s", i, picks.get(i - 1)).isEqualTo(expected);
        }
    }
}

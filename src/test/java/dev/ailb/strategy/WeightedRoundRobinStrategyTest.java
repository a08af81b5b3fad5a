package dev.ailb.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WeightedRoundRobinStrategyTest {

    private static final Request REQUEST = new Request("req-1", "192.168.1.100", "/api/process");

    // ---------------------------------------------------------------- exact sequences

    @Test
    void weightsFiveOneOneGiveTheNginxSequence() {
        // given
        LoadBalancer lb = balancerWith(5, 1, 1);

        // when
        List<Integer> picks = pick(lb, 14);

        // then: a a b a c a a, twice
        assertThat(picks).containsExactly(0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0);
    }

    @Test
    void weightsTwoOneGiveTheNginxSequence() {
        // given
        LoadBalancer lb = balancerWith(2, 1);

        // when
        List<Integer> picks = pick(lb, 6);

        // then
        assertThat(picks).containsExactly(0, 1, 0, 0, 1, 0);
    }

    @Test
    void equalWeightsReduceToPlainRotationInRegistrationOrder() {
        // given
        int[] weights = new int[12];
        Arrays.fill(weights, 7);
        LoadBalancer lb = balancerWith(weights);

        // when
        List<Integer> picks = pick(lb, 24);

        // then
        List<Integer> expected = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < 12; i++) {
                expected.add(i);
            }
        }
        assertThat(picks).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("weightVectors")
    void picksFollowTheNginxAlgorithmStepByStep(String label, int[] weights) {
        // given
        LoadBalancer lb = balancerWith(weights);
        int total = sum(weights);

        // when
        List<Integer> picks = pick(lb, 3 * total);

        // then
        assertThat(picks).isEqualTo(toList(nginxReference(weights, 3 * total)));
    }

    // ---------------------------------------------------------------- window counts

    @ParameterizedTest(name = "{0}")
    @MethodSource("weightVectors")
    void everyWindowOfTotalWeightPicksHoldsEachBackendItsWeight(String label, int[] weights) {
        // given
        LoadBalancer lb = balancerWith(weights);
        int total = sum(weights);

        // when
        List<Integer> picks = pick(lb, 3 * total);

        // then: sliding windows, starting at every position, not only at period boundaries
        assertEveryWindowHolds(picks, weights);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("weightVectors")
    void everyWindowOfReducedTotalWeightPicksHoldsEachBackendItsReducedWeight(String label, int[] weights) {
        // given
        int[] reduced = reduced(weights);
        LoadBalancer lb = balancerWith(weights);

        // when
        List<Integer> picks = pick(lb, 5 * sum(reduced) + 3);

        // then
        assertEveryWindowHolds(picks, reduced);
    }

    // ---------------------------------------------------------------- interleaving

    @Test
    void withWeightsFiveOneOneOnlyTheHeavyBackendEverRepeats() {
        // given
        LoadBalancer lb = balancerWith(5, 1, 1);

        // when
        List<Integer> picks = pick(lb, 7 * 20);

        // then
        for (int i = 1; i < picks.size(); i++) {
            if (picks.get(i).equals(picks.get(i - 1))) {
                assertThat(picks.get(i)).as("backend repeated at pick %d", i).isZero();
            }
        }
    }

    @Test
    void withWeightsTwoOneTheHeavyBackendIsNeverPickedThreeTimesInARow() {
        // given
        LoadBalancer lb = balancerWith(2, 1);

        // when
        List<Integer> picks = pick(lb, 3 * 40);

        // then
        for (int i = 2; i < picks.size(); i++) {
            assertThat(List.of(picks.get(i - 2), picks.get(i - 1), picks.get(i)))
                    .as("picks %d..%d", i - 2, i)
                    .isNotEqualTo(List.of(0, 0, 0));
        }
    }

    @Test
    void lighterBackendsAreSpreadThroughThePeriodInsteadOfBunched() {
        // given: a heavy backend and three light ones
        LoadBalancer lb = balancerWith(9, 1, 1, 1);

        // when
        List<Integer> picks = pick(lb, 12);

        // then: the light backends are separated by picks of the heavy one
        List<Integer> lightPositions = new ArrayList<>();
        for (int i = 0; i < picks.size(); i++) {
            if (picks.get(i) != 0) {
                lightPositions.add(i);
            }
        }
        assertThat(lightPositions).hasSize(3);
        for (int i = 1; i < lightPositions.size(); i++) {
            assertThat(lightPositions.get(i) - lightPositions.get(i - 1)).isGreaterThanOrEqualTo(2);
        }
    }

    // ---------------------------------------------------------------- changes of the set

    @Test
    void unhealthyBackendIsLeftOutAndTheOthersKeepTheirWeights() {
        // given
        LoadBalancer lb = balancerWith(3, 2, 1);
        pick(lb, 4);

        // when
        lb.setBackendHealthy("b1", false);
        List<Integer> picks = pick(lb, 4 * 10);

        // then: the remaining weights {3, 1} hold in every window of 4
        assertThat(picks).doesNotContain(1);
        List<Integer> relabelled = new ArrayList<>();
        for (int p : picks) {
            relabelled.add(p == 0 ? 0 : 1);
        }
        assertEveryWindowHolds(relabelled, new int[] {3, 1});
    }

    @Test
    void backendMarkedHealthyAgainGetsItsWeightBack() {
        // given
        LoadBalancer lb = balancerWith(3, 2, 1);
        lb.setBackendHealthy("b1", false);
        pick(lb, 5);

        // when
        lb.setBackendHealthy("b1", true);
        List<Integer> picks = pick(lb, 6 * 10);

        // then
        assertEveryWindowHolds(picks, new int[] {3, 2, 1});
    }

    // ---------------------------------------------------------------- SmoothWeightedSchedule.period

    @Test
    void periodOfSmallRandomWeightVectorsIsTheNginxSequence() {
        for (long seed = 1; seed <= 200; seed++) {
            // given
            Random random = new Random(seed);
            int[] weights = randomWeights(random, 1 + random.nextInt(12), 1 + random.nextInt(40));

            // when
            int[] period = SmoothWeightedSchedule.period(weights);

            // then
            int[] expected = nginxReference(weights, sum(reduced(weights)));
            assertThat(period).as("weights %s (seed %d)", Arrays.toString(weights), seed).isEqualTo(expected);
        }
    }

    @Test
    void periodOfWeightsWithACommonDivisorIsTheReducedNginxSequence() {
        for (long seed = 1; seed <= 50; seed++) {
            // given
            Random random = new Random(seed);
            int factor = 2 + random.nextInt(9);
            int[] weights = randomWeights(random, 2 + random.nextInt(8), 30);
            for (int i = 0; i < weights.length; i++) {
                weights[i] *= factor;
            }

            // when
            int[] period = SmoothWeightedSchedule.period(weights);

            // then: the unreduced nginx algorithm repeats with the reduced period
            int reducedTotal = sum(reduced(weights));
            assertThat(period).hasSize(reducedTotal);
            assertThat(period).as("weights %s", Arrays.toString(weights))
                    .isEqualTo(nginxReference(weights, reducedTotal));
            int[] twoPeriods = nginxReference(weights, 2 * reducedTotal);
            assertThat(Arrays.copyOfRange(twoPeriods, reducedTotal, 2 * reducedTotal)).isEqualTo(period);
        }
    }

    @Test
    void periodWithManyDistinctWeightsIsTheNginxSequence() {
        // given: 200 backends, weights drawn from 1..1000, so most weights are distinct
        int[] weights = randomWeights(new Random(20_240_601L), 200, 1000);
        assertThat(Arrays.stream(weights).distinct().count()).isGreaterThan(150);

        // when
        int[] period = SmoothWeightedSchedule.period(weights);

        // then
        assertThat(period).isEqualTo(nginxReference(weights, sum(reduced(weights))));
    }

    @Test
    void periodWithManyBackendsOfEachWeightIsTheNginxSequence() {
        // given: 300 backends sharing only five distinct weights, in mixed order
        Random random = new Random(99);
        int[] choices = {1, 2, 3, 5, 8};
        int[] weights = new int[300];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = choices[random.nextInt(choices.length)];
        }

        // when
        int[] period = SmoothWeightedSchedule.period(weights);

        // then
        assertThat(period).isEqualTo(nginxReference(weights, sum(reduced(weights))));
    }

    @Test
    void earliestDeadlineFirstPeriodHoldsEachBackendExactlyItsWeight() {
        // given: 128 distinct weights totalling 812,736, too many steps to simulate nginx class by class
        int[] weights = new int[128];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = 4000 + 37 * i;
        }
        int total = sum(weights);
        assertThat((long) total * 128).isGreaterThan(1L << 26);
        assertThat(total).isLessThanOrEqualTo(SmoothWeightedSchedule.MAX_PERIOD);

        // when
        int[] period = SmoothWeightedSchedule.period(weights);

        // then
        assertThat(period).hasSize(total);
        assertThat(counts(period, weights.length)).isEqualTo(weights);
    }

    @Test
    void earliestDeadlineFirstPeriodKeepsEachBackendNearItsIdealSpacing() {
        // given
        int[] weights = new int[128];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = 4000 + 37 * i;
        }
        int total = sum(weights);

        // when
        int[] period = SmoothWeightedSchedule.period(weights);

        // then: every window of twice a backend's ideal gap holds it at least once
        for (int b = 0; b < weights.length; b++) {
            int window = (int) Math.ceil(2.0 * total / weights[b]);
            int longestGap = longestCyclicGap(period, b);
            assertThat(longestGap).as("longest gap of backend %d (weight %d)", b, weights[b])
                    .isLessThanOrEqualTo(window);
        }
    }

    @Test
    void hugeTotalIsScaledDownToAtMostMaxPeriodKeepingTheProportions() {
        // given: a total of about two million, above MAX_PERIOD
        int[] weights = {1_000_000, 999_999, 3};
        long total = 2_000_002L;

        // when
        int[] period = SmoothWeightedSchedule.period(weights);

        // then
        assertThat(period.length).isLessThanOrEqualTo(SmoothWeightedSchedule.MAX_PERIOD + weights.length);
        assertProportionsKept(period, weights, total);
    }

    @Test
    void tinyWeightNextToHugeOnesKeepsAtLeastOneSlotAfterScaling() {
        // given: scaling by 2^20 / 3,000,001 takes the weight of 1 down to 0.35
        int[] weights = {1_000_000, 1_000_000, 1_000_000, 1};

        // when
        int[] period = SmoothWeightedSchedule.period(weights);

        // then
        int[] counts = counts(period, 4);
        assertThat(counts[3]).isEqualTo(1);
        assertThat(counts[0]).isEqualTo(counts[1]).isEqualTo(counts[2]);
        assertThat(period.length).isLessThanOrEqualTo(SmoothWeightedSchedule.MAX_PERIOD + weights.length);
    }

    @Test
    void hugeTotalWithManyDistinctWeightsIsScaledAndScheduledByDeadline() {
        // given: 300 weights up to a million, far above MAX_PERIOD and with many distinct values
        int[] weights = new int[300];
        Random random = new Random(4242);
        long total = 0;
        for (int i = 0; i < weights.length; i++) {
            weights[i] = 1000 + random.nextInt(999_001);
            total += weights[i];
        }

        // when
        int[] period = SmoothWeightedSchedule.period(weights);

        // then
        assertThat(period.length).isLessThanOrEqualTo(SmoothWeightedSchedule.MAX_PERIOD + weights.length);
        assertProportionsKept(period, weights, total);
    }

    @Test
    void balancerWithHugeWeightsStillPicksTheLightBackendOncePerPeriod() {
        // given
        LoadBalancer lb = balancerWith(1_000_000, 1_000_000, 1_000_000, 1);
        int picksToMake = 2 * (SmoothWeightedSchedule.MAX_PERIOD + 4);

        // when
        int[] counts = new int[4];
        for (int i = 0; i < picksToMake; i++) {
            counts[index(lb.selectBackend(REQUEST).id())]++;
        }

        // then
        assertThat(counts[3]).isBetween(2, 3);
        int[] heavy = Arrays.copyOf(counts, 3);
        assertThat(Arrays.stream(heavy).max().getAsInt() - Arrays.stream(heavy).min().getAsInt())
                .isLessThanOrEqualTo(1);
    }

    // ---------------------------------------------------------------- fixtures

    static Stream<Arguments> weightVectors() {
        Random random = new Random(12345);
        int[] randomSmall = randomWeights(random, 8, 20);
        int[] randomWide = randomWeights(random, 15, 60);
        int[] manyEqual = new int[25];
        Arrays.fill(manyEqual, 3);
        return Stream.of(
                Arguments.of("{5,1,1}", new int[] {5, 1, 1}),
                Arguments.of("{2,1}", new int[] {2, 1}),
                Arguments.of("{4,2,2} (gcd 2)", new int[] {4, 2, 2}),
                Arguments.of("{6,9,12} (gcd 3)", new int[] {6, 9, 12}),
                Arguments.of("{1}", new int[] {1}),
                Arguments.of("{100,1}", new int[] {100, 1}),
                Arguments.of("{1,2,3,4,5}", new int[] {1, 2, 3, 4, 5}),
                Arguments.of("{3,3,7,3,7} (ties across classes)", new int[] {3, 3, 7, 3, 7}),
                Arguments.of("25 x 3", manyEqual),
                Arguments.of("random " + Arrays.toString(randomSmall), randomSmall),
                Arguments.of("random " + Arrays.toString(randomWide), randomWide));
    }

    // ---------------------------------------------------------------- helpers

    /**
     * nginx's smooth weighted round robin, step by step: every current weight grows by its weight,
     * the largest wins (the lowest index on a tie) and loses the total.
     */
    private static int[] nginxReference(int[] weights, int steps) {
        long total = 0;
        for (int w : weights) {
            total += w;
        }
        long[] current = new long[weights.length];
        int[] out = new int[steps];
        for (int step = 0; step < steps; step++) {
            int best = -1;
            for (int i = 0; i < weights.length; i++) {
                current[i] += weights[i];
                if (best < 0 || current[i] > current[best]) {
                    best = i;
                }
            }
            current[best] -= total;
            out[step] = best;
        }
        return out;
    }

    private static LoadBalancer balancerWith(int... weights) {
        LoadBalancer lb = new LoadBalancer(BalancingStrategy.WEIGHTED_ROUND_ROBIN);
        for (int i = 0; i < weights.length; i++) {
            lb.addBackend("b" + i, "10.0.0." + (i + 1), 8000, weights[i]);
        }
        return lb;
    }

    private static int index(String id) {
        return Integer.parseInt(id.substring(1));
    }

    private static List<Integer> pick(LoadBalancer lb, int times) {
        List<Integer> picks = new ArrayList<>(times);
        for (int i = 0; i < times; i++) {
            picks.add(index(lb.selectBackend(REQUEST).id()));
        }
        return picks;
    }

    private static void assertEveryWindowHolds(List<Integer> picks, int[] weights) {
        int window = sum(weights);
        assertThat(picks.size()).isGreaterThanOrEqualTo(window);
        int[] counts = new int[weights.length];
        for (int i = 0; i < window; i++) {
            counts[picks.get(i)]++;
        }
        assertThat(counts).as("window starting at pick 0").isEqualTo(weights);
        for (int start = 1; start + window <= picks.size(); start++) {
            counts[picks.get(start - 1)]--;
            counts[picks.get(start + window - 1)]++;
            assertThat(counts).as("window starting at pick %d", start).isEqualTo(weights);
        }
    }

    private static void assertProportionsKept(int[] period, int[] weights, long total) {
        int n = weights.length;
        double tolerance = (double) n / SmoothWeightedSchedule.MAX_PERIOD;
        int[] counts = counts(period, n);
        for (int i = 0; i < n; i++) {
            double share = (double) counts[i] / period.length;
            double expected = (double) weights[i] / total;
            assertThat(counts[i]).as("slots of backend %d", i).isPositive();
            assertThat(share).as("share of backend %d (weight %d)", i, weights[i])
                    .isCloseTo(expected, offset(tolerance));
        }
    }

    private static int longestCyclicGap(int[] period, int backend) {
        int first = -1;
        int previous = -1;
        int longest = 0;
        for (int t = 0; t < period.length; t++) {
            if (period[t] == backend) {
                if (previous >= 0) {
                    longest = Math.max(longest, t - previous);
                } else {
                    first = t;
                }
                previous = t;
            }
        }
        return Math.max(longest, period.length - previous + first);
    }

    private static int[] randomWeights(Random random, int n, int maxWeight) {
        int[] weights = new int[n];
        for (int i = 0; i < n; i++) {
            weights[i] = 1 + random.nextInt(maxWeight);
        }
        return weights;
    }

    private static int[] reduced(int[] weights) {
        int g = 0;
        for (int w : weights) {
            g = gcd(g, w);
        }
        int[] out = new int[weights.length];
        for (int i = 0; i < weights.length; i++) {
            out[i] = weights[i] / g;
        }
        return out;
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    private static int sum(int[] values) {
        int s = 0;
        for (int v : values) {
            s += v;
        }
        return s;
    }

    private static int[] counts(int[] period, int n) {
        int[] counts = new int[n];
        for (int index : period) {
            counts[index]++;
        }
        return counts;
    }

    private static List<Integer> toList(int[] values) {
        List<Integer> list = new ArrayList<>(values.length);
        for (int v : values) {
            list.add(v);
        }
        return list;
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

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
    void theExactSequencesAboveComeFromTheNginxPeriod() {
        // The exact-sequence tests above go through the balancer: their weights must stay within
        // the steps for which the picker computes the nginx period.
        weightVectors().forEach(vector -> assertThat(SmoothWeightedSchedule.steps((int[]) vector.get()[1]))
                .as("steps for %s", vector.get()[0]).isLessThanOrEqualTo(SmoothWeightedSchedule.MAX_STEPS));
        assertThat(SmoothWeightedSchedule.steps(new int[] {9, 1, 1, 1})).isLessThanOrEqualTo(SmoothWeightedSchedule.MAX_STEPS);
    }

    @Test
    void nginxPeriodsAreComputedOnlyWhileTheyTakeFewSteps() {
        // given: 64 backends with weights up to 10, then up to 1,000,000
        int[] small = randomWeights(new Random(5), 64, 10);
        int[] large = randomWeights(new Random(5), 64, 1_000_000);

        // then: the first stays within the bound, which also bounds the period's length
        assertThat(SmoothWeightedSchedule.steps(small)).isLessThanOrEqualTo(SmoothWeightedSchedule.MAX_STEPS);
        assertThat(SmoothWeightedSchedule.steps(large)).isGreaterThan(SmoothWeightedSchedule.MAX_STEPS);
        assertThat(SmoothWeightedSchedule.MAX_STEPS).isLessThanOrEqualTo(1 << 18); // a build well under a millisecond
    }

    // ---------------------------------------------------------------- large weights: the golden-ratio schedule

    @Test
    void sixtyFourBackendsWithWeightsUpToAMillionGetExactlyTheirWeightsOverEveryPeriod() {
        // given: 64 backends with weights drawn from 1..1,000,000, some 33 million picks per period
        int[] weights = randomWeights(new Random(20_260_101L), 64, 1_000_000);
        long[] reduced = Arrays.stream(reduced(weights)).asLongStream().toArray();
        long total = Arrays.stream(reduced).sum();
        LoadBalancer lb = balancerWithPortsAsIndices(weights);
        for (int i = 0; i < 12_345; i++) {
            lb.selectBackend(REQUEST); // any start will do
        }

        // when: one whole period
        long[] counts = new long[weights.length];
        for (long i = 0; i < total; i++) {
            counts[lb.selectBackend(REQUEST).port() - PORT_BASE]++;
        }

        // then
        assertThat(counts).isEqualTo(reduced);
    }

    @Test
    void sixtyFourBackendsWithWeightsUpToAMillionShareTheFirstMillionPicksAsTheirWeightsSay() {
        // given
        int[] weights = randomWeights(new Random(20_260_101L), 64, 1_000_000);
        LoadBalancer lb = balancerWithPortsAsIndices(weights);
        int picks = 1_000_000;

        // when
        long[] counts = new long[weights.length];
        for (int i = 0; i < picks; i++) {
            counts[lb.selectBackend(REQUEST).port() - PORT_BASE]++;
        }

        // then: far below 103.4, the 0.999 quantile of chi-square with 63 degrees of freedom; a
        // deterministic schedule gives the same statistic on every run
        double total = Arrays.stream(weights).asLongStream().sum();
        double chiSquare = 0;
        for (int i = 0; i < weights.length; i++) {
            double expected = picks * weights[i] / total;
            chiSquare += (counts[i] - expected) * (counts[i] - expected) / expected;
        }
        assertThat(chiSquare).isLessThan(103.4);
        assertThat(chiSquare).as("much smoother than random draws").isLessThan(1.0);
    }

    @Test
    void everyWindowOfGoldenRatioPicksHoldsEachBackendWithinSixOfItsShare() {
        // given
        int[] weights = randomWeights(new Random(20_260_101L), 64, 1_000_000);
        GoldenRatioSchedule schedule = GoldenRatioSchedule.of(weights);
        int[] picks = schedulePicks(schedule, 2_000_000);

        // then: sliding windows of every size, starting at every position
        for (int window : new int[] {64, 1_000, 100_000, 1_000_000}) {
            assertEveryWindowWithin(picks, reduced(weights), schedule.total(), window, 6.0);
        }
    }

    @Test
    void goldenRatioPicksSpaceEachBackendAtMostTwoAndAHalfTimesItsIdealGapApart() {
        // given: 128 distinct weights totalling 812,736, and 64 weights up to 1,000,000
        int[] graded = new int[128];
        for (int i = 0; i < graded.length; i++) {
            graded[i] = 4000 + 37 * i;
        }
        for (int[] weights : List.of(graded, randomWeights(new Random(20_260_101L), 64, 1_000_000))) {
            GoldenRatioSchedule schedule = GoldenRatioSchedule.of(weights);
            int[] w = reduced(weights);
            long total = schedule.total();

            // when: one whole period
            long[] counts = new long[w.length];
            long[] longestGap = longestCyclicGaps(schedule, w.length, counts);

            // then
            for (int b = 0; b < w.length; b++) {
                assertThat(counts[b]).as("picks of backend %d", b).isEqualTo(w[b]);
                assertThat((double) longestGap[b]).as("longest gap of backend %d (weight %d)", b, w[b])
                        .isLessThanOrEqualTo(2.5 * total / w[b]);
            }
        }
    }

    @Test
    void aLightBackendNextToHugeOnesIsPickedExactlyOncePerPeriod() {
        // given: a period of 3,000,001 picks
        LoadBalancer lb = balancerWith(1_000_000, 1_000_000, 1_000_000, 1);

        // when: two periods
        int[] counts = new int[4];
        for (int i = 0; i < 2 * 3_000_001; i++) {
            counts[index(lb.selectBackend(REQUEST).id())]++;
        }

        // then
        assertThat(counts).containsExactly(2_000_000, 2_000_000, 2_000_000, 2);
    }

    @Test
    void theStepIsCoprimeToThePeriodNearItsGoldenSectionWithSmallPartialQuotients() {
        Random random = new Random(77);
        for (int i = 0; i < 1_000; i++) {
            // given: periods up to 2^34, 16,000 backends of weight 1,000,000
            long total = 3 + (random.nextLong() & ((1L << 34) - 1));

            // when
            long step = GoldenRatioSchedule.stepFor(total);

            // then
            assertThat(gcd(step, total)).as("gcd with %d", total).isOne();
            assertThat(Math.abs(step - total * 0.6180339887498949)).as("distance from T/phi for %d", total)
                    .isLessThanOrEqualTo(129.0);
            assertThat(GoldenRatioSchedule.largestQuotient(step, total)).as("partial quotients for %d", total)
                    .isLessThanOrEqualTo(8);
        }
        assertThat(GoldenRatioSchedule.stepFor(1)).isOne();
        assertThat(GoldenRatioSchedule.stepFor(2)).isOne();
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

    @Test
    void aShortGoldenRatioPeriodLaidOutAsASequenceFollowsTheScheduleExactly() {
        int[] weights = new int[10_000];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = 1 + i % 30; // too costly a period for nginx's simulation, short enough to lay out
        }
        GoldenRatioSchedule schedule = GoldenRatioSchedule.of(weights);
        assertThat(SmoothWeightedSchedule.steps(weights)).isGreaterThan(SmoothWeightedSchedule.MAX_STEPS);
        assertThat(schedule.total()).isEqualTo(Arrays.stream(weights).sum())
                .isLessThanOrEqualTo(WeightedRoundRobinStrategy.SEQUENCE_MAX);

        int[] sequence = schedule.sequence();

        assertThat(sequence).containsExactly(schedulePicks(schedule, (int) schedule.total()));
        LoadBalancer lb = new LoadBalancer(BalancingStrategy.WEIGHTED_ROUND_ROBIN);
        for (int i = 0; i < weights.length; i++) {
            lb.addBackend("b" + i, "node-" + i + ".fleet", PORT_BASE + i, weights[i]);
        }
        int[] counts = new int[weights.length];
        for (int k = 0; k < schedule.total(); k++) {
            counts[lb.selectBackend(REQUEST).port() - PORT_BASE]++;
        }
        assertThat(counts).containsExactly(weights);
    }

    // ---------------------------------------------------------------- helpers

    private static final int PORT_BASE = 1_000;

    /** A balancer whose backend {@code i} listens on port {@code PORT_BASE + i}, to tell picks apart cheaply. */
    private static LoadBalancer balancerWithPortsAsIndices(int[] weights) {
        LoadBalancer lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN);
        for (int i = 0; i < weights.length; i++) {
            lb.addBackend("b" + i, "10.0.0." + (i + 1), PORT_BASE + i, weights[i]);
        }
        lb.setStrategy(BalancingStrategy.WEIGHTED_ROUND_ROBIN);
        return lb;
    }

    /** The first picks of a schedule, as a picker makes them from a cursor at zero. */
    private static int[] schedulePicks(GoldenRatioSchedule schedule, int count) {
        int[] picks = new int[count];
        long cursor = 0;
        for (int k = 0; k < count; k++) {
            picks[k] = schedule.indexAt(cursor);
            cursor += schedule.step();
        }
        return picks;
    }

    /** Each backend's picks over one period, into {@code counts}, and its longest cyclic gap. */
    private static long[] longestCyclicGaps(GoldenRatioSchedule schedule, int n, long[] counts) {
        long[] first = new long[n];
        long[] last = new long[n];
        long[] longest = new long[n];
        Arrays.fill(last, -1);
        long cursor = 0;
        for (long k = 0; k < schedule.total(); k++) {
            int b = schedule.indexAt(cursor);
            cursor += schedule.step();
            counts[b]++;
            if (last[b] >= 0) {
                longest[b] = Math.max(longest[b], k - last[b]);
            } else {
                first[b] = k;
            }
            last[b] = k;
        }
        for (int b = 0; b < n; b++) {
            longest[b] = Math.max(longest[b], schedule.total() - last[b] + first[b]);
        }
        return longest;
    }

    private static void assertEveryWindowWithin(int[] picks, int[] weights, long total, int window, double bound) {
        int n = weights.length;
        long[] counts = new long[n];
        for (int k = 0; k < window; k++) {
            counts[picks[k]]++;
        }
        for (int start = 0; ; start++) {
            for (int b = 0; b < n; b++) {
                double share = (double) window * weights[b] / total;
                if (Math.abs(counts[b] - share) > bound) {
                    assertThat(counts[b]).as("picks of backend %d in the %d picks from %d", b, window, start)
                            .isBetween((long) Math.ceil(share - bound), (long) Math.floor(share + bound));
                }
            }
            if (start + window >= picks.length) {
                return;
            }
            counts[picks[start]]--;
            counts[picks[start + window]]++;
        }
    }

    private static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
    }

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

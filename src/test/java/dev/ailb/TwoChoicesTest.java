package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TwoChoicesTest {

    @Test
    void drawsTwoDistinctIndicesInRange() {
        SplittableRandom random = new SplittableRandom(1);
        for (int n : new int[] {2, 3, 33, 1_000, 10_000, Integer.MAX_VALUE}) {
            for (int k = 0; k < 10_000; k++) {
                long pair = TwoChoices.draw(random, n);
                int first = TwoChoices.first(pair);
                int second = TwoChoices.second(pair);
                assertThat(first).isBetween(0, n - 1);
                assertThat(second).isBetween(0, n - 1).isNotEqualTo(first);
            }
        }
    }

    @Test
    void everyOrderedPairIsEquallyLikely() {
        SplittableRandom random = new SplittableRandom(2);
        int n = 5;
        int draws = 200_000;
        int[][] counts = new int[n][n];
        for (int k = 0; k < draws; k++) {
            long pair = TwoChoices.draw(random, n);
            counts[TwoChoices.first(pair)][TwoChoices.second(pair)]++;
        }
        // 20 ordered pairs: chi-square with 19 degrees of freedom, 99.9th percentile about 43.8
        double expected = (double) draws / (n * (n - 1));
        double statistic = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (i == j) {
                    assertThat(counts[i][j]).isZero();
                } else {
                    statistic += Math.pow(counts[i][j] - expected, 2) / expected;
                }
            }
        }
        assertThat(statistic).isLessThan(43.8);
    }
}

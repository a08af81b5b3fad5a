package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DivisorTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 5, 6, 7, 10, 64, 1_000, 1_023, 1_024, 1_025, 10_000, 65_537, 1 << 20,
            (1 << 30) - 1, 1 << 30, (1 << 30) + 1, Integer.MAX_VALUE - 1, Integer.MAX_VALUE})
    void remainderIsTheDivisionsAtTheEdgesOfTheRange(int d) {
        // Given a divisor
        Divisor divisor = new Divisor(d);

        // Then every dividend near 0, near each end of a multiple's run and near 2^63 agrees with %
        long[] bases = {0L, d, 2L * d, (long) d * d, 1L << 32, 1L << 62, Long.MAX_VALUE / d * d,
                Long.MAX_VALUE - 3 * (long) d};
        for (long base : bases) {
            for (long delta = -3; delta <= 3; delta++) {
                long a = base + delta;
                if (a < 0) {
                    continue;
                }
                assertThat(divisor.remainder(a)).as("%d %% %d", a, d).isEqualTo((int) (a % d));
            }
        }
        assertThat(divisor.remainder(Long.MAX_VALUE)).isEqualTo((int) (Long.MAX_VALUE % d));
    }

    @Test
    void remainderIsTheDivisionsForRandomDivisorsAndDividends() {
        // Given divisors and dividends drawn from their whole ranges, seeded
        SplittableRandom random = new SplittableRandom(20_261_203L);
        for (int i = 0; i < 2_000; i++) {
            int d = i % 2 == 0 ? 1 + random.nextInt(100_000) : 1 + random.nextInt(Integer.MAX_VALUE);
            Divisor divisor = new Divisor(d);
            for (int j = 0; j < 500; j++) {
                long a = random.nextLong() & Long.MAX_VALUE;
                if (j % 3 == 0) {
                    a >>>= random.nextInt(63); // small ones too: a young cursor
                }
                // Then the remainder is the division's
                assertThat(divisor.remainder(a)).as("%d %% %d", a, d).isEqualTo((int) (a % d));
            }
        }
    }

    @Test
    void consecutiveDividendsRotateThroughEveryRemainderInOrder() {
        // Given a cursor well into its range, as a long-running rotation's is
        Divisor divisor = new Divisor(6);
        long start = (1L << 40) + 5;

        // Then consecutive values step through 0..5 in order, with no skip at any wrap
        int previous = divisor.remainder(start);
        for (long a = start + 1; a < start + 1_000; a++) {
            int r = divisor.remainder(a);
            assertThat(r).isEqualTo((previous + 1) % 6);
            previous = r;
        }
    }

    @Test
    void refusesADivisorBelowOne() {
        assertThatThrownBy(() -> new Divisor(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("divisor: 0 (expected: >= 1)");
        assertThatThrownBy(() -> new Divisor(-6))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("divisor: -6 (expected: >= 1)");
    }
}

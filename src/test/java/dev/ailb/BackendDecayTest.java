package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class BackendDecayTest {

    @Test
    void decayMatchesExpOnBothSidesOfTheSeriesCutOver() {
        double[] xs = {0.0, 1e-12, 1e-9, 1e-6, 1e-4, 0x1p-11, Math.nextDown(0x1p-10), 0x1p-10, 0.01, 0.5, 1.0, 5.0,
                50.0, 800.0};
        for (double x : xs) {
            double expected = Math.exp(-x);
            assertThat(Backend.decay(x)).as("decay(%s)", x).isCloseTo(expected, within(expected * 1e-13));
        }
    }

    @Test
    void decayIsMonotoneAcrossTheCutOver() {
        double previous = 1.0;
        for (double x = 0.0; x < 0x1p-9; x += 0x1p-20) {
            double d = Backend.decay(x);
            assertThat(d).as("decay(%s)", x).isLessThanOrEqualTo(previous);
            previous = d;
        }
    }
}

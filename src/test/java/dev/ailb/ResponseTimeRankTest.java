package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ResponseTimeRankTest {

    @Test
    void rankIsNaNUntilTheFirstCompletedRequest() {
        try (LoadBalancer lb = new LoadBalancer()) {
            Backend b = lb.addBackend("a", "10.0.0.1", 8000);
            assertThat(b.responseTimeRank()).isNaN();
            lb.acquireConnection(b);
            lb.releaseConnection(b, Duration.ofMillis(3), true);
            assertThat(b.responseTimeRank()).isNotNaN();
        }
    }

    /**
     * Backends complete requests at random moments with random latencies; at random later moments
     * the difference of two ranks must be the logarithm of the ratio of the two decayed averages,
     * so the ranks order the backends as the averages do, without a clock.
     */
    @Test
    void rankDifferencesAreLogRatiosOfDecayedAveragesAtAnyInstant() {
        ManualTicker ticker = new ManualTicker();
        ticker.advance(Duration.ofHours(3)); // the origin need not be zero
        Random random = new Random(11);
        try (LoadBalancer lb = LoadBalancer.builder().ticker(ticker).responseTimeDecay(Duration.ofSeconds(10))
                .build()) {
            for (int i = 0; i < 6; i++) {
                lb.addBackend("b" + i, "10.0.0." + (i + 1), 8000);
            }
            List<Backend> backends = lb.getBackends();
            int compared = 0;
            for (int step = 0; step < 2_000; step++) {
                ticker.advance(Duration.ofNanos(1 + random.nextInt(50_000_000)));
                Backend b = backends.get(random.nextInt(backends.size()));
                lb.acquireConnection(b);
                lb.releaseConnection(b, 1_000L + random.nextInt(200_000_000), random.nextInt(10) > 0);
                if (step % 50 != 49) {
                    continue;
                }
                ticker.advance(Duration.ofMillis(random.nextInt(60_000)));
                long now = ticker.read();
                for (Backend x : backends) {
                    for (Backend y : backends) {
                        double ex = x.responseTimeEwmaNanos(now);
                        double ey = y.responseTimeEwmaNanos(now);
                        if (Double.isNaN(ex) || Double.isNaN(ey) || ex < 1.0 || ey < 1.0) {
                            continue;
                        }
                        assertThat(x.responseTimeRank() - y.responseTimeRank())
                                .as("%s vs %s at %d", x.id(), y.id(), now)
                                .isCloseTo(Math.log(ex / ey), within(1e-6));
                        compared++;
                    }
                }
            }
            assertThat(compared).as("pairs compared").isGreaterThan(1_000);
        }
    }
}

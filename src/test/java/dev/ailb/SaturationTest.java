package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The pool-level saturation signal, in virtual time. */
class SaturationTest {
    private final ManualTicker ticker = new ManualTicker();
    private final LoadBalancer lb = LoadBalancer.builder().ticker(ticker).build();

    @AfterEach
    void close() {
        lb.close();
    }

    private static LoadReport queue(int waiting) {
        return LoadReport.builder().waitingRequests(waiting).build();
    }

    private static LoadReport kv(double usage) {
        return LoadReport.builder().kvCacheUsage(usage).build();
    }

    @Test
    void aPoolWithoutReportsHasRoom() {
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);

        assertThat(lb.isSaturated()).isFalse();
    }

    @Test
    void aPoolIsSaturatedWhenEveryAvailableBackendIsOverAThreshold() {
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.addBackend("c", "10.0.0.3", 8000);
        lb.updateBackendResources("a", queue(5));
        lb.updateBackendResources("b", kv(0.8));
        lb.updateBackendResources("c", queue(4));
        assertThat(lb.isSaturated()).as("c has room: 4 waiting is below 5").isFalse();

        lb.updateBackendResources("c", LoadReport.builder().waitingRequests(0).kvCacheUsage(0.93).build());

        assertThat(lb.isSaturated()).isTrue();
        assertThat(lb.isSaturated(lb.getBackend("c").orElseThrow())).isTrue();
    }

    @Test
    void aBackendThatReportsNeitherSignalCountsAsHavingRoom() {
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", queue(50));
        lb.updateBackendResources("b", LoadReport.builder().cpu(1.0).memory(1.0).runningRequests(300).build());

        assertThat(lb.isSaturated()).isFalse();
        assertThat(lb.isSaturated(lb.getBackend("b").orElseThrow())).isFalse();
    }

    @Test
    void aStaleReportNoLongerSaturates() {
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.updateBackendResources("a", queue(20));
        ticker.advance(Duration.ofSeconds(30));
        assertThat(lb.isSaturated()).isTrue();

        ticker.advance(Duration.ofNanos(1));

        assertThat(lb.isSaturated()).isFalse();
    }

    @Test
    void onlyAvailableBackendsCount() {
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", queue(9));
        assertThat(lb.isSaturated()).isFalse();

        lb.beginMaintenance("b");
        assertThat(lb.isSaturated()).as("b takes no new requests").isTrue();

        lb.removeBackend("a");
        assertThat(lb.getAvailableBackends()).isEmpty();
        assertThat(lb.isSaturated()).as("no backend can take a request").isTrue();
    }

    @Test
    void thresholdsAndAgeAreConfigurable() {
        try (LoadBalancer own = LoadBalancer.builder().ticker(ticker).saturation(2, 0.5, Duration.ofSeconds(1))
                .build()) {
            own.addBackend("a", "10.0.0.1", 8000);
            own.addBackend("b", "10.0.0.2", 8000);
            own.updateBackendResources("a", queue(2));
            own.updateBackendResources("b", kv(0.5));
            assertThat(own.isSaturated()).isTrue();

            ticker.advance(Duration.ofMillis(1_001));
            assertThat(own.isSaturated()).isFalse();
        }
    }

    @Test
    void badSettingsAreRejectedNamingTheValue() {
        assertThatThrownBy(() -> LoadBalancer.builder().saturation(0, 0.8, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("waitingRequests: 0");
        assertThatThrownBy(() -> LoadBalancer.builder().saturation(5, 0.0, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheUsage: 0.0 (expected: > 0.0 and <= 1.0)");
        assertThatThrownBy(() -> LoadBalancer.builder().saturation(5, Double.NaN, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("kvCacheUsage: NaN");
        assertThatThrownBy(() -> LoadBalancer.builder().saturation(5, 0.8, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("maxReportAge: PT0S");
        assertThatThrownBy(() -> LoadBalancer.builder().saturation(5, 0.8, null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("maxReportAge");
        assertThatThrownBy(() -> LoadBalancer.builder().saturation(5, 0.8, Duration.ofSeconds(1))
                .saturation(5, 0.8, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("saturation");
    }

    @Test
    void aBackendOfAnotherBalancerIsRejected() {
        try (LoadBalancer other = new LoadBalancer()) {
            Backend foreign = other.addBackend("a", "10.0.0.1", 8000);
            assertThatThrownBy(() -> lb.isSaturated(foreign)).isInstanceOf(IllegalArgumentException.class);
        }
    }
}

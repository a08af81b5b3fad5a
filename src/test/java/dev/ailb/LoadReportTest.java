package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Load reports, their time stamps, and the weights that score them. */
class LoadReportTest {

    @Test
    void aBuilderSetsOnlyWhatItIsGiven() {
        LoadReport report = LoadReport.builder().waitingRequests(3).kvCacheUsage(0.75).build();

        assertThat(report.hasWaitingRequests()).isTrue();
        assertThat(report.waitingRequests()).isEqualTo(3);
        assertThat(report.hasKvCacheUsage()).isTrue();
        assertThat(report.kvCacheUsage()).isEqualTo(0.75);
        assertThat(report.hasCpu()).isFalse();
        assertThat(report.cpu()).isNaN();
        assertThat(report.hasMemory()).isFalse();
        assertThat(report.hasRunningRequests()).isFalse();
        assertThat(report.runningRequests()).isEqualTo(LoadReport.UNKNOWN_COUNT);
    }

    @Test
    void everySignalIsKeptAsGiven() {
        LoadReport report = LoadReport.builder().cpu(0.1).memory(0.2).waitingRequests(0).runningRequests(17)
                .kvCacheUsage(1.0).build();

        assertThat(report).isEqualTo(new LoadReport(0.1, 0.2, 0, 17, 1.0));
    }

    @Test
    void badValuesAreRejectedNamingTheParameter() {
        assertThatThrownBy(() -> LoadReport.builder().cpu(1.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("cpu: 1.5 (expected: 0.0..1.0)");
        assertThatThrownBy(() -> LoadReport.builder().memory(Double.NaN))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("memory: NaN (expected: 0.0..1.0)");
        assertThatThrownBy(() -> LoadReport.builder().waitingRequests(-1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("waitingRequests: -1 (expected: 0..2147483647)");
        assertThatThrownBy(() -> LoadReport.builder().runningRequests(-3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("runningRequests: -3");
        assertThatThrownBy(() -> LoadReport.builder().kvCacheUsage(-0.01))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("kvCacheUsage: -0.01");
        assertThatThrownBy(() -> new LoadReport(0.5, 0.5, -2, 0, 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("waitingRequests: -2");
        assertThatThrownBy(() -> new LoadReport(0.5, 1.01, 0, 0, 0.5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("memory: 1.01 (expected: 0.0..1.0, or NaN if not reported)");
    }

    @Test
    void theKvCacheCapacityIsUnknownUntilSet() {
        LoadReport without = LoadReport.builder().kvCacheUsage(0.5).build();
        LoadReport with = LoadReport.builder().kvCacheUsage(0.5).kvCacheCapacityTokens(432_000).build();

        assertThat(without.hasKvCacheCapacity()).isFalse();
        assertThat(without.kvCacheCapacityTokens()).isEqualTo(LoadReport.UNKNOWN_COUNT);
        assertThat(with.hasKvCacheCapacity()).isTrue();
        assertThat(with.kvCacheCapacityTokens()).isEqualTo(432_000L);
        assertThat(LoadReport.builder().runningRequests(1).kvCacheCapacityTokens(Long.MAX_VALUE).build()
                .kvCacheCapacityTokens()).isEqualTo(Long.MAX_VALUE);
        assertThat(with).isEqualTo(new LoadReport(Double.NaN, Double.NaN, -1, -1, 0.5, 432_000L));
    }

    @Test
    void theConstructorWithoutTheCapacityLeavesItUnknown() {
        LoadReport five = new LoadReport(0.1, 0.2, 3, 4, 0.5);

        assertThat(five).isEqualTo(new LoadReport(0.1, 0.2, 3, 4, 0.5, LoadReport.UNKNOWN_COUNT));
        assertThat(five.hasKvCacheCapacity()).isFalse();
    }

    @Test
    void aBadCapacityIsRejectedNamingIt() {
        assertThatThrownBy(() -> LoadReport.builder().kvCacheCapacityTokens(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheCapacityTokens: 0 (expected: >= 1)");
        assertThatThrownBy(() -> LoadReport.builder().kvCacheCapacityTokens(LoadReport.UNKNOWN_COUNT))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheCapacityTokens: -1 (expected: >= 1)");
        assertThatThrownBy(() -> new LoadReport(0.5, 0.5, 0, 0, 0.5, -5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheCapacityTokens: -5 (expected: >= 1, or -1 if not reported)");
        assertThatThrownBy(() -> new LoadReport(0.5, 0.5, 0, 0, 0.5, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheCapacityTokens: 0 (expected: >= 1, or -1 if not reported)");
    }

    @Test
    void theCapacityAloneIsNoSignal() {
        // the size of the cache says nothing of the load on it
        assertThatThrownBy(() -> LoadReport.builder().kvCacheCapacityTokens(432_000).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("report: no signal (expected: at least one of cpu, memory, waitingRequests, "
                        + "runningRequests, kvCacheUsage)");
    }

    @Test
    void aReportWithoutAnySignalIsRejected() {
        assertThatThrownBy(() -> LoadReport.builder().build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("report: no signal");
    }

    @Test
    void theBalancerStampsAReportWithItsTicker() {
        ManualTicker ticker = new ManualTicker();
        try (LoadBalancer lb = LoadBalancer.builder().ticker(ticker).build()) {
            lb.addBackend("a", "10.0.0.1", 8000);
            ticker.advance(Duration.ofSeconds(7));
            LoadReport report = LoadReport.builder().runningRequests(4).build();

            lb.updateBackendResources("a", report);

            TimedLoadReport stored = lb.getBackend("a").orElseThrow().loadReport().orElseThrow();
            assertThat(stored.load()).isSameAs(report);
            assertThat(stored.reportedAtNanos()).isEqualTo(ticker.read());
            assertThat(stored.cpu()).isNaN();
            assertThat(lb.getBackendStats("a").loadReport()).contains(stored);
        }
    }

    @Test
    void theCpuAndMemoryFormIsAReportOfThoseTwo() {
        try (LoadBalancer lb = new LoadBalancer()) {
            lb.addBackend("a", "10.0.0.1", 8000);
            lb.updateBackendResources("a", LoadReport.builder().waitingRequests(9).build());

            lb.updateBackendResources("a", 0.6, 0.7);

            LoadReport load = lb.getBackend("a").orElseThrow().loadReport().orElseThrow().load();
            assertThat(load).isEqualTo(LoadReport.builder().cpu(0.6).memory(0.7).build());
            assertThat(load.hasWaitingRequests()).as("the earlier report is replaced whole").isFalse();
            assertThat(new TimedLoadReport(0.6, 0.7, 5L)).isEqualTo(new TimedLoadReport(load, 5L));
        }
    }

    @Test
    void aBadUpdateLeavesTheLastReportInPlace() {
        try (LoadBalancer lb = new LoadBalancer()) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            lb.updateBackendResources("a", 0.1, 0.2);
            TimedLoadReport before = a.loadReport().orElseThrow();

            assertThatThrownBy(() -> lb.updateBackendResources("a", (LoadReport) null))
                    .isInstanceOf(NullPointerException.class).hasMessageContaining("report");
            assertThatThrownBy(() -> lb.updateBackendResources("nope", LoadReport.builder().cpu(0.1).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nope");
            assertThatThrownBy(() -> lb.updateBackendResources("a", 0.1, 2.0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("memory: 2.0");

            assertThat(a.loadReport()).contains(before);
        }
    }

    @Test
    void weightsAreCheckedNamingTheBadOne() {
        assertThatThrownBy(() -> ResourceWeights.DEFAULT.withQueue(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("queue: -1.0 (expected: finite and >= 0)");
        assertThatThrownBy(() -> ResourceWeights.DEFAULT.withKvCache(Double.POSITIVE_INFINITY))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("kvCache: Infinity");
        assertThatThrownBy(() -> new ResourceWeights(0, 0, 0, 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cpu + memory + load + queue + kvCache: 0.0 (expected: > 0)");
        assertThatThrownBy(() -> BalancingStrategy.resourceBased(null, Duration.ofSeconds(1)))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("weights");
    }

    @Test
    void withersChangeOneWeight() {
        ResourceWeights w = ResourceWeights.DEFAULT.withCpu(0).withMemory(0.1).withLoad(0.2).withQueue(0.7)
                .withKvCache(0.9);
        assertThat(w).isEqualTo(new ResourceWeights(0, 0.1, 0.2, 0.7, 0.9));
        assertThat(ResourceWeights.DEFAULT).isEqualTo(new ResourceWeights(0.4, 0.3, 0.3, 0.3, 0.3));
    }
}

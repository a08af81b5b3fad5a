package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.testing.StandardErrorCapture;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** A balancer's name: its default, its checks, and the log lines and text that carry it. */
class BalancerNameTest {

    @Test
    void unnamedBalancersAreNumberedInTheOrderTheyAreBuilt() {
        try (LoadBalancer first = LoadBalancer.builder().build(); LoadBalancer second = new LoadBalancer()) {
            assertThat(first.name()).matches("ailb-\\d+");
            assertThat(second.name()).matches("ailb-\\d+");
            int n = Integer.parseInt(first.name().substring("ailb-".length()));
            assertThat(second.name()).isEqualTo("ailb-" + (n + 1));
        }
    }

    @Test
    void theNameIsInTheTextOfTheBalancer() {
        try (LoadBalancer lb = LoadBalancer.builder().name("chat-fleet").build()) {
            assertThat(lb.name()).isEqualTo("chat-fleet");
            assertThat(lb).hasToString("LoadBalancer{name=chat-fleet, strategy=ROUND_ROBIN, backends=0, available=0}");
        }
    }

    @Test
    void everyLogLineAboutTheBalancerStartsWithItsName() {
        // The tests log at WARN and above (simplelogger.properties), so this makes warnings.
        String log;
        try (StandardErrorCapture captured = StandardErrorCapture.start()) {
            try (LoadBalancer lb = LoadBalancer.builder().name("llama-70b").build()) {
                lb.addBackend("a", "10.0.0.1", 8000);
                lb.addBackend("b", "10.0.0.2", 8000);
                lb.setBackendHealthy("a", false);
                lb.setBackendHealthy("b", false);
                lb.addListener(new LoadBalancerListener() {
                    @Override
                    public void onStrategyChanged(BalancingStrategy strategy) {
                        throw new IllegalStateException("listener bug");
                    }
                });
                lb.setStrategy(BalancingStrategy.LEAST_CONNECTIONS);
            }
            log = captured.text();
        }
        String[] lines = Arrays.stream(log.split("\\R"))
                .filter(line -> line.startsWith("[") && line.contains(" dev.ailb.")).toArray(String[]::new);
        assertThat(lines).hasSizeGreaterThanOrEqualTo(4)
                .allMatch(line -> line.contains(" - llama-70b - "), "names the balancer");
        assertThat(log).contains("llama-70b - Backend a is unhealthy: marked unhealthy")
                .contains("llama-70b - Backend b is unhealthy")
                .contains("llama-70b - All 2 backends in service are unhealthy")
                .contains("llama-70b - Listener ");
    }

    @Test
    void aBadNameIsRefusedWithTheValue() {
        LoadBalancerBuilder builder = LoadBalancer.builder();
        assertThatThrownBy(() -> builder.name(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("name: null (expected: non-null)");
        assertThatThrownBy(() -> builder.name("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("name: \"\" (expected: 1 to 64 characters among letters, digits, '.', '_' and '-')");
        assertThatThrownBy(() -> builder.name("chat fleet")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("name: \"chat fleet\" (expected: ");
        assertThatThrownBy(() -> builder.name("x".repeat(65))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("name: \"" + "x".repeat(65) + "\" (expected: ");
        assertThatThrownBy(() -> builder.name("fleet\nforged")).isInstanceOf(IllegalArgumentException.class);
        builder.name("ok");
        assertThatThrownBy(() -> builder.name("again")).isInstanceOf(IllegalStateException.class);
        try (LoadBalancer lb = builder.build()) {
            assertThat(lb.name()).isEqualTo("ok");
        }
    }
}

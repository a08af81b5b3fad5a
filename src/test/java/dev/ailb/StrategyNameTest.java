package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.testing.ManualTicker;
import org.junit.jupiter.api.Test;

/**
 * A custom strategy can be given a name, which logs, exceptions and stats then show (the INFO log
 * lines name it as the stats do: both read {@link BalancingStrategy#name()}).
 */
class StrategyNameTest {
    private static final Request REQUEST = new Request("req-1", "10.1.1.1", "/v1/completions");

    private final ManualTicker ticker = new ManualTicker();

    @Test
    void aNamedLambdaShowsItsNameInStatsAndItsDescription() {
        BalancingStrategy first = BalancingStrategy.named("FIRST_AVAILABLE",
                context -> available -> request -> available.get(0));
        try (LoadBalancer lb = LoadBalancer.builder().name("lambda").ticker(ticker).build()) {
            Backend a = lb.addBackend("a", "10.0.0.1", 8000);
            lb.addBackend("b", "10.0.0.2", 8000);

            lb.setStrategy(first);

            assertThat(first.name()).isEqualTo("FIRST_AVAILABLE");
            assertThat(first).hasToString("FIRST_AVAILABLE");
            assertThat(lb.getAllStats().strategy()).isEqualTo("FIRST_AVAILABLE");
            assertThat(lb).hasToString("LoadBalancer{name=lambda, strategy=FIRST_AVAILABLE, backends=2, available=2}");
            assertThat(lb.selectBackend(REQUEST)).isSameAs(a);
            assertThat(lb.selectBackend(REQUEST)).isSameAs(a);
        }
    }

    @Test
    void aNamedStrategyThatFailsIsNamedInTheException() {
        BalancingStrategy broken = BalancingStrategy.named("BROKEN", context -> available -> {
            throw new UnsupportedOperationException("no picker");
        });
        try (LoadBalancer lb = LoadBalancer.builder().ticker(ticker).build()) {
            lb.addBackend("a", "10.0.0.1", 8000);

            assertThatThrownBy(() -> lb.setStrategy(broken))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("strategy BROKEN failed to build a picker");
            assertThat(lb.getStrategy()).isSameAs(BalancingStrategy.ROUND_ROBIN);
        }
    }

    @Test
    void aNamedStrategyGivesEachBalancerItsOwnSelector() {
        BalancingStrategy rotation = BalancingStrategy.named("MY_ROTATION", BalancingStrategy.ROUND_ROBIN);
        try (LoadBalancer one = LoadBalancer.builder().ticker(ticker).strategy(rotation).build();
                LoadBalancer two = LoadBalancer.builder().ticker(ticker).strategy(rotation).build()) {
            Backend a1 = one.addBackend("a", "10.0.0.1", 8000);
            Backend b1 = one.addBackend("b", "10.0.0.2", 8000);
            two.addBackend("a", "10.0.0.1", 8000);
            two.addBackend("b", "10.0.0.2", 8000);

            Backend firstOfOne = one.selectBackend(REQUEST);
            Backend firstOfTwo = two.selectBackend(REQUEST);

            assertThat(firstOfTwo.id()).isEqualTo(firstOfOne.id());
            assertThat(one.selectBackend(REQUEST)).isSameAs(firstOfOne == a1 ? b1 : a1);
        }
    }

    @Test
    void aStrategyNameIsCheckedAsIdsAre() {
        BalancingStrategy lambda = context -> available -> request -> available.get(0);

        assertThatThrownBy(() -> BalancingStrategy.named(null, lambda))
                .isInstanceOf(NullPointerException.class).hasMessage("name: null (expected: non-null)");
        assertThatThrownBy(() -> BalancingStrategy.named("FIRST", null))
                .isInstanceOf(NullPointerException.class).hasMessage("strategy: null (expected: non-null)");
        assertThatThrownBy(() -> BalancingStrategy.named(" ", lambda))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("name: \" \" (expected: not blank)");
        assertThatThrownBy(() -> BalancingStrategy.named("FIRST\nWARN forged", lambda))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("name: \"FIRST\\nWARN forged\" (expected: no control characters)");
        assertThatThrownBy(() -> BalancingStrategy.named("x".repeat(257), lambda))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 256 characters");
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyList;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;

/** When the balancer asks a strategy for new state and new tables, and what it hands over. */
class StrategyLifecycleTest {
    private final BalancingStrategy strategy = mock(BalancingStrategy.class);
    private final Selector selector = mock(Selector.class);

    @BeforeEach
    void setUp() {
        when(strategy.name()).thenReturn("MOCK");
        when(strategy.newSelector(any())).thenReturn(selector);
        when(selector.newPicker(anyList())).thenAnswer(call -> {
            List<Backend> available = call.getArgument(0);
            return (Picker) request -> available.get(0);
        });
    }

    @Test
    void selectorIsCreatedOncePerBalancerWithItsTickerAndRandom() {
        Ticker ticker = () -> 42L;
        java.util.Random random = new java.util.Random(5);
        try (LoadBalancer lb = LoadBalancer.builder().strategy(strategy).ticker(ticker).random(random).build()) {
            lb.addBackend("a", "10.0.0.1", 8001);
            lb.addBackend("b", "10.0.0.2", 8002);

            ArgumentCaptor<SelectionContext> context = ArgumentCaptor.forClass(SelectionContext.class);
            verify(strategy, times(1)).newSelector(context.capture());
            assertThat(context.getValue().ticker()).isSameAs(ticker);
            assertThat(context.getValue().random()).isSameAs(random);
        }
    }

    @Test
    void pickersAreRebuiltOnlyWhenTheAvailableSetChanges() {
        try (LoadBalancer lb = new LoadBalancer(strategy)) {
            verify(selector, times(1)).newPicker(List.of());

            Backend a = lb.addBackend("a", "10.0.0.1", 8001);
            Backend b = lb.addBackend("b", "10.0.0.2", 8002);
            verify(selector).newPicker(List.of(a));
            verify(selector).newPicker(List.of(a, b));

            lb.updateBackendResources("a", 0.3, 0.3);
            lb.selectBackend(new Request("r", "1.1.1.1", "/"));
            lb.acquireConnection(a);
            lb.releaseConnection(a, Duration.ofMillis(5), true);
            verify(selector, times(3)).newPicker(anyList());

            lb.setBackendHealthy("b", false);
            verify(selector, times(2)).newPicker(List.of(a));

            // b is already out of the available set: removing it and its leaving change nothing there.
            lb.removeBackend("b");
            verify(selector, times(4)).newPicker(anyList());
            assertThat(lb.getBackends()).containsExactly(a);
        }
    }

    @Test
    void settingAStrategyCreatesFreshStateAndLeavesTheOldOneAlone() {
        try (LoadBalancer lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN)) {
            lb.addBackend("a", "10.0.0.1", 8001);

            lb.setStrategy(strategy);
            lb.setStrategy(strategy);

            verify(strategy, times(2)).newSelector(any());
            verify(selector, times(2)).newPicker(anyList());
            verify(selector, never()).newPicker(List.of());
        }
    }
}

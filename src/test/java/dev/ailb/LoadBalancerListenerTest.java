package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoMoreInteractions;

import dev.ailb.health.HealthState;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.mockito.InOrder;

class LoadBalancerListenerTest {

    @Test
    void listenersHearEveryChangeInOrder() {
        LoadBalancerListener listener = mock(LoadBalancerListener.class);
        try (LoadBalancer lb = new LoadBalancer()) {
            lb.addListener(listener);

            Backend a = lb.addBackend("a", "10.0.0.1", 8001);
            lb.setBackendHealthy("a", false);
            lb.setBackendHealthy("a", false); // no change, no event
            lb.setBackendHealthy("a", true);
            lb.setStrategy(BalancingStrategy.RANDOM);
            lb.acquireConnection(a);
            lb.removeBackend("a");
            lb.releaseConnection(a, Duration.ofMillis(1), true);

            InOrder order = inOrder(listener);
            order.verify(listener).onBackendAdded(a);
            order.verify(listener).onBackendHealthChanged(a, HealthState.HEALTHY, HealthState.UNHEALTHY,
                    "marked unhealthy by hand");
            order.verify(listener).onBackendHealthChanged(a, HealthState.UNHEALTHY, HealthState.HEALTHY,
                    "marked healthy by hand");
            order.verify(listener).onStrategyChanged(BalancingStrategy.RANDOM);
            order.verify(listener).onBackendDraining(a);
            order.verify(listener).onBackendRemoved(a);
            verifyNoMoreInteractions(listener);
        }
    }

    @Test
    void aFailingListenerDoesNotDisturbTheBalancerOrOtherListeners() {
        LoadBalancerListener failing = mock(LoadBalancerListener.class);
        LoadBalancerListener healthy = mock(LoadBalancerListener.class);
        doThrow(new IllegalStateException("listener bug")).when(failing).onBackendAdded(org.mockito.ArgumentMatchers.any());
        try (LoadBalancer lb = new LoadBalancer()) {
            lb.addListener(failing);
            lb.addListener(healthy);

            Backend a = lb.addBackend("a", "10.0.0.1", 8001);

            verify(healthy).onBackendAdded(a);
            assertThat(lb.getBackends()).containsExactly(a);
        }
    }

    @Test
    void aListenerMayCallBackIntoTheBalancer() {
        try (LoadBalancer lb = new LoadBalancer()) {
            lb.addListener(new LoadBalancerListener() {
                @Override
                public void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current,
                        String reason) {
                    if (current != HealthState.HEALTHY) {
                        lb.removeBackend(backend.id());
                    }
                }
            });
            lb.addBackend("a", "10.0.0.1", 8001);
            lb.addBackend("b", "10.0.0.2", 8002);

            lb.setBackendHealthy("a", false);

            assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("b");
        }
    }

    @Test
    void removedListenersHearNothingMore() {
        LoadBalancerListener listener = mock(LoadBalancerListener.class);
        try (LoadBalancer lb = new LoadBalancer()) {
            lb.addListener(listener);
            assertThat(lb.removeListener(listener)).isTrue();
            assertThat(lb.removeListener(listener)).isFalse();

            lb.addBackend("a", "10.0.0.1", 8001);

            verifyNoMoreInteractions(listener);
        }
    }

    @Test
    void aListenerThatThrowsAnErrorOnRemovalNeitherLeavesTheRemovalPendingNorReachesTheReleasingCaller() {
        LoadBalancerListener failing = mock(LoadBalancerListener.class);
        LoadBalancerListener healthy = mock(LoadBalancerListener.class);
        doThrow(new AssertionError("listener bug")).when(failing).onBackendRemoved(org.mockito.ArgumentMatchers.any());
        try (LoadBalancer lb = new LoadBalancer()) {
            lb.addListener(failing);
            lb.addListener(healthy);
            Backend a = lb.addBackend("a", "10.0.0.1", 8001);
            lb.acquireConnection(a);
            CompletableFuture<Void> removed = lb.removeBackend("a");

            lb.releaseConnection(a, Duration.ofMillis(1), true); // the last release: a leaves

            assertThat(removed).isCompleted();
            verify(healthy).onBackendRemoved(a);
            assertThat(lb.getBackends()).isEmpty();
            assertThat(lb.getAllStats().metrics().successes()).isEqualTo(1);
            assertThat(a.activeConnections()).isZero();
        }
    }

    @Test
    void aListenerThatThrowsAnErrorOnAHealthChangeDoesNotReachTheCallerAndTheChangeHolds() {
        LoadBalancerListener failing = mock(LoadBalancerListener.class);
        doThrow(new StackOverflowError("listener recursion")).when(failing).onBackendHealthChanged(
                org.mockito.ArgumentMatchers.any(), org.mockito.ArgumentMatchers.any(),
                org.mockito.ArgumentMatchers.any(), org.mockito.ArgumentMatchers.any());
        try (LoadBalancer lb = new LoadBalancer()) {
            lb.addListener(failing);
            Backend a = lb.addBackend("a", "10.0.0.1", 8001);

            assertThat(lb.setBackendHealthy("a", false)).isTrue();

            assertThat(a.healthState()).isEqualTo(HealthState.UNHEALTHY);
            assertThat(lb.getAvailableBackends()).isEmpty();
        }
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.StandardErrorCapture;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link LoadBalancer#discover}: a source's memberships reconciled, its failures kept apart, in virtual time. */
class DiscoveryTest {
    private static final Duration INTERVAL = Duration.ofSeconds(10);

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private final LoadBalancer lb = LoadBalancer.builder().name("pool").ticker(ticker)
            .healthCheckScheduler(scheduler).build();

    @AfterEach
    void close() {
        lb.close();
    }

    private static BackendSpec spec(String id, int port) {
        return BackendSpec.of(id, "10.0.0.1", port);
    }

    @Test
    void aPollingSourcesMembershipsAreReconciledOnItsInterval() {
        PollingSource source = new PollingSource(List.of(spec("a", 8001), spec("b", 8002)),
                List.of(spec("a", 8001).withWeight(3), spec("c", 8003)));

        Discovery discovery = lb.discover(source);

        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a", "b");
        scheduler.advance(INTERVAL);
        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a", "c");
        assertThat(lb.getBackend("a").orElseThrow().weight()).isEqualTo(3);
        assertThat(discovery.updates()).isEqualTo(2);
        assertThat(discovery.failures()).isZero();
        assertThat(discovery.source()).isSameAs(source);
    }

    @Test
    void failuresKeepTheLastMembershipAndARunOfThemIsLoggedOnce() {
        PollingSource source = new PollingSource(List.of(spec("a", 8001), spec("b", 8002)),
                new IOException("server unreachable"), new IOException("server unreachable"),
                new IOException("server unreachable"), List.of(spec("b", 8002)));
        Discovery discovery;
        String log;
        try (StandardErrorCapture captured = StandardErrorCapture.start()) {
            discovery = lb.discover(source);
            scheduler.advance(INTERVAL.multipliedBy(3));
            assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a", "b");
            assertThat(discovery.isFailing()).isTrue();
            assertThat(discovery.failures()).isEqualTo(3);
            scheduler.advance(INTERVAL);
            log = captured.text();
        }

        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("b");
        assertThat(discovery.isFailing()).isFalse();
        assertThat(log.lines().filter(l -> l.contains("WARN")).toList()).singleElement().asString()
                .contains("pool - Discovery polling failed, keeping the last membership")
                .contains("server unreachable");
        assertThat(log).contains("pool - Discovery polling recovered after 3 failures");
    }

    @Test
    void anUpdateWithAnIdGivenTwiceIsRefusedAndCountsAsAFailure() {
        PollingSource source = new PollingSource(List.of(spec("a", 8001)));
        Discovery discovery = lb.discover(source);

        assertThatThrownBy(() -> source.context.update(List.of(spec("b", 8002), spec("b", 8003))))
                .isInstanceOf(IllegalArgumentException.class);

        assertThat(discovery.failures()).isEqualTo(1);
        assertThat(discovery.isFailing()).isTrue();
        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a");
    }

    @Test
    void oneSourceRunsAtATime() {
        Discovery first = lb.discover(new PollingSource(List.of(spec("a", 8001))));

        assertThatThrownBy(() -> lb.discover(new PollingSource(List.of())))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("source: polling (expected: no other discovery running; polling runs, close it first)");

        first.close();
        lb.discover(new PollingSource(List.of(spec("b", 8002))));
        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("b");
    }

    @Test
    void closingTheDiscoveryStopsTheSourceAndKeepsTheMembership() {
        PollingSource source = new PollingSource(List.of(spec("a", 8001)), List.of());
        Discovery discovery = lb.discover(source);

        discovery.close();
        discovery.close();
        scheduler.advance(INTERVAL.multipliedBy(2));

        assertThat(source.closes).isEqualTo(1);
        assertThat(discovery.isClosed()).isTrue();
        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a");
        assertThat(source.context.update(List.of()).isEmpty()).isTrue();
        assertThat(lb.getBackends()).extracting(Backend::id).containsExactly("a");
        assertThat((Object) source.context.schedule(() -> { }, INTERVAL)).isNull();
    }

    @Test
    void closingTheBalancerClosesTheSource() {
        PollingSource source = new PollingSource(List.of(spec("a", 8001)));
        Discovery discovery = lb.discover(source);

        lb.close();

        assertThat(discovery.isClosed()).isTrue();
        assertThat(source.closes).isEqualTo(1);
        assertThatThrownBy(() -> lb.discover(new PollingSource(List.of())))
                .isInstanceOf(IllegalStateException.class).hasMessage("load balancer is closed");
    }

    @Test
    void aSourceThatCannotStartIsClosedAndAnotherMayStart() {
        PollingSource broken = new PollingSource() {
            @Override
            public void start(DiscoveryContext context) {
                throw new IllegalStateException("no credentials");
            }
        };

        assertThatThrownBy(() -> lb.discover(broken)).hasMessage("no credentials");

        assertThat(broken.closes).isEqualTo(1);
        lb.discover(new PollingSource(List.of(spec("a", 8001))));
        assertThat(lb.getBackends()).hasSize(1);
    }

    @Test
    void badArgumentsAreRefused() {
        PollingSource source = new PollingSource(List.of());
        lb.discover(source);

        assertThatThrownBy(() -> lb.discover(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("source: null (expected: non-null)");
        assertThatThrownBy(() -> source.context.fail(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("cause: null (expected: non-null)");
        assertThatThrownBy(() -> source.context.schedule(() -> { }, Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("delay: PT-1S (expected: >= 0)");
        assertThatThrownBy(() -> source.context.schedule(null, INTERVAL)).isInstanceOf(NullPointerException.class)
                .hasMessage("task: null (expected: non-null)");
        assertThat(source.context.balancerName()).isEqualTo("pool");
    }

    /**
     * A source that polls on the balancer's scheduler and answers each poll with the next of its
     * scripted answers (a membership, or an exception to fail with), the last one repeated.
     */
    private static class PollingSource implements DiscoverySource {
        private final Deque<Object> answers = new ArrayDeque<>();
        volatile DiscoveryContext context;
        private volatile ScheduledFuture<?> next;
        int closes;

        PollingSource(Object... answers) {
            this.answers.addAll(List.of(answers));
        }

        @Override
        public void start(DiscoveryContext context) {
            this.context = context;
            poll();
        }

        @SuppressWarnings("unchecked")
        private void poll() {
            Object answer = answers.size() > 1 ? answers.poll() : answers.peek();
            if (answer instanceof Exception e) {
                context.fail(e);
            } else if (answer != null) {
                context.update((List<BackendSpec>) answer);
            }
            next = context.schedule(this::poll, INTERVAL);
        }

        @Override
        public void close() {
            closes++;
            ScheduledFuture<?> pending = next;
            if (pending != null) {
                pending.cancel(false);
            }
        }

        @Override
        public String toString() {
            return "polling";
        }
    }

}

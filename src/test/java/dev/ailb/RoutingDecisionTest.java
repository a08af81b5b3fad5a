package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.RoutingDecision.Reason;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The routing decision of a lease: for every rule that can decide an attempt, its reason and figure. */
class RoutingDecisionTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private LoadBalancer lb;

    @AfterEach
    void close() {
        if (lb != null) {
            lb.close();
        }
    }

    private LoadBalancerBuilder builder(BalancingStrategy strategy) {
        return LoadBalancer.builder().name("chat").ticker(ticker).random(new Random(7)).strategy(strategy)
                .outlierDetection(OutlierDetection.disabled()).callScheduler(scheduler);
    }

    private LoadBalancer balancer(BalancingStrategy strategy, int backends) {
        return withBackends(builder(strategy).build(), backends);
    }

    private LoadBalancer withBackends(LoadBalancer built, int backends) {
        lb = built;
        for (int i = 1; i <= backends; i++) {
            lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
        }
        return lb;
    }

    private static RoutingDecision decisionOf(Lease lease) {
        RoutingDecision d = lease.decision();
        lease.success();
        return d;
    }

    @Test
    void roundRobinDecidesByRotationWithNoFigure() {
        balancer(BalancingStrategy.ROUND_ROBIN, 2);

        RoutingDecision d = decisionOf(lb.acquire(REQUEST));

        assertThat(d).isEqualTo(new RoutingDecision("chat", "b1", "ROUND_ROBIN", Reason.ROTATION, Double.NaN, 1, null));
        assertThat(d.previousBackend()).isEmpty();
        assertThat(d.toString()).isEqualTo("balancer=chat backend=b1 strategy=ROUND_ROBIN reason=ROTATION attempt=1");
    }

    @Test
    void weightedRoundRobinDecidesByWeightedRotationWithTheWeight() {
        lb = builder(BalancingStrategy.WEIGHTED_ROUND_ROBIN).build();
        lb.addBackend("heavy", "10.0.0.1", 8001, 3);

        RoutingDecision d = decisionOf(lb.acquire(REQUEST));

        assertThat(d.reason()).isEqualTo(Reason.WEIGHTED_ROTATION);
        assertThat(d.figure()).isEqualTo(3.0);
    }

    @Test
    void leastConnectionsDecidesByLeastLoadedWithTheLoadInFlight() {
        balancer(BalancingStrategy.LEAST_CONNECTIONS, 2);
        Lease first = lb.acquire(REQUEST);
        String other = first.backend().id().equals("b1") ? "b2" : "b1";

        Lease second = lb.acquire(REQUEST);

        assertThat(second.decision()).isEqualTo(
                new RoutingDecision("chat", other, "LEAST_CONNECTIONS", Reason.LEAST_LOADED, 1.0, 1, null));
        first.success();
        second.success();
    }

    @Test
    void leastResponseTimeDecidesByTheDecayedResponseTime() {
        balancer(BalancingStrategy.LEAST_RESPONSE_TIME, 1);
        Lease measured = lb.acquire(REQUEST);
        ticker.advance(Duration.ofMillis(100));
        measured.success();
        ticker.advance(Duration.ofMillis(10));

        RoutingDecision d = decisionOf(lb.acquire(REQUEST));

        assertThat(d.reason()).isEqualTo(Reason.LEAST_RESPONSE_TIME);
        assertThat(d.figure()).isEqualTo(lb.getBackend("b1").orElseThrow().responseTimeEwmaNanos(ticker.read()))
                .isPositive();
    }

    @Test
    void ipHashDecidesByHash() {
        balancer(BalancingStrategy.IP_HASH, 3);

        RoutingDecision d = decisionOf(lb.acquire(REQUEST));

        assertThat(d.reason()).isEqualTo(Reason.HASH);
        assertThat(d.figure()).isNaN();
    }

    @Test
    void randomDecidesByRandom() {
        balancer(BalancingStrategy.RANDOM, 3);

        RoutingDecision d = decisionOf(lb.acquire(REQUEST));

        assertThat(d.reason()).isEqualTo(Reason.RANDOM);
        assertThat(d.strategy()).isEqualTo("RANDOM");
    }

    @Test
    void resourceBasedDecidesByItsScore() {
        balancer(BalancingStrategy.RESOURCE_BASED, 1);

        Lease lease = lb.acquire(REQUEST);

        // no report: CPU and memory score 0.5 each; one request in flight per unit of weight loads 0.5
        double expected = ((ResourceBasedStrategy) BalancingStrategy.RESOURCE_BASED)
                .score(lease.backend(), ticker.read());
        assertThat(lease.decision().reason()).isEqualTo(Reason.RESOURCE_SCORE);
        assertThat(lease.decision().figure()).isEqualTo(expected);
        lease.success();
    }

    @Test
    void prefixAffinityTellsAMissThenAMatchWithTheMatchedLength() {
        balancer(BalancingStrategy.PREFIX_AFFINITY, 2);
        Request prompted = REQUEST.withPrompt("x".repeat(2 * 256)); // two blocks of 64 tokens of 4 characters

        RoutingDecision miss = decisionOf(lb.acquire(prompted));
        RoutingDecision match = decisionOf(lb.acquire(prompted));

        assertThat(miss.reason()).isEqualTo(Reason.PREFIX_MISS);
        assertThat(miss.figure()).isNaN();
        assertThat(match.reason()).isEqualTo(Reason.PREFIX_MATCH);
        assertThat(match.backend()).isEqualTo(miss.backend());
        assertThat(match.figure()).isEqualTo(512.0);
    }

    @Test
    void aCustomStrategyDecidesByItsOwnChoiceAndABuiltInUnderANameKeepsItsRule() {
        balancer(BalancingStrategy.named("FIRST_AVAILABLE", context -> available -> request -> available.get(0)), 2);
        RoutingDecision custom = decisionOf(lb.acquire(REQUEST));
        lb.setStrategy(BalancingStrategy.named("rotation", BalancingStrategy.ROUND_ROBIN));
        RoutingDecision named = decisionOf(lb.acquire(REQUEST));

        assertThat(custom.reason()).isEqualTo(Reason.STRATEGY);
        assertThat(custom.strategy()).isEqualTo("FIRST_AVAILABLE");
        assertThat(named.reason()).isEqualTo(Reason.ROTATION);
        assertThat(named.strategy()).isEqualTo("rotation");
    }

    @Test
    void aSessionIsPlacedOnceThenHitsItsBackend() {
        balancer(BalancingStrategy.ROUND_ROBIN, 2);

        RoutingDecision placed = decisionOf(lb.acquire(REQUEST, "conversation-1"));
        RoutingDecision hit = decisionOf(lb.acquire(REQUEST, "conversation-1"));

        assertThat(placed.reason()).isEqualTo(Reason.SESSION_PLACED);
        assertThat(hit.reason()).isEqualTo(Reason.SESSION_HIT);
        assertThat(hit.backend()).isEqualTo(placed.backend());
    }

    @Test
    void aSessionHashedOntoItsBackendHits() {
        lb = withBackends(builder(BalancingStrategy.ROUND_ROBIN).sessionAffinity(SessionAffinity.CONSISTENT_HASH).build(), 2);

        RoutingDecision d = decisionOf(lb.acquire(REQUEST, "conversation-1"));

        assertThat(d.reason()).isEqualTo(Reason.SESSION_HIT);
    }

    @Test
    void aFullPickMovedByTheCapacityStageSaysCapacityWithTheLoadOfItsBackend() {
        lb = withBackends(builder(BalancingStrategy.ROUND_ROBIN).connectionLimit(1).build(), 2);
        Lease heldOnB1 = lb.acquire(REQUEST); // b1's turn
        lb.acquire(REQUEST).success(); // b2's turn

        Lease moved = lb.acquire(REQUEST); // b1's turn again, but b1 is full

        assertThat(heldOnB1.decision().reason()).isEqualTo(Reason.ROTATION);
        assertThat(moved.decision()).isEqualTo(
                new RoutingDecision("chat", "b2", "ROUND_ROBIN", Reason.CAPACITY, 1.0, 1, null));
        heldOnB1.success();
        moved.success();
    }

    @Test
    void aRequestHandedARoomFromTheAdmissionQueueSaysSo() {
        lb = withBackends(builder(BalancingStrategy.ROUND_ROBIN).connectionLimit(1)
                .admissionQueue(10, Duration.ofSeconds(5)).build(), 1);
        Lease holder = lb.acquire(REQUEST);

        CompletableFuture<Lease> waiting = lb.acquireAsync(REQUEST);
        assertThat(waiting).isNotDone();
        holder.success();

        RoutingDecision d = decisionOf(waiting.join());
        assertThat(holder.decision().reason()).isEqualTo(Reason.ROTATION);
        assertThat(d).isEqualTo(new RoutingDecision("chat", "b1", "ROUND_ROBIN", Reason.ADMISSION_QUEUE, Double.NaN,
                1, null));
    }

    @Test
    void everyBackendUnhealthyFailsOpen() {
        balancer(BalancingStrategy.LEAST_CONNECTIONS, 2);
        lb.setBackendHealthy("b1", false);
        lb.setBackendHealthy("b2", false);

        RoutingDecision d = decisionOf(lb.acquire(REQUEST));

        assertThat(d.reason()).isEqualTo(Reason.FAIL_OPEN);
        assertThat(d.figure()).isNaN();
    }

    @Test
    void aRetryOfExecuteNamesItsAttemptAndTheBackendThatFailed() {
        balancer(BalancingStrategy.ROUND_ROBIN, 2);
        List<RoutingDecision> decisions = new ArrayList<>();

        String answer = lb.executeLeased(REQUEST, lease -> {
            decisions.add(lease.decision());
            if (decisions.size() == 1) {
                throw new UncheckedIOException(new IOException("connection reset"));
            }
            lease.success();
            return "ok";
        });

        assertThat(answer).isEqualTo("ok");
        assertThat(decisions).containsExactly(
                new RoutingDecision("chat", "b1", "ROUND_ROBIN", Reason.ROTATION, Double.NaN, 1, null),
                new RoutingDecision("chat", "b2", "ROUND_ROBIN", Reason.RETRY, Double.NaN, 2, "b1"));
    }

    @Test
    void aRetryAndAHedgeOfExecuteAsyncNameTheirAttemptAndTheBackendBefore() {
        lb = withBackends(builder(BalancingStrategy.ROUND_ROBIN)
                .retryPolicy(RetryPolicy.builder().minHedgesPerSecond(100).build()).build(), 3);
        ExecuteAsyncTest.Script script = new ExecuteAsyncTest.Script();

        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script,
                CallOptions.builder().hedging(HedgeDelay.fixed(Duration.ofMillis(100))).build());
        script.answers.get(0).completeExceptionally(new IOException("connection reset"));
        scheduler.advance(Duration.ofMillis(100));
        script.answers.get(2).complete("hedged");

        assertThat(answer.join()).isEqualTo("hedged");
        List<Optional<String>> previous = new ArrayList<>();
        List<Reason> reasons = new ArrayList<>();
        for (Attempt a : script.attempts) {
            reasons.add(a.lease().decision().reason());
            previous.add(a.lease().decision().previousBackend());
        }
        assertThat(reasons).containsExactly(Reason.ROTATION, Reason.RETRY, Reason.HEDGE);
        assertThat(previous).containsExactly(Optional.empty(), Optional.of("b1"), Optional.of("b2"));
        assertThat(script.attempts.get(2).lease().decision().attempt()).isEqualTo(3);
        assertThat(script.attempts.get(1).lease().isOpen()).isFalse();
    }
}

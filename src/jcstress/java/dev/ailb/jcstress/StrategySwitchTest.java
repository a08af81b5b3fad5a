package dev.ailb.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * {@code setStrategy} on one thread while another selects. The selection reads one published
 * view, with the old strategy's picker or the new one's, so it must neither throw nor return a
 * backend that is not available: four are registered, "a" (weight 3, one connection in flight)
 * and "b" (weight 1) available, "c" marked unhealthy and "d" in maintenance ({@code beginMaintenance})
 * with a connection in flight.
 * Once both are done, {@code getStrategy()} and the stats name the new strategy and listeners
 * have heard of the change once.
 *
 * <p>Forbidden: a selection that threw or returned "c" or "d"; the old strategy still reported
 * afterwards; a change heard twice or never.
 *
 * <p>Each nested class switches between two strategies that pick differently here, so the
 * outcome also shows which one served the selection (see each class).
 *
 * <p>Result: the backend chosen (0 "a", 1 "b", 2 "c", 3 "d", -1 threw, -2 anything else), whether
 * {@code getStrategy()} returns the new strategy (1) or not (0), {@code onStrategyChanged}
 * events, whether {@code getAllStats().strategy()} names the new strategy (1) or not (0).
 */
@Outcome(id = "0, 1, 1, 1", expect = ACCEPTABLE,
        desc = "The selection took \"a\", an available backend; the switch is complete afterwards.")
@Outcome(id = "1, 1, 1, 1", expect = ACCEPTABLE,
        desc = "The selection took \"b\", an available backend; the switch is complete afterwards.")
@Outcome(expect = FORBIDDEN,
        desc = "The selection threw or took an unavailable backend, or the switch is not complete afterwards.")
public abstract class StrategySwitchTest {
    /** A client address that IP_HASH sends to "b" while "a" and "b" are the available pair. */
    static final Request HASHES_TO_B = Fixtures.addressHashingTo("b");

    private final Fixtures.Events events = new Fixtures.Events();
    private final LoadBalancer lb;
    private final BalancingStrategy next;
    private final Request request;
    private final List<Backend> backends;

    StrategySwitchTest(BalancingStrategy initial, BalancingStrategy next, Request request) {
        this.next = next;
        this.request = request;
        lb = Fixtures.balancer(initial, new Fixtures.DrainTimers());
        backends = new ArrayList<>(Fixtures.registerPair(lb));
        Backend c = lb.addBackend("c", Fixtures.HOST, 8003);
        Backend d = lb.addBackend("d", Fixtures.HOST, 8004);
        backends.add(c);
        backends.add(d);
        lb.acquireConnection(backends.get(0));
        lb.setBackendHealthy("c", false);
        lb.acquireConnection(d);
        lb.beginMaintenance("d"); // maintenance rather than removal: no drain timeout outlives the test
        lb.addListener(events);
    }

    final void switchStrategy() {
        lb.setStrategy(next);
    }

    final void select(IIII_Result r) {
        Backend chosen;
        try {
            chosen = lb.selectBackend(request);
        } catch (RuntimeException e) {
            r.r1 = -1;
            return;
        }
        int at = backends.indexOf(chosen);
        r.r1 = at >= 0 ? at : -2;
    }

    final void collect(IIII_Result r) {
        r.r2 = lb.getStrategy() == next ? 1 : 0;
        r.r3 = events.strategyChanges();
        r.r4 = lb.getAllStats().strategy().equals(next.name()) ? 1 : 0;
    }

    /** Round robin starts its rotation at "a"; least connections takes "b" ("a" has one in flight). */
    @JCStressTest
    @State
    @Description("Switching ROUND_ROBIN to LEAST_CONNECTIONS during a selection.")
    public static class RoundRobinToLeastConnections extends StrategySwitchTest {
        public RoundRobinToLeastConnections() {
            super(BalancingStrategy.ROUND_ROBIN, BalancingStrategy.LEAST_CONNECTIONS, Fixtures.REQUEST);
        }

        @Actor
        public void switcher() {
            switchStrategy();
        }

        @Actor
        public void selector(IIII_Result r) {
            select(r);
        }

        @Arbiter
        public void arbiter(IIII_Result r) {
            collect(r);
        }
    }

    /** Least connections takes "b"; weighted round robin gives its first slot to the heavier "a". */
    @JCStressTest
    @State
    @Description("Switching LEAST_CONNECTIONS to WEIGHTED_ROUND_ROBIN during a selection.")
    public static class LeastConnectionsToWeightedRoundRobin extends StrategySwitchTest {
        public LeastConnectionsToWeightedRoundRobin() {
            super(BalancingStrategy.LEAST_CONNECTIONS, BalancingStrategy.WEIGHTED_ROUND_ROBIN, Fixtures.REQUEST);
        }

        @Actor
        public void switcher() {
            switchStrategy();
        }

        @Actor
        public void selector(IIII_Result r) {
            select(r);
        }

        @Arbiter
        public void arbiter(IIII_Result r) {
            collect(r);
        }
    }

    /** Weighted round robin takes "a"; IP_HASH sends this client's address to "b". */
    @JCStressTest
    @State
    @Description("Switching WEIGHTED_ROUND_ROBIN to IP_HASH during a selection.")
    public static class WeightedRoundRobinToIpHash extends StrategySwitchTest {
        public WeightedRoundRobinToIpHash() {
            super(BalancingStrategy.WEIGHTED_ROUND_ROBIN, BalancingStrategy.IP_HASH, HASHES_TO_B);
        }

        @Actor
        public void switcher() {
            switchStrategy();
        }

        @Actor
        public void selector(IIII_Result r) {
            select(r);
        }

        @Arbiter
        public void arbiter(IIII_Result r) {
            collect(r);
        }
    }
}

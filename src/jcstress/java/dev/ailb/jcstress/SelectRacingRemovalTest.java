package dev.ailb.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.Lease;
import dev.ailb.Request;
import java.util.List;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * A selection racing {@code removeBackend("a")}. The removing actor sets a volatile flag once the
 * call has returned; the selecting actor reads the flag and then selects. A selection that starts
 * after the removal has returned must never get "a": the balancer publishes the view without "a"
 * before {@code removeBackend} returns, and the flag orders that publication before the
 * selection's read of the view.
 *
 * <p>Forbidden: the flag was seen set and the selection still returned "a"; a selection that
 * threw or returned something else, since "b" stays available throughout.
 *
 * <p>Each nested class runs the race under one strategy, set up so that "a" is the strategy's
 * first choice while it is available (first in the rotation, the larger weight, the fewest
 * connections, the lower resource score, the address that hashes to it), so that a stale view
 * would show up as a pick of "a" rather than hide behind a pick of "b".
 *
 * <p>Result: whether the flag was seen set (0 or 1), then the backend chosen: 0 for "a", 1 for
 * "b", -1 if the selection threw, -2 for anything else.
 */
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "The selection ran before the removal was visible and took \"a\".")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "The flag was not seen yet, but the view without \"a\" was.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "The removal had returned; the selection took \"b\".")
@Outcome(id = "1, 0", expect = FORBIDDEN,
        desc = "The removal had returned and was seen, yet the selection still took \"a\".")
@Outcome(expect = FORBIDDEN, desc = "The selection threw or returned a backend it was not offered.")
public abstract class SelectRacingRemovalTest {
    /** A client address that IP_HASH sends to "a" while "a" and "b" are both available. */
    static final Request HASHES_TO_A = Fixtures.addressHashingTo("a");

    final LoadBalancer lb;
    final List<Backend> backends;
    private final Request request;
    private volatile boolean removed;

    SelectRacingRemovalTest(BalancingStrategy strategy, Request request) {
        this.request = request;
        lb = Fixtures.balancer(strategy, new Fixtures.DrainTimers());
        backends = Fixtures.registerPair(lb);
        Backend b = backends.get(1);
        lb.acquireConnection(b); // "a" has fewer connections
        lb.updateBackendResources("a", 0.1, 0.1);
        lb.updateBackendResources("b", 0.9, 0.9);
    }

    final void removeThenFlag() {
        lb.removeBackend("a");
        removed = true;
    }

    final void readFlagThenSelect(II_Result r) {
        r.r1 = removed ? 1 : 0;
        r.r2 = choose(request);
    }

    /** Selects once and returns the position of the choice; see the result layout above. */
    int choose(Request request) {
        Backend chosen;
        try {
            chosen = lb.selectBackend(request);
        } catch (RuntimeException e) {
            return -1;
        }
        int at = backends.indexOf(chosen);
        return at >= 0 ? at : -2;
    }

    /** Strict rotation, whose cursor starts at "a". */
    @JCStressTest
    @State
    @Description("ROUND_ROBIN never selects a backend whose removal has returned.")
    public static class RoundRobin extends SelectRacingRemovalTest {
        public RoundRobin() {
            super(BalancingStrategy.ROUND_ROBIN, Fixtures.REQUEST);
        }

        @Actor
        public void remover() {
            removeThenFlag();
        }

        @Actor
        public void selector(II_Result r) {
            readFlagThenSelect(r);
        }
    }

    /**
     * Prefix affinity with a prompt already routed once, so that the pick reads and writes the
     * backends' prefix indexes while the removal drops "a"'s: one after the removal must not take "a".
     */
    @JCStressTest
    @State
    @Description("PREFIX_AFFINITY never selects a backend whose removal has returned.")
    public static class PrefixAffinity extends SelectRacingRemovalTest {
        static final Request PROMPTED = Fixtures.REQUEST.withPrompt("a system prompt of two whole blocks. ".repeat(16));

        public PrefixAffinity() {
            super(BalancingStrategy.PREFIX_AFFINITY, PROMPTED);
            lb.selectBackend(PROMPTED);
        }

        @Actor
        public void remover() {
            removeThenFlag();
        }

        @Actor
        public void selector(II_Result r) {
            readFlagThenSelect(r);
        }
    }

    /** Smooth weighted rotation, whose first slot goes to the heavier "a". */
    @JCStressTest
    @State
    @Description("WEIGHTED_ROUND_ROBIN never selects a backend whose removal has returned.")
    public static class WeightedRoundRobin extends SelectRacingRemovalTest {
        public WeightedRoundRobin() {
            super(BalancingStrategy.WEIGHTED_ROUND_ROBIN, Fixtures.REQUEST);
        }

        @Actor
        public void remover() {
            removeThenFlag();
        }

        @Actor
        public void selector(II_Result r) {
            readFlagThenSelect(r);
        }
    }

    /** Fewest connections per weight: "a" has none, "b" one. */
    @JCStressTest
    @State
    @Description("LEAST_CONNECTIONS never selects a backend whose removal has returned.")
    public static class LeastConnections extends SelectRacingRemovalTest {
        public LeastConnections() {
            super(BalancingStrategy.LEAST_CONNECTIONS, Fixtures.REQUEST);
        }

        @Actor
        public void remover() {
            removeThenFlag();
        }

        @Actor
        public void selector(II_Result r) {
            readFlagThenSelect(r);
        }
    }

    /** Lowest cost: "a" is idle and never measured, "b" has a request pending. */
    @JCStressTest
    @State
    @Description("LEAST_RESPONSE_TIME never selects a backend whose removal has returned.")
    public static class LeastResponseTime extends SelectRacingRemovalTest {
        public LeastResponseTime() {
            super(BalancingStrategy.LEAST_RESPONSE_TIME, Fixtures.REQUEST);
        }

        @Actor
        public void remover() {
            removeThenFlag();
        }

        @Actor
        public void selector(II_Result r) {
            readFlagThenSelect(r);
        }
    }

    /** Consistent hashing of an address that lands on "a". */
    @JCStressTest
    @State
    @Description("IP_HASH never selects a backend whose removal has returned.")
    public static class IpHash extends SelectRacingRemovalTest {
        public IpHash() {
            super(BalancingStrategy.IP_HASH, HASHES_TO_A);
        }

        @Actor
        public void remover() {
            removeThenFlag();
        }

        @Actor
        public void selector(II_Result r) {
            readFlagThenSelect(r);
        }
    }

    /** Uniform draws: "a" half of the time while it is available. */
    @JCStressTest
    @State
    @Description("RANDOM never selects a backend whose removal has returned.")
    public static class Random extends SelectRacingRemovalTest {
        public Random() {
            super(BalancingStrategy.RANDOM, Fixtures.REQUEST);
        }

        @Actor
        public void remover() {
            removeThenFlag();
        }

        @Actor
        public void selector(II_Result r) {
            readFlagThenSelect(r);
        }
    }

    /** With two backends the lower score wins: "a" reported low usage and has no connection. */
    @JCStressTest
    @State
    @Description("RESOURCE_BASED never selects a backend whose removal has returned.")
    public static class ResourceBased extends SelectRacingRemovalTest {
        public ResourceBased() {
            super(BalancingStrategy.RESOURCE_BASED, Fixtures.REQUEST);
        }

        @Actor
        public void remover() {
            removeThenFlag();
        }

        @Actor
        public void selector(II_Result r) {
            readFlagThenSelect(r);
        }
    }

    /**
     * Round robin through {@code acquire(request)}: the selection and the acquisition are one
     * step, which re-picks when the backend it chose stopped taking requests in between. The lease
     * is closed at once; closing one on "a" ends the drain.
     */
    @JCStressTest
    @State
    @Description("acquire(request) never leases a backend whose removal has returned.")
    public static class RoundRobinLease extends SelectRacingRemovalTest {
        public RoundRobinLease() {
            super(BalancingStrategy.ROUND_ROBIN, Fixtures.REQUEST);
        }

        @Actor
        public void remover() {
            removeThenFlag();
        }

        @Actor
        public void selector(II_Result r) {
            readFlagThenSelect(r);
        }

        @Override
        int choose(Request request) {
            Lease lease;
            try {
                lease = lb.acquire(request);
            } catch (RuntimeException e) {
                return -1;
            }
            lease.success();
            int at = backends.indexOf(lease.backend());
            return at >= 0 ? at : -2;
        }
    }
}

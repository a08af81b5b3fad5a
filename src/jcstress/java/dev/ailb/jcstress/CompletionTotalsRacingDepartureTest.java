package dev.ailb.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerMetrics;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * The two last connections of draining backend "a" released at once. Whichever release comes
 * second ends the drain, and the backend leaves on that thread, folding its completion figures
 * into the balancer's, while the other release may still be recording its own. Both completions
 * must be in the overall figures exactly once: counts, time sum and histogram.
 *
 * <p>Result: successes × 10 + failures (11), the overall average response time in microseconds
 * (2: one of 1 µs and one of 3 µs), and 1 if the overall median lies below the overall p99, which
 * holds only if the histogram has both (a histogram missing either has the two equal).
 */
@JCStressTest
@State
@Description("Completions racing their backend's departure are counted once in the overall figures.")
@Outcome(id = "11, 2, 1", expect = ACCEPTABLE, desc = "Both completions counted once everywhere.")
@Outcome(expect = FORBIDDEN, desc = "A completion lost or counted twice in a count, the time sum or the histogram.")
public class CompletionTotalsRacingDepartureTest {
    private final LoadBalancer lb;
    private final Backend a;

    public CompletionTotalsRacingDepartureTest() {
        lb = Fixtures.balancer(BalancingStrategy.ROUND_ROBIN, new Fixtures.DrainTimers());
        a = Fixtures.registerPair(lb).get(0);
        lb.acquireConnection(a);
        lb.acquireConnection(a);
        lb.removeBackend("a");
    }

    @Actor
    public void fast() {
        Fixtures.release(lb, a, 1_000L, true);
    }

    @Actor
    public void slow() {
        Fixtures.release(lb, a, 3_000L, false);
    }

    @Arbiter
    public void totals(III_Result r) {
        LoadBalancerMetrics m = lb.getAllStats().metrics();
        r.r1 = (int) (m.successes() * 10 + m.failures());
        r.r2 = (int) (m.avgResponseTime().toNanos() / 1_000);
        r.r3 = m.p50ResponseTime().compareTo(m.p99ResponseTime()) < 0 ? 1 : 0;
    }
}

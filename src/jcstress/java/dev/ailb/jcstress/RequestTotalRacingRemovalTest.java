package dev.ailb.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * Selections and a read of the request total racing {@code removeBackend("a")}, which has no
 * connection, so it leaves at once and its request count is folded into the balancer's total. A
 * selection counted on "a" just before or just after the fold must be in the total exactly once,
 * and a read that overlaps the departure must see neither a count twice nor a count missing.
 *
 * <p>The selecting actor selects, reads the total, and selects again. Result: the total it read
 * (1: its first selection, nothing else), then the total afterwards minus the selections made
 * (0), then the selections made (2; "b" stays, so both succeed).
 */
@JCStressTest
@State
@Description("The request total counts every selection exactly once while a backend leaves.")
@Outcome(id = "1, 0, 2", expect = ACCEPTABLE, desc = "Every selection counted once, whenever it was read.")
@Outcome(expect = FORBIDDEN, desc = "A selection counted twice or not at all, or a selection failed.")
public class RequestTotalRacingRemovalTest {
    private final LoadBalancer lb;
    private int selected;

    public RequestTotalRacingRemovalTest() {
        lb = Fixtures.balancer(BalancingStrategy.ROUND_ROBIN, new Fixtures.DrainTimers());
        Fixtures.registerPair(lb);
    }

    @Actor
    public void selector(III_Result r) {
        select();
        r.r1 = (int) lb.getAllStats().metrics().totalRequests();
        select();
    }

    private void select() {
        try {
            lb.selectBackend(Fixtures.REQUEST);
            selected++;
        } catch (RuntimeException e) {
            // left out of the count: the outcome's third field shows it
        }
    }

    @Actor
    public void remover() {
        lb.removeBackend("a");
    }

    @Arbiter
    public void total(III_Result r) {
        r.r2 = (int) (lb.getAllStats().metrics().totalRequests() - selected);
        r.r3 = selected;
    }
}

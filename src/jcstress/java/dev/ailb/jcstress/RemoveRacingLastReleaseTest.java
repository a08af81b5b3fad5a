package dev.ailb.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIIIIII_Result;

/**
 * {@code removeBackend} on one thread races the release of the backend's only connection on
 * another. Either the release comes first and the removal finds nothing in flight, or the
 * removal comes first and the release finishes the drain; both checks of "no connection left"
 * may see zero, so the single compare-and-set that ends the drain must let exactly one of them
 * through.
 *
 * <p>Forbidden: the drain finished twice or never, the release refused, a count other than zero,
 * the backend still listed, a drain timeout left armed.
 *
 * <p>Result: whether the release returned, removal-future completions, {@code onBackendRemoved}
 * events, who finished the drain (1 the removing actor, 2 the releasing one, 0 nobody), active
 * connections, whether the backend is still listed, the order in which listeners heard the two
 * events (1 draining first, 2 removed first, 0 one missing), drain timeouts still pending.
 */
@JCStressTest
@Description("A removal racing the release of the last connection finishes the drain exactly once.")
@Outcome(id = "1, 1, 1, 1, 0, 0, 1, 0", expect = ACCEPTABLE,
        desc = "The removal found no connection left (or took the last one's drain) and finished it itself.")
@Outcome(id = "1, 1, 1, 2, 0, 0, 1, 0", expect = ACCEPTABLE,
        desc = "The removal came first; the release finished the drain after listeners heard of it.")
@Outcome(id = "1, 1, 1, 2, 0, 0, 2, 0", expect = ACCEPTABLE_INTERESTING,
        desc = "The release finished the drain and told onBackendRemoved before the removing thread "
                + "got to tell onBackendDraining: listeners on different threads hear the two out of order.")
@Outcome(expect = FORBIDDEN,
        desc = "The drain finished twice or not at all, or a count, a listing or a timer is wrong.")
@State
public class RemoveRacingLastReleaseTest {
    private final Fixtures.DrainTimers timers = new Fixtures.DrainTimers();
    private final Fixtures.Events events = new Fixtures.Events();
    private final LoadBalancer lb = Fixtures.balancer(BalancingStrategy.ROUND_ROBIN, timers);
    private final AtomicInteger completions = new AtomicInteger();
    private final Backend leaving;
    private Thread removerThread;
    private Thread releaserThread;
    private int released;

    public RemoveRacingLastReleaseTest() {
        lb.addListener(events);
        leaving = lb.addBackend("a", Fixtures.HOST, 8001);
        lb.addBackend("b", Fixtures.HOST, 8002);
        lb.acquireConnection(leaving);
    }

    @Actor
    public void remover() {
        removerThread = Thread.currentThread();
        lb.removeBackend("a").thenRun(completions::incrementAndGet);
    }

    @Actor
    public void releaser() {
        releaserThread = Thread.currentThread();
        released = Fixtures.release(lb, leaving, 2_000L, true);
    }

    @Arbiter
    public void arbiter(IIIIIIII_Result r) {
        Thread finisher = events.removedOn();
        r.r1 = released;
        r.r2 = completions.get();
        r.r3 = events.removed();
        r.r4 = finisher == null ? 0 : finisher == removerThread ? 1 : finisher == releaserThread ? 2 : 3;
        r.r5 = leaving.activeConnections();
        r.r6 = lb.getBackends().contains(leaving) ? 1 : 0;
        r.r7 = events.drainRemoveOrder();
        r.r8 = timers.pending();
    }
}

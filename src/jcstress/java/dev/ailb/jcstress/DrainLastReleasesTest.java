package dev.ailb.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
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
 * Two threads release, at the same moment, the last two connections of a backend that
 * {@code removeBackend} has put to draining. Whichever release comes second must finish the drain,
 * and only it: the removal future completes once, listeners hear {@code onBackendRemoved} once,
 * the count ends at zero, the backend is no longer in {@code getBackends()}, both successes are in
 * the totals and the drain timeout is cancelled.
 *
 * <p>Forbidden: a release that throws, a drain finished twice or never, a count left above zero
 * (or wrapped below it), a backend still listed, a lost success, or a drain timeout still armed.
 *
 * <p>Result: releases that returned, removal-future completions, {@code onBackendRemoved} events,
 * which actor's release finished the drain (1 or 2; 0 for neither), active connections, whether
 * the backend is still listed, total successes, drain timeouts still pending.
 */
@JCStressTest
@Description("The two last releases of a draining backend finish its drain exactly once.")
@Outcome(id = "2, 1, 1, 1, 0, 0, 2, 0", expect = ACCEPTABLE,
        desc = "The first actor's release came second and finished the drain; everything counted once.")
@Outcome(id = "2, 1, 1, 2, 0, 0, 2, 0", expect = ACCEPTABLE,
        desc = "The second actor's release came second and finished the drain; everything counted once.")
@Outcome(expect = FORBIDDEN,
        desc = "The drain finished twice or not at all, or a count, a listing or a timer is wrong.")
@State
public class DrainLastReleasesTest {
    private final Fixtures.DrainTimers timers = new Fixtures.DrainTimers();
    private final Fixtures.Events events = new Fixtures.Events();
    private final LoadBalancer lb = Fixtures.balancer(BalancingStrategy.ROUND_ROBIN, timers);
    private final AtomicInteger completions = new AtomicInteger();
    private final Backend leaving;
    private Thread firstThread;
    private Thread secondThread;
    private int firstReleased;
    private int secondReleased;

    public DrainLastReleasesTest() {
        lb.addListener(events);
        leaving = lb.addBackend("a", Fixtures.HOST, 8001);
        lb.addBackend("b", Fixtures.HOST, 8002);
        lb.acquireConnection(leaving);
        lb.acquireConnection(leaving);
        lb.removeBackend("a").thenRun(completions::incrementAndGet);
    }

    @Actor
    public void first() {
        firstThread = Thread.currentThread();
        firstReleased = Fixtures.release(lb, leaving, 1_000L, true);
    }

    @Actor
    public void second() {
        secondThread = Thread.currentThread();
        secondReleased = Fixtures.release(lb, leaving, 3_000L, true);
    }

    @Arbiter
    public void arbiter(IIIIIIII_Result r) {
        Thread finisher = events.removedOn();
        r.r1 = firstReleased + secondReleased;
        r.r2 = completions.get();
        r.r3 = events.removed();
        r.r4 = finisher == null ? 0 : finisher == firstThread ? 1 : finisher == secondThread ? 2 : 3;
        r.r5 = leaving.activeConnections();
        r.r6 = lb.getBackends().contains(leaving) ? 1 : 0;
        r.r7 = (int) lb.getAllStats().metrics().successes();
        r.r8 = timers.pending();
    }
}

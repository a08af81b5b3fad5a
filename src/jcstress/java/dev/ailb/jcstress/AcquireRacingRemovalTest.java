package dev.ailb.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.Lease;
import java.util.concurrent.CompletableFuture;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIIIIII_Result;

/**
 * An acquisition on backend "a" racing {@code removeBackend("a")} while "a" has no connection.
 * Either the removal finishes first and the acquisition is refused, or the acquisition is counted
 * first and the removal waits for its release, with the drain timeout armed as for any removal
 * that leaves connections in flight. Afterwards the arbiter releases whatever was acquired, and
 * the drain must then be over.
 *
 * <p>Forbidden: a connection counted on a backend already removed; a removal that completed
 * while a connection was counted; a drain that waits for a connection with no drain timeout armed
 * (if that connection were never released, the backend would never leave and its id could never
 * be registered again, whatever {@code drainTimeout} says); a drain not over once the connection
 * is released.
 *
 * <p>Result: where the racing actor got a connection (1 on "a", 2 on "b", 0 nowhere); then, before
 * the arbiter releases it, whether "a" is removed, whether the removal future is complete, drain
 * timeouts armed, active connections on "a"; then, after the release, whether the future is
 * complete, {@code onBackendRemoved} events, whether "a" is still listed.
 */
@Outcome(id = "0, 1, 1, 0, 0, 1, 1, 0", expect = ACCEPTABLE,
        desc = "The removal finished first; the acquisition on \"a\" was refused.")
@Outcome(id = "2, 1, 1, 0, 0, 1, 1, 0", expect = ACCEPTABLE,
        desc = "The removal finished first; the lease went to \"b\".")
@Outcome(id = "1, 0, 0, 1, 1, 1, 1, 0", expect = ACCEPTABLE,
        desc = "The connection was counted first; the drain waited for it with its timeout armed.")
@Outcome(id = "1, 0, 0, 0, 1, 1, 1, 0", expect = FORBIDDEN,
        desc = "The connection was counted after the removal decided it had nothing in flight and "
                + "before it finished the drain: the drain waits for it with no timeout armed.")
@Outcome(expect = FORBIDDEN,
        desc = "A connection on a removed backend, a removal completed too early, or a drain not over after the release.")
public abstract class AcquireRacingRemovalTest {
    final Fixtures.DrainTimers timers = new Fixtures.DrainTimers();
    final Fixtures.Events events = new Fixtures.Events();
    final LoadBalancer lb = Fixtures.balancer(BalancingStrategy.ROUND_ROBIN, timers);
    final Backend a;
    final Backend b;
    private CompletableFuture<Void> removal;
    private Backend held;

    AcquireRacingRemovalTest() {
        lb.addListener(events);
        a = lb.addBackend("a", Fixtures.HOST, 8001);
        b = lb.addBackend("b", Fixtures.HOST, 8002);
    }

    /** Tries to get a connection; returns the backend it is counted on, or null. */
    abstract Backend acquire();

    /** Releases the connection acquired on {@code on}. */
    abstract void release(Backend on);

    final void remove() {
        removal = lb.removeBackend("a");
    }

    final void acquireAndKeep() {
        held = acquire();
    }

    final void releaseAndCollect(IIIIIIII_Result r) {
        r.r1 = held == null ? 0 : held == a ? 1 : 2;
        r.r2 = a.isRemoved() ? 1 : 0;
        r.r3 = removal.isDone() ? 1 : 0;
        r.r4 = timers.armed();
        r.r5 = a.activeConnections();
        if (held != null) {
            release(held);
        }
        r.r6 = removal.isDone() ? 1 : 0;
        r.r7 = events.removed();
        r.r8 = lb.getBackends().contains(a) ? 1 : 0;
    }

    /** {@code tryAcquireConnection(a)} directly, as a caller holding "a" from an earlier selection would. */
    @JCStressTest
    @State
    @Description("tryAcquireConnection racing removeBackend on a backend without connections.")
    public static class TryAcquireConnection extends AcquireRacingRemovalTest {
        @Actor
        public void remover() {
            remove();
        }

        @Actor
        public void acquirer() {
            acquireAndKeep();
        }

        @Arbiter
        public void arbiter(IIIIIIII_Result r) {
            releaseAndCollect(r);
        }

        @Override
        Backend acquire() {
            return lb.tryAcquireConnection(a) ? a : null;
        }

        @Override
        void release(Backend on) {
            lb.releaseConnection(on, 1_000L, true);
        }
    }

    /** {@code acquire(request)} under round robin, whose rotation starts at "a". */
    @JCStressTest
    @State
    @Description("acquire(request) racing removeBackend on a backend without connections.")
    public static class AcquireLease extends AcquireRacingRemovalTest {
        private Lease lease;

        @Actor
        public void remover() {
            remove();
        }

        @Actor
        public void acquirer() {
            acquireAndKeep();
        }

        @Arbiter
        public void arbiter(IIIIIIII_Result r) {
            releaseAndCollect(r);
        }

        @Override
        Backend acquire() {
            try {
                lease = lb.acquire(Fixtures.REQUEST);
            } catch (RuntimeException e) {
                return null;
            }
            return lease.backend();
        }

        @Override
        void release(Backend on) {
            lease.success();
        }
    }
}

package dev.ailb.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ailb.Backend;
import dev.ailb.BackendStats;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerMetrics;
import dev.ailb.Lease;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIIIIII_Result;

/**
 * Two threads each route one request to the same backend, hold a connection and release it, one
 * as a success and one as a failure. The connection count and the request, success and failure
 * totals are updated by different atomic steps on both threads at once; once both are done they
 * must be exact, per backend ({@code getBackendStats}) and overall ({@code getAllStats().metrics()}).
 *
 * <p>Forbidden: a count left above zero, a request, success or failure lost or counted twice,
 * per-backend and overall totals that disagree, or a thread that saw its own connection missing
 * from the count (0) or a count above the two connections that exist.
 *
 * <p>Result: the highest count either actor saw right after acquiring (1: the two connections
 * never overlapped, 2: they did; -1 if either saw 0, more than 2, or its calls threw), active
 * connections at the end, then the backend's requests, successes and failures, then the overall
 * requests, successes and failures.
 */
@Outcome(id = "1, 0, 2, 1, 1, 2, 1, 1", expect = ACCEPTABLE,
        desc = "The two connections did not overlap; every total is exact.")
@Outcome(id = "2, 0, 2, 1, 1, 2, 1, 1", expect = ACCEPTABLE,
        desc = "Both connections were held at once; every total is exact.")
@Outcome(expect = FORBIDDEN, desc = "A connection, request, success or failure was lost or counted twice.")
public abstract class ConnectionCountsTest {
    final LoadBalancer lb = Fixtures.balancer(BalancingStrategy.LEAST_CONNECTIONS, new Fixtures.DrainTimers());
    final Backend only = lb.addBackend("a", Fixtures.HOST, 8001);
    private int seenByFirst;
    private int seenBySecond;

    final void firstRoundTrip() {
        seenByFirst = roundTrip(true, 1_000L);
    }

    final void secondRoundTrip() {
        seenBySecond = roundTrip(false, 3_000L);
    }

    /**
     * Routes one request, holds a connection for it and releases it with the given outcome;
     * returns the active count seen while holding it, or -1 if a call threw.
     */
    abstract int roundTrip(boolean success, long nanos);

    final void collect(IIIIIIII_Result r) {
        BackendStats s = lb.getBackendStats("a");
        LoadBalancerMetrics m = lb.getAllStats().metrics();
        r.r1 = Math.max(seenByFirst, seenBySecond) > 2 || Math.min(seenByFirst, seenBySecond) < 1
                ? -1 : Math.max(seenByFirst, seenBySecond);
        r.r2 = only.activeConnections();
        r.r3 = (int) s.totalRequests();
        r.r4 = (int) s.successes();
        r.r5 = (int) s.failures();
        r.r6 = (int) m.totalRequests();
        r.r7 = (int) m.successes();
        r.r8 = (int) m.failures();
    }

    /** {@code selectBackend}, {@code acquireConnection}, {@code releaseConnection(backend, nanos, success)}. */
    @JCStressTest
    @State
    @Description("Concurrent select, acquire and release keep exact counts and totals.")
    public static class SelectAcquireRelease extends ConnectionCountsTest {
        @Actor
        public void first() {
            firstRoundTrip();
        }

        @Actor
        public void second() {
            secondRoundTrip();
        }

        @Arbiter
        public void arbiter(IIIIIIII_Result r) {
            collect(r);
        }

        @Override
        int roundTrip(boolean success, long nanos) {
            try {
                Backend backend = lb.selectBackend(Fixtures.REQUEST);
                lb.acquireConnection(backend);
                int seen = backend.activeConnections();
                lb.releaseConnection(backend, nanos, success);
                return seen;
            } catch (RuntimeException e) {
                return -1;
            }
        }
    }

    /**
     * {@code acquire(request)} and the lease's outcome. The failing side closes its lease without
     * an outcome, which counts as a failure; the succeeding side closes it again after
     * {@code success()}, which must change nothing.
     */
    @JCStressTest
    @State
    @Description("Concurrent leases keep exact counts and totals, and release exactly once.")
    public static class Leases extends ConnectionCountsTest {
        @Actor
        public void first() {
            firstRoundTrip();
        }

        @Actor
        public void second() {
            secondRoundTrip();
        }

        @Arbiter
        public void arbiter(IIIIIIII_Result r) {
            collect(r);
        }

        @Override
        int roundTrip(boolean success, long nanos) {
            try {
                Lease lease = lb.acquire(Fixtures.REQUEST);
                int seen = lease.backend().activeConnections();
                if (success) {
                    lease.success();
                }
                lease.close();
                return seen;
            } catch (RuntimeException e) {
                return -1;
            }
        }
    }
}

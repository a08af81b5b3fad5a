package dev.ailb.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ailb.AdmissionStats;
import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerMetrics;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIIIII_Result;

/**
 * A waiter's future cancelled while the release of the only connection admits it. The fleet is
 * one backend with a limit of one connection, held; one request waits for it. One actor releases
 * the held lease, which hands the connection to the waiter; the other cancels the waiter's future.
 * Either the admission wins (the future holds a lease, the connection is counted on the backend
 * and the request as routed) or the cancellation does (the waiter is withdrawn: it left the queue
 * before the release, or the release found its future cancelled and gave the connection back,
 * counting nothing).
 *
 * <p>Forbidden: a connection left counted with no lease to release it (a leak), a cancelled
 * request counted as routed or as a failure, a waiter neither admitted nor withdrawn, or both.
 *
 * <p>Result: whether the future was cancelled; connections on the backend; the admission queue's
 * admitted and withdrawn counts and its depth; requests routed; failures; all read by the arbiter
 * before it releases a lease the waiter may hold.
 */
@JCStressTest
@State
@Description("Cancelling a waiting acquireAsync racing the release that admits it.")
@Outcome(id = "0, 1, 1, 0, 0, 2, 0", expect = ACCEPTABLE,
        desc = "The admission won: the waiter holds the connection, counted as a request.")
@Outcome(id = "1, 0, 0, 1, 0, 1, 0", expect = ACCEPTABLE,
        desc = "The cancellation won: the waiter was withdrawn and the connection is free.")
@Outcome(expect = FORBIDDEN,
        desc = "A leaked connection, a cancelled request counted, or a waiter counted twice or not at all.")
public class CancelRacingAdmissionTest {
    private final LoadBalancer lb = LoadBalancer.builder()
            .strategy(BalancingStrategy.ROUND_ROBIN)
            .healthCheckScheduler(new Fixtures.DrainTimers())
            .connectionLimit(1)
            .admissionQueue(4, Duration.ofDays(1))
            .maxSessions(1)
            .build();
    private final Backend a;
    private final Lease held;
    private final CompletableFuture<Lease> waiter;

    public CancelRacingAdmissionTest() {
        a = lb.addBackend("a", Fixtures.HOST, 8001);
        held = lb.acquire(Fixtures.REQUEST);
        waiter = lb.acquireAsync(Fixtures.REQUEST);
    }

    @Actor
    public void releaser() {
        held.success();
    }

    @Actor
    public void canceller() {
        waiter.cancel(false);
    }

    @Arbiter
    public void arbiter(IIIIIII_Result r) {
        AdmissionStats s = lb.getAdmissionStats();
        LoadBalancerMetrics m = lb.getAllStats().metrics();
        r.r1 = waiter.isCancelled() ? 1 : 0;
        r.r2 = a.activeConnections();
        r.r3 = (int) s.admitted();
        r.r4 = (int) s.withdrawn();
        r.r5 = s.waiting();
        r.r6 = (int) m.totalRequests();
        r.r7 = (int) m.failures();
        if (!waiter.isCompletedExceptionally()) {
            waiter.join().success();
        }
        lb.close();
    }
}

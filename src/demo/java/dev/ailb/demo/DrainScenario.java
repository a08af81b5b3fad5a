package dev.ailb.demo;

import static dev.ailb.demo.Demo.DRAIN_PHASES;
import static dev.ailb.demo.Demo.DRAIN_STRATEGY;
import static dev.ailb.demo.Demo.DRAIN_VICTIM;
import static dev.ailb.demo.Demo.FLEET;
import static dev.ailb.demo.Demo.SEED;
import static dev.ailb.demo.Demo.STRATEGIES;

import dev.ailb.Backend;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerListener;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The drain scenario of the demo: one instance is removed with {@code removeBackend} while it has
 * requests in flight; they finish, and it leaves the balancer with the last one. Not thread-safe: one
 * run at a time, from one thread.
 */
final class DrainScenario {

    /** The drain scenario removes its instance while one of its requests has at least this to go. */
    private static final Duration DRAIN_MARGIN = Duration.ofMillis(3);

    private DrainScenario() {}

    /**
     * Sends requests without a pause through a least-connections balancer, over leases, and removes
     * {@link Demo#DRAIN_VICTIM} gracefully while some of them are on it:
     * <ol>
     *   <li>before: every instance in, for a set number of requests and until the instance has its
     *       share of the requests in flight, one of them with {@link #DRAIN_MARGIN} still to go by its
     *       service time; {@code removeBackend} is called then;
     *   <li>draining: from the return of {@code removeBackend} until its future completes, when the
     *       last of the instance's requests in flight has been released;
     *   <li>after: the instance gone, until as many requests again have completed.
     * </ol>
     * A request belongs to the phase in which its client asked for its lease; one that asked while
     * {@code removeBackend} was running counts as before. The requests in flight when the traffic
     * stops are waited for, so every request sent is counted exactly once.
     */
    static DrainReport run(PrintStream out, Clients clients, Fleet fleet, int requests,
                                                int threads, Demo.HealthTiming timing, String[] clientAddresses)
            throws InterruptedException {
        int phaseRequests = Math.max(4 * threads, requests / 8);
        // Least connections spreads the requests in flight evenly; wait for the victim's fair share,
        // one of which has, by its service time, at least DRAIN_MARGIN to go: it is still in flight
        // when removeBackend has returned.
        int target = (threads + FLEET.size() - 1) / FLEET.size();
        SimulatedInstance victim = fleet.instance(DRAIN_VICTIM);
        Duration maxWait = DemoThreads.STATE_WAIT.plus(timing.interval().multipliedBy(20));
        out.println("=== drain: " + DRAIN_VICTIM + " removed while requests flow (" + DRAIN_STRATEGY.name() + ") ===");
        out.println(String.format(Locale.ROOT,
                "  requests flow from %d client threads over leases; after %,d of them, %s is removed with",
                threads, phaseRequests, DRAIN_VICTIM));
        out.println("  removeBackend while it has requests in flight; they finish, and it leaves with the last one");

        try (LoadBalancer lb = Demo.newBalancer(DRAIN_STRATEGY, SEED + STRATEGIES.size() + 2, timing)) {
            HealthLog log = new HealthLog(out);
            lb.addListener(log);
            lb.addListener(new LoadBalancerListener() {
                @Override
                public void onBackendDraining(Backend backend) {
                    log.note(backend.id() + " draining: no new requests, " + backend.activeConnections()
                            + " in flight go on");
                }

                @Override
                public void onBackendRemoved(Backend backend) {
                    log.note(backend.id() + " removed: its last request in flight was released");
                }
            });
            Demo.addFleet(lb, fleet);
            Backend backend = lb.getBackend(DRAIN_VICTIM).orElseThrow();
            lb.startHealthChecker();
            try {
                log.note("requests start");
                long start = System.nanoTime();
                Traffic traffic = clients.startTraffic(lb, clientAddresses, true);
                AtomicInteger inFlight = new AtomicInteger();
                AtomicLong drainedAt = new AtomicLong();
                long calledAt;
                long removedAt;
                CompletableFuture<Void> done;
                try {
                    DemoThreads.await("the first " + phaseRequests + " requests, and " + target + " in flight on "
                                    + DRAIN_VICTIM, maxWait, () -> traffic.completed() >= phaseRequests
                                    && traffic.open.entrySet().stream().anyMatch(e -> e.getValue().backend()
                                            .equals(DRAIN_VICTIM) && e.getValue().acquiringAt()
                                            + victim.serviceNanos(Clients.request(e.getKey(), "").id())
                                            - System.nanoTime() > DRAIN_MARGIN.toNanos())
                                    && inFlight.updateAndGet(n -> backend.activeConnections()) >= target);
                    calledAt = System.nanoTime();
                    done = lb.removeBackend(DRAIN_VICTIM);
                    removedAt = System.nanoTime();
                    done.thenRun(() -> drainedAt.set(System.nanoTime()));
                    log.note(String.format(Locale.ROOT, "removeBackend(%s) returned; in flight on it when called: %d",
                            DRAIN_VICTIM, inFlight.get()));
                    DemoThreads.await(DRAIN_VICTIM + " to drain", maxWait, () -> drainedAt.get() != 0);
                    log.note(String.format(Locale.ROOT, "%s drain future completed, %.1f ms after removeBackend"
                            + " returned", DRAIN_VICTIM, Math.max(0L, drainedAt.get() - removedAt) / 1e6));
                    long afterFrom = traffic.completed();
                    DemoThreads.await(phaseRequests + " requests without " + DRAIN_VICTIM, maxWait,
                            () -> traffic.completed() >= afterFrom + phaseRequests);
                } finally {
                    traffic.stop(); // returns once every request in flight has been released
                }
                long end = System.nanoTime();
                log.note("requests stop; every one sent has been released");

                long[] bounds = {start, removedAt, Math.max(removedAt, drainedAt.get()), end};
                List<Map<String, Long>> routed = new ArrayList<>();
                List<Map<String, Long>> failed = new ArrayList<>();
                for (int i = 0; i < DRAIN_PHASES.size(); i++) {
                    routed.add(new LinkedHashMap<>());
                    failed.add(new LinkedHashMap<>());
                }
                long finishedDraining = 0;
                long failedDraining = 0;
                for (Routed r : traffic.routes) {
                    int phase = r.acquiringAt() - bounds[1] < 0 ? 0 : r.acquiringAt() - bounds[2] < 0 ? 1 : 2;
                    routed.get(phase).merge(r.backend(), 1L, Long::sum);
                    if (!r.success()) {
                        failed.get(phase).merge(r.backend(), 1L, Long::sum);
                    }
                    if (r.backend().equals(DRAIN_VICTIM) && r.releasingAt() - calledAt > 0) {
                        finishedDraining++;
                        failedDraining += r.success() ? 0 : 1;
                    }
                }
                List<DrainPhase> phases = new ArrayList<>();
                for (int i = 0; i < DRAIN_PHASES.size(); i++) {
                    phases.add(new DrainPhase(DRAIN_PHASES.get(i), bounds[i + 1] - bounds[i],
                            Collections.unmodifiableMap(routed.get(i)), Collections.unmodifiableMap(failed.get(i))));
                }
                DrainReport report = new DrainReport(DRAIN_VICTIM, inFlight.get(), finishedDraining, failedDraining,
                        done.isDone() && !done.isCompletedExceptionally(), backend.isRemoved(),
                        bounds[2] - bounds[1], List.copyOf(phases), traffic.sent.sum(), traffic.succeeded.sum(),
                        traffic.failed.sum(), traffic.rejected.sum(), traffic.transportErrors.sum(),
                        lb.getAllStats(), end - start);
                Tables.printDrain(out, report);
                return report;
            } finally {
                lb.stopHealthChecker();
            }
        }
    }
}

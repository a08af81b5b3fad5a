package dev.ailb.demo;

import static dev.ailb.demo.Demo.HEALTH_STRATEGY;
import static dev.ailb.demo.Demo.HEALTH_VICTIM;
import static dev.ailb.demo.Demo.SEED;
import static dev.ailb.demo.Demo.STRATEGIES;

import dev.ailb.Backend;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerStats;
import dev.ailb.health.HealthState;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The health scenario of the demo: one instance stops while requests flow, is marked down and
 * bypassed, then comes back on the same port and is marked up and used again. Not thread-safe: one
 * run at a time, from one thread.
 */
final class HealthScenario {

    private HealthScenario() {}

    /**
     * Sends requests without a pause through a round-robin balancer while {@link Demo#HEALTH_VICTIM}
     * is stopped and restarted, and cuts the run into phases at the moments the balancer's view of
     * it changes:
     * <ol>
     *   <li>before: every instance up, for a set number of requests;
     *   <li>failing: the instance stopped (its port and its open connections closed at once), until
     *       the active checks mark it {@code UNHEALTHY}; requests that reach it meanwhile fail, and
     *       outlier detection may eject it first;
     *   <li>down: marked down, for as many requests again and until an ejection it got is over;
     *   <li>rising: restarted on the same port, until the checks mark it {@code HEALTHY};
     *   <li>back: until as many requests again have completed and it has served one of them.
     * </ol>
     * Each wait polls the state it waits for, with a bound. The requests in flight when the
     * traffic stops are waited for, so every request sent is counted exactly once.
     */
    static HealthReport run(PrintStream out, Fleet fleet, Clients clients, int requests,
                                                  int threads, Demo.HealthTiming timing, String[] clientAddresses)
            throws InterruptedException {
        SimulatedInstance victim = fleet.instance(HEALTH_VICTIM);
        int phaseRequests = Math.max(4 * threads, requests / 8);
        Duration maxWait = DemoThreads.STATE_WAIT.plus(timing.interval().multipliedBy(20));
        out.println("=== health: " + HEALTH_VICTIM + " stops and comes back (" + HEALTH_STRATEGY.name() + ") ===");
        out.println(String.format(Locale.ROOT,
                "  requests flow from %d client threads throughout; %s is stopped after %,d of them and",
                threads, HEALTH_VICTIM, phaseRequests));
        out.println(String.format(Locale.ROOT,
                "  restarted on the same port once it is marked down and %,d more have gone elsewhere", phaseRequests));

        try (LoadBalancer lb = Demo.newBalancer(HEALTH_STRATEGY, SEED + STRATEGIES.size() + 1, timing)) {
            HealthLog log = new HealthLog(out);
            lb.addListener(log);
            Demo.addFleet(lb, fleet);
            Backend backend = lb.getBackend(HEALTH_VICTIM).orElseThrow();
            int port = victim.port();
            lb.startHealthChecker();
            try {
                PhaseRecorder phases = new PhaseRecorder(lb);
                log.note("requests start");
                long start = System.nanoTime();
                Traffic traffic = clients.startTraffic(lb, clientAddresses, false);
                int restartedPort;
                try {
                    DemoThreads.await("the first " + phaseRequests + " requests", maxWait,
                            () -> traffic.completed() >= phaseRequests);
                    phases.end("before");

                    victim.stop();
                    log.note(HEALTH_VICTIM + " stopped: HttpServer.stop(0) closed port " + port
                            + " and its open connections");
                    DemoThreads.await(HEALTH_VICTIM + " to be marked UNHEALTHY", maxWait,
                            () -> backend.healthState() == HealthState.UNHEALTHY);
                    phases.end("failing");

                    long downFrom = traffic.completed();
                    DemoThreads.await(phaseRequests + " requests while " + HEALTH_VICTIM
                                    + " is down, and its ejection if any to end", maxWait,
                            () -> traffic.completed() >= downFrom + phaseRequests
                                    && lb.getBackendStats(HEALTH_VICTIM).health().ejectionRemaining().isZero());
                    phases.end("down");

                    restartedPort = victim.restart();
                    log.note(HEALTH_VICTIM + " restarted on port " + restartedPort
                            + (restartedPort == port ? ", the same" : ", NOT the same"));
                    DemoThreads.await(HEALTH_VICTIM + " to be marked HEALTHY", maxWait,
                            () -> backend.healthState() == HealthState.HEALTHY);
                    phases.end("rising");

                    long backFrom = traffic.completed();
                    long servedBefore = lb.getBackendStats(HEALTH_VICTIM).successes();
                    DemoThreads.await(phaseRequests + " requests with " + HEALTH_VICTIM
                                    + " back, one of them served by it",
                            maxWait,
                            () -> traffic.completed() >= backFrom + phaseRequests
                                    && lb.getBackendStats(HEALTH_VICTIM).successes() > servedBefore);
                } finally {
                    traffic.stop(); // returns once every request in flight has been released
                }
                long wall = System.nanoTime() - start;
                log.note("requests stop; every one sent has been released");
                phases.end("back");

                LoadBalancerStats stats = lb.getAllStats();
                HealthReport report = new HealthReport(HEALTH_VICTIM, port, restartedPort, log.events(),
                        phases.phases(), traffic.sent.sum(), traffic.succeeded.sum(), traffic.failed.sum(),
                        traffic.rejected.sum(), traffic.transportErrors.sum(), stats, wall);
                Tables.printHealth(out, report);
                return report;
            } finally {
                lb.stopHealthChecker();
            }
        }
    }

    /** Cuts a run into phases: each ends where the next begins. */
    private static final class PhaseRecorder {
        private final LoadBalancer lb;
        private final List<Phase> phases = new ArrayList<>();
        private LoadBalancerStats start;
        private long startNanos;

        PhaseRecorder(LoadBalancer lb) {
            this.lb = lb;
            this.start = lb.getAllStats();
            this.startNanos = System.nanoTime();
        }

        void end(String name) {
            LoadBalancerStats now = lb.getAllStats();
            long nanos = System.nanoTime();
            phases.add(new Phase(name, nanos - startNanos, start, now));
            start = now;
            startNanos = nanos;
        }

        List<Phase> phases() {
            return List.copyOf(phases);
        }
    }
}

package dev.ailb.demo;

import static dev.ailb.demo.Demo.DRAIN_STRATEGY;
import static dev.ailb.demo.Demo.EJECTION_FAILURES;
import static dev.ailb.demo.Demo.FLEET;
import static dev.ailb.demo.Demo.HEALTHY_THRESHOLD;
import static dev.ailb.demo.Demo.HEALTH_PATH;
import static dev.ailb.demo.Demo.HEALTH_STRATEGY;
import static dev.ailb.demo.Demo.LOOPBACK;
import static dev.ailb.demo.Demo.UNHEALTHY_THRESHOLD;

import dev.ailb.BackendStats;
import dev.ailb.LoadBalancerMetrics;
import dev.ailb.LoadBalancerStats;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo's printed report: the fleet, one table per strategy, the prefix cache, health and drain
 * scenarios' tables and the summary. Stateless.
 */
final class Tables {

    private Tables() {}

    static void printFleet(PrintStream out, Fleet fleet, int requests, int threads, double timeScale,
                                   Demo.HealthTiming timing) {
        out.println(String.format(Locale.ROOT,
                "ailb demo: %d simulated instances on %s, %,d requests per strategy, %d client threads%s",
                fleet.instances().size(), LOOPBACK, requests, threads,
                timeScale == 1.0 ? "" : String.format(Locale.ROOT, ", service times x%.2f", timeScale)));
        out.println();
        out.println(String.format(Locale.ROOT, "  %-12s %-7s %6s %7s %9s %8s %8s",
                "instance", "kind", "port", "weight", "mean ms", "fails", "cpu/mem"));
        for (SimulatedInstance instance : fleet.instances()) {
            InstanceSpec s = instance.spec();
            out.println(String.format(Locale.ROOT, "  %-12s %-7s %6d %7d %9.1f %7.1f%% %3.0f/%-3.0f%%",
                    s.id(), s.kind(), instance.port(), s.weight(), s.meanMillis() * timeScale,
                    s.failureRate() * 100.0, s.cpu() * 100.0, s.memory() * 100.0));
        }
        out.println();
        out.println(String.format(Locale.ROOT,
                "  health checks: GET %s every %d ms, timeout %d ms; down after %d failures in a row,"
                        + " up after %d passes",
                HEALTH_PATH, timing.interval().toMillis(), timing.timeout().toMillis(), UNHEALTHY_THRESHOLD,
                HEALTHY_THRESHOLD));
        out.println(String.format(Locale.ROOT,
                "  outlier ejection: after %d failed requests in a row, for %d ms (longer if it recurs soon)",
                EJECTION_FAILURES, timing.ejection().toMillis()));
        out.println();
    }

    static void printTable(PrintStream out, LoadBalancerStats stats, long wallNanos, long transportErrors) {
        LoadBalancerMetrics m = stats.metrics();
        out.println("=== " + stats.strategy() + " ===");
        String header = String.format(Locale.ROOT, "  %-12s %-7s %6s %9s %7s %9s %9s %9s",
                "instance", "kind", "weight", "requests", "share", "success", "avg ms", "p99 ms");
        out.println(header);
        out.println("  " + "-".repeat(header.length() - 2));
        for (BackendStats b : stats.backends()) {
            out.println(String.format(Locale.ROOT, "  %-12s %-7s %6d %,9d %6.1f%% %8.2f%% %9.2f %9.2f",
                    b.id(), kindOf(b.id()), b.weight(), b.totalRequests(),
                    percent(b.totalRequests(), m.totalRequests()), b.successRate() * 100.0,
                    millis(b.avgResponseTime()), millis(b.p99ResponseTime())));
        }
        out.println("  " + "-".repeat(header.length() - 2));
        double seconds = wallNanos / 1e9;
        out.println(String.format(Locale.ROOT,
                "  %-12s %-7s %6s %,9d %6.1f%% %8.2f%% %9.2f %9.2f   wall %.2f s, %,.0f req/s",
                "overall", "", "", m.totalRequests(), percent(m.totalRequests(), m.totalRequests()),
                m.successRate() * 100.0, millis(m.avgResponseTime()), millis(m.p99ResponseTime()),
                seconds, seconds > 0 ? m.completedRequests() / seconds : 0.0));
        if (transportErrors > 0) {
            out.println(String.format(Locale.ROOT,
                    "  (%,d of the %,d failures were transport errors: timeouts or refused connections)",
                    transportErrors, m.failures()));
        }
        out.println();
    }

    static void printHealth(PrintStream out, HealthReport report) {
        String victim = report.instance();
        out.println();
        out.println("  requests routed to each instance, by phase:");
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "  %-12s %-7s", "instance", "kind"));
        for (Phase phase : report.phases()) {
            header.append(String.format(Locale.ROOT, " %9s", phase.name()));
        }
        out.println(header);
        String rule = "  " + "-".repeat(header.length() - 2);
        out.println(rule);
        for (BackendStats b : report.stats().backends()) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %-12s %-7s", b.id(), kindOf(b.id())));
            for (Phase phase : report.phases()) {
                row.append(String.format(Locale.ROOT, " %,9d", phase.routed(b.id())));
            }
            out.println(row);
        }
        out.println(rule);
        StringBuilder routed = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "routed"));
        StringBuilder failed = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "failed"));
        StringBuilder share = new StringBuilder(String.format(Locale.ROOT, "  %-20s", victim + " share"));
        StringBuilder wall = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "wall s"));
        for (Phase phase : report.phases()) {
            routed.append(String.format(Locale.ROOT, " %,9d", phase.routed()));
            failed.append(String.format(Locale.ROOT, " %,9d", phase.failed()));
            share.append(String.format(Locale.ROOT, " %8.1f%%", percent(phase.routed(victim), phase.routed())));
            wall.append(String.format(Locale.ROOT, " %9.2f", phase.wallNanos() / 1e9));
        }
        out.println(routed);
        out.println(failed);
        out.println(share);
        out.println(wall);
        out.println("  (before: all up; failing: " + victim
                + " stopped, not yet marked down; down: marked down, until");
        out.println("   its restart; rising: restarted, not yet marked up; back: marked up, until the requests stop)");
        Phase failing = report.phase("failing");
        Phase down = report.phase("down");
        Phase rising = report.phase("rising");
        Phase back = report.phase("back");
        out.println(String.format(Locale.ROOT,
                "  %s: %,d failed requests while failing (in flight at the stop, or sent before it was taken out);",
                victim, failing.failed(victim)));
        out.println(String.format(Locale.ROOT,
                "  %,d routed to it while down or rising (%,d served), %,d once back (%,d served)",
                down.routed(victim) + rising.routed(victim), down.succeeded(victim) + rising.succeeded(victim),
                back.routed(victim), back.succeeded(victim)));
        LoadBalancerMetrics m = report.stats().metrics();
        boolean addsUp = report.sent() == report.succeeded() + report.failed() + report.rejected()
                && report.sent() == m.totalRequests() + m.rejectedRequests()
                && report.succeeded() == m.successes() && report.failed() == m.failures();
        out.println(String.format(Locale.ROOT,
                "  sent %,d = %,d succeeded + %,d failed + %,d rejected;"
                        + " the balancer counted %,d routed + %,d rejected%s",
                report.sent(), report.succeeded(), report.failed(), report.rejected(), m.totalRequests(),
                m.rejectedRequests(), addsUp ? ": none lost" : ": THE COUNTS DO NOT ADD UP"));
        if (report.transportErrors() > 0) {
            out.println(String.format(Locale.ROOT,
                    "  (%,d of the %,d failures were transport errors: refused or reset connections, timeouts)",
                    report.transportErrors(), report.failed()));
        }
        out.println();
    }

    static void printDrain(PrintStream out, DrainReport report) {
        String victim = report.instance();
        out.println();
        out.println("  requests routed to each instance, by the phase in which they asked for a lease:");
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "  %-12s %-7s", "instance", "kind"));
        for (DrainPhase phase : report.phases()) {
            header.append(String.format(Locale.ROOT, " %9s", phase.name()));
        }
        out.println(header);
        String rule = "  " + "-".repeat(header.length() - 2);
        out.println(rule);
        for (InstanceSpec spec : FLEET) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %-12s %-7s", spec.id(), spec.kind()));
            for (DrainPhase phase : report.phases()) {
                row.append(String.format(Locale.ROOT, " %,9d", phase.routed(spec.id())));
            }
            out.println(row);
        }
        out.println(rule);
        StringBuilder routed = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "routed"));
        StringBuilder failed = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "failed"));
        StringBuilder victimFailed = new StringBuilder(String.format(Locale.ROOT, "  %-20s", victim + " failed"));
        StringBuilder wall = new StringBuilder(String.format(Locale.ROOT, "  %-20s", "wall s"));
        long failedOnVictim = 0;
        for (DrainPhase phase : report.phases()) {
            routed.append(String.format(Locale.ROOT, " %,9d", phase.routed()));
            failed.append(String.format(Locale.ROOT, " %,9d", phase.failed()));
            victimFailed.append(String.format(Locale.ROOT, " %,9d", phase.failed(victim)));
            wall.append(String.format(Locale.ROOT, " %9.2f", phase.wallNanos() / 1e9));
            failedOnVictim += phase.failed(victim);
        }
        out.println(routed);
        out.println(failed);
        out.println(victimFailed);
        out.println(wall);
        out.println("  (before: every instance in, until removeBackend returned; draining: until its future");
        out.println("   completed; after: " + victim + " gone, until the requests stop)");
        DrainPhase draining = report.phase("draining");
        DrainPhase after = report.phase("after");
        out.println(String.format(Locale.ROOT,
                "  %s: %d in flight when removeBackend was called, %d answered after the call (%d failed);",
                victim, report.inFlight(), report.finishedDraining(), report.failedDraining()));
        out.println(String.format(Locale.ROOT,
                "  %,d routed to it since, %,d failed on it in all; %s %.1f ms after the call returned",
                draining.routed(victim) + after.routed(victim), failedOnVictim,
                report.removed() ? "it left the balancer" : "IT IS STILL REGISTERED,", report.drainNanos() / 1e6));
        LoadBalancerMetrics m = report.stats().metrics();
        long routedInPhases = report.phases().stream().mapToLong(DrainPhase::routed).sum();
        boolean addsUp = report.sent() == report.succeeded() + report.failed() + report.rejected()
                && report.sent() == m.totalRequests() + m.rejectedRequests() && routedInPhases == m.totalRequests()
                && report.succeeded() == m.successes() && report.failed() == m.failures();
        out.println(String.format(Locale.ROOT,
                "  sent %,d = %,d succeeded + %,d failed + %,d rejected;"
                        + " the balancer counted %,d routed + %,d rejected%s",
                report.sent(), report.succeeded(), report.failed(), report.rejected(), m.totalRequests(),
                m.rejectedRequests(), addsUp ? ": none lost" : ": THE COUNTS DO NOT ADD UP"));
        if (report.transportErrors() > 0) {
            out.println(String.format(Locale.ROOT,
                    "  (%,d of the %,d failures were transport errors: refused or reset connections, timeouts)",
                    report.transportErrors(), report.failed()));
        }
        out.println();
    }

    static void printPrefixIntro(PrintStream out, int chats, int threads, double timeScale,
                                 List<CachingInstance> instances) {
        out.println(String.format(Locale.ROOT,
                "=== prefix cache: %,d chats of %d turns on %d instances that cache prompt prefixes ===",
                chats, ChatWorkload.TURNS, instances.size()));
        out.println(String.format(Locale.ROOT,
                "  each chat opens with one of %d shared system prompts (%,d to %,d characters); a turn's prompt",
                ChatWorkload.SYSTEM_PROMPTS, ChatWorkload.MIN_SYSTEM_CHARS, ChatWorkload.MAX_SYSTEM_CHARS));
        out.println(String.format(Locale.ROOT,
                "  is the previous one, its answer and a new message. %d client threads keep %d chats open each",
                threads, PrefixScenario.OPEN_CHATS_PER_THREAD));
        out.println("  and send their turns in rotation, each request with its prompt (Request#withPrompt).");
        out.println(String.format(Locale.ROOT,
                "  An instance prefills %.1f us per token it has not cached (an LRU of %,d blocks of %d characters),",
                CachingInstance.PREFILL_NANOS_PER_TOKEN * timeScale / 1e3, CachingInstance.CACHE_BLOCKS,
                PromptCache.BLOCK_CHARS));
        out.println(String.format(Locale.ROOT,
                "  sends its first byte, answers %.1f ms later and reports usage.prompt_tokens_details.cached_tokens,",
                CachingInstance.DECODE_NANOS * timeScale / 1e6));
        StringBuilder ports = new StringBuilder();
        for (CachingInstance instance : instances) {
            ports.append(String.format(Locale.ROOT, " %s:%d", instance.id(), instance.port()));
        }
        out.println("  which the client passes to Lease#reportCachedTokens. Instances on " + LOOPBACK + ":");
        out.println(" " + ports);
    }

    static void printPrefix(PrintStream out, PrefixReport report) {
        out.println();
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "  %-18s %9s %9s %9s %9s",
                "strategy", "requests", "hit rate", "ttfb avg", "ttfb p99"));
        for (String id : report.instances()) {
            header.append(String.format(Locale.ROOT, " %7s", id));
        }
        header.append(String.format(Locale.ROOT, " %7s", "wall s"));
        out.println(header);
        String rule = "  " + "-".repeat(header.length() - 2);
        out.println(rule);
        for (PrefixRun run : report.runs()) {
            long routed = run.stats().metrics().totalRequests();
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %-18s %,9d %8.1f%% %9.2f %9.2f",
                    run.strategy(), run.answered(), run.hitRate() * 100.0, run.firstByteMean() / 1e6,
                    run.firstByteP99() / 1e6));
            for (String id : report.instances()) {
                long served = run.stats().backend(id).map(BackendStats::totalRequests).orElse(0L);
                row.append(String.format(Locale.ROOT, " %6.1f%%", percent(served, routed)));
            }
            row.append(String.format(Locale.ROOT, " %7.2f", run.wallNanos() / 1e9));
            out.println(row);
        }
        out.println(rule);
        out.println("  (hit rate: prompt tokens the instances served from their caches, as their answers reported;");
        out.println("   ttfb: ms from asking the balancer for a lease to the answer's first byte;"
                + " per instance: its share of the requests)");
        for (PrefixRun run : report.runs()) {
            if (run.failed() > 0) {
                out.println(String.format(Locale.ROOT,
                        "  %s: %,d turns got no answer, counting the rest of each chat that failed"
                                + " (%,d transport errors: timeouts or refused connections)",
                        run.strategy(), run.failed(), run.transportErrors()));
            }
        }
        out.println();
    }

    static void printSummary(PrintStream out, Map<String, LoadBalancerStats> results,
                                     Map<String, Long> wallNanos, PrefixReport prefix, HealthReport health,
                                     DrainReport drain) {
        out.println("=== summary ===");
        String header = String.format(Locale.ROOT, "  %-22s %9s %9s %9s %9s %9s %8s",
                "strategy", "requests", "success", "avg ms", "p99 ms", "slow %", "wall s");
        out.println(header);
        out.println("  " + "-".repeat(header.length() - 2));
        String slowId = null;
        for (InstanceSpec spec : FLEET) {
            if (spec.kind().equals("slow")) {
                slowId = spec.id();
            }
        }
        for (Map.Entry<String, LoadBalancerStats> e : results.entrySet()) {
            printSummaryRow(out, e.getKey(), e.getValue(), slowId, wallNanos.get(e.getKey()));
        }
        printSummaryRow(out, "health: " + HEALTH_STRATEGY.name(), health.stats(), slowId, health.wallNanos());
        printSummaryRow(out, "drain: " + DRAIN_STRATEGY.name(), drain.stats(), slowId, drain.wallNanos());
        out.println("  (slow %: share of requests sent to the slow instance; health: the run in which "
                + health.instance() + " stopped;");
        out.println("   drain: the run in which " + drain.instance() + " was removed)");
        String label = "  prefix cache: ";
        for (PrefixRun run : prefix.runs()) {
            out.println(String.format(Locale.ROOT, "%s%-18s %5.1f%% of prompt tokens cached, first byte in %.2f ms"
                    + " on average", label, run.strategy(), run.hitRate() * 100.0, run.firstByteMean() / 1e6));
            label = " ".repeat(label.length());
        }
    }

    private static void printSummaryRow(PrintStream out, String name, LoadBalancerStats stats, String slowId,
                                        long wallNanos) {
        LoadBalancerMetrics m = stats.metrics();
        long toSlow = slowId == null ? 0 : stats.backend(slowId).map(BackendStats::totalRequests).orElse(0L);
        out.println(String.format(Locale.ROOT, "  %-22s %,9d %8.2f%% %9.2f %9.2f %8.1f%% %8.2f",
                name, m.totalRequests(), m.successRate() * 100.0, millis(m.avgResponseTime()),
                millis(m.p99ResponseTime()), percent(toSlow, m.totalRequests()), wallNanos / 1e9));
    }

    private static String kindOf(String id) {
        for (InstanceSpec spec : FLEET) {
            if (spec.id().equals(id)) {
                return spec.kind();
            }
        }
        return "?";
    }

    private static double millis(Duration d) {
        return d.toNanos() / 1e6;
    }

    private static double percent(long part, long whole) {
        return whole == 0 ? 0.0 : 100.0 * part / whole;
    }
}

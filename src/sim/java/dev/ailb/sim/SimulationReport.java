package dev.ailb.sim;

import dev.ailb.BalancingStrategy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs every scenario with every strategy and the oracle, then the prefix-cache scenarios with
 * {@code LEAST_CONNECTIONS}, {@code PREFIX_AFFINITY} and the time-to-first-token oracle, then the
 * mixed fleet, overload and straggler scenarios ({@link FleetTargets}) with and without their
 * features, and writes the tables, the targets met and missed ({@code report.md}) and a
 * chart of p99 latency per strategy per scenario ({@code p99.svg}) to a folder,
 * {@code target/simulation} unless given another as the first argument.
 *
 * <pre>
 * mvn -B -q -Psim test-compile exec:java
 * </pre>
 */
public final class SimulationReport {
    static final long SEED = 42;

    private SimulationReport() {}

    static List<Simulation.Policy> policies() {
        List<Simulation.Policy> policies = new ArrayList<>();
        for (BalancingStrategy s : BalancingStrategy.builtIns()) {
            policies.add(Simulation.Policy.of(s));
        }
        policies.add(new Simulation.Policy("LEAST_CONNECTIONS (tokens)", BalancingStrategy.LEAST_CONNECTIONS, true, null));
        policies.add(new Simulation.Policy("RESOURCE_BASED (tokens)", BalancingStrategy.RESOURCE_BASED, true, null));
        // The default decay (10 s) is shorter than these requests (5 s at batch size 1, far more
        // on a degraded instance): the average of a slow instance fades before its next answer.
        policies.add(new Simulation.Policy("LEAST_RESPONSE_TIME (decay 60 s)", BalancingStrategy.LEAST_RESPONSE_TIME,
                false, Duration.ofSeconds(60)));
        policies.add(new Simulation.Policy("JSQ_ORACLE", Oracle.MARKER, false, null));
        return policies;
    }

    /** The policies of the prefix-cache runs: the reference strategy, the one under test, the oracle. */
    static List<Simulation.Policy> prefixCachePolicies() {
        return List.of(Simulation.Policy.of(BalancingStrategy.LEAST_CONNECTIONS),
                Simulation.Policy.of(BalancingStrategy.PREFIX_AFFINITY),
                new Simulation.Policy(TtftOracle.NAME, TtftOracle.MARKER, false, null));
    }

    /** Every prefix-cache scenario run with every policy, in the order of {@link PrefixCacheScenario#all()}. */
    static List<PrefixCacheSimulation.Result> prefixCacheRuns(List<PrefixCacheScenario> scenarios) {
        List<PrefixCacheSimulation.Result> results = new ArrayList<>();
        for (PrefixCacheScenario scenario : scenarios) {
            results.addAll(PrefixCacheSimulation.runAll(scenario, prefixCachePolicies(), SEED));
        }
        return results;
    }

    public static void main(String[] args) throws IOException {
        Path folder = Path.of(args.length > 0 ? args[0] : "target/simulation");
        Files.createDirectories(folder);
        Map<Scenario, List<Simulation.Result>> all = new LinkedHashMap<>();
        for (Scenario scenario : Scenario.all()) {
            long start = System.nanoTime();
            all.put(scenario, Simulation.runAll(scenario, policies(), SEED));
            System.out.printf(Locale.ROOT, "%-14s %5.1f s%n", scenario.name(), (System.nanoTime() - start) / 1e9);
        }
        long start = System.nanoTime();
        List<PrefixCacheSimulation.Result> prefixRuns = prefixCacheRuns(PrefixCacheScenario.all());
        System.out.printf(Locale.ROOT, "%-14s %5.1f s%n", "prefix caches", (System.nanoTime() - start) / 1e9);
        Map<String, Map<String, Simulation.Result>> byScenario = new LinkedHashMap<>();
        all.forEach((scenario, results) -> byScenario.put(scenario.name(), Simulation.byPolicy(results)));
        start = System.nanoTime();
        Map<String, Map<String, FleetSimulation.Result>> fleetRuns = FleetTargets.runs(SEED);
        System.out.printf(Locale.ROOT, "%-14s %5.1f s%n", "mixed fleets", (System.nanoTime() - start) / 1e9);
        String report = validation() + markdown(all) + prefixCacheMarkdown(PrefixCacheScenario.all(), prefixRuns)
                + "### All prefix-cache runs\n\n" + prefixCacheSummary(prefixRuns) + "\n"
                + targetsMarkdown(prefixRuns, byScenario) + fleetMarkdown(fleetRuns)
                + "## A cold instance joins a loaded fleet\n\nSeed " + ColdStartSimulation.SEED + "; see the AI-fleets"
                + " guide for the fleet and the measures.\n\n" + ColdStartSimulation.markdown(ColdStartSimulation.runAll(
                        ColdStartSimulation.SEED)) + "\n";
        Files.writeString(folder.resolve("report.md"), report, StandardCharsets.UTF_8);
        Files.writeString(folder.resolve("p99.svg"), svg(all), StandardCharsets.UTF_8);
        System.out.println(report);
        System.out.println("Written to " + folder.toAbsolutePath());
    }

    /** The checks against queueing theory that {@code QueueingTheoryTest} makes, with their figures. */
    static String validation() {
        Simulation.Result mm1 = Simulation.run(Scenario.queueingModel(10, 0.7, 200_000),
                Simulation.Policy.of(BalancingStrategy.RANDOM), 1);
        Simulation.Result p2c = Simulation.run(Scenario.queueingModel(100, 0.9, 300_000),
                Simulation.Policy.of(BalancingStrategy.LEAST_CONNECTIONS), 2);
        double mm1Theory = 1 / (1 - 0.7);
        double p2cTheory = QueueingTheoryTest.supermarket(0.9);
        return "# Simulated fleets\n\n## Checked against queueing theory\n\n"
                + "| model | simulated mean | theory | difference |\n|---|---|---|---|\n"
                + String.format(Locale.ROOT, "| RANDOM, 10 single-slot servers, exponential service, load 0.7 (M/M/1) "
                        + "| %.3f | %.3f | %+.1f%% |%n", mm1.mean(), mm1Theory, (mm1.mean() / mm1Theory - 1) * 100)
                + String.format(Locale.ROOT, "| LEAST_CONNECTIONS (two choices), 100 servers, load 0.9 (supermarket, "
                        + "d = 2) | %.3f | %.3f | %+.1f%% |%n%n", p2c.mean(), p2cTheory, (p2c.mean() / p2cTheory - 1) * 100);
    }

    static String markdown(Map<Scenario, List<Simulation.Result>> all) {
        StringBuilder out = new StringBuilder();
        out.append("## Scenarios\n\n");
        out.append("Seed ").append(SEED).append(", ").append(Scenario.REQUESTS)
                .append(" requests per run, the first tenth not measured. Latency in seconds from arrival to the end of")
                .append(" the answer; ratio = p99 / the oracle's p99.\n\n");
        for (Map.Entry<Scenario, List<Simulation.Result>> e : all.entrySet()) {
            Scenario s = e.getKey();
            double oracle = oracleP99(e.getValue());
            out.append(String.format(Locale.ROOT, "### %s (load %.0f%%, %.2f requests/s)%n%n", s.name(), s.load() * 100,
                    s.workload().arrivalRate()));
            out.append("| strategy | p50 | p99 | p99.9 | p99 / oracle | errors | traffic share per instance | stable |\n");
            out.append("|---|---|---|---|---|---|---|---|\n");
            for (Simulation.Result r : e.getValue()) {
                StringBuilder share = new StringBuilder();
                r.share().forEach((id, v) -> share.append(share.length() == 0 ? "" : " ").append(
                        String.format(Locale.ROOT, "%.0f", v * 100)));
                out.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.2f | %.2f%% | %s | %s |%n",
                        r.policy(), r.p50(), r.p99(), r.p999(), r.p99() / oracle, r.errorRate() * 100, share,
                        r.unstable() ? "**no**" : "yes"));
            }
            Simulation.Result rr = e.getValue().get(0);
            if (!Double.isNaN(rr.failingShareAfterEjection())) {
                out.append("\nShare of requests sent to the failing instance after its first ejection: ");
                List<String> parts = new ArrayList<>();
                for (Simulation.Result r : e.getValue()) {
                    parts.add(String.format(Locale.ROOT, "%s %.2f%%", r.policy(), r.failingShareAfterEjection() * 100));
                }
                out.append(String.join(", ", parts)).append(".\n");
            }
            out.append('\n');
        }
        return out.toString();
    }

    /** The prefix-cache runs: one table per workload and replica count. */
    static String prefixCacheMarkdown(List<PrefixCacheScenario> scenarios, List<PrefixCacheSimulation.Result> results) {
        PrefixCacheScenario first = scenarios.get(0);
        StringBuilder out = new StringBuilder();
        out.append("## Prefix caches\n\n");
        out.append(String.format(Locale.ROOT, "Seed %d. %d instances of %d slots, each with a prefix cache of %,d tokens"
                + " in blocks of %d; prefill %.1f ms per uncached prompt token, decode %.0f ms per output token (at"
                + " batch size 1); load %.0f%% of what the fleet would serve with nothing cached. The first and last"
                + " tenth of the conversations are not measured. Times in seconds; TTFT: from a request's arrival to"
                + " its first token; hit rate: prompt tokens found cached over prompt tokens; waited: the requests that"
                + " waited for a slot; followed: the later turns sent to the instance of their previous turn.%n%n",
                SEED, first.instances().size(), first.instances().get(0).maxBatch(), first.cacheTokens(),
                first.blockSize(), first.costs().prefillSecondsPerToken() * 1e3,
                first.costs().decodeSecondsPerToken() * 1e3, first.load() * 100));
        for (PrefixCacheScenario s : scenarios) {
            String unit = s.workload().maxTurns() == 1 ? "requests" : "conversations";
            out.append(String.format(Locale.ROOT, "### %s, %s (%,d %s, %.2f per second)%n%n", s.name(),
                    PrefixCacheTargets.replicas(s.replicas()), s.conversations(), unit, s.conversationRate()));
            out.append("| policy | hit rate | TTFT p50 | TTFT p99 | TTFT mean | end-to-end p99 | waited | followed "
                    + "| share per instance, % | busiest / mean | routed / sent |\n");
            out.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
            for (PrefixCacheSimulation.Result r : results) {
                if (!r.scenario().equals(s.name()) || r.replicas() != s.replicas()) {
                    continue;
                }
                StringBuilder share = new StringBuilder();
                r.share().forEach((id, v) -> share.append(share.length() == 0 ? "" : " ").append(
                        String.format(Locale.ROOT, "%.1f", v * 100)));
                out.append(String.format(Locale.ROOT,
                        "| %s | %.3f | %.3f | %.3f | %.3f | %.1f | %.1f%% | %.1f%% | %s | %.2f | %,d / %,d |%n",
                        r.policy(), r.hitRate(), r.ttftP50(), r.ttftP99(), r.ttftMean(), r.e2eP99(),
                        r.waitedShare() * 100, r.followedShare() * 100, share, r.busiestOverMean(), r.routed(),
                        r.issued()));
            }
            out.append('\n');
        }
        return out.toString();
    }

    /**
     * Every prefix-cache run in one table, shares per instance left out (the guide shows this
     * one): one row per workload, replica count and policy.
     */
    static String prefixCacheSummary(List<PrefixCacheSimulation.Result> results) {
        StringBuilder out = new StringBuilder("| workload | replicas | policy | hit rate | TTFT p50 | TTFT p99 | TTFT mean "
                + "| end-to-end p99 | waited | followed | busiest / mean | routed / sent |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (PrefixCacheSimulation.Result r : results) {
            out.append(String.format(Locale.ROOT,
                    "| %s | %d | %s | %.3f | %.3f | %.3f | %.3f | %.1f | %.1f%% | %.1f%% | %.2f | %,d / %,d |%n",
                    r.scenario(), r.replicas(), r.policy(), r.hitRate(), r.ttftP50(), r.ttftP99(), r.ttftMean(),
                    r.e2eP99(), r.waitedShare() * 100, r.followedShare() * 100, r.busiestOverMean(), r.routed(),
                    r.issued()));
        }
        return out.toString();
    }

    /** Targets, each with its figure, met or missed. */
    static String targetsTable(List<PrefixCacheTargets.Target> targets) {
        StringBuilder out = new StringBuilder("| target | figure | met |\n|---|---|---|\n");
        for (PrefixCacheTargets.Target t : targets) {
            out.append("| ").append(t.name()).append(" | ").append(t.figure()).append(" | ")
                    .append(t.met() ? "yes" : "**missed**").append(" |\n");
        }
        return out.toString();
    }

    /** PREFIX_AFFINITY's targets, each with its figure, met or missed. */
    static String targetsMarkdown(List<PrefixCacheSimulation.Result> prefixRuns,
            Map<String, Map<String, Simulation.Result>> otherRuns) {
        String policy = BalancingStrategy.PREFIX_AFFINITY.name();
        List<PrefixCacheTargets.Target> targets = new ArrayList<>(PrefixCacheTargets.of(prefixRuns, policy));
        targets.addAll(PrefixCacheTargets.ofOtherScenarios(otherRuns, policy));
        return "## Targets of " + policy + "\n\n" + targetsTable(targets) + "\n";
    }

    /** The mixed fleet, the overload and the straggler: their runs and their targets. */
    static String fleetMarkdown(Map<String, Map<String, FleetSimulation.Result>> runs) {
        return "## Mixed fleet, overload and straggler\n\nSeed " + SEED + ", " + FleetScenario.REQUESTS
                + " requests per run, the first tenth not measured. Times in seconds from a request's arrival; TTFT:"
                + " to its first token. Served: answered, of the requests sent.\n\n" + FleetTargets.markdown(runs)
                + "\n### Targets\n\n" + FleetTargets.targetsTable(FleetTargets.of(runs))
                + "\n### The same targets with seeds 1 to 5\n\n" + FleetTargets.seedSweep(1, 2, 3, 4, 5) + "\n";
    }

    static double oracleP99(List<Simulation.Result> results) {
        for (Simulation.Result r : results) {
            if (r.policy().equals("JSQ_ORACLE")) {
                return r.p99();
            }
        }
        throw new IllegalStateException("no oracle run");
    }

    /**
     * A grouped bar chart: one group per scenario, one bar per strategy, the bar's height its p99
     * over the oracle's on a linear scale from 0.5x to 3x. A bar beyond 3x is cut there and
     * labelled with its ratio.
     */
    static String svg(Map<Scenario, List<Simulation.Result>> all) {
        List<Simulation.Policy> policies = policies();
        String[] colours = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
            "#9c755f", "#86bcb6", "#222222"};
        int groups = all.size();
        int bars = policies.size();
        int barWidth = 11;
        int groupWidth = bars * barWidth + 24;
        int left = 60;
        int top = 40;
        int height = 320;
        int width = left + groups * groupWidth + 230;
        double low = 0.5;
        double high = 3.0;
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
                        + "font-size=\"11\">%n", width, top + height + 50));
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"13\">p99 latency divided by the "
                + "oracle's p99, per scenario (lower is better; bars cut at 3x are labelled)</text>%n", left));
        for (double tick : new double[] {0.5, 0.75, 1, 1.15, 1.3, 1.5, 2, 2.5, 3}) {
            double y = top + height - (tick - low) / (high - low) * height;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>%n",
                    left, y, left + groups * groupWidth, y, tick == 1 ? "#000" : tick == 1.15 || tick == 1.3 ? "#f99" : "#ddd"));
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%sx</text>%n",
                    left - 4, y + 4, tick == Math.rint(tick) ? String.valueOf((int) tick) : String.valueOf(tick)));
        }
        double base = top + height - (1 - low) / (high - low) * height;
        int g = 0;
        for (Map.Entry<Scenario, List<Simulation.Result>> e : all.entrySet()) {
            double oracle = oracleP99(e.getValue());
            int x0 = left + g * groupWidth + 12;
            int b = 0;
            for (Simulation.Result r : e.getValue()) {
                double ratio = r.p99() / oracle;
                double shown = Math.max(low, Math.min(high, ratio));
                double y = top + height - (shown - low) / (high - low) * height;
                double barTop = Math.min(y, base);
                double barHeight = Math.max(0.8, Math.abs(base - y));
                int x = x0 + b * barWidth;
                svg.append(String.format(Locale.ROOT,
                        "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"><title>%s, %s: %.2fx "
                                + "(p99 %.1f s)</title></rect>%n",
                        x, barTop, barWidth - 1, barHeight, colours[b % colours.length], e.getKey().name(), r.policy(),
                        ratio, r.p99()));
                if (ratio > high) {
                    svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"9\" "
                            + "transform=\"rotate(-90 %d %.1f)\">%.0fx</text>%n", x + 8, y - 3, x + 8, y - 3, ratio));
                }
                b++;
            }
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                    x0 + bars * barWidth / 2, top + height + 16, e.getKey().name()));
            g++;
        }
        int legendX = left + groups * groupWidth + 20;
        for (int i = 0; i < bars; i++) {
            int y = top + 10 + i * 16;
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>%n",
                    legendX, y, colours[i % colours.length]));
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", legendX + 14, y + 9,
                    policies.get(i).name()));
        }
        svg.append("</svg>\n");
        return svg.toString();
    }
}

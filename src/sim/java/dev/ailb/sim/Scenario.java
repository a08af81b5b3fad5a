package dev.ailb.sim;

import java.util.ArrayList;
import java.util.List;

/**
 * A fleet, a workload and what happens during the run. The factories below are the scenarios of
 * the report; the arrival rate of each is set from a stated load, the share of the fleet's
 * capacity the traffic asks for.
 *
 * @param name          the scenario's name in tables and charts
 * @param instances     the fleet
 * @param workload      the requests
 * @param changes       what happens to instances during the run
 * @param requests      how many requests arrive (the first tenth is a warm-up, not measured)
 * @param scrapeSeconds how often the instances' metrics reach the balancer
 * @param load          the stated load, for the report
 */
record Scenario(String name, List<InstanceSpec> instances, Workload workload, List<Change> changes, int requests,
        double scrapeSeconds, double load) {

    /** One instance: batch size, relative speed, batch slowdown, and its weight in the balancer. */
    record InstanceSpec(String id, int maxBatch, double speed, double batchPenalty, int weight) {
        /** Requests per second it completes with a full batch, for work of {@code meanWork} seconds. */
        double capacity(double meanWork) {
            return maxBatch * speed / ((1 + batchPenalty * (maxBatch - 1)) * meanWork);
        }
    }

    /** At {@code atSeconds}, the instance's speed becomes {@code speed} and it fails or not. */
    record Change(double atSeconds, String instance, double speed, boolean failing) {}

    /**
     * The requests: Poisson arrivals (bursts: a calm and a burst phase with exponential lengths,
     * the burst rate {@code burstFactor} times the calm one, the mean rate as stated), log-normal
     * prompt and output sizes, and sessions whose repeat prompts are cheap on an instance that
     * still caches them. With {@code exponentialService}, the work is exponential instead, for the
     * checks against queueing theory.
     */
    record Workload(double arrivalRate, double burstFactor, double burstSeconds, double calmSeconds,
            double promptMedian, double sessionPromptMedian, double outputMedian, double sigma,
            double prefillSecondsPerToken, double decodeSecondsPerToken, double cachedPromptShare,
            double sessionShare, int sessions, int sessionCacheSize, boolean exponentialService,
            double meanServiceSeconds) {

        /** Mean tokens of a request (prompt and output), the unit of a token-counting balancer. */
        long meanTokens() {
            double spread = Math.exp(sigma * sigma / 2);
            return Math.max(1, Math.round((promptMedian + outputMedian) * spread));
        }

        /** Mean work of a request without a cached prompt, in seconds at batch size 1. */
        double typicalServiceSeconds() {
            if (exponentialService) {
                return meanServiceSeconds;
            }
            double spread = Math.exp(sigma * sigma / 2);
            double prompt = sessionShare * sessionPromptMedian + (1 - sessionShare) * promptMedian;
            return spread * (prompt * prefillSecondsPerToken + outputMedian * decodeSecondsPerToken);
        }

        Workload withRate(double rate) {
            return new Workload(rate, burstFactor, burstSeconds, calmSeconds, promptMedian, sessionPromptMedian,
                    outputMedian, sigma, prefillSecondsPerToken, decodeSecondsPerToken, cachedPromptShare,
                    sessionShare, sessions, sessionCacheSize, exponentialService, meanServiceSeconds);
        }
    }

    static final int REQUESTS = 40_000;

    /**
     * LLM-like requests: prompts of median 400 tokens, outputs of median 150 (both log-normal,
     * sigma 1), prefill 0.1 ms and decode 20 ms per token at batch size 1.
     */
    static Workload llmWorkload() {
        return new Workload(0, 1, 0, 0, 400, 400, 150, 1.0, 0.0001, 0.02, 1.0, 0, 1, 0, false, 0);
    }

    private static List<InstanceSpec> fleet(double... speeds) {
        List<InstanceSpec> fleet = new ArrayList<>();
        for (int i = 0; i < speeds.length; i++) {
            fleet.add(new InstanceSpec("i" + (i + 1), 16, speeds[i], 0.05, (int) Math.max(1, Math.round(speeds[i] * 2))));
        }
        return fleet;
    }

    private static Scenario atLoad(String name, List<InstanceSpec> fleet, Workload w, List<Change> changes,
            double load, double usableShare) {
        double capacity = 0;
        for (InstanceSpec spec : fleet) {
            capacity += spec.capacity(w.typicalServiceSeconds());
        }
        return new Scenario(name, fleet, w.withRate(load * capacity * usableShare), changes, REQUESTS, 1.0, load);
    }

    static Scenario homogeneous() {
        return atLoad("homogeneous", fleet(1, 1, 1, 1, 1, 1), llmWorkload(), List.of(), 0.7, 1.0);
    }

    /** Two instances twice as fast, three normal, one half as fast. */
    static Scenario heterogeneous() {
        return atLoad("heterogeneous", fleet(2, 2, 1, 1, 1, 0.5), llmWorkload(), List.of(), 0.7, 1.0);
    }

    /** One of six becomes ten times slower a third of the way through. */
    static Scenario degrading() {
        Scenario base = homogeneous();
        double at = REQUESTS / base.workload().arrivalRate() / 3;
        // the load is stated against the fleet that is left: five and a tenth instances
        return atLoad("degrading", fleet(1, 1, 1, 1, 1, 1), llmWorkload(),
                List.of(new Change(at, "i6", 0.1, false)), 0.7, 5.1 / 6);
    }

    /** One of six answers every request with an error in a millisecond, from the start. */
    static Scenario blackHole() {
        return atLoad("black hole", fleet(1, 1, 1, 1, 1, 1), llmWorkload(),
                List.of(new Change(0, "i6", 1, true)), 0.7, 5.0 / 6);
    }

    /** Bursts of four times the calm rate, 20 s long, every 100 s or so. */
    static Scenario bursts() {
        Workload w = llmWorkload();
        w = new Workload(0, 4, 20, 80, w.promptMedian(), w.sessionPromptMedian(), w.outputMedian(), w.sigma(),
                w.prefillSecondsPerToken(), w.decodeSecondsPerToken(), w.cachedPromptShare(), w.sessionShare(),
                w.sessions(), w.sessionCacheSize(), false, 0);
        return atLoad("bursts", fleet(1, 1, 1, 1, 1, 1), w, List.of(), 0.6, 1.0);
    }

    /**
     * Conversations: 80% of requests belong to one of 300 sessions, with long prompts (median
     * 3,000 tokens) of which 90% is skipped on an instance that still caches the session (the
     * last 64 sessions it served).
     */
    static Scenario prefixCache() {
        Workload w = llmWorkload();
        w = new Workload(0, 1, 0, 0, w.promptMedian(), 3_000, w.outputMedian(), w.sigma(), 0.0005,
                w.decodeSecondsPerToken(), 0.1, 0.8, 300, 64, false, 0);
        return atLoad("prefix cache", fleet(1, 1, 1, 1, 1, 1), w, List.of(), 0.7, 1.0);
    }

    static List<Scenario> all() {
        return List.of(homogeneous(), heterogeneous(), degrading(), blackHole(), bursts(), prefixCache());
    }

    /**
     * n single-slot FCFS servers with exponential service of mean 1 s and Poisson arrivals at
     * {@code load} per server: the M/M/1 and supermarket models.
     */
    static Scenario queueingModel(int servers, double load, int requests) {
        List<InstanceSpec> fleet = new ArrayList<>();
        for (int i = 0; i < servers; i++) {
            fleet.add(new InstanceSpec("q" + (i + 1), 1, 1, 0, 1));
        }
        Workload w = new Workload(load * servers, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, true, 1.0);
        return new Scenario("queueing", fleet, w, List.of(), requests, 1.0, load);
    }
}

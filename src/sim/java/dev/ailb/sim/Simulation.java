package dev.ailb.sim;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerBuilder;
import dev.ailb.LoadBalancerListener;
import dev.ailb.LoadReport;
import dev.ailb.NoAvailableBackendException;
import dev.ailb.PrefixAffinity;
import dev.ailb.Request;
import dev.ailb.health.HealthState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * A deterministic discrete-event simulation of a fleet of {@link Instance}s behind a real
 * {@link LoadBalancer}, in virtual time: the balancer's ticker is the simulation clock, so its
 * response-time averages, outlier ejections and report ages all run on simulated time, and nothing
 * sleeps. Every request takes a {@link Lease} when it arrives and gives it back when its instance
 * answers, so the balancer sees what it would see in production: connections in flight, response
 * times and failures. Reports of each instance's queue, batch and KV cache reach the balancer every
 * {@link Scenario#scrapeSeconds()}, as a metrics poller would bring them.
 *
 * <p>The same scenario and seed give the same requests (sizes, arrivals, sessions), whatever the
 * strategy: the workload draws from its own random source, the balancer from another.
 */
final class Simulation {
    private final Scenario scenario;
    private final Policy policy;
    private final long seed;

    private final EventQueue events = new EventQueue();
    private final Map<String, Instance> instances = new LinkedHashMap<>();
    private final SplittableRandom workload;
    private LoadBalancer lb;

    // what is measured, for requests after the warm-up
    private final double[] latencies;
    private int measured;
    private long errors;
    private long rejected;
    private final Map<String, Long> routed = new LinkedHashMap<>();
    private double failingEjectedAt = Double.NaN;
    private long afterEjection;
    private long toFailingAfterEjection;
    /** Each instance's outstanding requests when 40% of the requests have arrived. */
    private final Map<String, Integer> outstandingEarly = new HashMap<>();
    private boolean unstable;

    /**
     * A strategy to simulate, how the balancer counts its in-flight load, and its response-time
     * decay (null for the default).
     */
    record Policy(String name, BalancingStrategy strategy, boolean countTokens, Duration decay) {
        static Policy of(BalancingStrategy strategy) {
            return new Policy(strategy.name(), strategy, false, null);
        }
    }

    /** What one run measured. */
    record Result(String scenario, String policy, double p50, double p99, double p999, double mean,
            double errorRate, long requests, Map<String, Double> share, double failingShareAfterEjection,
            boolean unstable) {}

    private Simulation(Scenario scenario, Policy policy, long seed) {
        this.scenario = scenario;
        this.policy = policy;
        this.seed = seed;
        this.workload = new SplittableRandom(seed);
        this.latencies = new double[scenario.requests()];
    }

    static Result run(Scenario scenario, Policy policy, long seed) {
        return new Simulation(scenario, policy, seed).run();
    }

    private void schedule(double at, EventQueue.Event e) {
        events.schedule(at, e);
    }

    private double now() {
        return events.now();
    }

    private Result run() {
        LoadBalancerBuilder builder = LoadBalancer.builder()
                .strategy(policy.strategy() == Oracle.MARKER ? new Oracle(instances) : policy.strategy())
                .ticker(events.ticker())
                .random(new Random(seed * 31 + 7))
                .maxSessions(100_000);
        if (policy.decay() != null) {
            builder.responseTimeDecay(policy.decay());
        }
        if (policy.countTokens()) {
            builder.countTokens(scenario.workload().meanTokens());
        }
        lb = builder.build();
        for (Scenario.InstanceSpec spec : scenario.instances()) {
            instances.put(spec.id(), new Instance(spec.id(), spec.maxBatch(), spec.speed(), spec.batchPenalty(),
                    scenario.workload().sessionCacheSize()));
            lb.addBackend(spec.id(), "10.0.0." + (instances.size()), 8000, spec.weight());
            routed.put(spec.id(), 0L);
        }
        lb.addListener(new LoadBalancerListener() {
            @Override
            public void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current,
                    String reason) {
                if (current == HealthState.EJECTED && instances.get(backend.id()).failing
                        && Double.isNaN(failingEjectedAt)) {
                    failingEjectedAt = now();
                }
            }
        });
        for (Scenario.Change change : scenario.changes()) {
            schedule(change.atSeconds(), new EventQueue.Event() {
                @Override
                void fire() {
                    Instance inst = instances.get(change.instance());
                    inst.setSpeed(now(), change.speed());
                    inst.failing = change.failing();
                    rescheduleCompletion(inst);
                }
            });
        }
        schedule(scenario.scrapeSeconds(), new Scrape());
        Arrivals arrivals = new Arrivals();
        schedule(arrivals.nextGap(), arrivals);
        events.run(() -> arrivals.done() && inFlight == 0);
        lb.close();
        return result();
    }

    private int inFlight;

    /** Poisson arrivals, with bursts when the scenario has them (a two-state modulated process). */
    private final class Arrivals extends EventQueue.Event {
        private int issued;
        private boolean burst;
        private double phaseEnds;

        double nextGap() {
            Scenario.Workload w = scenario.workload();
            if (w.burstFactor() > 1) {
                while (now() >= phaseEnds) {
                    burst = !burst;
                    phaseEnds += exponential(burst ? w.burstSeconds() : w.calmSeconds());
                }
            }
            return now() + exponential(1.0 / rate());
        }

        private double rate() {
            Scenario.Workload w = scenario.workload();
            if (w.burstFactor() <= 1) {
                return w.arrivalRate();
            }
            // calm and burst rates keep the stated mean rate over a whole cycle
            double calm = w.arrivalRate() * (w.calmSeconds() + w.burstSeconds())
                    / (w.calmSeconds() + w.burstFactor() * w.burstSeconds());
            return burst ? calm * w.burstFactor() : calm;
        }

        boolean done() {
            return issued >= scenario.requests();
        }

        @Override
        void fire() {
            int index = issued++;
            if (index == scenario.requests() * 2 / 5) {
                instances.forEach((id, inst) -> outstandingEarly.put(id, inst.outstanding()));
            } else if (index == scenario.requests() - 1) {
                // A queue that grew by far more than a batch over the last 60% of the arrivals is
                // one the instance cannot keep up with: it would grow for as long as traffic lasts.
                instances.forEach((id, inst) -> {
                    if (inst.outstanding() - outstandingEarly.get(id) > 10 * inst.maxBatch) {
                        unstable = true;
                    }
                });
            }
            arrive(index);
            if (!done()) {
                schedule(nextGap(), this);
            }
        }
    }

    private double exponential(double mean) {
        return -mean * Math.log(1.0 - workload.nextDouble());
    }

    private double logNormal(double median, double sigma, double cap) {
        double z = gaussian();
        return Math.min(cap, Math.max(1, Math.round(median * Math.exp(sigma * z))));
    }

    private double gaussian() {
        // Box-Muller from the workload's own source, so every strategy sees the same draws
        double u = 1.0 - workload.nextDouble();
        double v = workload.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    private void arrive(int index) {
        Scenario.Workload w = scenario.workload();
        boolean inSession = workload.nextDouble() < w.sessionShare();
        String session = inSession ? "s-" + workload.nextInt(w.sessions()) : null;
        double prompt = logNormal(inSession ? w.sessionPromptMedian() : w.promptMedian(), w.sigma(), 32_000);
        double output = logNormal(w.outputMedian(), w.sigma(), 4_000);
        double exponentialWork = w.exponentialService() ? exponential(w.meanServiceSeconds()) : 0;
        String client = "172.16." + (index % 7) + "." + workload.nextInt(250);
        long estimate = Math.round(prompt + w.outputMedian());
        Request request = new Request("r" + index, client, "/v1/chat/completions", Math.min(Request.MAX_TOKENS, estimate));
        if (policy.strategy() instanceof PrefixAffinity) {
            request = request.withPrompt(promptText(index, session, (int) prompt));
        }
        Lease lease;
        try {
            lease = session != null ? lb.acquire(request, session) : lb.acquire(request);
        } catch (NoAvailableBackendException e) {
            if (index >= warmup()) {
                rejected++;
                errors++;
            }
            return;
        }
        Instance inst = instances.get(lease.backend().id());
        boolean cached = inst.promptCached(session);
        double work = w.exponentialService() ? exponentialWork
                : prompt * w.prefillSecondsPerToken() * (cached ? w.cachedPromptShare() : 1.0)
                        + output * w.decodeSecondsPerToken();
        Tag tag = new Tag(index, lease);
        Instance.Job job = inst.admit(tag, now(), work);
        inFlight++;
        if (index >= warmup()) {
            routed.merge(inst.id, 1L, Long::sum);
            if (!Double.isNaN(failingEjectedAt)) {
                afterEjection++;
                if (inst.failing) {
                    toFailingAfterEjection++;
                }
            }
        }
        if (job.fails) {
            schedule(now() + Instance.FAIL_FAST_SECONDS, new EventQueue.Event() {
                @Override
                void fire() {
                    finish(job, false);
                }
            });
        } else {
            rescheduleCompletion(inst);
        }
    }

    /**
     * A request's prompt, for a strategy that routes by it (rendered for no other: they ignore it).
     * Its tokens are drawn from the request's own index, or from its session's id, so that the
     * workload's random source is not touched and the requests are those of every other strategy:
     * a request's prompt is its own, and the prompts of one session share their first tokens, as
     * the instances' session cache assumes.
     */
    private String promptText(int index, String session, int tokens) {
        if (session == null) {
            return syntheticText(index, tokens);
        }
        // a session's longest text so far; a shorter prompt of the session is its beginning
        String text = sessionTexts.get(session);
        if (text == null || text.length() < tokens * Prompt.CHARS_PER_TOKEN) {
            text = syntheticText(1L << 40 | (session.hashCode() & 0xffffffffL), tokens);
            sessionTexts.put(session, text);
        }
        return text.substring(0, tokens * Prompt.CHARS_PER_TOKEN);
    }

    private final Map<String, String> sessionTexts = new HashMap<>();

    /** The text of {@code tokens} tokens, each a function of the source and its position. */
    private String syntheticText(long source, int tokens) {
        long key = Prompt.mix(Prompt.mix(seed) + source);
        char[] text = new char[tokens * Prompt.CHARS_PER_TOKEN];
        for (int i = 0; i < tokens; i++) {
            Prompt.render((int) Prompt.mix(key + i), text, i * Prompt.CHARS_PER_TOKEN);
        }
        return new String(text);
    }

    private int warmup() {
        return scenario.requests() / 10;
    }

    private record Tag(int index, Lease lease) {}

    private void rescheduleCompletion(Instance inst) {
        inst.scheduleNextCompletion(events, () -> {
            for (Instance.Job job : inst.complete(now())) {
                finish(job, true);
            }
            rescheduleCompletion(inst);
        });
    }

    private void finish(Instance.Job job, boolean success) {
        Tag tag = (Tag) job.tag;
        inFlight--;
        if (success) {
            tag.lease().success();
        } else {
            tag.lease().failure();
        }
        if (tag.index() < warmup()) {
            return;
        }
        double latency = now() - job.arrivedAt;
        if (!success) {
            errors++;
        }
        latencies[measured++] = latency;
    }

    /** What a metrics poller would bring: each instance's queue, batch and KV-cache pressure. */
    private final class Scrape extends EventQueue.Event {
        @Override
        void fire() {
            for (Instance inst : instances.values()) {
                if (inst.failing) {
                    continue; // a failing instance's metrics page fails too: its last report ages out
                }
                lb.updateBackendResources(inst.id, LoadReport.builder()
                        .waitingRequests(inst.waiting())
                        .runningRequests(inst.runningCount())
                        .kvCacheUsage(Math.min(1.0, (double) inst.runningCount() / inst.maxBatch))
                        .build());
            }
            schedule(now() + scenario.scrapeSeconds(), this); // the run ends when the last request does
        }
    }

    private Result result() {
        double[] sorted = Arrays.copyOf(latencies, measured);
        Arrays.sort(sorted);
        double mean = 0;
        for (double l : sorted) {
            mean += l;
        }
        mean = measured == 0 ? 0 : mean / measured;
        long total = measured + rejected;
        Map<String, Double> share = new LinkedHashMap<>();
        long routedTotal = routed.values().stream().mapToLong(Long::longValue).sum();
        routed.forEach((id, n) -> share.put(id, routedTotal == 0 ? 0 : (double) n / routedTotal));
        double failingShare = afterEjection == 0 ? Double.NaN : (double) toFailingAfterEjection / afterEjection;
        return new Result(scenario.name(), policy.name(), quantile(sorted, 0.50), quantile(sorted, 0.99),
                quantile(sorted, 0.999), mean, total == 0 ? 0 : (double) errors / total, total, share,
                failingShare, unstable);
    }

    private static double quantile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** The per-run figures of several runs side by side, for tests. */
    static Map<String, Result> byPolicy(List<Result> results) {
        Map<String, Result> map = new HashMap<>();
        for (Result r : results) {
            map.put(r.policy(), r);
        }
        return map;
    }

    static List<Result> runAll(Scenario scenario, List<Policy> policies, long seed) {
        List<Result> results = new ArrayList<>();
        for (Policy p : policies) {
            results.add(run(scenario, p, seed));
        }
        return results;
    }
}

package dev.ailb.sim;

import dev.ailb.BalancingStrategy;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerBuilder;
import dev.ailb.LoadReport;
import dev.ailb.NoAvailableBackendException;
import dev.ailb.PromptCacheStats;
import dev.ailb.Request;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * A deterministic discrete-event simulation of a fleet of {@link Instance}s with prefix caches,
 * behind one or several real {@link LoadBalancer}s, in virtual time. The balancers are replicas,
 * as several application servers each embedding one would be: each has its own random source, its
 * own state and its own ticker, every ticker reading the simulation's clock. Each request goes
 * through one of them, drawn at random (two turns of a conversation may take two), and the
 * instances' reports of their queue, batch and KV use reach every replica every
 * {@link PrefixCacheScenario#scrapeSeconds()}.
 *
 * <p>A request carries its prompt's text ({@link Request#withPrompt}), takes a lease when it
 * comes, and gives it back when its instance has sent the whole answer, after reporting the
 * prompt's tokens and those its instance found cached ({@link Lease#reportCachedTokens}), as the
 * HTTP integration does with the server's {@code usage}. A conversation's next turn comes a think
 * time after the answer. Measured: the time to first token (from the request's arrival to the end
 * of its prefill), the time to the last token, and the share of prompt tokens served from the
 * caches.
 *
 * <p>The same scenario and seed give the same conversations, whatever the strategy and the number
 * of replicas: the conversations' start times come from one random source, and each conversation
 * draws everything else from a source of its own ({@link Conversation}).
 */
final class PrefixCacheSimulation {
    private final PrefixCacheScenario scenario;
    private final Simulation.Policy policy;
    private final long seed;

    private final EventQueue events = new EventQueue();
    private final Map<String, Instance> instances = new LinkedHashMap<>();
    private final List<LoadBalancer> replicas = new ArrayList<>();
    private final SplittableRandom starts;
    private final SystemPrompts systemPrompts;
    /** The prompt of each request being routed, by request id, for the oracle. */
    private final Map<String, Prompt> routing = new HashMap<>();
    private int started;
    private int active;
    /** The prompt tokens of every request answered, and of those the tokens found cached. */
    private long sentPromptTokens;
    private long sentCachedTokens;

    // what is measured, for the conversations after the warm-up and before the cool-down
    private double[] ttft = new double[1024];
    private double[] endToEnd = new double[1024];
    private int measured;
    private int waited;
    private long laterTurns;
    private long followed;
    private long promptTokens;
    private long cachedTokens;
    private final Map<String, Long> routed = new LinkedHashMap<>();
    private long issued;
    private long rejected;
    /** Each instance's outstanding requests when 40% of the conversations have started. */
    private final Map<String, Integer> outstandingEarly = new HashMap<>();
    private boolean unstable;

    /**
     * What one run measured, over the requests of the measured conversations; times in seconds.
     *
     * @param issued        requests sent to a balancer, all conversations
     * @param routed        of those, the requests a balancer routed (the rest were refused)
     * @param hitRate       prompt tokens found cached over prompt tokens
     * @param ttftP50       time to first token: from the request's arrival to the end of its prefill
     * @param e2eP50        time to the last token
     * @param waitedShare   the share of requests that waited for a slot in a batch
     * @param followedShare the share of later turns (second and after) sent to the instance of
     *                      their conversation's previous turn
     * @param share         each instance's share of the requests
     * @param unstable      whether an instance's queue grew for as long as conversations started
     */
    record Result(String scenario, String policy, int replicas, long issued, long routed, double hitRate,
            double ttftP50, double ttftP99, double ttftMean, double e2eP50, double e2eP99, double waitedShare,
            double followedShare, Map<String, Double> share, boolean unstable) {

        /** The busiest instance's share of the measured requests over the mean share. */
        double busiestOverMean() {
            double max = 0;
            for (double s : share.values()) {
                max = Math.max(max, s);
            }
            return max * share.size();
        }
    }

    private PrefixCacheSimulation(PrefixCacheScenario scenario, Simulation.Policy policy, long seed) {
        this.scenario = scenario;
        this.policy = policy;
        this.seed = seed;
        this.starts = new SplittableRandom(seed);
        this.systemPrompts = new SystemPrompts(scenario.workload(), PrefixCacheScenario.WORKLOAD_SEED,
                scenario.blockSize());
    }

    static Result run(PrefixCacheScenario scenario, Simulation.Policy policy, long seed) {
        return new PrefixCacheSimulation(scenario, policy, seed).run();
    }

    static List<Result> runAll(PrefixCacheScenario scenario, List<Simulation.Policy> policies, long seed) {
        List<Result> results = new ArrayList<>();
        for (Simulation.Policy p : policies) {
            results.add(run(scenario, p, seed));
        }
        return results;
    }

    private Result run() {
        if (policy.countTokens()) {
            throw new IllegalArgumentException("policy " + policy.name()
                    + ": counting tokens is not simulated with prefix caches");
        }
        for (Scenario.InstanceSpec spec : scenario.instances()) {
            instances.put(spec.id(), new Instance(spec.id(), spec.maxBatch(), spec.speed(), spec.batchPenalty(),
                    new PrefixCache(scenario.cacheTokens(), scenario.blockSize()), scenario.costs()));
            routed.put(spec.id(), 0L);
        }
        for (int r = 0; r < scenario.replicas(); r++) {
            LoadBalancerBuilder builder = LoadBalancer.builder()
                    .name("replica-" + (r + 1))
                    .strategy(strategy())
                    .ticker(events.ticker())
                    .random(new Random(seed * 31 + 7 + 1_000_003L * r));
            if (policy.decay() != null) {
                builder.responseTimeDecay(policy.decay());
            }
            LoadBalancer lb = builder.build();
            int n = 0;
            for (Scenario.InstanceSpec spec : scenario.instances()) {
                lb.addBackend(spec.id(), "10.0.0." + (++n), 8000, spec.weight());
            }
            replicas.add(lb);
        }
        events.schedule(scenario.scrapeSeconds(), new Scrape());
        events.schedule(nextStart(), new Start());
        events.run(() -> started == scenario.conversations() && active == 0);
        checkReports();
        replicas.forEach(LoadBalancer::close);
        return result();
    }

    /**
     * Every lease reported its prompt: the balancers' figures ({@link dev.ailb.Backend#promptCache()})
     * add up to the tokens of every request sent, and to those the instances found cached.
     */
    private void checkReports() {
        long reportedPrompt = 0;
        long reportedCached = 0;
        for (LoadBalancer lb : replicas) {
            for (String id : instances.keySet()) {
                PromptCacheStats stats = lb.getBackendStats(id).promptCache();
                reportedPrompt += stats.reportedPromptTokens();
                reportedCached += stats.reportedCachedTokens();
            }
        }
        if (reportedPrompt != sentPromptTokens || reportedCached != sentCachedTokens) {
            throw new IllegalStateException("the balancers counted " + reportedCached + " of " + reportedPrompt
                    + " prompt tokens cached; the instances, " + sentCachedTokens + " of " + sentPromptTokens);
        }
    }

    private BalancingStrategy strategy() {
        if (policy.strategy() == TtftOracle.MARKER) {
            return new TtftOracle(instances, request -> routing.get(request.id()), events::now);
        }
        return policy.strategy();
    }

    private double nextStart() {
        return events.now() - Math.log(1.0 - starts.nextDouble()) / scenario.conversationRate();
    }

    private boolean isMeasured(int conversation) {
        int n = scenario.conversations();
        return conversation >= n / 10 && conversation < n - n / 10;
    }

    /** Conversations start as a Poisson process, each with its first turn. */
    private final class Start extends EventQueue.Event {
        @Override
        void fire() {
            int index = started++;
            if (index == scenario.conversations() * 2 / 5) {
                instances.forEach((id, inst) -> outstandingEarly.put(id, inst.outstanding()));
            } else if (index == scenario.conversations() - 1) {
                // as in Simulation: a queue that grew by far more than a batch is one that cannot keep up
                instances.forEach((id, inst) -> {
                    if (inst.outstanding() - outstandingEarly.getOrDefault(id, 0) > 10 * inst.maxBatch) {
                        unstable = true;
                    }
                });
            }
            Conversation c = new Conversation(scenario.workload(), systemPrompts, Prompt.mix(seed * 1_000_003L + index),
                    scenario.blockSize());
            active++;
            send(index, c, null);
            if (started < scenario.conversations()) {
                events.schedule(nextStart(), this);
            }
        }
    }

    /**
     * A request in flight: its conversation (index and state), its turn, its lease, and the
     * instance of the conversation's previous turn (null for a first turn).
     */
    private record Tag(int conversation, Conversation state, Conversation.Turn turn, Lease lease, String previous) {}

    private void send(int index, Conversation c, String previous) {
        Conversation.Turn turn = c.nextTurn(scenario.replicas());
        Prompt prompt = turn.prompt();
        String id = "c" + index + "-t" + turn.number();
        long estimate = Math.min(Request.MAX_TOKENS, prompt.length() + Math.round(scenario.workload().answerMedian()));
        Request request = new Request(id, "172.16." + (index % 7) + "." + (index % 250), "/v1/chat/completions",
                estimate).withPrompt(prompt.text());
        issued++;
        Lease lease;
        routing.put(id, prompt);
        try {
            lease = replicas.get(turn.replica()).acquire(request);
        } catch (NoAvailableBackendException e) {
            rejected++;
            active--; // the conversation ends here
            return;
        } finally {
            routing.remove(id);
        }
        Instance inst = instances.get(lease.backend().id());
        if (isMeasured(index)) {
            routed.merge(inst.id, 1L, Long::sum);
        }
        inst.admit(new Tag(index, c, turn, lease, previous), events.now(), prompt, turn.outputTokens());
        rescheduleCompletion(inst);
    }

    private void rescheduleCompletion(Instance inst) {
        inst.scheduleNextCompletion(events, () -> {
            for (Instance.Job job : inst.complete(events.now())) {
                finish(inst, job);
            }
            rescheduleCompletion(inst);
        });
    }

    private void finish(Instance inst, Instance.Job job) {
        Tag tag = (Tag) job.tag;
        tag.lease().reportCachedTokens(job.prompt.length(), job.cachedTokens());
        sentPromptTokens += job.prompt.length();
        sentCachedTokens += job.cachedTokens();
        tag.lease().success();
        if (isMeasured(tag.conversation())) {
            record(inst, job, tag.previous());
        }
        Conversation c = tag.state();
        if (c.hasNextTurn()) {
            events.schedule(events.now() + tag.turn().thinkSeconds(), new EventQueue.Event() {
                @Override
                void fire() {
                    send(tag.conversation(), c, inst.id);
                }
            });
        } else {
            active--;
        }
    }

    private void record(Instance inst, Instance.Job job, String previous) {
        if (measured == ttft.length) {
            ttft = Arrays.copyOf(ttft, measured * 2);
            endToEnd = Arrays.copyOf(endToEnd, measured * 2);
        }
        ttft[measured] = job.firstTokenAt() - job.arrivedAt;
        if (job.startedAt() > job.arrivedAt) {
            waited++;
        }
        endToEnd[measured] = events.now() - job.arrivedAt;
        measured++;
        promptTokens += job.prompt.length();
        cachedTokens += job.cachedTokens();
        if (previous != null) {
            laterTurns++;
            if (previous.equals(inst.id)) {
                followed++;
            }
        }
    }

    /** What a metrics poller would bring to every replica: each instance's queue, batch and KV use. */
    private final class Scrape extends EventQueue.Event {
        @Override
        void fire() {
            for (Instance inst : instances.values()) {
                LoadReport report = LoadReport.builder()
                        .waitingRequests(inst.waiting())
                        .runningRequests(inst.runningCount())
                        .kvCacheUsage(Math.min(1.0, (double) inst.runningCount() / inst.maxBatch))
                        .kvCacheCapacityTokens(scenario.cacheTokens())
                        .build();
                for (LoadBalancer lb : replicas) {
                    lb.updateBackendResources(inst.id, report);
                }
            }
            events.schedule(events.now() + scenario.scrapeSeconds(), this);
        }
    }

    private Result result() {
        double[] t = Arrays.copyOf(ttft, measured);
        double[] e = Arrays.copyOf(endToEnd, measured);
        Arrays.sort(t);
        Arrays.sort(e);
        double sum = 0;
        for (double v : t) {
            sum += v;
        }
        Map<String, Double> share = new LinkedHashMap<>();
        long routedTotal = routed.values().stream().mapToLong(Long::longValue).sum();
        routed.forEach((id, n) -> share.put(id, routedTotal == 0 ? 0 : (double) n / routedTotal));
        return new Result(scenario.name(), policy.name(), scenario.replicas(), issued, issued - rejected,
                promptTokens == 0 ? 0 : (double) cachedTokens / promptTokens, quantile(t, 0.5), quantile(t, 0.99),
                measured == 0 ? 0 : sum / measured, quantile(e, 0.5), quantile(e, 0.99),
                measured == 0 ? 0 : (double) waited / measured, laterTurns == 0 ? 0 : (double) followed / laterTurns, share,
                unstable);
    }

    private static double quantile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}

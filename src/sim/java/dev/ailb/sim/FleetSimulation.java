package dev.ailb.sim;

import dev.ailb.BackendProfile;
import dev.ailb.BalancingStrategy;
import dev.ailb.CallOptions;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerBuilder;
import dev.ailb.LoadReport;
import dev.ailb.NoAvailableBackendException;
import dev.ailb.Priority;
import dev.ailb.Request;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * A deterministic discrete-event simulation of a {@link FleetScenario}: instances that serve
 * models and LoRA adapters, behind real {@link LoadBalancer}s, in virtual time (each balancer's
 * ticker reads the {@link EventQueue}'s clock). A request takes a lease when it is routed, its
 * instance marks the lease's first byte when the first token comes, and the lease ends when the
 * answer does; a client that has no first token after the scenario's patience gives up, cancels its
 * request on the instance (vLLM aborts a request whose client has gone) and ends its lease as a
 * failure. The instances' queue, batch and KV use reach the balancers every
 * {@link FleetScenario#scrapeSeconds()}.
 *
 * <p>The same scenario and seed give the same requests whatever the policy: the requests draw
 * from their own random source, the balancers from others.
 */
final class FleetSimulation {

    /** How the application routes through the balancer. */
    enum Routing {
        /** One {@code LEAST_CONNECTIONS} balancer per model, each over that model's instances: what a mixed fleet needs without model routing. */
        BALANCER_PER_MODEL,
        /** One {@code LEAST_CONNECTIONS} balancer over every instance, each request taken with {@code acquire}. */
        ONE_BALANCER,
        /**
         * One {@code LEAST_CONNECTIONS} balancer, each backend declaring its model and adapters
         * ({@link BackendProfile}), each request naming its model or adapter: the balancer routes
         * by model only, since the instances' reports say nothing of their adapters.
         */
        MODEL_FILTER,
        /**
         * As {@link #MODEL_FILTER}, the instances' reports also listing their running and waiting
         * adapters and their adapter slots, as vLLM's {@code vllm:lora_requests_info} does: the
         * balancer prefers the instances with the adapter loaded, then those with a free slot.
         */
        LORA_AFFINITY,
        /**
         * One {@code LEAST_CONNECTIONS} balancer, each request sent with
         * {@link LoadBalancer#executeAsync} and the policy's {@link CallOptions}: the attempt
         * whose instance gives the first token wins, the others are cancelled on their instances.
         */
        EXECUTE_ASYNC,
        /**
         * One {@code LEAST_CONNECTIONS} balancer with a connection limit per backend (by default a
         * full batch) and an admission queue (1,000 requests, each waiting at most the client's
         * patience); each request taken with {@link LoadBalancer#acquireAsync}, so that it waits
         * in the balancer, by priority and in turn with the other tenants, rather than in an
         * instance's queue.
         */
        ADMISSION
    }

    /**
     * A way to route, by name in tables, with the options of {@link Routing#EXECUTE_ASYNC} and the
     * connection limit of {@link Routing#ADMISSION}.
     */
    record Policy(String name, Routing routing, CallOptions options, int connectionLimit) {
        Policy(String name, Routing routing) {
            this(name, routing, CallOptions.none(), FleetScenario.MAX_BATCH);
        }

        Policy(String name, Routing routing, CallOptions options) {
            this(name, routing, options, FleetScenario.MAX_BATCH);
        }
    }

    /**
     * What the measured requests of one kind saw. Times in seconds from arrival.
     *
     * @param requests  requests sent
     * @param completed answered
     * @param rejected  refused by the balancer
     * @param abandoned given up by their client, waiting for a first token
     */
    record Figures(long requests, long completed, long rejected, long abandoned, double p50, double p99,
            double ttftP50, double ttftP99) {}

    /**
     * What one run measured, over the requests after the warm-up.
     *
     * @param byTenant        the figures of each tenant's critical and standard requests (the
     *                        sheddable ones are meant to be shed, so they are left out)
     * @param adapterRequests requests that name an adapter
     * @param coldStarts      of their attempts, those that loaded the adapter
     * @param attempts        attempts sent to instances
     * @param extraAttempts   of those, the attempts beyond a call's first (hedges and retries)
     * @param workDone        the work the instances did for them, in seconds at batch size 1
     * @param wastedWork      of that, the work of attempts that did not answer
     * @param misrouted       attempts sent to an instance that does not serve their model
     * @param share           each instance's share of the attempts
     * @param unstable        whether an instance's queue grew for as long as requests arrived
     */
    record Result(String scenario, String policy, Figures all, Map<Priority, Figures> byPriority,
            Map<String, Figures> byModel, Map<String, Figures> byTenant, long adapterRequests, long coldStarts,
            long attempts, long extraAttempts, double workDone, double wastedWork, long misrouted, Map<String, Double> share, boolean unstable) {}

    /** The admission queue's capacity: the balancer's default. */
    static final int ADMISSION_QUEUE = 1_000;

    private final FleetScenario scenario;
    private final Policy policy;
    private final long seed;
    private final EventQueue events = new EventQueue();
    private final SimulatedScheduler scheduler = new SimulatedScheduler(events);
    private final SplittableRandom draws;
    private final Map<String, Instance> instances = new LinkedHashMap<>();
    private final Map<String, String> modelOf = new HashMap<>();
    /** The balancers by the model they route for; one under "" when one routes for all. */
    private final Map<String, LoadBalancer> balancers = new LinkedHashMap<>();
    private final double[] modelCdf;
    private final String[] models;
    private final double[] adapterCdf;
    private final double[] priorityCdf;
    private final Priority[] priorities;
    private final double[] tenantCdf;
    private final String[] tenants;

    /** The attempts on the instances, by their job. */
    private final Map<Instance.Job, Attempt> jobs = new HashMap<>();
    private int arrived;
    private int inFlight;
    private final Map<String, Integer> outstandingEarly = new HashMap<>();
    private boolean unstable;

    private final Samples all = new Samples();
    private final Map<Priority, Samples> byPriority = new EnumMap<>(Priority.class);
    private final Map<String, Samples> byModel = new LinkedHashMap<>();
    private final Map<String, Samples> byTenant = new LinkedHashMap<>();
    private long adapterRequests;
    private long coldStarts;
    private long attempts;
    private long extraAttempts;
    private double workDone;
    private double wastedWork;
    private long misrouted;
    private final Map<String, Long> routed = new LinkedHashMap<>();

    private FleetSimulation(FleetScenario scenario, Policy policy, long seed) {
        this.scenario = scenario;
        this.policy = policy;
        this.seed = seed;
        this.draws = new SplittableRandom(seed);
        FleetScenario.Traffic t = scenario.traffic();
        models = t.models().keySet().toArray(new String[0]);
        modelCdf = cdf(t.models().values());
        priorities = t.priorities().keySet().toArray(new Priority[0]);
        priorityCdf = cdf(t.priorities().values());
        tenants = t.tenants().keySet().toArray(new String[0]);
        tenantCdf = cdf(t.tenants().values());
        List<Double> zipf = new ArrayList<>();
        for (int rank = 1; rank <= t.adapters(); rank++) {
            zipf.add(1.0 / rank);
        }
        adapterCdf = cdf(zipf);
        for (Priority p : priorities) {
            byPriority.put(p, new Samples());
        }
        for (String m : models) {
            byModel.put(m, new Samples());
        }
        for (String tenant : tenants) {
            byTenant.put(tenant, new Samples());
        }
    }

    static Result run(FleetScenario scenario, Policy policy, long seed) {
        return new FleetSimulation(scenario, policy, seed).run();
    }

    private static double[] cdf(Collection<Double> weights) {
        double total = 0;
        for (double w : weights) {
            total += w;
        }
        double[] cdf = new double[weights.size()];
        double sum = 0;
        int i = 0;
        for (double w : weights) {
            sum += w;
            cdf[i++] = sum / total;
        }
        return cdf;
    }

    private static int pick(double[] cdf, double u) {
        for (int i = 0; i < cdf.length - 1; i++) {
            if (u < cdf[i]) {
                return i;
            }
        }
        return cdf.length - 1;
    }

    private Result run() {
        for (FleetScenario.Server s : scenario.instances()) {
            instances.put(s.id(), new Instance(s.id(), FleetScenario.MAX_BATCH, s.speed(), FleetScenario.BATCH_PENALTY,
                    s.adapterSlots(), FleetScenario.ADAPTER_LOAD_SECONDS));
            modelOf.put(s.id(), s.model());
        }
        switch (policy.routing()) {
            case BALANCER_PER_MODEL -> {
                for (String model : models) {
                    balancers.put(model, newBalancer(model));
                }
            }
            case ONE_BALANCER, MODEL_FILTER, LORA_AFFINITY, EXECUTE_ASYNC, ADMISSION ->
                    balancers.put("", newBalancer(null));
            default -> throw new IllegalStateException("routing " + policy.routing());
        }
        SplittableRandom stalls = new SplittableRandom(seed * 131 + 17); // not the requests' draws
        for (FleetScenario.Server s : scenario.instances()) {
            if (s.stallEverySeconds() > 0) {
                scheduleStall(instances.get(s.id()), s, stalls);
            }
        }
        events.schedule(scenario.scrapeSeconds(), new Scrape());
        events.schedule(nextArrival(), new Arrival());
        events.run(() -> arrived == scenario.requests() && inFlight == 0);
        balancers.values().forEach(LoadBalancer::close);
        return result();
    }

    private void scheduleStall(Instance inst, FleetScenario.Server s, SplittableRandom stalls) {
        double gap = -s.stallEverySeconds() * Math.log(1.0 - stalls.nextDouble());
        double length = -s.stallSeconds() * Math.log(1.0 - stalls.nextDouble());
        events.schedule(events.now() + gap, new EventQueue.Event() {
            @Override
            void fire() {
                if (arrived < scenario.requests()) {
                    inst.stall(events.now(), length);
                    reschedule(inst);
                    scheduleStall(inst, s, stalls);
                }
            }
        });
    }

    /** A balancer over the instances of {@code model}, or of every model when null. */
    private LoadBalancer newBalancer(String model) {
        LoadBalancerBuilder builder = LoadBalancer.builder()
                .name(model == null ? "fleet" : model)
                .strategy(BalancingStrategy.LEAST_CONNECTIONS)
                .ticker(events.ticker())
                .random(new Random(seed * 31 + 7 + balancers.size()))
                .callScheduler(scheduler)
                .healthCheckScheduler(scheduler);
        if (policy.routing() == Routing.ADMISSION) {
            builder.connectionLimit(policy.connectionLimit()).admissionQueue(ADMISSION_QUEUE,
                    Duration.ofMillis(Math.round(scenario.patienceSeconds() * 1000)));
        }
        LoadBalancer lb = builder.build();
        boolean declare = declaresModels();
        int n = 0;
        for (FleetScenario.Server s : scenario.instances()) {
            n++;
            if (model == null || s.model().equals(model)) {
                lb.addBackend(s.id(), "10.0.0." + n, 8000, 1, declare ? profile(s) : BackendProfile.none());
            }
        }
        return lb;
    }

    private boolean declaresModels() {
        return policy.routing() == Routing.MODEL_FILTER || policy.routing() == Routing.LORA_AFFINITY;
    }

    /** What an instance serves: its model, and every adapter of it when it has adapter slots. */
    private BackendProfile profile(FleetScenario.Server s) {
        BackendProfile.Builder b = BackendProfile.builder().model(s.model());
        if (s.adapterSlots() > 0) {
            for (int rank = 1; rank <= scenario.traffic().adapters(); rank++) {
                b.adapter(FleetScenario.Traffic.adapter(s.model(), rank));
            }
        }
        return b.build();
    }

    private double nextArrival() {
        return events.now() + exponential(1.0 / scenario.traffic().arrivalRate());
    }

    private double exponential(double mean) {
        return -mean * Math.log(1.0 - draws.nextDouble());
    }

    private double logNormal(double median, double sigma, double cap) {
        double u = 1.0 - draws.nextDouble();
        double v = draws.nextDouble();
        double z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        return Math.min(cap, Math.max(1, Math.round(median * Math.exp(sigma * z))));
    }

    /** One request: what it asks for, its work, and its attempts. */
    private final class Call {
        final int index;
        final String model;
        final String adapter;
        final Priority priority;
        final String tenant;
        final double prefill;
        final double decode;
        final double arrivedAt;
        double firstTokenAt = Double.NaN;
        boolean ended;
        /** The admission of a call that waits for room, until it completes. */
        CompletableFuture<Lease> admission;
        final List<Attempt> attempts = new ArrayList<>(1);

        Call(int index, String model, String adapter, Priority priority, String tenant, double prefill, double decode) {
            this.index = index;
            this.model = model;
            this.adapter = adapter;
            this.priority = priority;
            this.tenant = tenant;
            this.prefill = prefill;
            this.decode = decode;
            this.arrivedAt = events.now();
        }

        boolean measured() {
            return index >= scenario.requests() / 10;
        }

        Request request() {
            long estimate = Math.round((prefill / FleetScenario.SIZES.prefillSecondsPerToken())
                    + FleetScenario.SIZES.outputMedian());
            Request request = new Request("r" + index, "172.16." + (index % 7) + "." + (index % 250),
                    "/v1/chat/completions", estimate).withPriority(priority).withTenant(tenant);
            // a balancer whose backends declare nothing serves only requests that name nothing
            return declaresModels() ? request.withModel(adapter != null ? adapter : model) : request;
        }
    }

    /**
     * One attempt of a call on one instance: under a lease the simulation ends itself, or under a
     * balancer's {@link dev.ailb.Attempt}, whose lease the balancer ends when {@code answer}
     * completes or when it cancels the attempt.
     */
    private record Attempt(Call call, Lease lease, Instance instance, Instance.Job job, dev.ailb.Attempt managed,
            CompletableFuture<Void> answer) {}

    private final class Arrival extends EventQueue.Event {
        @Override
        void fire() {
            int index = arrived++;
            if (index == scenario.requests() * 2 / 5) {
                instances.forEach((id, inst) -> outstandingEarly.put(id, inst.outstanding()));
            } else if (index == scenario.requests() - 1) {
                instances.forEach((id, inst) -> {
                    if (inst.outstanding() - outstandingEarly.get(id) > 10 * inst.maxBatch) {
                        unstable = true;
                    }
                });
            }
            Call call = draw(index);
            if (scenario.sent().contains(call.priority)) {
                send(call);
            }
            if (arrived < scenario.requests()) {
                events.schedule(nextArrival(), this);
            }
        }
    }

    /** The request of this arrival: every draw made in the same order whatever is sent. */
    private Call draw(int index) {
        FleetScenario.Traffic t = scenario.traffic();
        int m = pick(modelCdf, draws.nextDouble());
        boolean named = draws.nextDouble() < t.adapterShare();
        int rank = pick(adapterCdf.length == 0 ? new double[] {1} : adapterCdf, draws.nextDouble()) + 1;
        Priority priority = priorities[pick(priorityCdf, draws.nextDouble())];
        String tenant = tenants[pick(tenantCdf, draws.nextDouble())];
        Scenario.Workload w = FleetScenario.SIZES;
        double prompt = logNormal(w.promptMedian(), w.sigma(), 32_000);
        double output = logNormal(w.outputMedian(), w.sigma(), 4_000);
        String adapter = m == 0 && named && t.adapters() > 0 ? FleetScenario.Traffic.adapter(models[0], rank) : null;
        return new Call(index, models[m], adapter, priority, tenant, prompt * w.prefillSecondsPerToken(),
                output * w.decodeSecondsPerToken());
    }

    private void send(Call call) {
        LoadBalancer lb = balancers.size() == 1 ? balancers.values().iterator().next() : balancers.get(call.model);
        inFlight++;
        if (call.measured() && call.adapter != null) {
            adapterRequests++;
        }
        if (policy.routing() == Routing.EXECUTE_ASYNC) {
            execute(lb, call);
            return;
        }
        if (policy.routing() == Routing.ADMISSION) {
            admit(lb, call);
            return;
        }
        Lease lease;
        try {
            lease = lb.acquire(call.request());
        } catch (NoAvailableBackendException e) {
            end(call, Outcome.REJECTED);
            return;
        }
        start(call, lease);
        schedulePatience(call);
    }

    /** The client gives up on its call if no first token came within its patience. */
    private void schedulePatience(Call call) {
        if (scenario.patienceSeconds() == Double.POSITIVE_INFINITY) {
            return;
        }
        events.schedule(call.arrivedAt + scenario.patienceSeconds(), new EventQueue.Event() {
            @Override
            void fire() {
                if (call.ended || !Double.isNaN(call.firstTokenAt)) {
                    return;
                }
                if (call.admission != null) {
                    call.admission.cancel(false); // withdraws it from the queue; ends it as abandoned
                } else {
                    abandon(call);
                }
            }
        });
    }

    /** Sends an attempt of the call to the instance of the lease. */
    private void start(Call call, Lease lease) {
        Instance inst = instances.get(lease.backend().id());
        if (call.measured()) {
            attempts++;
            routed.merge(inst.id, 1L, Long::sum);
        }
        if (!modelOf.get(inst.id).equals(call.model)) {
            // the instance answers 404 at once, as vLLM does for a model it does not serve
            if (call.measured()) {
                misrouted++;
            }
            lease.failure();
            end(call, Outcome.REJECTED);
            return;
        }
        Instance.Job job = inst.admit(null, events.now(), call.prefill, call.decode,
                inst.adapterSlots > 0 ? call.adapter : null);
        Attempt a = new Attempt(call, lease, inst, job, null, null);
        call.attempts.add(a);
        jobs.put(job, a);
        reschedule(inst);
    }

    /**
     * Sends the call through {@link LoadBalancer#executeAsync}: each attempt the balancer starts
     * goes to its instance, and the call ends when the balancer's future does.
     */
    private void execute(LoadBalancer lb, Call call) {
        lb.executeAsync(call.request(), attempt -> {
            CompletableFuture<Void> answer = new CompletableFuture<>();
            Instance inst = instances.get(attempt.backend().id());
            if (call.measured()) {
                attempts++;
                routed.merge(inst.id, 1L, Long::sum);
                if (!call.attempts.isEmpty()) {
                    extraAttempts++;
                }
            }
            Instance.Job job = inst.admit(null, events.now(), call.prefill, call.decode, null);
            Attempt a = new Attempt(call, attempt.lease(), inst, job, attempt, answer);
            call.attempts.add(a);
            jobs.put(job, a);
            attempt.onCancel(() -> {
                if (inst.cancel(job, events.now())) {
                    jobs.remove(job);
                    count(a, false);
                    reschedule(inst);
                }
            });
            reschedule(inst);
            return answer;
        }, policy.options()).whenComplete((answer, failure) -> end(call, failure == null ? Outcome.COMPLETED
                : Outcome.REJECTED));
    }

    /**
     * Asks the balancer for room: the lease comes at once when a backend has room, later when the
     * request has waited for it (on the release that frees it), or never when the request is
     * refused (shed, the queue full, its wait over) or its client gives up first.
     */
    private void admit(LoadBalancer lb, Call call) {
        CompletableFuture<Lease> admission = lb.acquireAsync(call.request());
        call.admission = admission;
        schedulePatience(call);
        admission.whenComplete((lease, failure) -> {
            call.admission = null;
            if (lease != null) {
                start(call, lease);
            } else if (!call.ended) {
                end(call, failure instanceof CancellationException ? Outcome.ABANDONED
                        : Outcome.REJECTED);
            }
        });
    }

    private void abandon(Call call) {
        for (Attempt a : call.attempts) {
            cancel(a);
        }
        end(call, Outcome.ABANDONED);
    }

    private void cancel(Attempt a) {
        if (a.instance().cancel(a.job(), events.now())) {
            jobs.remove(a.job());
            count(a, false);
            a.lease().failure();
            reschedule(a.instance());
        }
    }

    /** Counts the work an attempt got, and its cold start. */
    private void count(Attempt a, boolean answered) {
        if (!a.call().measured()) {
            return;
        }
        double work = a.job().workDone();
        workDone += work;
        if (!answered) {
            wastedWork += work;
        }
        if (a.job().loadedItsAdapter()) {
            coldStarts++;
        }
    }

    private void reschedule(Instance inst) {
        inst.scheduleNextCompletion(events, () -> {
            List<Instance.Job> done = inst.complete(events.now());
            // copied: a first token may cancel the other attempts of its call, here or elsewhere
            for (Instance.Job job : List.copyOf(inst.firstTokens())) {
                Attempt a = jobs.get(job);
                if (a != null) {
                    firstToken(a);
                }
            }
            for (Instance.Job job : done) {
                Attempt a = jobs.remove(job);
                if (a != null) {
                    finish(a);
                }
            }
            reschedule(inst);
        });
    }

    private void firstToken(Attempt a) {
        if (a.managed() != null) {
            a.managed().firstToken();
        } else {
            a.lease().firstByte();
        }
        Call call = a.call();
        if (Double.isNaN(call.firstTokenAt)) {
            call.firstTokenAt = events.now();
        }
    }

    private void finish(Attempt a) {
        count(a, true);
        if (a.managed() != null) {
            a.answer().complete(null); // the balancer ends the lease and the call
        } else {
            a.lease().success();
            end(a.call(), Outcome.COMPLETED);
        }
    }

    private enum Outcome { COMPLETED, REJECTED, ABANDONED }

    private void end(Call call, Outcome outcome) {
        if (call.ended) {
            throw new IllegalStateException("request " + call.index + " ended twice, the second time " + outcome);
        }
        call.ended = true;
        inFlight--;
        if (!call.measured()) {
            return;
        }
        double latency = events.now() - call.arrivedAt;
        double ttft = call.firstTokenAt - call.arrivedAt;
        all.add(outcome, latency, ttft);
        byPriority.get(call.priority).add(outcome, latency, ttft);
        byModel.get(call.model).add(outcome, latency, ttft);
        if (call.priority != Priority.SHEDDABLE) {
            byTenant.get(call.tenant).add(outcome, latency, ttft);
        }
    }

    /** What a metrics poller would bring: each instance's queue, batch and KV-cache pressure. */
    private final class Scrape extends EventQueue.Event {
        @Override
        void fire() {
            for (Instance inst : instances.values()) {
                LoadReport.Builder report = LoadReport.builder()
                        .waitingRequests(inst.waiting())
                        .runningRequests(inst.runningCount())
                        .kvCacheUsage(Math.min(1.0, (double) inst.runningCount() / inst.maxBatch));
                if (policy.routing() == Routing.LORA_AFFINITY && inst.adapterSlots > 0) {
                    report.runningAdapters(List.copyOf(inst.runningAdapters()))
                            .waitingAdapters(List.copyOf(inst.waitingAdapters()))
                            .maxAdapters(inst.adapterSlots);
                }
                for (LoadBalancer lb : balancers.values()) {
                    if (lb.getBackend(inst.id).isPresent()) {
                        lb.updateBackendResources(inst.id, report.build());
                    }
                }
            }
            events.schedule(events.now() + scenario.scrapeSeconds(), this);
        }
    }

    private Map<String, Double> shares() {
        Map<String, Double> share = new LinkedHashMap<>();
        for (String id : instances.keySet()) {
            share.put(id, attempts == 0 ? 0 : (double) routed.getOrDefault(id, 0L) / attempts);
        }
        return share;
    }

    private Result result() {
        Map<Priority, Figures> p = new EnumMap<>(Priority.class);
        byPriority.forEach((k, v) -> {
            if (scenario.sent().contains(k) && v.requests > 0) {
                p.put(k, v.figures());
            }
        });
        Map<String, Figures> m = new LinkedHashMap<>();
        byModel.forEach((k, v) -> m.put(k, v.figures()));
        Map<String, Figures> t = new LinkedHashMap<>();
        byTenant.forEach((k, v) -> t.put(k, v.figures()));
        return new Result(scenario.name(), policy.name(), all.figures(), p, m, t, adapterRequests, coldStarts,
                attempts, extraAttempts, workDone, wastedWork, misrouted, shares(), unstable);
    }

    /** The outcomes and times of one kind of request. */
    private static final class Samples {
        long requests;
        long completed;
        long rejected;
        long abandoned;
        double[] latencies = new double[256];
        double[] ttfts = new double[256];

        void add(Outcome outcome, double latency, double ttft) {
            requests++;
            switch (outcome) {
                case REJECTED -> rejected++;
                case ABANDONED -> abandoned++;
                case COMPLETED -> {
                    if (completed == latencies.length) {
                        latencies = Arrays.copyOf(latencies, latencies.length * 2);
                        ttfts = Arrays.copyOf(ttfts, ttfts.length * 2);
                    }
                    latencies[(int) completed] = latency;
                    ttfts[(int) completed] = ttft;
                    completed++;
                }
            }
        }

        Figures figures() {
            double[] l = Arrays.copyOf(latencies, (int) completed);
            double[] f = Arrays.copyOf(ttfts, (int) completed);
            Arrays.sort(l);
            Arrays.sort(f);
            return new Figures(requests, completed, rejected, abandoned, quantile(l, 0.5), quantile(l, 0.99),
                    quantile(f, 0.5), quantile(f, 0.99));
        }
    }

    private static double quantile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}

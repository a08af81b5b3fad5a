package dev.ailb.sim;

import dev.ailb.BalancingStrategy;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerBuilder;
import dev.ailb.Request;
import dev.ailb.SlowStart;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * A cold instance joins a loaded fleet: six instances at 80% of their capacity serve LLM requests
 * ({@link Scenario#llmWorkload()}: log-normal prompts of median 400 tokens and outputs of median
 * 150, 5 s of work at batch size 1; batches of 16) behind a real {@link LoadBalancer} in virtual
 * time, and after {@link #JOIN_SECONDS} a seventh joins (scale-out) with cold caches and kernels:
 * it runs at {@link #COLD_SPEED} of a warm instance's speed, which grows linearly to full speed
 * over {@link #WARM_UP_SECONDS}, stepped every second. The run is measured with and without slow
 * start ({@link SlowStart}, a window as long as the warm-up), under {@code LEAST_CONNECTIONS} and
 * {@code WEIGHTED_ROUND_ROBIN}.
 *
 * <p>Measured over the requests that arrive during the warm-up: the newcomer's share of them
 * (over the first quarter of the warm-up and over all of it), the mean latency of those it served
 * and the fleet's p99; and the newcomer's share of the requests after the warm-up, which slow start
 * must leave at its full share. The same seed gives the same requests whatever the policy: the
 * requests draw from their own random source, the balancer from another.
 *
 * <p>Not thread-safe: a run is one thread.
 */
final class ColdStartSimulation {
    static final long SEED = 42;
    static final int WARM = 6;
    static final double LOAD = 0.8;
    static final double JOIN_SECONDS = 300;
    static final double WARM_UP_SECONDS = 120;
    static final double COLD_SPEED = 0.2;
    static final double AFTER_SECONDS = 300;
    static final String NEWCOMER = "i7";
    private static final int MAX_BATCH = 16;
    private static final double BATCH_PENALTY = 0.05;

    /** A strategy, and the slow start of the balancer (null for none). */
    record Policy(String name, BalancingStrategy strategy, SlowStart slowStart) {}

    /**
     * What a run measured. Shares are of the requests routed in a period; latencies in seconds
     * from arrival.
     *
     * @param firstQuarterShare the newcomer's share over the first quarter of the warm-up
     * @param warmUpShare       its share over the warm-up
     * @param afterShare        its share after the warm-up, to the end of the run
     * @param newcomerMean      the mean latency of the requests it served, arrived during the warm-up
     *                          (a mean: it serves too few of them for a stable p99)
     * @param fleetP99          the p99 latency of every request arrived during the warm-up
     * @param steadyP99         the p99 latency of the requests arrived before the join, the baseline
     */
    record Result(String policy, double firstQuarterShare, double warmUpShare, double afterShare,
            double newcomerMean, double fleetP99, double steadyP99) {}

    /** The policies of the report, in its order. */
    static List<Policy> policies() {
        SlowStart ramp = SlowStart.of(Duration.ofSeconds((long) WARM_UP_SECONDS));
        return List.of(
                new Policy("LEAST_CONNECTIONS", BalancingStrategy.LEAST_CONNECTIONS, null),
                new Policy("LEAST_CONNECTIONS, slow start 120 s", BalancingStrategy.LEAST_CONNECTIONS, ramp),
                new Policy("WEIGHTED_ROUND_ROBIN", BalancingStrategy.WEIGHTED_ROUND_ROBIN, null),
                new Policy("WEIGHTED_ROUND_ROBIN, slow start 120 s", BalancingStrategy.WEIGHTED_ROUND_ROBIN, ramp));
    }

    static List<Result> runAll(long seed) {
        List<Result> results = new ArrayList<>();
        for (Policy p : policies()) {
            results.add(new ColdStartSimulation(p, seed).run());
        }
        return results;
    }

    private final Policy policy;
    private final long seed;
    private final Scenario.Workload workload = Scenario.llmWorkload();
    private final SplittableRandom draws;
    private final EventQueue events = new EventQueue();
    private final List<Instance> instances = new ArrayList<>();
    private final double rate;
    private final double endSeconds = JOIN_SECONDS + WARM_UP_SECONDS + AFTER_SECONDS;
    private LoadBalancer lb;
    private int inFlight;
    private boolean arriving = true;
    // what is measured
    private final long[] routed = new long[3]; // to the newcomer: first quarter, warm-up, after
    private final long[] total = new long[3];
    private final List<Double> newcomerLatencies = new ArrayList<>();
    private final List<Double> fleetLatencies = new ArrayList<>();
    private final List<Double> steadyLatencies = new ArrayList<>();

    private ColdStartSimulation(Policy policy, long seed) {
        this.policy = policy;
        this.seed = seed;
        this.draws = new SplittableRandom(seed);
        double capacity = MAX_BATCH / ((1 + BATCH_PENALTY * (MAX_BATCH - 1)) * workload.typicalServiceSeconds());
        this.rate = LOAD * WARM * capacity;
    }

    private double now() {
        return events.now();
    }

    private void at(double time, Runnable action) {
        events.schedule(time, new EventQueue.Event() {
            @Override
            void fire() {
                action.run();
            }
        });
    }

    private Result run() {
        LoadBalancerBuilder builder = LoadBalancer.builder().strategy(policy.strategy()).ticker(events.ticker())
                .random(new Random(seed * 31 + 7)).healthCheckScheduler(new SimulatedScheduler(events));
        if (policy.slowStart() != null) {
            builder.slowStart(policy.slowStart());
        }
        lb = builder.build();
        for (int i = 1; i <= WARM; i++) {
            join("i" + i, 1.0);
        }
        at(JOIN_SECONDS, () -> {
            Instance cold = join(NEWCOMER, COLD_SPEED);
            for (int s = 1; s <= WARM_UP_SECONDS; s++) {
                double speed = COLD_SPEED + (1 - COLD_SPEED) * s / WARM_UP_SECONDS;
                at(JOIN_SECONDS + s, () -> {
                    cold.setSpeed(now(), speed);
                    rescheduleCompletion(cold);
                });
            }
        });
        at(exponential(1 / rate), this::arrive);
        events.run(() -> !arriving && inFlight == 0);
        lb.close();
        double warmUp = newcomerShare(1);
        return new Result(policy.name(), newcomerShare(0), warmUp, newcomerShare(2), mean(newcomerLatencies),
                p99(fleetLatencies), p99(steadyLatencies));
    }

    private Instance join(String id, double speed) {
        Instance instance = new Instance(id, MAX_BATCH, speed, BATCH_PENALTY, 0);
        instances.add(instance);
        lb.addBackend(id, "10.0.0." + instances.size(), 8000);
        return instance;
    }

    private double newcomerShare(int period) {
        return total[period] == 0 ? 0 : (double) routed[period] / total[period];
    }

    private void arrive() {
        double arrived = now();
        double prompt = logNormal(workload.promptMedian(), workload.sigma(), 32_000);
        double output = logNormal(workload.outputMedian(), workload.sigma(), 4_000);
        double work = prompt * workload.prefillSecondsPerToken() + output * workload.decodeSecondsPerToken();
        Lease lease = lb.acquire(new Request("r", "172.16.0.1", "/v1/chat/completions"));
        Instance instance = byId(lease.backend().id());
        boolean toNewcomer = instance.id.equals(NEWCOMER);
        int period = period(arrived);
        if (period >= 0) {
            total[period]++;
            if (toNewcomer) {
                routed[period]++;
            }
            if (period == 0) { // the first quarter is also part of the warm-up
                total[1]++;
                if (toNewcomer) {
                    routed[1]++;
                }
            }
        }
        instance.admit(new Tag(lease, arrived, toNewcomer), arrived, work);
        inFlight++;
        rescheduleCompletion(instance);
        double next = arrived + exponential(1 / rate);
        if (next < endSeconds) {
            at(next, this::arrive);
        } else {
            arriving = false;
        }
    }

    /** 0: the first quarter of the warm-up; 1: the rest of it; 2: after it; -1: before the join. */
    private static int period(double t) {
        if (t < JOIN_SECONDS) {
            return -1;
        } else if (t < JOIN_SECONDS + WARM_UP_SECONDS / 4) {
            return 0;
        } else if (t < JOIN_SECONDS + WARM_UP_SECONDS) {
            return 1;
        }
        return 2;
    }

    private Instance byId(String id) {
        for (Instance i : instances) {
            if (i.id.equals(id)) {
                return i;
            }
        }
        throw new IllegalStateException("no instance " + id);
    }

    private record Tag(Lease lease, double arrived, boolean toNewcomer) {}

    private void rescheduleCompletion(Instance instance) {
        instance.scheduleNextCompletion(events, () -> {
            for (Instance.Job job : instance.complete(now())) {
                finish(job);
            }
            rescheduleCompletion(instance);
        });
    }

    private void finish(Instance.Job job) {
        Tag tag = (Tag) job.tag;
        inFlight--;
        tag.lease().success();
        double latency = now() - tag.arrived();
        int period = period(tag.arrived());
        if (period == -1) {
            if (tag.arrived() >= JOIN_SECONDS / 3) { // past the fleet's own warm-up from empty
                steadyLatencies.add(latency);
            }
        } else if (period <= 1) {
            fleetLatencies.add(latency);
            if (tag.toNewcomer()) {
                newcomerLatencies.add(latency);
            }
        }
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

    private static double mean(List<Double> latencies) {
        double sum = 0;
        for (double l : latencies) {
            sum += l;
        }
        return latencies.isEmpty() ? 0 : sum / latencies.size();
    }

    private static double p99(List<Double> latencies) {
        if (latencies.isEmpty()) {
            return 0;
        }
        double[] sorted = latencies.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(0.99 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** The runs as a markdown table, as the AI-fleets guide shows them. */
    static String markdown(List<Result> results) {
        StringBuilder table = new StringBuilder(
                "| policy | newcomer's share, first 30 s | during the warm-up | after it | newcomer's mean latency, s "
                        + "| fleet's p99 during the warm-up, s | fleet's p99 before the join, s |\n"
                        + "|---|---|---|---|---|---|---|\n");
        for (Result r : results) {
            table.append(String.format(Locale.ROOT, "| %s | %.1f%% | %.1f%% | %.1f%% | %.1f | %.1f | %.1f |%n",
                    r.policy(), 100 * r.firstQuarterShare(), 100 * r.warmUpShare(), 100 * r.afterShare(),
                    r.newcomerMean(), r.fleetP99(), r.steadyP99()));
        }
        return table.toString();
    }

    /** Prints the runs' table, with the seed given as the first argument or {@link #SEED}. */
    public static void main(String[] args) {
        System.out.print(markdown(runAll(args.length > 0 ? Long.parseLong(args[0]) : SEED)));
    }
}

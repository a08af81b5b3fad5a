package dev.ailb.sim;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.Request;
import dev.ailb.SelectionContext;
import dev.ailb.Selector;
import java.util.Map;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * The lowest time to first token, seeing the truth: the available backend whose instance, by its
 * true prefix cache and queue, would give the request its first token soonest
 * ({@link Instance#estimatedTimeToFirstToken}: the wait for a slot, then the prefill of the
 * prompt's tokens not cached there), ties broken at random. No balancer can know this; it is the
 * reference for the prefix-cache hit rate and the time to first token. Each request is placed
 * greedily, as it comes: the oracle does not hold a slot free for a request yet to come.
 */
final class TtftOracle implements BalancingStrategy {
    static final String NAME = "TTFT_ORACLE";

    /** Stands for the oracle in a {@link Simulation.Policy}; the simulation builds the real one. */
    static final BalancingStrategy MARKER = BalancingStrategy.named(NAME, context -> {
        throw new UnsupportedOperationException("the simulation replaces this marker with a TtftOracle");
    });

    private final Map<String, Instance> instances;
    private final Function<Request, Prompt> prompts;
    private final DoubleSupplier clock;

    /**
     * @param instances the fleet, by backend id
     * @param prompts   the prompt of the request being routed, as the instances hold it
     * @param clock     the simulation's time, in seconds
     */
    TtftOracle(Map<String, Instance> instances, Function<Request, Prompt> prompts, DoubleSupplier clock) {
        this.instances = instances;
        this.prompts = prompts;
        this.clock = clock;
    }

    @Override
    public Selector newSelector(SelectionContext context) {
        RandomGenerator random = context.random();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            Instance[] byIndex = new Instance[backends.length];
            for (int i = 0; i < backends.length; i++) {
                byIndex[i] = instances.get(backends[i].id());
            }
            return request -> {
                Prompt prompt = prompts.apply(request);
                double now = clock.getAsDouble();
                int best = -1;
                double bestTime = Double.POSITIVE_INFINITY;
                int ties = 0;
                for (int i = 0; i < backends.length; i++) {
                    double time = byIndex[i].estimatedTimeToFirstToken(prompt, now);
                    if (time < bestTime) {
                        best = i;
                        bestTime = time;
                        ties = 1;
                    } else if (time == bestTime && random.nextInt(++ties) == 0) {
                        best = i; // reservoir sampling: each tied backend equally likely
                    }
                }
                return backends[best];
            };
        };
    }

    @Override
    public String name() {
        return NAME;
    }
}

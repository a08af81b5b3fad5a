package dev.ailb.sim;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.Selector;
import dev.ailb.SelectionContext;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * Join the shortest queue, seeing the true queues: the available backend whose instance has the
 * fewest requests waiting and running, ties broken at random. No balancer can know this; it is
 * the reference the strategies are measured against. It still runs inside the real balancer, so
 * it gets the same outlier ejection as they do.
 */
final class Oracle implements BalancingStrategy {
    /** Stands for the oracle in a {@link Simulation.Policy}; the simulation builds the real one. */
    static final BalancingStrategy MARKER = new BalancingStrategy() {
        @Override
        public Selector newSelector(SelectionContext context) {
            throw new UnsupportedOperationException("the simulation replaces this marker with an Oracle");
        }

        @Override
        public String name() {
            return "JSQ_ORACLE";
        }
    };

    private final Map<String, Instance> instances;

    Oracle(Map<String, Instance> instances) {
        this.instances = instances;
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
                int best = -1;
                int bestLoad = Integer.MAX_VALUE;
                int ties = 0;
                for (int i = 0; i < backends.length; i++) {
                    int load = byIndex[i].outstanding();
                    if (load < bestLoad) {
                        best = i;
                        bestLoad = load;
                        ties = 1;
                    } else if (load == bestLoad && random.nextInt(++ties) == 0) {
                        best = i; // reservoir sampling: each tied backend equally likely
                    }
                }
                return backends[best];
            };
        };
    }

    @Override
    public String name() {
        return "JSQ_ORACLE";
    }
}

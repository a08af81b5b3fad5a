package dev.ailb.sim;

import dev.ailb.Priority;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A fleet that serves several models, some with LoRA adapters, the traffic sent to it, and how
 * long a client waits for its first token. The factories below are the scenarios of the report:
 * a mixed fleet, an overload and a straggler. The arrival rate of each is set from a stated load,
 * the share of the fleet's capacity the traffic asks for, capacity counted with full batches and
 * without adapter loads.
 *
 * <p>The requests are those of {@link Scenario#llmWorkload()}: log-normal prompts (median 400
 * tokens) and outputs (median 150), sigma 1, prefill 0.1 ms and decode 20 ms per token at batch
 * size 1; and the instances are those of the other scenarios: batches of 16, each request at
 * {@code speed / (1 + 0.05·(batch − 1))}.
 *
 * @param name          the scenario's name in tables
 * @param instances     the fleet
 * @param traffic       what the requests ask for
 * @param requests      how many requests arrive (the first tenth is a warm-up, not measured)
 * @param scrapeSeconds how often the instances' metrics reach the balancer
 * @param patienceSeconds how long a client waits for its first token before it gives up and
 *                      cancels; infinite for a client that waits
 * @param load          the stated load, for the report
 * @param sent          the priorities whose requests are sent; the others are drawn, then dropped
 */
record FleetScenario(String name, List<Server> instances, Traffic traffic, int requests, double scrapeSeconds,
        double patienceSeconds, double load, Set<Priority> sent) {

    /** Prompt and output sizes, and what a token costs: those of {@link Scenario#llmWorkload()}. */
    static final Scenario.Workload SIZES = Scenario.llmWorkload();
    static final int MAX_BATCH = 16;
    static final double BATCH_PENALTY = 0.05;
    /**
     * The time to load a LoRA adapter into a slot. A rank-16 adapter of an 8B model is some tens
     * of megabytes of weights; read from local disk and copied to the accelerator, vLLM takes a
     * few hundred milliseconds, more from network storage. During it the instance's batch stands
     * still.
     */
    static final double ADAPTER_LOAD_SECONDS = 0.5;
    /** Adapter slots per instance: vLLM's {@code --max-loras}, commonly set between 1 (its default) and 8. */
    static final int ADAPTER_SLOTS = 4;

    /**
     * One instance: the model it serves, its speed, its adapter slots (0 for none), and its stalls:
     * every {@code stallEverySeconds} on average (Poisson; 0 for never) it stands still for
     * {@code stallSeconds} on average (exponential).
     */
    record Server(String id, String model, double speed, int adapterSlots, double stallEverySeconds,
            double stallSeconds) {
        Server(String id, String model, double speed, int adapterSlots) {
            this(id, model, speed, adapterSlots, 0, 0);
        }

        double capacity(double meanWork) {
            double working = stallEverySeconds == 0 ? 1 : stallEverySeconds / (stallEverySeconds + stallSeconds);
            return working * new Scenario.InstanceSpec(id, MAX_BATCH, speed, BATCH_PENALTY, 1).capacity(meanWork);
        }
    }

    /**
     * What the requests ask for, each drawn on its own: a model by {@code models}' shares (the
     * adapters of the first model, when it has any, named by a share of its requests, Zipf-popular
     * with exponent 1), a priority by {@code priorities}' shares, a tenant by {@code tenants}'.
     *
     * @param arrivalRate   requests per second, Poisson
     * @param models        each model's share of the requests, in order
     * @param adapters      how many adapters of the first model the requests name
     * @param adapterShare  the share of the first model's requests that name an adapter
     * @param priorities    each priority's share
     * @param tenants       each tenant's share, in order
     */
    record Traffic(double arrivalRate, Map<String, Double> models, int adapters, double adapterShare,
            Map<Priority, Double> priorities, Map<String, Double> tenants) {

        Traffic withRate(double rate) {
            return new Traffic(rate, models, adapters, adapterShare, priorities, tenants);
        }

        /** An adapter's name: the model's name and its rank in popularity. */
        static String adapter(String model, int rank) {
            return model + "-lora-" + rank;
        }
    }

    /** This scenario with only the requests of one priority sent, the same draws otherwise. */
    FleetScenario only(Priority priority) {
        return new FleetScenario(name + ", " + priority.name().toLowerCase(Locale.ROOT) + " only", instances, traffic,
                requests, scrapeSeconds, patienceSeconds, load, EnumSet.of(priority));
    }

    /** This scenario with another number of requests, the rest as it is. */
    FleetScenario withRequests(int n) {
        return new FleetScenario(name, instances, traffic, n, scrapeSeconds, patienceSeconds, load, sent);
    }

    static final String LLAMA = "llama-3.1-8b";
    static final String QWEN = "qwen2.5-7b";
    static final int REQUESTS = 20_000;

    private static Map<Priority, Double> standardOnly() {
        return priorities(0, 1, 0);
    }

    /** The shares of critical, standard and sheddable requests, in that order whatever the JVM. */
    private static Map<Priority, Double> priorities(double critical, double standard, double sheddable) {
        Map<Priority, Double> map = new EnumMap<>(Priority.class);
        map.put(Priority.CRITICAL, critical);
        map.put(Priority.STANDARD, standard);
        map.put(Priority.SHEDDABLE, sheddable);
        return map;
    }

    private static Map<String, Double> noTenant() {
        return ordered("", 1.0);
    }

    /**
     * Two models: four instances of {@link #LLAMA} with {@link #ADAPTER_SLOTS} adapter slots each,
     * 80% of whose requests name one of 16 adapters; two instances of {@link #QWEN}. Each model's
     * instances at 70% load.
     */
    static FleetScenario mixedFleet() {
        List<Server> fleet = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            fleet.add(new Server("llama-" + i, LLAMA, 1.0, ADAPTER_SLOTS));
        }
        for (int i = 1; i <= 2; i++) {
            fleet.add(new Server("qwen-" + i, QWEN, 1.0, 0));
        }
        Traffic traffic = new Traffic(0, ordered(LLAMA, 4.0 / 6, QWEN, 2.0 / 6), 16, 0.8, standardOnly(), noTenant());
        return atLoad("mixed fleet", fleet, traffic, Double.POSITIVE_INFINITY, 0.7);
    }

    /**
     * Six instances of one model at 1.5 times their capacity: 20% critical requests, 50% standard,
     * 30% sheddable; one tenant sends 60% of the requests, three others 13.3% each. A client waits
     * 30 s for its first token.
     */
    static FleetScenario overload() {
        List<Server> fleet = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            fleet.add(new Server("i" + i, LLAMA, 1.0, 0));
        }
        Map<String, Double> tenants = ordered("noisy", 0.6, "tenant-b", 0.4 / 3, "tenant-c", 0.4 / 3, "tenant-d", 0.4 / 3);
        Traffic traffic = new Traffic(0, ordered(LLAMA, 1.0), 0, 0, priorities(0.2, 0.5, 0.3), tenants);
        return atLoad("overload", fleet, traffic, 30, 1.5);
    }

    /**
     * Six instances of one model, one of which runs at a quarter of the others' speed (a throttled
     * accelerator, a noisy neighbour) but answers every request, so that nothing ejects it; 70% of
     * the fleet's capacity, the straggler's counted as it is.
     */
    static FleetScenario straggler() {
        List<Server> fleet = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            fleet.add(new Server("i" + i, LLAMA, i == 6 ? 0.25 : 1.0, 0));
        }
        Traffic traffic = new Traffic(0, ordered(LLAMA, 1.0), 0, 0, standardOnly(), noTenant());
        return atLoad("straggler", fleet, traffic, Double.POSITIVE_INFINITY, 0.7);
    }

    /**
     * Six instances of one model, one of which stands still now and then, for 5 s on average
     * every 50 s (a host pause, a driver reset, a swap storm), answering late but answering, so
     * that nothing ejects it; 70% of the fleet's capacity, the stalls counted.
     */
    static FleetScenario stallingStraggler() {
        List<Server> fleet = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            fleet.add(i == 6 ? new Server("i6", LLAMA, 1.0, 0, 50, 5) : new Server("i" + i, LLAMA, 1.0, 0));
        }
        Traffic traffic = new Traffic(0, ordered(LLAMA, 1.0), 0, 0, standardOnly(), noTenant());
        return atLoad("stalling straggler", fleet, traffic, Double.POSITIVE_INFINITY, 0.7);
    }

    private static FleetScenario atLoad(String name, List<Server> fleet, Traffic traffic, double patience,
            double load) {
        double capacity = 0;
        for (Server s : fleet) {
            capacity += s.capacity(SIZES.typicalServiceSeconds());
        }
        return new FleetScenario(name, fleet, traffic.withRate(load * capacity), REQUESTS, 1.0, patience, load,
                EnumSet.allOf(Priority.class));
    }

    private static Map<String, Double> ordered(Object... pairs) {
        Map<String, Double> map = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            map.put((String) pairs[i], (Double) pairs[i + 1]);
        }
        return map;
    }
}

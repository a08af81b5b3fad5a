package dev.ailb.sim;

import java.util.ArrayList;
import java.util.List;

/**
 * A fleet whose instances keep a prefix cache, the conversations sent to it, and the balancer
 * replicas in front of it. The factories below are the scenarios of the report; the rate at which
 * conversations start is set from a stated load: the share of the fleet's capacity that the
 * requests would take if nothing were cached.
 *
 * @param name             the scenario's name in tables
 * @param instances        the fleet
 * @param workload         the conversations
 * @param conversations    how many conversations start (the first and last tenth are not measured)
 * @param conversationRate conversations started per second, Poisson
 * @param cacheTokens      each instance's prefix cache, in tokens
 * @param blockSize        the tokens of a cache block
 * @param costs            the work of a prompt token and of an output token
 * @param replicas         how many balancers route the requests, each request through one at random
 * @param scrapeSeconds    how often the instances' metrics reach every balancer
 * @param load             the stated load, for the report
 */
record PrefixCacheScenario(String name, List<Scenario.InstanceSpec> instances, ChatWorkload workload,
        int conversations, double conversationRate, int cacheTokens, int blockSize, Instance.TokenCosts costs,
        int replicas, double scrapeSeconds, double load) {

    /** The seed of the system prompts and of the sample that sets the rate: the same in every run. */
    static final long WORKLOAD_SEED = 20_261_203L;
    static final int INSTANCES = 8;
    static final int BLOCK_SIZE = 16;
    /** 0.2 ms per prompt token and 20 ms per output token at batch size 1. */
    static final Instance.TokenCosts COSTS = new Instance.TokenCosts(0.0002, 0.02);
    static final int CACHE_TOKENS = 65_536;
    static final double LOAD = 0.85;
    /** Conversations of the shared-prefix runs in the report; the no-sharing runs have five times as many. */
    static final int CONVERSATIONS = 3_000;

    /**
     * Chats: 32 system prompts of 256 to 4,096 tokens, Zipf-popular (exponent 1: the first opens a
     * quarter of the conversations); 2 to 8 turns; user messages of median 64 tokens, answers of
     * median 200; 20 s of thinking between an answer and the next message on average.
     */
    static ChatWorkload chats() {
        return new ChatWorkload(32, 256, 4_096, 1.0, 2, 8, 64, 1.0, 2_048, 200, 0.6, 1_024, 20);
    }

    /** Single requests with a prompt of their own: median 1,024 tokens; answers as in the chats. */
    static ChatWorkload uniquePrompts() {
        return new ChatWorkload(0, 0, 0, 1.0, 1, 1, 1_024, 0.8, 16_384, 200, 0.6, 1_024, 0);
    }

    static PrefixCacheScenario sharedPrefix(int replicas, int conversations) {
        return atLoad("shared prefix", chats(), conversations, replicas);
    }

    static PrefixCacheScenario noSharing(int replicas, int requests) {
        return atLoad("no sharing", uniquePrompts(), requests, replicas);
    }

    /** The report's runs: each workload with one replica and with eight. */
    static List<PrefixCacheScenario> all() {
        return List.of(sharedPrefix(1, CONVERSATIONS), sharedPrefix(8, CONVERSATIONS),
                noSharing(1, 5 * CONVERSATIONS), noSharing(8, 5 * CONVERSATIONS));
    }

    private static PrefixCacheScenario atLoad(String name, ChatWorkload workload, int conversations, int replicas) {
        List<Scenario.InstanceSpec> fleet = new ArrayList<>();
        for (int i = 0; i < INSTANCES; i++) {
            fleet.add(new Scenario.InstanceSpec("i" + (i + 1), 16, 1.0, 0.05, 1));
        }
        ChatWorkload.MeanRequest mean = workload.meanRequest(2_000, WORKLOAD_SEED);
        double capacity = 0;
        for (Scenario.InstanceSpec spec : fleet) {
            capacity += spec.capacity(mean.work(COSTS));
        }
        double conversationRate = LOAD * capacity / mean.turns();
        return new PrefixCacheScenario(name, fleet, workload, conversations, conversationRate, CACHE_TOKENS,
                BLOCK_SIZE, COSTS, replicas, 1.0, LOAD);
    }
}

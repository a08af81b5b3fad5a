package dev.ailb.demo;

import java.util.List;

/**
 * What the prefix cache scenario saw.
 *
 * @param chats     the chats of each run
 * @param turns     the turns of each chat
 * @param instances the ids of the instances, in registration order
 * @param runs      one per strategy, in {@link Demo#PREFIX_STRATEGIES} order
 */
public record PrefixReport(int chats, int turns, List<String> instances, List<PrefixRun> runs) {

    /** The run of the strategy with this name. */
    public PrefixRun run(String strategy) {
        for (PrefixRun run : runs) {
            if (run.strategy().equals(strategy)) {
                return run;
            }
        }
        throw new IllegalArgumentException("no run of " + strategy);
    }
}

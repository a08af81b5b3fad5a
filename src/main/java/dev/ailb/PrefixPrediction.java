package dev.ailb;

import dev.ailb.internal.PrefixIndex;

/**
 * What {@link PrefixAffinity} predicted for one leased request: the blocks of its prompt, how many
 * of them it expected cached on the backend, and when each of those was last used there, in that
 * backend's index. The server's report on the lease ({@link Lease#reportCachedTokens}) is checked
 * against it once. Immutable.
 */
final class PrefixPrediction {
    private final PrefixIndex index;
    private final long[] hashes;
    private final int matched;
    private final long[] matchedStamps;
    /** Prompt size in the unit the blocks were cut in: token ids with a tokenizer, else characters. */
    private final long promptUnits;
    private final int blockUnits;
    private final boolean tokenized;

    PrefixPrediction(PrefixIndex index, long[] hashes, int matched, long[] matchedStamps, long promptUnits,
            int blockUnits, boolean tokenized) {
        this.index = index;
        this.hashes = hashes;
        this.matched = matched;
        this.matchedStamps = matchedStamps;
        this.promptUnits = promptUnits;
        this.blockUnits = blockUnits;
        this.tokenized = tokenized;
    }

    /**
     * Checks the prediction against the server's report and corrects the index: a miss drops every
     * entry at least as old as the first block that was not there, a hit refreshes the prompt.
     *
     * @return whether the prediction held
     */
    boolean check(long promptTokens, long cachedTokens) {
        if (promptTokens == 0) {
            return true; // nothing to compare
        }
        long cachedBlocks;
        if (tokenized) {
            cachedBlocks = cachedTokens / blockUnits; // the server counts the same tokens
        } else {
            // The server counts its own tokens; the share it had cached, applied to the characters
            // the blocks were cut from, says how many of them it had.
            cachedBlocks = (long) Math.floor((double) cachedTokens / promptTokens * promptUnits / blockUnits);
        }
        // One block of slack: characters are not tokens, and servers cache in blocks of their own.
        if (cachedBlocks + 1 >= matched) {
            index.refresh(hashes, hashes.length);
            return true;
        }
        index.evictNotNewerThan(matchedStamps[(int) cachedBlocks]);
        return false;
    }

    int matched() {
        return matched;
    }

    /** The length matched, in the units the prompt is hashed in: tokens, or characters without a tokenizer. */
    long matchedUnits() {
        return Math.min((long) matched * blockUnits, promptUnits);
    }
}

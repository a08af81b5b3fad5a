package dev.ailb.sim;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An instance's prefix cache, kept as vLLM keeps its KV blocks: blocks of a fixed number of tokens,
 * each named by its {@linkplain Prompt#block chained hash}, so that a prompt's cached prefix is the
 * longest run of its leading blocks found here. The capacity is a number of tokens, whole blocks;
 * when it is full, the least recently used block goes first.
 *
 * <p>A prompt's blocks are stored from its last to its first, so that its first blocks are the most
 * recent: under pressure a prompt loses its tail before its head, and what is left of it is still a
 * prefix that a later prompt can use (vLLM frees a request's blocks in that order for the same
 * reason). As in vLLM, a prompt is never served entirely from the cache: its last token is computed
 * again, to give the logits of the first output token.
 *
 * <p>Not modelled: a running request's blocks cannot be evicted in vLLM; here the blocks a
 * request found are only made the most recent when its prefill starts, and its whole prompt again
 * when the prefill ends. Not thread-safe.
 */
final class PrefixCache {
    private final int blockSize;
    private final int capacityBlocks;
    /** Block hash to nothing, in access order: the eldest is the least recently used. */
    private final LinkedHashMap<Long, Boolean> blocks;

    /**
     * @param capacityTokens the tokens it holds, in whole blocks; {@code >= blockSize}
     * @param blockSize      the tokens of a block; {@code > 0}
     */
    PrefixCache(int capacityTokens, int blockSize) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize: " + blockSize + " (expected: > 0)");
        }
        if (capacityTokens < blockSize) {
            throw new IllegalArgumentException("capacityTokens: " + capacityTokens + " (expected: >= blockSize, "
                    + blockSize + ")");
        }
        this.blockSize = blockSize;
        this.capacityBlocks = capacityTokens / blockSize;
        this.blocks = new LinkedHashMap<>(capacityBlocks * 2, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                return size() > capacityBlocks;
            }
        };
    }

    /** How many of the prompt's tokens are cached here now, without using them. */
    int cachedTokens(Prompt prompt) {
        return hits(prompt) * blockSize;
    }

    /** How many of the prompt's tokens are cached here; those blocks become the most recent. */
    int useCachedTokens(Prompt prompt) {
        int hits = hits(prompt);
        for (int i = hits - 1; i >= 0; i--) {
            blocks.get(prompt.block(i));
        }
        return hits * blockSize;
    }

    /** Stores every full block of the prompt, its first block the most recent of all. */
    void store(Prompt prompt) {
        checkBlockSize(prompt);
        for (int i = prompt.fullBlocks() - 1; i >= 0; i--) {
            blocks.put(prompt.block(i), Boolean.TRUE);
        }
    }

    /** The blocks held. */
    int size() {
        return blocks.size();
    }

    int capacityBlocks() {
        return capacityBlocks;
    }

    private int hits(Prompt prompt) {
        checkBlockSize(prompt);
        // the last token is always computed: only blocks that end before it count
        int usable = Math.max(0, prompt.length() - 1) / blockSize;
        int hits = 0;
        while (hits < usable && blocks.containsKey(prompt.block(hits))) {
            hits++;
        }
        return hits;
    }

    private void checkBlockSize(Prompt prompt) {
        if (prompt.blockSize() != blockSize) {
            throw new IllegalArgumentException("prompt's block size: " + prompt.blockSize() + " (expected: " + blockSize
                    + ", the cache's)");
        }
    }
}

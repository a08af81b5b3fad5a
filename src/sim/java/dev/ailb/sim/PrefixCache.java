package dev.ailb.sim;

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
 * when the prefill ends.
 *
 * <p>Every prompt of a run passes through here, block by block, so the blocks live in arrays rather
 * than in boxed map entries: a node per block (its hash, and its neighbours in the order of use)
 * and an open-addressing table from hash to node, with linear probing. Not thread-safe.
 */
final class PrefixCache {
    private static final int NONE = -1;

    private final int blockSize;
    private final int capacityBlocks;
    private final long[] keys;
    /** Towards the least recently used: the next node to evict after this one goes. */
    private final int[] older;
    /** Towards the most recently used. */
    private final int[] newer;
    /** Node index + 1 per slot, 0 for an empty slot; at most half full. */
    private final int[] table;
    private final int mask;
    private int size;
    private int newest = NONE;
    private int oldest = NONE;

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
        this.keys = new long[capacityBlocks];
        this.older = new int[capacityBlocks];
        this.newer = new int[capacityBlocks];
        this.table = new int[Integer.highestOneBit(capacityBlocks * 2 - 1) << 1];
        this.mask = table.length - 1;
    }

    /** How many of the prompt's tokens are cached here now, without using them. */
    int cachedTokens(Prompt prompt) {
        return hits(prompt) * blockSize;
    }

    /** How many of the prompt's tokens are cached here; those blocks become the most recent. */
    int useCachedTokens(Prompt prompt) {
        int hits = hits(prompt);
        for (int i = hits - 1; i >= 0; i--) {
            makeNewest(find(prompt.block(i)));
        }
        return hits * blockSize;
    }

    /** Stores every full block of the prompt, its first block the most recent of all. */
    void store(Prompt prompt) {
        checkBlockSize(prompt);
        for (int i = prompt.fullBlocks() - 1; i >= 0; i--) {
            long key = prompt.block(i);
            int node = find(key);
            if (node == NONE) {
                node = size < capacityBlocks ? size++ : evictOldest();
                keys[node] = key;
                insertSlot(node);
                linkNewest(node);
            } else {
                makeNewest(node);
            }
        }
    }

    /** The blocks held. */
    int size() {
        return size;
    }

    int capacityBlocks() {
        return capacityBlocks;
    }

    private int hits(Prompt prompt) {
        checkBlockSize(prompt);
        // the last token is always computed: only blocks that end before it count
        int usable = Math.max(0, prompt.length() - 1) / blockSize;
        int hits = 0;
        while (hits < usable && find(prompt.block(hits)) != NONE) {
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

    private int home(long key) {
        return (int) Prompt.mix(key) & mask;
    }

    private int find(long key) {
        for (int slot = home(key); table[slot] != 0; slot = (slot + 1) & mask) {
            if (keys[table[slot] - 1] == key) {
                return table[slot] - 1;
            }
        }
        return NONE;
    }

    private void insertSlot(int node) {
        int slot = home(keys[node]);
        while (table[slot] != 0) {
            slot = (slot + 1) & mask;
        }
        table[slot] = node + 1;
    }

    /** Empties the node's slot, shifting back the entries of its probe run that would be cut off. */
    private void removeSlot(int node) {
        int hole = home(keys[node]);
        while (table[hole] != node + 1) {
            hole = (hole + 1) & mask;
        }
        for (int slot = (hole + 1) & mask; table[slot] != 0; slot = (slot + 1) & mask) {
            int want = home(keys[table[slot] - 1]);
            // moves back unless its home lies cyclically in (hole, slot]
            boolean stays = hole <= slot ? hole < want && want <= slot : hole < want || want <= slot;
            if (!stays) {
                table[hole] = table[slot];
                hole = slot;
            }
        }
        table[hole] = 0;
    }

    private int evictOldest() {
        int node = oldest;
        unlink(node);
        removeSlot(node);
        return node;
    }

    private void makeNewest(int node) {
        if (node != newest) {
            unlink(node);
            linkNewest(node);
        }
    }

    private void linkNewest(int node) {
        older[node] = newest;
        newer[node] = NONE;
        if (newest != NONE) {
            newer[newest] = node;
        } else {
            oldest = node;
        }
        newest = node;
    }

    private void unlink(int node) {
        int o = older[node];
        int n = newer[node];
        if (o != NONE) {
            newer[o] = n;
        } else {
            oldest = n;
        }
        if (n != NONE) {
            older[n] = o;
        } else {
            newest = o;
        }
    }
}

package dev.ailb.demo;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The prefix cache of one {@link CachingInstance}, as an inference server keeps the KV cache of the
 * prompts it prefilled: the hashes of the prompts' blocks of {@link #BLOCK_CHARS} characters, the
 * least recently used dropped beyond a bound. The hashes are chained (each covers its block and
 * every character before it), so a hash names a whole prefix, and the part of a prompt that is
 * cached is the run of its leading blocks whose hashes are present. Thread-safe.
 */
final class PromptCache {
    /** Characters per block: 16 tokens of {@link #CHARS_PER_TOKEN}, the block of vLLM's cache. */
    static final int BLOCK_CHARS = 64;
    /** Characters per token, by which an instance counts a prompt's tokens. */
    static final int CHARS_PER_TOKEN = 4;

    private static final long FNV_OFFSET = 0xCBF29CE484222325L;
    private static final long FNV_PRIME = 0x100000001B3L;

    private final int capacity;
    private final Map<Long, Boolean> blocks; // in access order; guarded by this

    /** @param capacity the most blocks it holds, >= 1 */
    PromptCache(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
        }
        this.capacity = capacity;
        this.blocks = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                return size() > PromptCache.this.capacity;
            }
        };
    }

    /** The prompt's tokens, as an instance counts them: one per {@link #CHARS_PER_TOKEN} characters begun. */
    static long tokens(String prompt) {
        return (prompt.length() + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN;
    }

    /** The chained hashes of the prompt's whole blocks, in order (FNV-1a run on through the blocks). */
    static long[] blockHashes(String prompt) {
        long[] hashes = new long[prompt.length() / BLOCK_CHARS];
        long h = FNV_OFFSET;
        int at = 0;
        for (int b = 0; b < hashes.length; b++) {
            for (int end = at + BLOCK_CHARS; at < end; at++) {
                h = (h ^ prompt.charAt(at)) * FNV_PRIME;
            }
            hashes[b] = h;
        }
        return hashes;
    }

    /**
     * Prefills a prompt: counts its leading blocks that are cached, then caches every whole block
     * of it, as most recently used. At least the prompt's last character is always computed, as a
     * server computes at least the last token to start its answer.
     *
     * @return the tokens of the prompt that were served from the cache
     */
    long prefill(String prompt) {
        long[] hashes = blockHashes(prompt);
        int usable = (prompt.length() - 1) / BLOCK_CHARS;
        int cached = 0;
        synchronized (this) {
            while (cached < usable && blocks.get(hashes[cached]) != null) { // get: touches it
                cached++;
            }
            for (long hash : hashes) {
                blocks.put(hash, Boolean.TRUE);
            }
        }
        return (long) cached * BLOCK_CHARS / CHARS_PER_TOKEN;
    }

    /**
     * Caches every whole block of a sequence the instance has computed, as most recently used: a
     * prompt followed by its answer, whose blocks a server keeps as it generates them.
     */
    void store(String sequence) {
        long[] hashes = blockHashes(sequence);
        synchronized (this) {
            for (long hash : hashes) {
                blocks.put(hash, Boolean.TRUE);
            }
        }
    }

    /** Forgets every block, as a restarted server would. */
    synchronized void clear() {
        blocks.clear();
    }
}

package dev.ailb.internal;

/**
 * Chained hashes of a prompt's blocks: the hash of block {@code i} mixes the hash of block
 * {@code i - 1} with the block's own content, so it names the whole prefix up to and including
 * block {@code i}, and two prompts share the hash of block {@code i} exactly when (barring a 64-bit
 * collision) their first {@code i + 1} blocks are equal. Only full blocks are hashed: a server
 * caches whole blocks, and a partial block at the end of one prompt is not a prefix of the next.
 *
 * <p>The hashes are a pure function of the content and the block size, the same in every JVM and
 * every process, so that balancers in separate application replicas name a prefix alike. They are
 * not cryptographic: they route, they do not protect.
 *
 * <p>Cost: one pass over the hashed characters (about four multiplications per 16 characters, in
 * four independent lanes), no allocation. Thread-safe: static and stateless.
 */
public final class PromptHashes {
    private static final long SEED = 0x6A09E667F3BCC909L;
    private static final long M1 = 0x9E3779B97F4A7C15L;
    private static final long M2 = 0xC2B2AE3D27D4EB4FL;
    private static final long M3 = 0x165667B19E3779F9L;
    private static final long M4 = 0x85EBCA77C2B2AE63L;

    private PromptHashes() {}

    /**
     * Hashes the full blocks of {@code text}, {@code blockChars} characters each, at most
     * {@code maxBlocks} of them.
     *
     * @param text       the prompt
     * @param blockChars characters per block, >= 1
     * @param maxBlocks  the most blocks to hash
     * @param out        receives the chained hashes of blocks 0, 1, ...; long enough for them
     * @param scratch    a buffer of at least {@code blockChars} characters, overwritten
     * @return the number of hashes written: {@code min(text.length() / blockChars, maxBlocks)}
     */
    public static int ofText(String text, int blockChars, int maxBlocks, long[] out, char[] scratch) {
        int blocks = Math.min(text.length() / blockChars, maxBlocks);
        long chain = SEED;
        for (int b = 0; b < blocks; b++) {
            int from = b * blockChars;
            text.getChars(from, from + blockChars, scratch, 0);
            chain = block(chain, scratch, blockChars);
            out[b] = chain;
        }
        return blocks;
    }

    /**
     * Hashes the full blocks of a tokenized prompt, {@code blockTokens} token ids each, at most
     * {@code maxBlocks} of them. Distinct from the hashes of text: a block of ids never names the
     * same prefix as a block of characters.
     *
     * @param tokens      the prompt's token ids
     * @param blockTokens token ids per block, >= 1
     * @param maxBlocks   the most blocks to hash
     * @param out         receives the chained hashes of blocks 0, 1, ...; long enough for them
     * @return the number of hashes written: {@code min(tokens.length / blockTokens, maxBlocks)}
     */
    public static int ofTokens(int[] tokens, int blockTokens, int maxBlocks, long[] out) {
        int blocks = Math.min(tokens.length / blockTokens, maxBlocks);
        long chain = ~SEED;
        for (int b = 0; b < blocks; b++) {
            long h0 = chain;
            long h1 = chain ^ M3;
            int i = b * blockTokens;
            int end = i + blockTokens;
            for (; i + 2 <= end; i += 2) {
                h0 = round(h0, tokens[i] & 0xFFFFFFFFL);
                h1 = round(h1, tokens[i + 1] & 0xFFFFFFFFL);
            }
            if (i < end) {
                h0 = round(h0, tokens[i] & 0xFFFFFFFFL);
            }
            chain = finish(h0 ^ Long.rotateLeft(h1, 29), blockTokens);
            out[b] = chain;
        }
        return blocks;
    }

    /** The hash of one block of characters, chained to the hash of the prefix before it. */
    static long block(long chain, char[] chars, int length) {
        // Four lanes of four characters each per step: independent multiplications, so the loop
        // runs at the throughput of the multiplier rather than at its latency.
        long h0 = chain;
        long h1 = chain ^ M2;
        long h2 = chain ^ M3;
        long h3 = chain ^ M4;
        int i = 0;
        for (; i + 16 <= length; i += 16) {
            h0 = round(h0, word(chars, i));
            h1 = round(h1, word(chars, i + 4));
            h2 = round(h2, word(chars, i + 8));
            h3 = round(h3, word(chars, i + 12));
        }
        for (; i + 4 <= length; i += 4) {
            h0 = round(h0, word(chars, i));
        }
        for (; i < length; i++) {
            h1 = round(h1, chars[i]);
        }
        long h = h0 ^ Long.rotateLeft(h1, 17) ^ Long.rotateLeft(h2, 31) ^ Long.rotateLeft(h3, 47);
        return finish(h, length);
    }

    private static long word(char[] c, int i) {
        return c[i] | (long) c[i + 1] << 16 | (long) c[i + 2] << 32 | (long) c[i + 3] << 48;
    }

    private static long round(long h, long w) {
        return Long.rotateLeft(h ^ w * M2, 31) * M1;
    }

    /** A full avalanche of the lanes' sum and the block's length (the murmur3 finaliser). */
    private static long finish(long h, int length) {
        h ^= length;
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        h ^= h >>> 33;
        return h;
    }

    /**
     * A 64-bit hash of a string, for rendezvous placement by name: stable across processes.
     *
     * @param s the string
     * @return its hash
     */
    public static long ofName(String s) {
        long h = SEED ^ s.length();
        for (int i = 0; i < s.length(); i++) {
            h = round(h, s.charAt(i));
        }
        return finish(h, s.length());
    }

    /**
     * Mixes two hashes into one, fully: the rendezvous score of a key on a node.
     *
     * @param a a hash
     * @param b another hash
     * @return their mix
     */
    public static long mix(long a, long b) {
        return finish(a ^ Long.rotateLeft(b * M1, 23), 0);
    }
}

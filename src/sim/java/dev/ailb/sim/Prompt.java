package dev.ailb.sim;

import java.util.Arrays;

/**
 * A prompt of synthetic tokens, seen the three ways the simulation needs: its tokens (ints of 24
 * bits), the chained hashes of its full blocks (what an instance's {@link PrefixCache} holds), and
 * its text (what a balancer is given). The text writes each token as {@value #CHARS_PER_TOKEN}
 * characters, so that a strategy that counts four characters to a token, as one without a
 * tokenizer does, cuts the text into blocks exactly where the instance cuts the tokens.
 *
 * <p>A block's hash is chained to the hash of the block before it, as vLLM's are: two prompts share
 * a block's hash only if they share every token up to the end of that block.
 *
 * <p>Prompts are made by a {@link Builder} that is only ever appended to: a conversation's next
 * prompt is its last one, the answer and a new message. A prompt is a view of the builder's first
 * tokens (and of their hashes and text, made as the tokens are appended), and stays valid as the
 * builder grows. Immutable once built.
 */
final class Prompt {
    static final int CHARS_PER_TOKEN = 4;
    /** 64 symbols: a token of 24 bits is 4 of them. */
    private static final char[] SYMBOLS =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".toCharArray();
    static final int TOKEN_BITS = 24;
    private static final long FIRST_LINK = 0x6a09e667f3bcc909L;

    private final int[] tokens;
    private final long[] blocks;
    private final char[] text;
    private final int length;
    private final int blockSize;

    private Prompt(int[] tokens, long[] blocks, char[] text, int length, int blockSize) {
        this.tokens = tokens;
        this.blocks = blocks;
        this.text = text;
        this.length = length;
        this.blockSize = blockSize;
    }

    /** The prompt's tokens. */
    int length() {
        return length;
    }

    int blockSize() {
        return blockSize;
    }

    /** The blocks whose every token is in the prompt; a last partial block is not counted. */
    int fullBlocks() {
        return length / blockSize;
    }

    /** The chained hash of block {@code i}, {@code 0 <= i < fullBlocks()}. */
    long block(int i) {
        if (i >= fullBlocks()) {
            throw new IndexOutOfBoundsException("block: " + i + " (expected: < " + fullBlocks() + ")");
        }
        return blocks[i];
    }

    int token(int i) {
        if (i >= length) {
            throw new IndexOutOfBoundsException("token: " + i + " (expected: < " + length + ")");
        }
        return tokens[i];
    }

    /** The text: {@value #CHARS_PER_TOKEN} characters per token, in order. */
    String text() {
        return new String(text, 0, length * CHARS_PER_TOKEN);
    }

    /** Writes the {@value #CHARS_PER_TOKEN} characters of a token (its low 24 bits) at {@code at}. */
    static void render(int token, char[] text, int at) {
        text[at] = SYMBOLS[(token >>> 18) & 63];
        text[at + 1] = SYMBOLS[(token >>> 12) & 63];
        text[at + 2] = SYMBOLS[(token >>> 6) & 63];
        text[at + 3] = SYMBOLS[token & 63];
    }

    /** Appends tokens, hashing each block as it fills and writing each token's text. Not thread-safe. */
    static final class Builder {
        private final int blockSize;
        private int[] tokens;
        private long[] blocks;
        private char[] text;
        private int length;

        Builder(int blockSize) {
            if (blockSize < 1) {
                throw new IllegalArgumentException("blockSize: " + blockSize + " (expected: > 0)");
            }
            this.blockSize = blockSize;
            this.tokens = new int[256];
            this.blocks = new long[16];
            this.text = new char[256 * CHARS_PER_TOKEN];
        }

        /** A builder that starts with the tokens of {@code start}, copied, not hashed or written again. */
        Builder(Prompt start) {
            int capacity = Math.max(256, Integer.highestOneBit(start.length) << 1);
            this.blockSize = start.blockSize;
            this.tokens = Arrays.copyOf(start.tokens, capacity);
            this.blocks = Arrays.copyOf(start.blocks, capacity / blockSize + 1);
            this.text = Arrays.copyOf(start.text, capacity * CHARS_PER_TOKEN);
            this.length = start.length;
        }

        /** Appends one token, of which the low {@value #TOKEN_BITS} bits are kept. */
        Builder append(int token) {
            if (length == tokens.length) {
                tokens = Arrays.copyOf(tokens, length * 2);
                text = Arrays.copyOf(text, length * 2 * CHARS_PER_TOKEN);
            }
            int t = token & ((1 << TOKEN_BITS) - 1);
            tokens[length] = t;
            render(t, text, length * CHARS_PER_TOKEN);
            length++;
            if (length % blockSize == 0) {
                int block = length / blockSize - 1;
                if (block == blocks.length) {
                    blocks = Arrays.copyOf(blocks, block * 2);
                }
                long h = block == 0 ? FIRST_LINK : blocks[block - 1];
                for (int i = length - blockSize; i < length; i++) {
                    h = mix(h ^ tokens[i]);
                }
                blocks[block] = h;
            }
            return this;
        }

        int length() {
            return length;
        }

        /** The prompt of every token appended so far. */
        Prompt build() {
            return new Prompt(tokens, blocks, text, length, blockSize);
        }
    }

    /** SplitMix64's finalizer: a bijection that spreads every input bit over the output. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}

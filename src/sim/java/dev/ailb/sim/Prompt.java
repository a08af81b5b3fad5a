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
 * tokens, and stays valid as the builder grows. Immutable once built.
 */
final class Prompt {
    static final int CHARS_PER_TOKEN = 4;
    /** 64 symbols: a token of 24 bits is 4 of them. */
    private static final char[] SYMBOLS =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".toCharArray();
    static final int TOKEN_BITS = 24;

    private final int[] tokens;
    private final long[] blocks;
    private final int length;
    private final int blockSize;

    private Prompt(int[] tokens, int length, long[] blocks, int blockSize) {
        this.tokens = tokens;
        this.length = length;
        this.blocks = blocks;
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
        char[] text = new char[length * CHARS_PER_TOKEN];
        for (int i = 0; i < length; i++) {
            render(tokens[i], text, i * CHARS_PER_TOKEN);
        }
        return new String(text);
    }

    /** Writes the {@value #CHARS_PER_TOKEN} characters of a token (its low 24 bits) at {@code at}. */
    static void render(int token, char[] text, int at) {
        text[at] = SYMBOLS[(token >>> 18) & 63];
        text[at + 1] = SYMBOLS[(token >>> 12) & 63];
        text[at + 2] = SYMBOLS[(token >>> 6) & 63];
        text[at + 3] = SYMBOLS[token & 63];
    }

    /** Appends tokens and hashes each block as it fills. Not thread-safe. */
    static final class Builder {
        private final int blockSize;
        private int[] tokens = new int[256];
        private long[] blocks = new long[16];
        private int length;

        Builder(int blockSize) {
            if (blockSize < 1) {
                throw new IllegalArgumentException("blockSize: " + blockSize + " (expected: > 0)");
            }
            this.blockSize = blockSize;
        }

        /** Appends one token, of which the low {@value #TOKEN_BITS} bits are kept. */
        Builder append(int token) {
            if (length == tokens.length) {
                tokens = Arrays.copyOf(tokens, length * 2);
            }
            tokens[length++] = token & ((1 << TOKEN_BITS) - 1);
            if (length % blockSize == 0) {
                int block = length / blockSize - 1;
                if (block == blocks.length) {
                    blocks = Arrays.copyOf(blocks, block * 2);
                }
                long h = block == 0 ? 0x6a09e667f3bcc909L : blocks[block - 1];
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
            return new Prompt(tokens, length, blocks, blockSize);
        }
    }

    /** SplitMix64's finalizer: a bijection that spreads every input bit over the output. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}

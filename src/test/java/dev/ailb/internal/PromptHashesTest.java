package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Chained block hashes: a hash names a whole prefix, only full blocks count, and values never change. */
class PromptHashesTest {
    private static final int BLOCK = 8;

    private static long[] hashes(String text, int maxBlocks) {
        long[] out = new long[maxBlocks];
        int n = PromptHashes.ofText(text, BLOCK, maxBlocks, out, new char[BLOCK]);
        return Arrays.copyOf(out, n);
    }

    @Test
    void onlyFullBlocksAreHashedUpToTheBound() {
        assertThat(hashes("1234567", 10)).isEmpty();
        assertThat(hashes("12345678", 10)).hasSize(1);
        assertThat(hashes("12345678" + "abcdefgh" + "xyz", 10)).hasSize(2);
        assertThat(hashes("x".repeat(100), 3)).hasSize(3);
    }

    @Test
    void aHashNamesTheWholePrefixUpToItsBlock() {
        long[] a = hashes("system: be brief|user: hi there|assistant: hello!!", 10);
        long[] b = hashes("system: be brief|user: hi there|ASSISTANT: hello!!", 10);
        long[] c = hashes("SYSTEM: be brief|user: hi there|assistant: hello!!", 10);

        assertThat(a).hasSize(6);
        // Equal first four blocks, different fifth: equal hashes up to the fourth, different after.
        assertThat(Arrays.copyOf(b, 4)).containsExactly(Arrays.copyOf(a, 4));
        assertThat(b[4]).isNotEqualTo(a[4]);
        assertThat(b[5]).isNotEqualTo(a[5]);
        // A different first block changes every hash, even where the blocks themselves are equal.
        for (int i = 0; i < a.length; i++) {
            assertThat(c[i]).isNotEqualTo(a[i]);
        }
    }

    @Test
    void equalBlocksAtDifferentPlacesHashDifferently() {
        long[] h = hashes("abcdefgh".repeat(4), 4);

        assertThat(h).doesNotHaveDuplicates();
    }

    @Test
    void theValuesAreFixedSoThatEveryProcessAndVersionNamesPrefixesAlike() {
        // Balancers in separate replicas, possibly of different builds, must agree: a change of
        // these values is a change of the placement of every prompt, and must be deliberate.
        long[] h = hashes("You are a helpful assistant.", 10);

        assertThat(h).hasSize(3);
        assertThat(h).containsExactly(-2048998396573203895L, 4187307612803341849L, 6768648767830036330L);
        assertThat(PromptHashes.ofName("instance-1")).isEqualTo(PromptHashes.ofName("instance-1"))
                .isNotEqualTo(PromptHashes.ofName("instance-2"));
    }

    @Test
    void tokenBlocksChainTooAndDifferFromTextBlocks() {
        int[] tokens = new int[20];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = 1000 + i;
        }
        long[] out = new long[10];
        int n = PromptHashes.ofTokens(tokens, 8, 10, out);
        int[] changed = tokens.clone();
        changed[12] = 7;
        long[] out2 = new long[10];
        PromptHashes.ofTokens(changed, 8, 10, out2);

        assertThat(n).isEqualTo(2);
        assertThat(out2[0]).isEqualTo(out[0]);
        assertThat(out2[1]).isNotEqualTo(out[1]);
    }

    @Test
    void aLongBlockUsesEveryCharacter() {
        char[] base = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?".toCharArray();
        long reference = PromptHashes.block(1L, base, base.length);
        for (int i = 0; i < base.length; i++) {
            char[] changed = base.clone();
            changed[i] ^= 1;
            assertThat(PromptHashes.block(1L, changed, changed.length)).as("character %d", i).isNotEqualTo(reference);
        }
    }
}

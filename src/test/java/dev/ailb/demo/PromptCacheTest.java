package dev.ailb.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PromptCacheTest {
    private static final int BLOCK = PromptCache.BLOCK_CHARS;
    private static final long BLOCK_TOKENS = BLOCK / PromptCache.CHARS_PER_TOKEN;

    /** {@code blocks} whole blocks of {@code c}, then {@code extra} more characters of it. */
    private static String text(char c, int blocks, int extra) {
        return String.valueOf(c).repeat(blocks * BLOCK + extra);
    }

    @Test
    void aPromptSeenBeforeIsCachedUpToItsLastWholeBlock() {
        PromptCache cache = new PromptCache(100);
        String prompt = text('a', 3, 10);

        assertThat(cache.prefill(prompt)).as("first time").isZero();
        assertThat(cache.prefill(prompt)).as("second time").isEqualTo(3 * BLOCK_TOKENS);
    }

    @Test
    void thePromptsLastCharacterIsAlwaysComputed() {
        PromptCache cache = new PromptCache(100);
        String prompt = text('a', 2, 0); // ends on a block boundary

        cache.prefill(prompt);

        assertThat(cache.prefill(prompt)).isEqualTo(BLOCK_TOKENS);
    }

    @Test
    void aLongerPromptFindsTheBlocksOfItsPrefix() {
        PromptCache cache = new PromptCache(100);
        String first = text('a', 2, 5);
        cache.prefill(first);

        assertThat(cache.prefill(first + "b".repeat(3 * BLOCK))).isEqualTo(2 * BLOCK_TOKENS);
    }

    @Test
    void aBlockCountsOnlyAfterTheSamePrefix() {
        PromptCache cache = new PromptCache(100);
        String tail = text('x', 2, 0);
        cache.prefill("a".repeat(BLOCK) + tail);

        assertThat(cache.prefill("b".repeat(BLOCK) + tail + "!")).as("same blocks after another first block")
                .isZero();
    }

    @Test
    void theAnswerStoredWithItsPromptIsCachedForTheNextTurn() {
        PromptCache cache = new PromptCache(100);
        String prompt = text('p', 2, 7);
        String answer = text('q', 2, 0);
        cache.prefill(prompt);
        cache.store(prompt + answer);

        long cached = cache.prefill(prompt + answer + "next message");

        assertThat(cached).isEqualTo((prompt + answer).length() / BLOCK * BLOCK_TOKENS);
    }

    @Test
    void theLeastRecentlyUsedBlocksGoFirst() {
        PromptCache cache = new PromptCache(6);
        String a = text('a', 3, 1);
        String b = text('b', 3, 1);
        String c = text('c', 3, 1);
        cache.prefill(a);
        cache.prefill(b);
        cache.prefill(a); // used again: b is now the least recent

        cache.prefill(c);

        assertThat(cache.prefill(a)).as("a kept").isEqualTo(3 * BLOCK_TOKENS);
        assertThat(cache.prefill(b)).as("b evicted").isZero();
    }

    @Test
    void clearForgetsEveryBlock() {
        PromptCache cache = new PromptCache(100);
        String prompt = text('a', 2, 1);
        cache.prefill(prompt);

        cache.clear();

        assertThat(cache.prefill(prompt)).isZero();
    }

    @Test
    void countsATokenForEveryFourCharactersBegun() {
        assertThat(PromptCache.tokens("")).isZero();
        assertThat(PromptCache.tokens("abcd")).isEqualTo(1);
        assertThat(PromptCache.tokens("abcde")).isEqualTo(2);
    }

    @Test
    void refusesACapacityBelowOne() {
        assertThatThrownBy(() -> new PromptCache(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("capacity: 0 (expected: >= 1)");
    }
}

package dev.ailb.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The simulated instances' prefix cache and the prompts it holds. */
class PrefixCacheTest {
    private static final int BLOCK = 16;

    /** A prompt of {@code length} tokens: {@code base}, {@code base + 1}, ... */
    private static Prompt prompt(int base, int length) {
        Prompt.Builder b = new Prompt.Builder(BLOCK);
        for (int i = 0; i < length; i++) {
            b.append(base + i);
        }
        return b.build();
    }

    @Test
    void theTextIsFourCharactersPerTokenAndTheSameTokensGiveTheSameText() {
        Prompt p = prompt(1000, 40);

        assertThat(p.text()).hasSize(160);
        assertThat(p.text()).isEqualTo(prompt(1000, 40).text());
        assertThat(p.text().substring(0, 64)).isEqualTo(prompt(1000, 16).text());
        assertThat(p.text()).isNotEqualTo(prompt(1001, 40).text());
        assertThat(p.fullBlocks()).isEqualTo(2);
    }

    @Test
    void aBlocksHashDependsOnEveryTokenBeforeIt() {
        Prompt.Builder b = new Prompt.Builder(BLOCK);
        b.append(7); // a different first token, then the same tokens as prompt(1, 48) from the second on
        for (int i = 1; i < 48; i++) {
            b.append(1 + i);
        }
        Prompt other = b.build();
        Prompt p = prompt(1, 48);

        assertThat(p.block(0)).isNotEqualTo(other.block(0));
        assertThat(p.block(1)).isNotEqualTo(other.block(1));
        assertThat(p.block(2)).isNotEqualTo(other.block(2));
        assertThat(prompt(1, 64).block(2)).isEqualTo(p.block(2));
    }

    @Test
    void aPromptViewStaysTheSameWhileItsBuilderGrows() {
        Prompt.Builder b = new Prompt.Builder(BLOCK);
        for (int i = 0; i < 200; i++) {
            b.append(i);
        }
        Prompt early = b.build();
        String text = early.text();
        for (int i = 200; i < 5_000; i++) {
            b.append(i);
        }

        assertThat(early.length()).isEqualTo(200);
        assertThat(early.text()).isEqualTo(text);
        assertThat(b.build().block(11)).isEqualTo(early.block(11));
    }

    @Test
    void theCachedPrefixIsTheLongestRunOfLeadingBlocks() {
        PrefixCache cache = new PrefixCache(1_000, BLOCK);
        cache.store(prompt(1, 100)); // 6 full blocks
        Prompt.Builder b = new Prompt.Builder(BLOCK);
        for (int i = 0; i < 40; i++) {
            b.append(1 + i); // the first 40 tokens are shared: blocks 0 and 1
        }
        for (int i = 0; i < 60; i++) {
            b.append(9_000 + i);
        }

        assertThat(cache.cachedTokens(b.build())).isEqualTo(32);
        assertThat(cache.cachedTokens(prompt(1, 100))).isEqualTo(96);
        assertThat(cache.cachedTokens(prompt(2, 100))).isZero();
    }

    @Test
    void theLastTokenIsNeverServedFromTheCache() {
        PrefixCache cache = new PrefixCache(1_000, BLOCK);
        cache.store(prompt(1, 32));

        assertThat(cache.cachedTokens(prompt(1, 32))).isEqualTo(16);
        assertThat(cache.cachedTokens(prompt(1, 33))).isEqualTo(32);
    }

    @Test
    void theLeastRecentlyUsedBlocksGoFirst() {
        PrefixCache cache = new PrefixCache(4 * BLOCK, BLOCK);
        Prompt p = prompt(100, 33);
        Prompt q = prompt(200, 33);
        Prompt r = prompt(300, 33);
        cache.store(p);
        cache.store(q);

        assertThat(cache.useCachedTokens(p)).isEqualTo(32);
        cache.store(r);

        assertThat(cache.cachedTokens(p)).isEqualTo(32);
        assertThat(cache.cachedTokens(q)).isZero();
        assertThat(cache.cachedTokens(r)).isEqualTo(32);
        assertThat(cache.size()).isEqualTo(4);
    }

    @Test
    void lookingWithoutUsingLeavesTheOrderAlone() {
        PrefixCache cache = new PrefixCache(4 * BLOCK, BLOCK);
        Prompt p = prompt(100, 33);
        Prompt q = prompt(200, 33);
        cache.store(p);
        cache.store(q);

        assertThat(cache.cachedTokens(p)).isEqualTo(32);
        cache.store(prompt(300, 33));

        assertThat(cache.cachedTokens(p)).isZero();
        assertThat(cache.cachedTokens(q)).isEqualTo(32);
    }

    @Test
    void aPromptLongerThanTheCacheKeepsItsHead() {
        PrefixCache cache = new PrefixCache(3 * BLOCK, BLOCK);
        cache.store(prompt(1, 6 * BLOCK + 1));

        assertThat(cache.size()).isEqualTo(3);
        assertThat(cache.cachedTokens(prompt(1, 6 * BLOCK + 1))).isEqualTo(3 * BLOCK);
    }

    /**
     * Against a plain model, a map in access order: random prompts (many sharing heads), stored and
     * looked up in random order, give the same cached prefixes and the same size after every step.
     */
    @Test
    void theCacheAgreesWithAnLruMapOverRandomPrompts() {
        int capacity = 37;
        PrefixCache cache = new PrefixCache(capacity * BLOCK, BLOCK);
        java.util.LinkedHashMap<Long, Boolean> model = new java.util.LinkedHashMap<>(64, 0.75f, true);
        java.util.SplittableRandom random = new java.util.SplittableRandom(7);
        for (int step = 0; step < 20_000; step++) {
            Prompt p = prompt(random.nextInt(6) * 1_000, 1 + random.nextInt(20 * BLOCK));
            int usable = (p.length() - 1) / BLOCK;
            int expected = 0;
            while (expected < usable && model.containsKey(p.block(expected))) {
                expected++;
            }
            switch (random.nextInt(3)) {
                case 0 -> assertThat(cache.cachedTokens(p)).isEqualTo(expected * BLOCK);
                case 1 -> {
                    assertThat(cache.useCachedTokens(p)).isEqualTo(expected * BLOCK);
                    for (int i = expected - 1; i >= 0; i--) {
                        model.get(p.block(i));
                    }
                }
                default -> {
                    cache.store(p);
                    for (int i = p.fullBlocks() - 1; i >= 0; i--) {
                        model.put(p.block(i), Boolean.TRUE);
                        if (model.size() > capacity) {
                            model.remove(model.keySet().iterator().next());
                        }
                    }
                }
            }
            assertThat(cache.size()).as("step %d", step).isEqualTo(model.size());
        }
    }

    @Test
    void aPromptCutIntoOtherBlocksIsRefused() {
        PrefixCache cache = new PrefixCache(1_000, BLOCK);
        Prompt.Builder b = new Prompt.Builder(8);
        b.append(1);

        assertThatThrownBy(() -> cache.cachedTokens(b.build())).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("prompt's block size: 8 (expected: 16, the cache's)");
        assertThatThrownBy(() -> new PrefixCache(8, BLOCK)).hasMessage(
                "capacityTokens: 8 (expected: >= blockSize, 16)");
    }
}

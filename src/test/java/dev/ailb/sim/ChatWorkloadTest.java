package dev.ailb.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The conversations of the prefix-cache scenarios: what each turn's prompt holds. */
class ChatWorkloadTest {
    private static final int BLOCK = 16;
    private static final ChatWorkload CHATS = PrefixCacheScenario.chats();
    private static final SystemPrompts SYSTEM = new SystemPrompts(CHATS, 1, BLOCK);

    private static List<Conversation.Turn> turns(long seed, int replicas) {
        Conversation c = new Conversation(CHATS, SYSTEM, seed, BLOCK);
        List<Conversation.Turn> turns = new ArrayList<>();
        while (c.hasNextTurn()) {
            turns.add(c.nextTurn(replicas));
        }
        return turns;
    }

    @Test
    void eachTurnsPromptIsTheLastPromptItsAnswerAndANewMessage() {
        for (long seed = 0; seed < 50; seed++) {
            List<Conversation.Turn> turns = turns(seed, 8);

            assertThat(turns.size()).isBetween(CHATS.minTurns(), CHATS.maxTurns());
            for (int k = 1; k < turns.size(); k++) {
                Prompt last = turns.get(k - 1).prompt();
                Prompt next = turns.get(k).prompt();
                assertThat(next.length()).isGreaterThan(last.length() + turns.get(k - 1).outputTokens());
                assertThat(next.text()).startsWith(last.text());
                assertThat(next.block(last.fullBlocks() - 1)).isEqualTo(last.block(last.fullBlocks() - 1));
                assertThat(turns.get(k).number()).isEqualTo(k + 1);
            }
        }
    }

    @Test
    void aConversationOpensWithItsSystemPromptAndTwoConversationsShareNothingElse() {
        Conversation a = new Conversation(CHATS, SYSTEM, 3, BLOCK);
        Conversation b = null;
        for (long seed = 4; b == null || b.systemPrompt() != a.systemPrompt(); seed++) {
            b = new Conversation(CHATS, SYSTEM, seed, BLOCK);
        }
        String first = a.nextTurn(1).prompt().text();
        String second = b.nextTurn(1).prompt().text();

        int common = 0;
        while (first.charAt(common) == second.charAt(common)) {
            common++;
        }
        // the system prompt, and perhaps a character or two of the first token after it by chance
        assertThat(common / Prompt.CHARS_PER_TOKEN).isBetween(CHATS.systemMinTokens(), CHATS.systemMaxTokens());
        assertThat(first.length() - common).isGreaterThan(0);
    }

    @Test
    void theNumberOfReplicasChangesOnlyWhichReplicaATurnGoesThrough() {
        List<Conversation.Turn> one = turns(11, 1);
        List<Conversation.Turn> eight = turns(11, 8);

        assertThat(eight).hasSameSizeAs(one);
        for (int k = 0; k < one.size(); k++) {
            assertThat(one.get(k).replica()).isZero();
            assertThat(eight.get(k).replica()).isBetween(0, 7);
            assertThat(eight.get(k).prompt().text()).isEqualTo(one.get(k).prompt().text());
            assertThat(eight.get(k).outputTokens()).isEqualTo(one.get(k).outputTokens());
            assertThat(eight.get(k).thinkSeconds()).isEqualTo(one.get(k).thinkSeconds());
        }
    }

    /**
     * Zipf with exponent 1 over 32 prompts: the first is drawn with probability 1 / H(32) = 0.2463,
     * the second half as often. Over 100,000 draws the standard deviation of the first count is
     * about 136, so 1,500 is eleven of them.
     */
    @Test
    void systemPromptsAreDrawnByZipfPopularity() {
        int[] counts = new int[SYSTEM.size()];
        java.util.SplittableRandom random = new java.util.SplittableRandom(5);
        for (int i = 0; i < 100_000; i++) {
            counts[SYSTEM.draw(random.nextDouble())]++;
        }

        assertThat(counts[0]).isBetween(24_630 - 1_500, 24_630 + 1_500);
        assertThat(counts[1]).isBetween(12_315 - 1_500, 12_315 + 1_500);
        assertThat(counts[31]).isBetween(770 - 300, 770 + 300);
        assertThat(SYSTEM.draw(0.0)).isZero();
        assertThat(SYSTEM.draw(Math.nextDown(1.0))).isEqualTo(31);
    }

    @Test
    void withoutSystemPromptsAndWithOneTurnEveryPromptIsAMessageOfItsOwn() {
        ChatWorkload unique = PrefixCacheScenario.uniquePrompts();
        SystemPrompts none = new SystemPrompts(unique, 1, BLOCK);
        Conversation a = new Conversation(unique, none, 1, BLOCK);
        Conversation b = new Conversation(unique, none, 2, BLOCK);

        Prompt pa = a.nextTurn(1).prompt();
        Prompt pb = b.nextTurn(1).prompt();

        assertThat(a.hasNextTurn()).isFalse();
        assertThat(a.systemPrompt()).isEqualTo(-1);
        assertThat(pa.block(0)).isNotEqualTo(pb.block(0));
    }

    @Test
    void aConversationWithNoTurnLeftRefusesAnother() {
        Conversation c = new Conversation(PrefixCacheScenario.uniquePrompts(),
                new SystemPrompts(PrefixCacheScenario.uniquePrompts(), 1, BLOCK), 1, BLOCK);
        c.nextTurn(1);

        assertThatThrownBy(() -> c.nextTurn(1)).isInstanceOf(IllegalStateException.class)
                .hasMessage("turn 2 of a conversation of 1");
    }

    @Test
    void theMeanRequestOfTheChatsIsLongerThanItsSystemPromptsAlone() {
        ChatWorkload.MeanRequest mean = CHATS.meanRequest(500, 7);

        assertThat(mean.turns()).isBetween(4.5, 5.5);
        assertThat(mean.promptTokens()).isBetween(1_000.0, 6_000.0);
        assertThat(mean.outputTokens()).isBetween(200.0, 300.0);
    }
}

package dev.ailb.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ChatWorkloadTest {

    @Test
    void eachTurnsPromptStartsWithThePreviousPromptAndItsAnswer() {
        ChatWorkload workload = ChatWorkload.generate(3, 7L);
        String prompt = workload.firstPrompt(1);

        for (int turn = 1; turn < ChatWorkload.TURNS; turn++) {
            String answer = CachingInstance.answer(prompt);
            String next = workload.nextPrompt(prompt, answer, 1, turn);

            assertThat(next).startsWith(prompt + answer).hasSizeGreaterThan(prompt.length() + answer.length()
                    + ChatWorkload.MIN_MESSAGE_CHARS);
            prompt = next;
        }
    }

    @Test
    void theSameSeedGivesTheSameChats() {
        ChatWorkload one = ChatWorkload.generate(20, 42L);
        ChatWorkload two = ChatWorkload.generate(20, 42L);

        for (int chat = 0; chat < 20; chat++) {
            assertThat(two.firstPrompt(chat)).isEqualTo(one.firstPrompt(chat));
            assertThat(two.nextPrompt("p", "a", chat, 3)).isEqualTo(one.nextPrompt("p", "a", chat, 3));
        }
    }

    @Test
    void theChatsShareAFewSystemPrompts() {
        ChatWorkload workload = ChatWorkload.generate(40, 42L);
        Set<String> systemParts = new HashSet<>();

        for (int chat = 0; chat < 40; chat++) {
            String prompt = workload.firstPrompt(chat);
            String system = prompt.substring(0, prompt.indexOf("<|user|>"));
            assertThat(system.length()).isBetween(ChatWorkload.MIN_SYSTEM_CHARS, ChatWorkload.MAX_SYSTEM_CHARS + 64);
            systemParts.add(system);
        }

        assertThat(systemParts).hasSize(ChatWorkload.SYSTEM_PROMPTS);
    }

    @Test
    void answersDependOnThePromptAlone() {
        assertThat(CachingInstance.answer("the same prompt")).isEqualTo(CachingInstance.answer("the same prompt"))
                .isNotEqualTo(CachingInstance.answer("another prompt"))
                .hasSizeBetween(CachingInstance.MIN_ANSWER_CHARS, CachingInstance.MAX_ANSWER_CHARS + 16);
    }

    @Test
    void refusesFewerThanOneChat() {
        assertThatThrownBy(() -> ChatWorkload.generate(0, 1L)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("chats: 0 (expected: >= 1)");
    }
}

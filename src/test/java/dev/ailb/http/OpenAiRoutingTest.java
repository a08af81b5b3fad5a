package dev.ailb.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.Request;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What an OpenAI-style body says of where its request should go: prompt, token estimate, model. */
class OpenAiRoutingTest {
    private static final String CHAT = "/v1/chat/completions";
    private static final Request REQUEST = new Request("r1", "", CHAT);

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aChatBodyGivesItsPromptAndAnEstimateOfItsPromptPlusItsOutputCap() {
        byte[] body = utf8("{\"model\":\"llama\",\"max_completion_tokens\":100,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello\"}]}");

        Request routed = OpenAiRouting.withBody(REQUEST, CHAT, body);

        String prompt = OpenAiPrompt.ofChatCompletions(body);
        assertThat(routed.prompt()).isEqualTo(prompt).isNotEmpty();
        assertThat(routed.estimatedTokens()).isEqualTo((prompt.length() + 3) / 4 + 100);
        assertThat(routed.model()).as("the model is routed by only when asked").isEmpty();
    }

    @Test
    void theOlderMaxTokensCapsTooAndTheNewerWins() {
        String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
        long promptTokens = (OpenAiPrompt.ofChatCompletions("{" + messages + "}").length() + 3) / 4;

        assertThat(OpenAiRouting.withBody(REQUEST, CHAT, utf8("{\"max_tokens\":7," + messages + "}"))
                .estimatedTokens()).isEqualTo(promptTokens + 7);
        assertThat(OpenAiRouting.withBody(REQUEST, CHAT,
                utf8("{\"max_tokens\":7,\"max_completion_tokens\":9," + messages + "}")).estimatedTokens())
                .isEqualTo(promptTokens + 9);
    }

    @Test
    void withoutACapTheEstimateStaysUnknown() {
        Request routed = OpenAiRouting.withBody(REQUEST, CHAT,
                utf8("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":null}"));

        assertThat(routed.estimatedTokens()).isZero();
        assertThat(routed.hasPrompt()).isTrue();
    }

    @Test
    void whatTheRequestAlreadyCarriesIsKept() {
        Request given = REQUEST.withPrompt("already").withEstimatedTokens(42);

        Request routed = OpenAiRouting.withBody(given, CHAT,
                utf8("{\"max_tokens\":7,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));

        assertThat(routed).isEqualTo(given);
    }

    @Test
    void aCompletionBodyIsReadAndAnyOtherPathLeavesTheRequestAsItIs() {
        Request completion = OpenAiRouting.withBody(new Request("r", "", "/v1/completions"), "/v1/completions?x=1",
                utf8("{\"prompt\":\"Once upon\",\"max_tokens\":4}"));
        assertThat(completion.prompt()).isEqualTo("Once upon");
        assertThat(completion.estimatedTokens()).isEqualTo(3 + 4);

        Request embeddings = new Request("r", "", "/v1/embeddings");
        assertThat(OpenAiRouting.withBody(embeddings, "/v1/embeddings", utf8("{\"input\":\"x\"}")))
                .isSameAs(embeddings);
    }

    @Test
    void aChatBodyThatIsNotOneIsRefusedNamingWhereItIsWrong() {
        assertThatThrownBy(() -> OpenAiRouting.withBody(REQUEST, CHAT, utf8("{\"messages\":42}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: messages: 42 (expected: an array of messages)");
    }

    @Test
    void theModelIsTheTopLevelStringOnly() {
        assertThat(OpenAiRouting.model(utf8("{\"messages\":[{\"model\":\"inner\"}],\"model\":\"llama\"}")))
                .contains("llama");
        assertThat(OpenAiRouting.model(utf8("{\"messages\":[]}"))).isEmpty();
        assertThat(OpenAiRouting.model(utf8("{\"model\":7}"))).isEmpty();
        assertThat(OpenAiRouting.model(utf8("[\"model\"]"))).isEmpty();
        assertThat(OpenAiRouting.model(utf8("{\"model\":\"llama\""))).as("cut short: the server answers for it")
                .isEmpty();
    }
}

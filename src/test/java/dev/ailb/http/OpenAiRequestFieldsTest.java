package dev.ailb.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The model and output cap of a body: read where they are, skipped around, refused when wrong. */
class OpenAiRequestFieldsTest {

    @Test
    void theModelAndTheOutputCapAreReadFromTheTopLevelOnly() {
        OpenAiRequestFields fields = OpenAiRequestFields.read("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\","
                + "\"model\":\"not-this\"}],\"model\" : \"llama\", \"max_tokens\" : 100,"
                + "\"metadata\":{\"max_tokens\":7}}");

        assertThat(fields.model()).contains("llama");
        assertThat(fields.maxOutputTokens()).isEqualTo(OptionalLong.of(100));
    }

    @Test
    void maxCompletionTokensWinsOverMaxTokensInEitherOrder() {
        assertThat(OpenAiRequestFields.read("{\"max_completion_tokens\":30,\"max_tokens\":100}").maxOutputTokens())
                .isEqualTo(OptionalLong.of(30));
        assertThat(OpenAiRequestFields.read("{\"max_tokens\":100,\"max_completion_tokens\":30}").maxOutputTokens())
                .isEqualTo(OptionalLong.of(30));
        assertThat(OpenAiRequestFields.read("{\"max_tokens\":100,\"max_completion_tokens\":null}").maxOutputTokens())
                .isEqualTo(OptionalLong.of(100));
    }

    @Test
    void aBodyWithoutThemHasNone() {
        OpenAiRequestFields fields = OpenAiRequestFields.read("{\"prompt\":\"Once\",\"model\":\"\",\"max_tokens\":null}");

        assertThat(fields.model()).isEmpty();
        assertThat(fields.maxOutputTokens()).isEmpty();
        assertThat(fields).hasToString("OpenAiRequestFields{model=none, maxOutputTokens=none}");
    }

    @Test
    void wrongFieldsAreRefusedNamingThem() {
        assertThatThrownBy(() -> OpenAiRequestFields.read("{\"model\":42}")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: model: 42 (expected: a string)");
        assertThatThrownBy(() -> OpenAiRequestFields.read("{\"max_tokens\":-1}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: max_tokens: -1 (expected: an integer 0..2147483647 or null)");
        assertThatThrownBy(() -> OpenAiRequestFields.read("{\"max_completion_tokens\":1.5}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: max_completion_tokens: 1.5 (expected: an integer 0..2147483647 or null)");
        assertThatThrownBy(() -> OpenAiRequestFields.read("{\"max_tokens\":4294967296}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: max_tokens: 4294967296 (expected: an integer 0..2147483647 or null)");
        assertThatThrownBy(() -> OpenAiRequestFields.read("[1]")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: an array (expected: a JSON object)");
        assertThatThrownBy(() -> OpenAiRequestFields.read("{\"model\":\"a\",\"model\":\"b\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("body: invalid JSON");
        assertThatThrownBy(() -> OpenAiRequestFields.read("{} {}")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: an object after the JSON object (expected: nothing)");
        assertThatThrownBy(() -> OpenAiRequestFields.read(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("body: null (expected: non-null)");
    }

    @Test
    void theEstimateIsThePromptAtFourCharactersATokenRoundedUpPlusTheCap() {
        OpenAiRequestFields capped = OpenAiRequestFields.read("{\"max_tokens\":100}");

        assertThat(capped.estimatedTokens("")).isEqualTo(OptionalLong.of(100));
        assertThat(capped.estimatedTokens("abcd")).isEqualTo(OptionalLong.of(101));
        assertThat(capped.estimatedTokens("abcde")).isEqualTo(OptionalLong.of(102));
        assertThat(OpenAiRequestFields.read("{}").estimatedTokens("abcd")).isEmpty();
        assertThat(OpenAiRequestFields.read("{\"max_tokens\":2147483647}").estimatedTokens("x".repeat(400)))
                .isEqualTo(OptionalLong.of(Math.min(dev.ailb.Request.MAX_TOKENS, 2147483647L + 100)));
    }
}

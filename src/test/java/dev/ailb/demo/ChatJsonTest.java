package dev.ailb.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ChatJsonTest {

    @Test
    void aQuotedStringReadsBackUnchanged() {
        String text = "He said \"hi\\there\"\n\tthen\r left \u0001 caf\u00e9 / end";

        String json = "{\"prompt\":" + ChatJson.quote(text) + ",\"max_tokens\":8}";

        assertThat(ChatJson.string(json, "prompt")).contains(text);
    }

    @Test
    void readsTheEscapesOfOtherWriters() {
        String json = "{\"text\": \"a\\/b \\u0041\\b\\f\"}";

        assertThat(ChatJson.string(json, "text")).contains("a/b A\b\f");
    }

    @Test
    void findsAFieldByItsNameNotByAValueThatStartsLikeIt() {
        String json = "{\"object\":\"text_completion\",\"choices\":[{\"text\":\"Hello.\"}]}";

        assertThat(ChatJson.string(json, "text")).contains("Hello.");
    }

    @Test
    void aStringCutShortIsNotRead() {
        assertThat(ChatJson.string("{\"text\":\"unfinished", "text")).isEmpty();
        assertThat(ChatJson.string("{\"text\":\"ends in \\", "text")).isEmpty();
        assertThat(ChatJson.string("{\"text\":\"\\u00", "text")).isEmpty();
        assertThat(ChatJson.string("{\"other\":\"x\"}", "text")).isEmpty();
    }

    @Test
    void readsWholeNumbersByName() {
        String usage = "{\"usage\":{\"prompt_tokens\":1200,\"total_tokens\":1350,"
                + "\"prompt_tokens_details\":{\"cached_tokens\": 1024}}}";

        assertThat(ChatJson.number(usage, "prompt_tokens")).isEqualTo(OptionalLong.of(1200));
        assertThat(ChatJson.number(usage, "cached_tokens")).isEqualTo(OptionalLong.of(1024));
        assertThat(ChatJson.number(usage, "completion_tokens")).isEmpty();
        assertThat(ChatJson.number("{\"cached_tokens\":1.5}", "cached_tokens")).isEmpty();
    }
}

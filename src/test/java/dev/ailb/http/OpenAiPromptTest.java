package dev.ailb.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.Request;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The routing text of OpenAI-style bodies: what it holds, what it ignores, what it refuses. */
class OpenAiPromptTest {

    @Test
    void aChatIsItsMessagesInOrderEachOnItsLine() {
        String body = """
                {"model":"llama","messages":[
                  {"role":"system","content":"You are terse."},
                  {"role":"user","content":"Hi"},
                  {"role":"assistant","content":"Hello."},
                  {"role":"user","content":"Bye"}]}""";

        assertThat(OpenAiPrompt.ofChatCompletions(body))
                .isEqualTo("[system] You are terse.\n[user] Hi\n[assistant] Hello.\n[user] Bye\n");
    }

    @Test
    void fieldOrderAndWhitespaceDoNotChangeTheText() {
        String compact = "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
                + "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}],"
                + "\"messages\":[{\"role\":\"user\",\"name\":\"ada\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://img.example/cat.png\",\"detail\":\"low\"}}]}]}";
        String shuffled = """
                {
                  "messages" : [ {
                      "content" : [ { "text" : "look", "type" : "text" },
                                    { "image_url" : { "detail" : "low", "url" : "https:\\/\\/img.example\\/cat.png" },
                                      "type" : "image_url" } ],
                      "name" : "ada",
                      "role" : "user" } ],
                  "temperature" : 0.2,
                  "tools" : [ { "function" : { "parameters" : { "properties" : { "a" : { "type" : "string" } },
                                                                "type" : "object" },
                                               "name" : "f" },
                                "type" : "function" } ]
                }
                """;

        String text = OpenAiPrompt.ofChatCompletions(compact);

        assertThat(OpenAiPrompt.ofChatCompletions(shuffled)).isEqualTo(text);
        assertThat(text).isEqualTo("[tools] {\"function\":{\"name\":\"f\",\"parameters\":{\"properties\":{\"a\":"
                + "{\"type\":\"string\"}},\"type\":\"object\"}},\"type\":\"function\"}\n"
                + "[user name=ada] look\n"
                + "[image_url {\"image_url\":{\"detail\":\"low\",\"url\":\"https://img.example/cat.png\"},"
                + "\"type\":\"image_url\"}]\n");
    }

    @Test
    void toolsComeFirstWhereverTheyAreInTheBody() {
        String before = "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
        String after = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}";

        assertThat(OpenAiPrompt.ofChatCompletions(after)).isEqualTo(OpenAiPrompt.ofChatCompletions(before))
                .isEqualTo("[tools] {\"function\":{\"name\":\"f\"},\"type\":\"function\"}\n[user] x\n");
    }

    @Test
    void toolCallsAndToolResultsAreRendered() {
        String body = """
                {"messages":[
                  {"role":"user","content":"Weather in Paris?"},
                  {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
                      "function":{"name":"weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},
                  {"role":"tool","tool_call_id":"c1","content":"18 degrees"},
                  {"role":"assistant","function_call":{"name":"g","arguments":"{}"},"content":"ok"}]}""";

        assertThat(OpenAiPrompt.ofChatCompletions(body)).isEqualTo("[user] Weather in Paris?\n"
                + "[assistant]  [tool_call {\"function\":{\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\","
                + "\"name\":\"weather\"},\"id\":\"c1\",\"type\":\"function\"}]\n"
                + "[tool tool_call_id=c1] 18 degrees\n"
                + "[assistant] ok [function_call {\"arguments\":\"{}\",\"name\":\"g\"}]\n");
    }

    @Test
    void textPartsAreTheirTextAndOtherPartsAMarkerWithTheirForm() {
        String body = """
                {"messages":[{"role":"user","content":[
                  {"type":"text","text":"one"},
                  {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},
                  {"type":"file","file":{"file_id":"file-1"}},
                  {"type":"text","text":"two"}]}]}""";

        assertThat(OpenAiPrompt.ofChatCompletions(body)).isEqualTo("[user] one\n"
                + "[input_audio {\"input_audio\":{\"data\":\"UklGRg==\",\"format\":\"wav\"},\"type\":\"input_audio\"}]\n"
                + "[file {\"file\":{\"file_id\":\"file-1\"},\"type\":\"file\"}]\n"
                + "two\n");
    }

    @Test
    void aLongPartIsItsDigestAndTwoImagesStayApart() {
        String cat = "data:image/png;base64," + "Q".repeat(10_000);
        String dog = "data:image/png;base64," + "Q".repeat(9_999) + "R";

        String catText = OpenAiPrompt.ofChatCompletions(imageBody(cat));
        String dogText = OpenAiPrompt.ofChatCompletions(imageBody(dog));

        assertThat(catText).matches("\\[user] \\[image_url sha256:[0-9a-f]{64}]\n");
        assertThat(dogText).matches("\\[user] \\[image_url sha256:[0-9a-f]{64}]\n").isNotEqualTo(catText);
        assertThat(OpenAiPrompt.ofChatCompletions(imageBody(cat).replace("{\"url\"", " { \"url\"")))
                .as("the digest is of the canonical form").isEqualTo(catText);
    }

    private static String imageBody(String url) {
        return "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\""
                + url + "\"}}]}]}";
    }

    @Test
    void fieldsThatDoNotChangeThePrefillAreIgnored() {
        String plain = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
        String decorated = "{\"model\":\"m\",\"temperature\":0.7,\"max_tokens\":10,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"user\":\"u1\",\"n\":2,\"seed\":7,"
                + "\"response_format\":{\"type\":\"json_object\"},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"refusal\":null}]}";

        assertThat(OpenAiPrompt.ofChatCompletions(decorated)).isEqualTo(OpenAiPrompt.ofChatCompletions(plain))
                .isEqualTo("[user] x\n");
    }

    @Test
    void bytesReadAsTheStringDoes() {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"caf\u00e9 \u4f60\u597d \ud83d\ude00\"}]}";

        assertThat(OpenAiPrompt.ofChatCompletions(body.getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(OpenAiPrompt.ofChatCompletions(body))
                .isEqualTo("[user] caf\u00e9 \u4f60\u597d \ud83d\ude00\n");
        String completion = "{\"prompt\":\"caf\u00e9\"}";
        assertThat(OpenAiPrompt.ofCompletions(completion.getBytes(StandardCharsets.UTF_8))).isEqualTo("caf\u00e9");
    }

    @Test
    void aCompletionIsItsPrompt() {
        assertThat(OpenAiPrompt.ofCompletions("{\"model\":\"m\",\"prompt\":\"Once upon\",\"max_tokens\":5}"))
                .isEqualTo("Once upon");
        assertThat(OpenAiPrompt.ofCompletions("{\"prompt\":[\"first\",\"second\"]}")).isEqualTo("first\nsecond");
        assertThat(OpenAiPrompt.ofCompletions("{\"prompt\":[1,2,23]}")).isEqualTo("[tokens] 1 2 23 ");
        assertThat(OpenAiPrompt.ofCompletions("{\"prompt\":[[1,2],[3]]}")).isEqualTo("[tokens] 1 2 \n[tokens] 3 ");
        assertThat(OpenAiPrompt.ofCompletions("{\"prompt\":null}")).isEmpty();
        assertThat(OpenAiPrompt.ofCompletions("{\"model\":\"m\"}")).isEmpty();
        assertThat(OpenAiPrompt.ofCompletions("{\"prompt\":[]}")).isEmpty();
    }

    @Test
    void tokenIdsKeepThePrefixOfTheirSequence() {
        String shorter = OpenAiPrompt.ofCompletions("{\"prompt\":[1,2]}");

        assertThat(OpenAiPrompt.ofCompletions("{\"prompt\":[1,2,3]}")).startsWith(shorter);
        assertThat(OpenAiPrompt.ofCompletions("{\"prompt\":[1,23]}")).doesNotStartWith(shorter);
    }

    static Stream<Arguments> badChatBodies() {
        return Stream.of(
                Arguments.of("", "body: empty (expected: a JSON object)"),
                Arguments.of("[1]", "body: an array (expected: a JSON object)"),
                Arguments.of("{}", "body: messages: missing (expected: an array of messages)"),
                Arguments.of("{\"messages\":{}}", "body: messages: an object (expected: an array of messages)"),
                Arguments.of("{\"messages\":null}", "body: messages: null (expected: an array of messages)"),
                Arguments.of("{\"messages\":[\"hi\"]}", "body: messages[0]: \"hi\" (expected: a message object)"),
                Arguments.of("{\"messages\":[{\"content\":\"x\"}]}",
                        "body: messages[0].role: missing (expected: a string)"),
                Arguments.of("{\"messages\":[{\"role\":1}]}", "body: messages[0].role: 1 (expected: a string)"),
                Arguments.of("{\"messages\":[{\"role\":\"user\",\"name\":true}]}",
                        "body: messages[0].name: true (expected: a string or null)"),
                Arguments.of("{\"messages\":[{\"role\":\"system\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"},"
                        + "{\"role\":\"user\",\"content\":42}]}",
                        "body: messages[2].content: 42 (expected: a string, an array of content parts or null)"),
                Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":{\"text\":\"x\"}}]}",
                        "body: messages[0].content: an object (expected: a string, an array of content parts or null)"),
                Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":[\"x\"]}]}",
                        "body: messages[0].content[0]: \"x\" (expected: a content part object)"),
                Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"x\"}]}]}",
                        "body: messages[0].content[0].type: missing (expected: a string)"),
                Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
                        "body: messages[0].content[0].text: missing (expected: a string)"),
                Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                        + "{\"text\":7,\"type\":\"text\"}]}]}",
                        "body: messages[0].content[1].text: 7 (expected: a string)"),
                Arguments.of("{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":{}}]}",
                        "body: messages[0].tool_calls: an object (expected: an array of tool calls or null)"),
                Arguments.of("{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[1]}]}",
                        "body: messages[0].tool_calls[0]: 1 (expected: a tool call object)"),
                Arguments.of("{\"tools\":\"f\",\"messages\":[]}", "body: tools: \"f\" (expected: an array of tools or null)"),
                Arguments.of("{\"tools\":[[]],\"messages\":[]}", "body: tools[0]: an array (expected: a tool object)"),
                Arguments.of("{\"messages\":[]} {}", "body: an object after the JSON object (expected: nothing)"),
                Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":\"" + "y".repeat(50) + "\",\"content\":\"z\"}]}",
                        "body: invalid JSON near messages[0].content at line 1, column 101 (Duplicate field 'content')"),
                Arguments.of("{\"messages\":[{\"role\":\"user\",}]}",
                        "body: invalid JSON near messages[0].role at line 1, column 29 (Unexpected character ('}' (code 125)):"
                                + " was expecting double-quote to start field name)"),
                Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":" + "\"" + "w".repeat(60) + "\"" + ",\"name\":[]}]}",
                        "body: messages[0].name: an array (expected: a string or null)"));
    }

    @ParameterizedTest
    @MethodSource("badChatBodies")
    void aBadChatBodyIsRefusedNamingThePathAndTheValue(String body, String message) {
        assertThatThrownBy(() -> OpenAiPrompt.ofChatCompletions(body))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
        assertThatThrownBy(() -> OpenAiPrompt.ofChatCompletions(body.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void aBodyCutShortIsRefusedNearWhereItStops() {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "long text ".repeat(10) + "}]}";

        // The parsers of a String and of bytes word the end of input each their own way.
        assertThatThrownBy(() -> OpenAiPrompt.ofChatCompletions(body)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: invalid JSON near messages[0].content at line 1, column 143 (Unexpected end-of-input:"
                        + " was expecting closing quote for a string value)");
        assertThatThrownBy(() -> OpenAiPrompt.ofChatCompletions(body.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: invalid JSON near messages[0].content at line 1, column 143 (Unexpected end-of-input"
                        + " in VALUE_STRING)");
    }

    static Stream<Arguments> badCompletionBodies() {
        return Stream.of(
                Arguments.of("{\"prompt\":42}", "body: prompt: 42 (expected: a string, an array of strings, an array"
                        + " of token ids, an array of such arrays or null)"),
                Arguments.of("{\"prompt\":[true]}",
                        "body: prompt[0]: true (expected: a string, a token id or an array of token ids)"),
                Arguments.of("{\"prompt\":[\"a\",1]}", "body: prompt[1]: 1 (expected: a string, as prompt[0] is)"),
                Arguments.of("{\"prompt\":[1,\"a\"]}",
                        "body: prompt[1]: \"a\" (expected: a token id, 0..2147483647, as prompt[0] is)"),
                Arguments.of("{\"prompt\":[1,-2]}", "body: prompt[1]: -2 (expected: a token id, 0..2147483647)"),
                Arguments.of("{\"prompt\":[1,2147483648]}",
                        "body: prompt[1]: 2147483648 (expected: a token id, 0..2147483647)"),
                Arguments.of("{\"prompt\":[[1],[2,2.5]]}", "body: prompt[1][1]: 2.5 (expected: a token id, 0..2147483647)"),
                Arguments.of("{\"prompt\":[[1],3]}", "body: prompt[1]: 3 (expected: an array of token ids, as prompt[0] is)"),
                Arguments.of("{\"prompt\":\"" + "p".repeat(45) + "\"x}",
                        "body: invalid JSON near prompt at line 1, column 58 (Unexpected character ('x' (code 120)): was expecting"
                                + " comma to separate Object entries)"));
    }

    @ParameterizedTest
    @MethodSource("badCompletionBodies")
    void aBadCompletionBodyIsRefusedNamingThePathAndTheValue(String body, String message) {
        assertThatThrownBy(() -> OpenAiPrompt.ofCompletions(body))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void aLongValueIsShownCut() {
        String body = "{\"messages\":[{\"role\":\"" + "r".repeat(100) + "\",\"content\":1}]}";

        assertThatThrownBy(() -> OpenAiPrompt.ofChatCompletions(body)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: messages[0].content: 1 (expected: a string, an array of content parts or null)");
        assertThatThrownBy(() -> OpenAiPrompt.ofChatCompletions("{\"messages\":[\"" + "m".repeat(100) + "\"]}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: messages[0]: \"" + "m".repeat(40) + "\"... (100 characters) (expected: a message object)");
    }

    @Test
    void aBodyOverTheBoundIsRefusedBeforeItIsRead() {
        String huge = " ".repeat(OpenAiPrompt.MAX_BODY_LENGTH + 1);

        assertThatThrownBy(() -> OpenAiPrompt.ofChatCompletions(huge)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: 67108865 characters (expected: at most 67108864)");
        assertThatThrownBy(() -> OpenAiPrompt.ofCompletions(new byte[OpenAiPrompt.MAX_BODY_LENGTH + 1]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: 67108865 bytes (expected: at most 67108864)");
    }

    @Test
    void aTextLongerThanARequestCarriesIsRefused() {
        String body = "{\"prompt\":\"" + "x".repeat(Request.MAX_PROMPT_CHARS + 1) + "\"}";

        assertThatThrownBy(() -> OpenAiPrompt.ofCompletions(body)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: a prompt of 16777217 characters (expected: at most 16777216)");
    }

    @Test
    void aNullBodyIsRefusedNamingIt() {
        assertThatThrownBy(() -> OpenAiPrompt.ofChatCompletions((String) null))
                .isInstanceOf(NullPointerException.class).hasMessage("body: null (expected: non-null)");
        assertThatThrownBy(() -> OpenAiPrompt.ofCompletions((byte[]) null))
                .isInstanceOf(NullPointerException.class).hasMessage("body: null (expected: non-null)");
    }

    @Test
    void theEndpointIsKnownByTheEndOfThePath() {
        assertThat(OpenAiPrompt.Endpoint.of("/v1/chat/completions")).contains(OpenAiPrompt.Endpoint.CHAT_COMPLETIONS);
        assertThat(OpenAiPrompt.Endpoint.of("/openai/v1/chat/completions?api-version=2"))
                .contains(OpenAiPrompt.Endpoint.CHAT_COMPLETIONS);
        assertThat(OpenAiPrompt.Endpoint.of("/v1/completions")).contains(OpenAiPrompt.Endpoint.COMPLETIONS);
        assertThat(OpenAiPrompt.Endpoint.of("/v1/embeddings")).isEmpty();
        assertThat(OpenAiPrompt.Endpoint.of("/v1/chat/completions/x")).isEmpty();
    }
}

package dev.ailb.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The two promises of {@link OpenAiPrompt}'s chat text, over generated conversations (tools,
 * names, multi-part content with images, tool calls and their results): a turn's text is a prefix
 * of the next turn's, and the text does not depend on how the body is laid out (field order,
 * whitespace, which characters are escaped).
 */
class OpenAiPromptPropertyTest {

    /** A conversation: its tools and its messages, as JSON values (maps, lists, strings, numbers). */
    record Conversation(List<Map<String, Object>> tools, List<Map<String, Object>> messages) {
        /** The body of the turn that sends the first {@code count} messages, with its own settings. */
        Map<String, Object> body(int count, long seed) {
            Random random = new Random(seed);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("model", "model-" + random.nextInt(3)); // settings that change between turns
            body.put("temperature", random.nextInt(10) / 10.0);
            body.put("max_tokens", 1 + random.nextInt(500));
            if (random.nextBoolean()) {
                body.put("stream", true);
                body.put("stream_options", Map.of("include_usage", true));
            }
            if (!tools.isEmpty()) {
                body.put("tools", tools);
            }
            body.put("messages", messages.subList(0, count));
            return body;
        }
    }

    // Random conversations only: jqwik's edge cases are conversations of one message, with no next turn.
    @Property(tries = 200, edgeCases = EdgeCasesMode.NONE)
    void eachTurnsTextIsAPrefixOfTheNextTurnsText(@ForAll("conversations") Conversation conversation,
            @ForAll long layoutSeed) {
        String previous = null;
        for (int count = 1; count <= conversation.messages().size(); count++) {
            String body = Json.write(conversation.body(count, layoutSeed + count), new Random(layoutSeed - count));

            String text = OpenAiPrompt.ofChatCompletions(body);

            if (previous != null) {
                assertThat(text).startsWith(previous).hasSizeGreaterThan(previous.length());
            }
            previous = text;
        }
    }

    @Property(tries = 200, edgeCases = EdgeCasesMode.NONE)
    void theTextDoesNotDependOnTheLayoutOfTheBody(@ForAll("conversations") Conversation conversation,
            @ForAll long first, @ForAll long second) {
        Map<String, Object> body = conversation.body(conversation.messages().size(), 1);

        String one = OpenAiPrompt.ofChatCompletions(Json.write(body, new Random(first)));
        String other = OpenAiPrompt.ofChatCompletions(Json.write(body, new Random(second)));

        assertThat(other).isEqualTo(one);
    }

    @Provide
    Arbitrary<Conversation> conversations() {
        Arbitrary<List<Map<String, Object>>> tools = tool().list().ofMaxSize(3);
        Arbitrary<List<Map<String, Object>>> messages = message().list().ofMinSize(1).ofMaxSize(8);
        return Combinators.combine(tools, messages).as(Conversation::new);
    }

    private static Arbitrary<String> text() {
        return Arbitraries.strings().withCharRange(' ', '~').withChars("\n\t\u00e9\u4f60\u2028\u0001")
                .ofMaxLength(30);
    }

    private static Arbitrary<Map<String, Object>> tool() {
        return Combinators.combine(Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(8), text(),
                Arbitraries.of("string", "integer", "boolean")).as((name, description, type) -> {
                    Map<String, Object> parameters = new LinkedHashMap<>();
                    parameters.put("type", "object");
                    parameters.put("properties", Map.of("x", Map.of("type", type, "minimum", 0)));
                    parameters.put("required", List.of("x"));
                    return Map.of("type", "function",
                            "function", Map.of("name", name, "description", description, "parameters", parameters));
                });
    }

    private static Arbitrary<Object> content() {
        Arbitrary<Object> textPart = text().map(t -> Map.of("type", "text", "text", t));
        Arbitrary<Object> imagePart = Combinators.combine(Arbitraries.strings().alpha().ofMaxLength(400),
                Arbitraries.of("low", "high")).as((data, detail) -> Map.of("type", "image_url",
                        "image_url", Map.of("url", "data:image/png;base64," + data, "detail", detail)));
        Arbitrary<Object> parts = Arbitraries.oneOf(textPart, imagePart).list().ofMaxSize(4).map(l -> (Object) l);
        return Arbitraries.oneOf(text().map(t -> (Object) t), parts, Arbitraries.just(null));
    }

    private static Arbitrary<Map<String, Object>> message() {
        Arbitrary<String> role = Arbitraries.of("system", "user", "assistant", "tool");
        Arbitrary<String> name = Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(6).injectNull(0.6);
        Arbitrary<List<Object>> calls = Combinators.combine(Arbitraries.strings().alpha().numeric().ofLength(6), text())
                .as((id, city) -> (Object) Map.of("id", id, "type", "function",
                        "function", Map.of("name", "weather", "arguments", "{\"city\":\"" + city.replace("\"", "") + "\"}")))
                .list().ofMaxSize(2);
        return Combinators.combine(role, name, content(), calls).as((r, n, c, cs) -> {
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("role", r);
            if (n != null) {
                message.put("name", n);
            }
            message.put("content", c);
            if (r.equals("assistant") && !cs.isEmpty()) {
                message.put("tool_calls", cs);
            }
            if (r.equals("tool")) {
                message.put("tool_call_id", "call_" + (n == null ? "0" : n));
            }
            return message;
        });
    }

    /** Writes JSON values with a random layout: field order, whitespace and optional escapes. */
    static final class Json {
        private final Random random;
        private final StringBuilder out = new StringBuilder();

        private Json(Random random) {
            this.random = random;
        }

        static String write(Object value, Random random) {
            Json json = new Json(random);
            json.value(value);
            return json.out.toString();
        }

        private void space() {
            switch (random.nextInt(6)) {
                case 0 -> out.append(' ');
                case 1 -> out.append("\n  ");
                case 2 -> out.append("\t");
                default -> { }
            }
        }

        private void value(Object value) {
            space();
            if (value == null) {
                out.append("null");
            } else if (value instanceof String s) {
                string(s);
            } else if (value instanceof Map<?, ?> map) {
                List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
                Collections.shuffle(entries, random);
                out.append('{');
                for (int i = 0; i < entries.size(); i++) {
                    if (i > 0) {
                        out.append(',');
                    }
                    space();
                    string((String) entries.get(i).getKey());
                    space();
                    out.append(':');
                    value(entries.get(i).getValue());
                }
                space();
                out.append('}');
            } else if (value instanceof List<?> list) {
                out.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) {
                        out.append(',');
                    }
                    value(list.get(i));
                }
                space();
                out.append(']');
            } else {
                out.append(value); // numbers and booleans
            }
            space();
        }

        private void string(String s) {
            out.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"' || c == '\\') {
                    out.append('\\').append(c);
                } else if (c < 0x20 || random.nextInt(8) == 0) {
                    out.append(String.format("\\u%04x", (int) c)); // any character may be escaped
                } else if (c == '/' && random.nextBoolean()) {
                    out.append("\\/");
                } else {
                    out.append(c);
                }
            }
            out.append('"');
        }
    }
}

package dev.ailb.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * The top-level fields of an OpenAI-style request body that say where it may go and how long it
 * may run: {@code model}, and the cap on its output ({@code max_completion_tokens}, or the older
 * {@code max_tokens}). One pass of Jackson's streaming parser that skips everything else without
 * building it. A body that is not a JSON object, or a field of another type, gives no value for
 * that field: the server, not the router, answers for a malformed body. Stateless.
 *
 * @param model     the model named, empty when none
 * @param maxTokens the cap on the output, 0 when none
 */
record BodyFields(String model, long maxTokens) {
    private static final JsonFactory FACTORY = new JsonFactory();
    private static final BodyFields NONE = new BodyFields("", 0);

    static BodyFields read(byte[] body) {
        try (JsonParser parser = FACTORY.createParser(body)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return NONE;
            }
            String model = "";
            long maxTokens = 0;
            long maxCompletionTokens = 0;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                switch (name) {
                    case "model" -> model = value == JsonToken.VALUE_STRING ? parser.getText() : "";
                    case "max_tokens" -> maxTokens = count(parser, value);
                    case "max_completion_tokens" -> maxCompletionTokens = count(parser, value);
                    default -> parser.skipChildren();
                }
            }
            return new BodyFields(model, maxCompletionTokens > 0 ? maxCompletionTokens : maxTokens);
        } catch (IOException e) {
            return NONE; // malformed JSON: the server answers for it
        }
    }

    private static long count(JsonParser parser, JsonToken value) throws IOException {
        if (value != JsonToken.VALUE_NUMBER_INT || parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            return 0;
        }
        long n = parser.getLongValue();
        return n > 0 ? n : 0;
    }
}

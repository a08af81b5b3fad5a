package dev.ailb.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import dev.ailb.Request;
import dev.ailb.internal.Preconditions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Reads the routing text of {@link OpenAiPrompt} out of a JSON body with Jackson's streaming
 * parser, in one pass; the rendering is specified there. Reads the fields of
 * {@link OpenAiRequestFields} too, in a pass of their own. Every rejection is an
 * {@link IllegalArgumentException} naming the JSON path and the value. Stateless; the factory it
 * shares is thread-safe.
 */
final class PromptReader {
    /** Thread-safe once configured; duplicate names are refused, so that no field is read twice. */
    private static final JsonFactory FACTORY = new JsonFactory()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** The longest canonical form of a non-text part written out; a longer one is digested. */
    static final int MAX_PART_FORM = 256;

    private static final String MESSAGES = "an array of messages";
    private static final String A_STRING = "a string";
    private static final String STRING_OR_NULL = "a string or null";
    private static final String TOKEN_ID = "a token id, 0.." + Integer.MAX_VALUE;

    private PromptReader() {}

    static String read(OpenAiPrompt.Endpoint endpoint, String body) {
        try (JsonParser parser = FACTORY.createParser(body)) {
            return read(endpoint, parser);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // only a parser over a String or byte[]: never thrown
        }
    }

    static String read(OpenAiPrompt.Endpoint endpoint, byte[] body) {
        try (JsonParser parser = FACTORY.createParser(body)) {
            return read(endpoint, parser);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(OpenAiPrompt.Endpoint endpoint, JsonParser parser) throws IOException {
        try {
            JsonToken root = parser.nextToken();
            if (root == null) {
                throw new IllegalArgumentException("body: empty (expected: a JSON object)");
            }
            if (root != JsonToken.START_OBJECT) {
                throw bad("", describe(parser), "a JSON object");
            }
            String text = endpoint == OpenAiPrompt.Endpoint.CHAT_COMPLETIONS ? chat(parser) : completion(parser);
            if (parser.nextToken() != null) {
                throw new IllegalArgumentException("body: " + describe(parser)
                        + " after the JSON object (expected: nothing)");
            }
            if (text.length() > Request.MAX_PROMPT_CHARS) {
                throw new IllegalArgumentException("body: a prompt of " + text.length()
                        + " characters (expected: at most " + Request.MAX_PROMPT_CHARS + ")");
            }
            return text;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            String near = path(parser.getParsingContext());
            throw new IllegalArgumentException("body: invalid JSON" + (near.isEmpty() ? "" : " near " + near)
                    + where + " (" + e.getOriginalMessage() + ")", e);
        }
    }

    // ---- the fields beside the prompt ----

    /** The fields of {@link OpenAiRequestFields}, read from the top level of a body. */
    static OpenAiRequestFields fields(String body) {
        try (JsonParser parser = FACTORY.createParser(body)) {
            try {
                return fields(parser);
            } catch (JsonProcessingException e) {
                JsonLocation at = e.getLocation();
                String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
                throw new IllegalArgumentException("body: invalid JSON" + where + " (" + e.getOriginalMessage() + ")", e);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // only a parser over a String: never thrown
        }
    }

    private static OpenAiRequestFields fields(JsonParser parser) throws IOException {
        JsonToken root = parser.nextToken();
        if (root == null) {
            throw new IllegalArgumentException("body: empty (expected: a JSON object)");
        }
        if (root != JsonToken.START_OBJECT) {
            throw bad("", describe(parser), "a JSON object");
        }
        String model = null;
        long maxTokens = -1;
        long maxCompletionTokens = -1;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            parser.nextToken();
            switch (name) {
                case "model" -> {
                    String m = string(parser, "model", false, A_STRING);
                    model = m.isEmpty() ? null : m;
                }
                case "max_tokens" -> maxTokens = tokenCount(parser, name);
                case "max_completion_tokens" -> maxCompletionTokens = tokenCount(parser, name);
                default -> parser.skipChildren();
            }
        }
        if (parser.nextToken() != null) {
            throw new IllegalArgumentException("body: " + describe(parser) + " after the JSON object (expected: nothing)");
        }
        return new OpenAiRequestFields(model, maxCompletionTokens >= 0 ? maxCompletionTokens : maxTokens);
    }

    /** A token count, 0..2^31-1, or null (-1). */
    private static long tokenCount(JsonParser parser, String path) throws IOException {
        if (parser.currentToken() == JsonToken.VALUE_NULL) {
            return -1;
        }
        if (parser.currentToken() != JsonToken.VALUE_NUMBER_INT
                || parser.getNumberType() != JsonParser.NumberType.INT || parser.getIntValue() < 0) {
            throw bad(path, describe(parser), "an integer 0.." + Integer.MAX_VALUE + " or null");
        }
        return parser.getIntValue();
    }

    // ---- chat completions ----

    private static String chat(JsonParser parser) throws IOException {
        StringBuilder tools = null;
        StringBuilder messages = null;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            parser.nextToken();
            switch (name) {
                case "tools" -> tools = tools(parser);
                case "messages" -> messages = messages(parser);
                default -> parser.skipChildren(); // model, temperature, stream...: not prefilled
            }
        }
        if (messages == null) {
            throw bad("messages", "missing", MESSAGES);
        }
        return tools == null ? messages.toString() : tools.append(messages).toString();
    }

    private static StringBuilder tools(JsonParser parser) throws IOException {
        StringBuilder out = new StringBuilder();
        if (parser.currentToken() == JsonToken.VALUE_NULL) {
            return out;
        }
        if (parser.currentToken() != JsonToken.START_ARRAY) {
            throw bad("tools", describe(parser), "an array of tools or null");
        }
        for (int i = 0; parser.nextToken() != JsonToken.END_ARRAY; i++) {
            if (parser.currentToken() != JsonToken.START_OBJECT) {
                throw bad("tools[" + i + "]", describe(parser), "a tool object");
            }
            out.append("[tools] ");
            CanonicalJson.write(parser, out);
            out.append('\n');
        }
        return out;
    }

    private static StringBuilder messages(JsonParser parser) throws IOException {
        if (parser.currentToken() != JsonToken.START_ARRAY) {
            throw bad("messages", describe(parser), MESSAGES);
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; parser.nextToken() != JsonToken.END_ARRAY; i++) {
            message(parser, "messages[" + i + "]", out);
        }
        return out;
    }

    /** One message, rendered from its own fields only (see {@link OpenAiPrompt}). */
    private static void message(JsonParser parser, String path, StringBuilder out) throws IOException {
        if (parser.currentToken() != JsonToken.START_OBJECT) {
            throw bad(path, describe(parser), "a message object");
        }
        String role = null;
        String name = null;
        String toolCallId = null;
        String content = "";
        StringBuilder calls = new StringBuilder();
        String functionCall = "";
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            parser.nextToken();
            switch (field) {
                case "role" -> role = string(parser, path + ".role", false, A_STRING);
                case "name" -> name = string(parser, path + ".name", true, STRING_OR_NULL);
                case "tool_call_id" -> toolCallId = string(parser, path + ".tool_call_id", true, STRING_OR_NULL);
                case "content" -> content = content(parser, path + ".content");
                case "tool_calls" -> toolCalls(parser, path + ".tool_calls", calls);
                case "function_call" -> functionCall = functionCall(parser, path + ".function_call");
                default -> parser.skipChildren(); // refusal, audio, reasoning...: not prefilled
            }
        }
        if (role == null) {
            throw bad(path + ".role", "missing", A_STRING);
        }
        out.append('[').append(role);
        if (name != null) {
            out.append(" name=").append(name);
        }
        if (toolCallId != null) {
            out.append(" tool_call_id=").append(toolCallId);
        }
        out.append("] ").append(content).append(calls).append(functionCall).append('\n');
    }

    private static String content(JsonParser parser, String path) throws IOException {
        switch (parser.currentToken()) {
            case VALUE_STRING:
                return parser.getText();
            case VALUE_NULL:
                return "";
            case START_ARRAY:
                StringBuilder parts = new StringBuilder();
                for (int i = 0; parser.nextToken() != JsonToken.END_ARRAY; i++) {
                    if (i > 0) {
                        parts.append('\n');
                    }
                    part(parser, path + "[" + i + "]", parts);
                }
                return parts.toString();
            default:
                throw bad(path, describe(parser), "a string, an array of content parts or null");
        }
    }

    /**
     * One content part: a text part's text, or a marker of any other part (an image, audio, a
     * file) with its canonical form, so that two different images make two different texts.
     */
    private static void part(JsonParser parser, String path, StringBuilder out) throws IOException {
        if (parser.currentToken() != JsonToken.START_OBJECT) {
            throw bad(path, describe(parser), "a content part object");
        }
        String type = null;
        String text = null;
        String badText = null; // what a non-string "text" was, reported if the part is a text part
        List<CanonicalJson.Field> fields = new ArrayList<>();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            JsonToken value = parser.nextToken();
            if (name.equals("type")) {
                type = string(parser, path + ".type", false, A_STRING);
            } else if (name.equals("text") && value != JsonToken.VALUE_STRING) {
                badText = describe(parser);
            }
            if (value == JsonToken.VALUE_STRING) {
                String s = parser.getText();
                if (name.equals("text")) {
                    text = s;
                }
                fields.add(new CanonicalJson.Field(name, s, true));
            } else {
                fields.add(new CanonicalJson.Field(name, CanonicalJson.of(parser), false));
            }
        }
        if (type == null) {
            throw bad(path + ".type", "missing", A_STRING);
        }
        if (type.equals("text")) {
            if (text == null) {
                throw bad(path + ".text", badText == null ? "missing" : badText, A_STRING);
            }
            out.append(text);
            return;
        }
        StringBuilder form = new StringBuilder();
        CanonicalJson.writeObject(fields, form);
        out.append('[').append(type).append(' ');
        if (form.length() <= MAX_PART_FORM) {
            out.append(form);
        } else {
            out.append("sha256:").append(sha256(form));
        }
        out.append(']');
    }

    private static void toolCalls(JsonParser parser, String path, StringBuilder out) throws IOException {
        if (parser.currentToken() == JsonToken.VALUE_NULL) {
            return;
        }
        if (parser.currentToken() != JsonToken.START_ARRAY) {
            throw bad(path, describe(parser), "an array of tool calls or null");
        }
        for (int i = 0; parser.nextToken() != JsonToken.END_ARRAY; i++) {
            if (parser.currentToken() != JsonToken.START_OBJECT) {
                throw bad(path + "[" + i + "]", describe(parser), "a tool call object");
            }
            out.append(" [tool_call ");
            CanonicalJson.write(parser, out);
            out.append(']');
        }
    }

    private static String functionCall(JsonParser parser, String path) throws IOException {
        if (parser.currentToken() == JsonToken.VALUE_NULL) {
            return "";
        }
        if (parser.currentToken() != JsonToken.START_OBJECT) {
            throw bad(path, describe(parser), "a function call object or null");
        }
        return " [function_call " + CanonicalJson.of(parser) + "]";
    }

    // ---- completions ----

    private static String completion(JsonParser parser) throws IOException {
        String prompt = "";
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            parser.nextToken();
            if (name.equals("prompt")) {
                prompt = prompt(parser);
            } else {
                parser.skipChildren(); // model, max_tokens, suffix, stream...: not prefilled
            }
        }
        return prompt;
    }

    private static String prompt(JsonParser parser) throws IOException {
        switch (parser.currentToken()) {
            case VALUE_STRING:
                return parser.getText();
            case VALUE_NULL:
                return "";
            case START_ARRAY:
                break;
            default:
                throw bad("prompt", describe(parser),
                        "a string, an array of strings, an array of token ids, an array of such arrays or null");
        }
        StringBuilder out = new StringBuilder();
        JsonToken kind = null; // of prompt[0], which every element must share
        for (int i = 0; parser.nextToken() != JsonToken.END_ARRAY; i++) {
            JsonToken token = parser.currentToken();
            String path = "prompt[" + i + "]";
            if (kind == null) {
                if (token != JsonToken.VALUE_STRING && token != JsonToken.VALUE_NUMBER_INT
                        && token != JsonToken.START_ARRAY) {
                    throw bad(path, describe(parser), "a string, a token id or an array of token ids");
                }
                kind = token;
                if (kind == JsonToken.VALUE_NUMBER_INT) {
                    out.append("[tokens] ");
                }
            } else if (token != kind) {
                throw bad(path, describe(parser), expectedLike(kind) + ", as prompt[0] is");
            }
            switch (kind) {
                case VALUE_STRING -> {
                    if (i > 0) {
                        out.append('\n');
                    }
                    out.append(parser.getText());
                }
                case VALUE_NUMBER_INT -> out.append(tokenId(parser, path)).append(' ');
                default -> {
                    if (i > 0) {
                        out.append('\n');
                    }
                    out.append("[tokens] ");
                    for (int j = 0; parser.nextToken() != JsonToken.END_ARRAY; j++) {
                        out.append(tokenId(parser, path + "[" + j + "]")).append(' ');
                    }
                }
            }
        }
        return out.toString();
    }

    private static String expectedLike(JsonToken kind) {
        return switch (kind) {
            case VALUE_STRING -> A_STRING;
            case VALUE_NUMBER_INT -> TOKEN_ID;
            default -> "an array of token ids";
        };
    }

    private static int tokenId(JsonParser parser, String path) throws IOException {
        if (parser.currentToken() != JsonToken.VALUE_NUMBER_INT
                || parser.getNumberType() != JsonParser.NumberType.INT || parser.getIntValue() < 0) {
            throw bad(path, describe(parser), TOKEN_ID);
        }
        return parser.getIntValue();
    }

    // ---- helpers ----

    /** A string field's value; null for JSON null when {@code nullable}. */
    private static String string(JsonParser parser, String path, boolean nullable, String expected)
            throws IOException {
        JsonToken token = parser.currentToken();
        if (token == JsonToken.VALUE_STRING) {
            return parser.getText();
        }
        if (token == JsonToken.VALUE_NULL && nullable) {
            return null;
        }
        throw bad(path, describe(parser), expected);
    }

    private static IllegalArgumentException bad(String path, String value, String expected) {
        return new IllegalArgumentException("body: " + (path.isEmpty() ? "" : path + ": ") + value
                + " (expected: " + expected + ")");
    }

    /** The value at the parser's current token, as an error message shows it: short. */
    private static String describe(JsonParser parser) throws IOException {
        JsonToken token = parser.currentToken();
        if (token == null) {
            return "nothing";
        }
        return switch (token) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> {
                String s = parser.getText();
                yield s.length() <= 40 ? Preconditions.quote(s)
                        : Preconditions.quote(s.substring(0, 40)) + "... (" + s.length() + " characters)";
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                String n = parser.getText();
                yield n.length() <= 40 ? n : n.substring(0, 40) + "... (" + n.length() + " digits)";
            }
            default -> parser.getText();
        };
    }

    /** The JSON path of a parsing context, such as {@code messages[2].content}; empty at the root. */
    private static String path(JsonStreamContext context) {
        if (context == null || context.inRoot()) {
            return "";
        }
        String parent = path(context.getParent());
        if (context.inArray()) {
            return parent + "[" + Math.max(0, context.getCurrentIndex()) + "]";
        }
        String name = context.getCurrentName();
        if (name == null) {
            return parent;
        }
        return parent.isEmpty() ? name : parent + "." + name;
    }

    private static String sha256(CharSequence form) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest(form.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM, which every JVM must have", e);
        }
    }
}

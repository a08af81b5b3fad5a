package dev.ailb.http;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.BalancingStrategy;
import dev.ailb.Request;
import java.util.Optional;

/**
 * The routing text of an OpenAI-style request body: what {@link Request#withPrompt} takes, so that
 * a strategy that routes by prompt ({@link BalancingStrategy#PREFIX_AFFINITY}) sends a
 * conversation where its prefix is likely cached.
 * {@link BalancedHttpClient#sendJson sendJson} and {@link BalancedHttpClient#streamJson streamJson}
 * fill it themselves; call this when you send the body another way.
 *
 * <pre>{@code
 * Request request = new Request("req-1", clientIp, "/v1/chat/completions")
 *         .withPrompt(OpenAiPrompt.ofChatCompletions(json));
 * }</pre>
 *
 * <p>The text stands for what the instance prefills; it is not the model's chat template, but it
 * grows as the prompt does. For {@code /v1/chat/completions}: each tool definition, then each
 * message in order, every one on its own line:
 * <pre>
 * [tools] {"function":{"name":"weather","parameters":{...}},"type":"function"}
 * [system] You are terse.
 * [user name=ada] What is the weather in Paris?
 * [assistant]  [tool_call {"function":{"arguments":"{\"city\":\"Paris\"}","name":"weather"},"id":"c1","type":"function"}]
 * [tool tool_call_id=c1] 18 degrees
 * </pre>
 * A message shows its role, its {@code name} and {@code tool_call_id} when set, its content (a
 * string; or its parts, one a line: a text part's text, any other part (an image, audio, a file)
 * as {@code [type form]}), then its {@code tool_calls} and {@code function_call}. Tool
 * definitions, tool calls and non-text parts are written in a canonical form: fields sorted by
 * name, no whitespace, one way of escaping strings. A non-text part whose form is longer than 256
 * characters (an image sent inline in base64) is written as {@code [type sha256:<hex>]}, the
 * digest of that form, so two different images still make two different texts. Other fields
 * ({@code model}, {@code temperature}, {@code max_tokens}, {@code stream}, {@code user}, ...) do
 * not change what is prefilled and are ignored.
 *
 * <p>So the text does not depend on the order of fields in the body or on its whitespace, and
 * each message's line depends on that message alone, with nothing after the last one: the text
 * of a conversation's turn is a prefix of the text of its next turn, which has the same tools and
 * messages and more after them.
 *
 * <p>For {@code /v1/completions}: the {@code prompt} field. A string is the text itself. An array
 * of strings is a batch, all of it prefilled on the instance that takes it: its strings joined by
 * line breaks, the first leading. An array of token ids is {@code [tokens] } followed by each id
 * and a space (so {@code [1,2]} is a prefix of {@code [1,2,3]}, not of {@code [1,23]}); an array
 * of such arrays is their texts joined by line breaks. A missing or null prompt is no text.
 *
 * <p>A body that is not such a request is refused with an {@link IllegalArgumentException} that
 * names the JSON path and the value, such as {@code body: messages[2].content: 42 (expected: a
 * string, an array of content parts or null)}: invalid JSON, a field given twice in one object,
 * anything after the object, {@code messages} missing or not an array, a message that is not an
 * object or has no string {@code role}, content that is neither a string, an array of parts nor
 * null, a part without a string {@code type}, a text part without a string {@code text}, a
 * prompt of mixed kinds, a token id outside 0..2<sup>31</sup>-1, a body longer than
 * {@link #MAX_BODY_LENGTH}, or a text longer than {@link Request#MAX_PROMPT_CHARS}. Nothing is
 * returned for a body refused.
 *
 * <p>Cost: one pass of Jackson's streaming parser over the body, no tree; time and memory linear
 * in the body's length, plus a sort of each canonical object's fields and a SHA-256 of each long
 * non-text part. Needs {@code com.fasterxml.jackson.core:jackson-core} (version 2), an optional
 * dependency: without it, each method throws an {@link IllegalStateException} that names it.
 *
 * <p>Stateless and thread-safe.
 */
public final class OpenAiPrompt {

    /**
     * The longest body read: 2<sup>26</sup> (64 Mi) bytes of a {@code byte[]} body, characters of a
     * {@code String} one. Room for a few images inline beside the longest prompt a request may
     * carry ({@link Request#MAX_PROMPT_CHARS}).
     */
    public static final int MAX_BODY_LENGTH = 1 << 26;

    private OpenAiPrompt() {}

    /**
     * The routing text of a {@code /v1/chat/completions} body: its tools, then its messages.
     *
     * @param body the JSON body
     * @return the text; empty when there are neither tools nor messages
     * @throws NullPointerException     if {@code body} is null
     * @throws IllegalArgumentException if the body is not a chat completion request, naming the
     *                                  JSON path and the value
     * @throws IllegalStateException    if {@code jackson-core} is missing
     */
    public static String ofChatCompletions(String body) {
        return read(Endpoint.CHAT_COMPLETIONS, body);
    }

    /**
     * The routing text of a {@code /v1/chat/completions} body in UTF-8 (or UTF-16 or UTF-32, which
     * JSON allows and the parser detects).
     *
     * @param body the JSON body
     * @return the text; empty when there are neither tools nor messages
     * @throws NullPointerException     if {@code body} is null
     * @throws IllegalArgumentException if the body is not a chat completion request
     * @throws IllegalStateException    if {@code jackson-core} is missing
     */
    public static String ofChatCompletions(byte[] body) {
        return read(Endpoint.CHAT_COMPLETIONS, body);
    }

    /**
     * The routing text of a {@code /v1/completions} body: its prompt.
     *
     * @param body the JSON body
     * @return the text; empty when the prompt is missing, null or empty
     * @throws NullPointerException     if {@code body} is null
     * @throws IllegalArgumentException if the body is not a completion request, naming the JSON
     *                                  path and the value
     * @throws IllegalStateException    if {@code jackson-core} is missing
     */
    public static String ofCompletions(String body) {
        return read(Endpoint.COMPLETIONS, body);
    }

    /**
     * The routing text of a {@code /v1/completions} body in UTF-8 (or UTF-16 or UTF-32).
     *
     * @param body the JSON body
     * @return the text; empty when the prompt is missing, null or empty
     * @throws NullPointerException     if {@code body} is null
     * @throws IllegalArgumentException if the body is not a completion request
     * @throws IllegalStateException    if {@code jackson-core} is missing
     */
    public static String ofCompletions(byte[] body) {
        return read(Endpoint.COMPLETIONS, body);
    }

    static String read(Endpoint endpoint, String body) {
        checkNotNull(body, "body");
        Jackson.require("OpenAiPrompt");
        if (body.length() > MAX_BODY_LENGTH) {
            throw new IllegalArgumentException("body: " + body.length() + " characters (expected: at most "
                    + MAX_BODY_LENGTH + ")");
        }
        return PromptReader.read(endpoint, body);
    }

    private static String read(Endpoint endpoint, byte[] body) {
        checkNotNull(body, "body");
        Jackson.require("OpenAiPrompt");
        if (body.length > MAX_BODY_LENGTH) {
            throw new IllegalArgumentException("body: " + body.length + " bytes (expected: at most "
                    + MAX_BODY_LENGTH + ")");
        }
        return PromptReader.read(endpoint, body);
    }

    /** The endpoints whose bodies carry a prompt. */
    enum Endpoint {
        CHAT_COMPLETIONS, COMPLETIONS;

        /**
         * The endpoint a request path targets, by its end ({@code /v1/chat/completions} or
         * {@code /v1/completions}, a query string aside), if it is one of them.
         */
        static Optional<Endpoint> of(String path) {
            int end = path.length();
            for (int i = 0; i < path.length(); i++) {
                char c = path.charAt(i);
                if (c == '?' || c == '#') {
                    end = i;
                    break;
                }
            }
            String p = path.substring(0, end);
            if (p.endsWith("/v1/chat/completions")) {
                return Optional.of(CHAT_COMPLETIONS);
            }
            if (p.endsWith("/v1/completions")) {
                return Optional.of(COMPLETIONS);
            }
            return Optional.empty();
        }
    }
}

package dev.ailb.http;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.Request;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What an OpenAI-style request body ({@code /v1/chat/completions}, {@code /v1/completions}) says
 * of the work it asks for, beside its prompt ({@link OpenAiPrompt}): the model it names, for
 * {@link Request#withModel}, and the most tokens it lets the answer take, for a token estimate
 * ({@link Request#withEstimatedTokens}). An adapter that sends such bodies another way than
 * {@link BalancedHttpClient#sendJson} routes with them.
 *
 * <pre>{@code
 * OpenAiRequestFields fields = OpenAiRequestFields.read(json);
 * Request request = new Request("req-1", clientIp, "/v1/chat/completions").withModel(fields.model().orElse(""));
 * }</pre>
 *
 * <p>Read are the top-level {@code model} (a string), {@code max_completion_tokens} and
 * {@code max_tokens} (an integer or null; the first when both are there, as OpenAI reads them);
 * every other field is skipped unread. A body that is not a JSON object, or gives one of these
 * fields twice or of another type, is refused with an {@link IllegalArgumentException} naming the
 * field and the value, such as {@code body: max_tokens: -1 (expected: an integer 0..2147483647 or
 * null)}.
 *
 * <p>Cost: one pass of Jackson's streaming parser, skipping what it does not read. Needs
 * {@code com.fasterxml.jackson.core:jackson-core} (version 2), an optional dependency: without it,
 * {@link #read} throws an {@link IllegalStateException} that names it. Immutable and thread-safe.
 */
public final class OpenAiRequestFields {
    /** The characters of prompt counted as one token in an estimate: the usual rule of thumb. */
    static final int CHARS_PER_TOKEN = 4;

    private final String model; // null: none
    private final long maxOutputTokens; // -1: none

    OpenAiRequestFields(String model, long maxOutputTokens) {
        this.model = model;
        this.maxOutputTokens = maxOutputTokens;
    }

    /**
     * Reads the fields of a body.
     *
     * @param body the JSON body
     * @return its fields
     * @throws NullPointerException     if {@code body} is null
     * @throws IllegalArgumentException if the body is not a JSON object, is longer than
     *                                  {@link OpenAiPrompt#MAX_BODY_LENGTH}, or gives one of the
     *                                  fields read twice or of another type
     * @throws IllegalStateException    if {@code jackson-core} is missing
     */
    public static OpenAiRequestFields read(String body) {
        checkNotNull(body, "body");
        Jackson.require("OpenAiRequestFields");
        if (body.length() > OpenAiPrompt.MAX_BODY_LENGTH) {
            throw new IllegalArgumentException("body: " + body.length() + " characters (expected: at most "
                    + OpenAiPrompt.MAX_BODY_LENGTH + ")");
        }
        return PromptReader.fields(body);
    }

    /**
     * The model the body names.
     *
     * @return its {@code model}, or empty when it has none (or an empty one)
     */
    public Optional<String> model() {
        return Optional.ofNullable(model);
    }

    /**
     * The most tokens the body lets the answer take.
     *
     * @return its {@code max_completion_tokens}, else its {@code max_tokens}; empty when it sets
     *         neither
     */
    public OptionalLong maxOutputTokens() {
        return maxOutputTokens < 0 ? OptionalLong.empty() : OptionalLong.of(maxOutputTokens);
    }

    /**
     * The token estimate of a request with this body and this prompt, when the body caps its
     * answer: the prompt at four characters a token (as {@code PREFIX_AFFINITY} counts without a
     * tokenizer), rounded up, plus the cap; at most {@link Request#MAX_TOKENS}. The one rule of
     * every adapter that routes such bodies.
     *
     * @param prompt the prompt read from the body ({@link OpenAiPrompt})
     * @return the estimate, or empty when the body sets no cap
     * @throws NullPointerException if {@code prompt} is null
     */
    public OptionalLong estimatedTokens(String prompt) {
        checkNotNull(prompt, "prompt");
        if (maxOutputTokens < 0) {
            return OptionalLong.empty();
        }
        long promptTokens = (prompt.length() + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN;
        return OptionalLong.of(Math.min(Request.MAX_TOKENS, promptTokens + maxOutputTokens));
    }

    @Override
    public String toString() {
        return "OpenAiRequestFields{model=" + (model == null ? "none" : model) + ", maxOutputTokens="
                + (maxOutputTokens < 0 ? "none" : maxOutputTokens) + '}';
    }
}

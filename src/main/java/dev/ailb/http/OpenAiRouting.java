package dev.ailb.http;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.LoadBalancerBuilder;
import dev.ailb.Request;
import java.util.Optional;

/**
 * What an OpenAI-style request body tells the balancer about where it should go, for a client
 * that sends such bodies through a transport of its own (an SDK's pluggable HTTP client, say)
 * rather than through {@link BalancedHttpClient#sendJson}: the prompt the instance will prefill
 * ({@link OpenAiPrompt}), the token estimate, and the model.
 *
 * <pre>{@code
 * Request routed = OpenAiRouting.withBody(new Request(id, clientIp, path), path, body);
 * String model = OpenAiRouting.model(body).orElse("");
 * }</pre>
 *
 * <p>The model is read apart from the rest because a balancer whose backends declare no model
 * serves only requests that name none: a client routes by it when its backends declare (or
 * learn) the models they serve.
 *
 * <p>Stateless and thread-safe. Needs {@code com.fasterxml.jackson.core:jackson-core}, an optional
 * dependency: without it, each method throws an {@link IllegalStateException} that names it.
 */
public final class OpenAiRouting {
    /**
     * The characters of routing text counted as one token of prompt in an estimate: the usual
     * rule of thumb for English text and the tokenizers of today's models.
     */
    public static final int CHARS_PER_TOKEN = 4;

    private OpenAiRouting() {}

    /**
     * The request with what the body of a {@code /v1/chat/completions} or {@code /v1/completions}
     * request says: its prompt ({@link OpenAiPrompt}) when the request has none, and, when the
     * request has no token estimate and the body caps its output ({@code max_completion_tokens}
     * or {@code max_tokens}), an estimate of the prompt's tokens (its routing text's length
     * divided by {@link #CHARS_PER_TOKEN}, rounded up) plus that cap: the most the request may
     * hold its instance for, which a balancer that
     * {@linkplain LoadBalancerBuilder#countTokens counts tokens} weighs it by. A body without a
     * cap leaves the estimate unknown (0), which such a balancer counts as its default. The
     * request is returned as it is for any other path.
     *
     * @param request the request, with its id and client address
     * @param path    the path the body is posted to, a query string allowed
     * @param body    the JSON body in UTF-8
     * @return the request routed by the body
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the body is not a chat or completion request, naming the
     *                                  JSON path and the value, as {@link OpenAiPrompt} does
     * @throws IllegalStateException    if {@code jackson-core} is missing
     */
    public static Request withBody(Request request, String path, byte[] body) {
        checkNotNull(request, "request");
        checkNotNull(path, "path");
        checkNotNull(body, "body");
        Jackson.require("OpenAiRouting");
        Optional<OpenAiPrompt.Endpoint> endpoint = OpenAiPrompt.Endpoint.of(path);
        if (endpoint.isEmpty()) {
            return request;
        }
        String prompt = request.hasPrompt() ? request.prompt() : OpenAiPrompt.read(endpoint.get(), body);
        Request routed = request.hasPrompt() ? request : request.withPrompt(prompt);
        long cap = BodyFields.read(body).maxTokens();
        if (request.estimatedTokens() > 0 || cap == 0) {
            return routed;
        }
        long promptTokens = (prompt.length() + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN;
        return routed.withEstimatedTokens(Math.min(Request.MAX_TOKENS, promptTokens + cap));
    }

    /**
     * The model a request body names in its top-level {@code model} field.
     *
     * @param body the JSON body in UTF-8
     * @return the model, or empty when the body names none (or is not a JSON object)
     * @throws NullPointerException  if {@code body} is null
     * @throws IllegalStateException if {@code jackson-core} is missing
     */
    public static Optional<String> model(byte[] body) {
        checkNotNull(body, "body");
        Jackson.require("OpenAiRouting");
        String model = BodyFields.read(body).model();
        return model.isEmpty() ? Optional.empty() : Optional.of(model);
    }
}

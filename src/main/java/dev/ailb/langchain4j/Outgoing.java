package dev.ailb.langchain4j;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.quote;

import dev.ailb.Request;
import dev.ailb.http.OpenAiPrompt;
import dev.ailb.http.OpenAiRequestFields;
import dev.langchain4j.http.client.HttpMethod;
import dev.langchain4j.http.client.HttpRequest;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpRequest.BodyPublishers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One LangChain4j request on its way to the pool: the JDK request it becomes, checked and built
 * once before anything is sent, what the balancer routes it by, and the copy of it each attempt
 * sends to its backend, the same in every way but the scheme, host and port. Immutable.
 *
 * <p>Checking first is what keeps a request that could never be sent (a header the JDK refuses
 * to send, a URL that is not one) from counting as a failed attempt on a backend that did nothing
 * wrong.
 */
final class Outgoing {
    private static final Logger log = LoggerFactory.getLogger(Outgoing.class);

    private final java.net.http.HttpRequest template;
    private final String pathAndQuery;
    private final Request routing;
    private final String jsonBody; // null: not a chat or completion POST whose body was read

    private Outgoing(java.net.http.HttpRequest template, String pathAndQuery, Request routing, String jsonBody) {
        this.template = template;
        this.pathAndQuery = pathAndQuery;
        this.routing = routing;
        this.jsonBody = jsonBody;
    }

    /**
     * The request checked and converted.
     *
     * @param request     LangChain4j's request
     * @param id          the id the balancer knows it by
     * @param readTimeout the JDK request's timeout, or null for none
     * @param byModel     whether the request names the model of its body
     * @throws NullPointerException     if {@code request} is null
     * @throws IllegalArgumentException if its URL is not an absolute http or https URL, it is a
     *                                  multipart form, or a header is one the JDK client refuses
     */
    static Outgoing of(HttpRequest request, String id, Duration readTimeout, boolean byModel) {
        checkNotNull(request, "request");
        if (!request.formDataFields().isEmpty() || !request.formDataFiles().isEmpty()) {
            throw new IllegalArgumentException("request: a multipart form to " + quote(request.url())
                    + " (expected: a body or none; send forms with another of LangChain4j's clients)");
        }
        URI uri = uri(request.url());
        java.net.http.HttpRequest.Builder builder = java.net.http.HttpRequest.newBuilder(uri);
        for (Map.Entry<String, List<String>> header : request.headers().entrySet()) {
            if (header.getValue() == null) {
                continue;
            }
            for (String value : header.getValue()) {
                builder.header(header.getKey(), value); // a restricted or malformed header throws here
            }
        }
        String body = request.body();
        builder.method(request.method().name(), body == null
                ? BodyPublishers.noBody()
                : BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (readTimeout != null) {
            builder.timeout(readTimeout);
        }
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        String pathAndQuery = uri.getRawQuery() == null ? path : path + '?' + uri.getRawQuery();
        Request plain = new Request(id, "", path);
        Optional<Request> described = body == null ? Optional.empty() : described(plain, path, body, byModel);
        String jsonBody = described.isPresent() && request.method() == HttpMethod.POST ? body : null;
        return new Outgoing(builder.build(), pathAndQuery, described.orElse(plain), jsonBody);
    }

    private static URI uri(String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            uri = null;
        }
        if (uri == null || uri.getHost() == null
                || !("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))) {
            throw new IllegalArgumentException("request.url: " + quote(url)
                    + " (expected: an absolute http or https URL)");
        }
        return uri;
    }

    /**
     * The request as its body describes it, for a chat or completion request whose body reads as
     * one: with its prompt; with a token estimate when the body caps the answer
     * ({@code max_completion_tokens} or {@code max_tokens}): the prompt at four characters a token,
     * as {@link dev.ailb.PrefixAffinity} counts without a tokenizer, plus the cap; and with its
     * model when {@code byModel}. Empty for a body that does not read as one (or a missing
     * Jackson): the request is then routed without any of them rather than refused, since the
     * server, not the balancer, is the judge of a body.
     */
    private static Optional<Request> described(Request request, String path, String body, boolean byModel) {
        boolean chat = path.endsWith("/chat/completions");
        if (!chat && !path.endsWith("/completions")) {
            return Optional.empty();
        }
        try {
            String prompt = chat ? OpenAiPrompt.ofChatCompletions(body) : OpenAiPrompt.ofCompletions(body);
            OpenAiRequestFields fields = OpenAiRequestFields.read(body);
            Request routed = request.withPrompt(prompt);
            OptionalLong estimate = fields.estimatedTokens(prompt);
            if (estimate.isPresent()) {
                routed = routed.withEstimatedTokens(estimate.getAsLong());
            }
            if (byModel && fields.model().isPresent()) {
                routed = routed.withModel(fields.model().get());
            }
            return Optional.of(routed);
        } catch (IllegalArgumentException | IllegalStateException e) {
            log.debug("Routing {} without what its body says: {}", request.id(), e.getMessage());
            return Optional.empty();
        }
    }

    /** What the balancer routes the request by. */
    Request routing() {
        return routing;
    }

    /**
     * The JSON body of a chat or completion POST whose body was read, to be sent with
     * {@link dev.ailb.http.BalancedHttpClient}'s body-aware calls, which also report the server's
     * prompt-cache figures on the backend that answered; empty for any other request.
     */
    Optional<String> jsonBody() {
        return Optional.ofNullable(jsonBody);
    }

    /** The path and query of the request's URL, which every attempt keeps. */
    String pathAndQuery() {
        return pathAndQuery;
    }

    /**
     * Finishes a body-aware call's request as this request: its headers in place of the
     * builder's ({@code Content-Type} among them) and its timeout. Its headers were checked when
     * this was built, so this does not throw.
     */
    java.net.http.HttpRequest.Builder finish(java.net.http.HttpRequest.Builder builder) {
        template.headers().map().forEach((name, values) -> {
            for (int i = 0; i < values.size(); i++) {
                if (i == 0) {
                    builder.setHeader(name, values.get(i));
                } else {
                    builder.header(name, values.get(i));
                }
            }
        });
        template.timeout().ifPresent(builder::timeout);
        return builder;
    }

    /** The request as sent to the backend at {@code base} ({@code scheme://host:port}). */
    java.net.http.HttpRequest toBackend(URI base) {
        return java.net.http.HttpRequest.newBuilder(template, (name, value) -> true)
                .uri(URI.create(base.toString() + pathAndQuery))
                .build();
    }
}

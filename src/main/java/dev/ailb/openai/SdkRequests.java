package dev.ailb.openai;

import static dev.ailb.internal.Preconditions.quote;

import com.openai.core.RequestOptions;
import com.openai.core.Timeout;
import com.openai.core.http.Headers;
import com.openai.core.http.HttpRequest;
import com.openai.core.http.HttpRequestBody;
import com.openai.errors.OpenAIIoException;
import dev.ailb.Request;
import dev.ailb.http.OpenAiPrompt;
import dev.ailb.http.OpenAiRequestFields;
import dev.ailb.internal.JdkHttpHeaders;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the SDK's requests into what the balancer routes ({@link Request}) and what the JDK's
 * client sends to a backend: the SDK's body is read once, and each attempt builds its own request
 * to its backend from it. Thread-safe: the sequence of request ids is atomic, the rest immutable.
 */
final class SdkRequests {
    private static final Logger log = LoggerFactory.getLogger(SdkRequests.class);

    private final boolean routeByModel;
    private final String clientAddress;
    private final AtomicLong sequence;

    SdkRequests(boolean routeByModel, String clientAddress, AtomicLong sequence) {
        this.routeByModel = routeByModel;
        this.clientAddress = clientAddress;
        this.sequence = sequence;
    }

    /** Reads the SDK's request once: its path and query, its body, and how the balancer routes it. */
    Prepared prepare(HttpRequest request, RequestOptions options) {
        String path = pathAndQuery(request.url());
        byte[] body = bytesOf(request.body());
        String contentType = request.body() == null ? null : request.body().contentType();
        Request plain = new Request("openai-" + sequence.incrementAndGet(), clientAddress, path);
        Request routed = body == null || contentType == null || !contentType.toLowerCase(Locale.ROOT).contains("json")
                ? plain : route(plain, path, new String(body, StandardCharsets.UTF_8));
        Timeout timeout = options.getTimeout();
        Duration perAttempt = timeout == null ? null : timeout.request();
        return new Prepared(routed, request.method().name(), path, request.headers(), contentType, body,
                perAttempt == null || perAttempt.isZero() || perAttempt.isNegative() ? null : perAttempt);
    }

    /**
     * The request as its JSON body routes it: by the prompt ({@link OpenAiPrompt}) of a chat or
     * completion request, with a token estimate when the body caps its output (the prompt at
     * four characters a token, plus the cap: {@link OpenAiRequestFields#estimatedTokens}), and by the model it names
     * when asked. A body the router cannot read (not such a request, or a model name a request
     * may not carry) is still sent, routed without what it could not read: the server answers
     * for it, as it would without a balancer.
     */
    private Request route(Request request, String path, String json) {
        OpenAiRequestFields fields;
        try {
            fields = OpenAiRequestFields.read(json);
        } catch (IllegalArgumentException e) {
            log.debug("Request {} to {}: routed without its body, which was not read: {}",
                    request.id(), path, e.getMessage());
            return request;
        }
        Request routed = request;
        String endpoint = withoutQuery(path);
        // Whatever the base path (/v1 by default, none for a server at the root).
        boolean chat = endpoint.endsWith("/chat/completions");
        if (chat || endpoint.endsWith("/completions")) {
            try {
                String prompt = chat ? OpenAiPrompt.ofChatCompletions(json) : OpenAiPrompt.ofCompletions(json);
                routed = routed.withPrompt(prompt);
                OptionalLong estimate = fields.estimatedTokens(prompt);
                if (estimate.isPresent()) {
                    routed = routed.withEstimatedTokens(estimate.getAsLong());
                }
            } catch (IllegalArgumentException e) {
                log.debug("Request {} to {}: routed without its prompt, which was not read: {}",
                        request.id(), path, e.getMessage());
            }
        }
        if (routeByModel && fields.model().isPresent()) {
            try {
                routed = routed.withModel(fields.model().get());
            } catch (IllegalArgumentException e) {
                log.debug("Request {} to {}: routed without its model: {}", request.id(), path, e.getMessage());
            }
        }
        return routed;
    }

    private static String withoutQuery(String path) {
        int query = path.indexOf('?');
        return query < 0 ? path : path.substring(0, query);
    }

    /** The path and query of the SDK's URL, as the SDK encoded them; its scheme and host are dropped. */
    static String pathAndQuery(String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new OpenAIIoException("Request URL not understood: " + url, e);
        }
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        return uri.getRawQuery() == null ? path : path + '?' + uri.getRawQuery();
    }

    private static byte[] bytesOf(HttpRequestBody body) {
        if (body == null) {
            return null;
        }
        try (body) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(
                    body.contentLength() > 0 && body.contentLength() < Integer.MAX_VALUE ? (int) body.contentLength() : 256);
            body.writeTo(out);
            return out.toByteArray();
        } catch (RuntimeException e) {
            throw new OpenAIIoException("Request body could not be read", e);
        }
    }

    @Override
    public String toString() {
        return "routeByModel=" + routeByModel;
    }

    /**
     * One SDK request read: what the balancer routes, and how each attempt's request to its
     * backend is built.
     */
    record Prepared(Request routed, String method, String pathAndQuery, Headers headers, String contentType,
            byte[] body, Duration timeout) {

        /**
         * Checks the headers once, before anything is routed: a header the JDK's client would
         * refuse fails the call here rather than every attempt on a backend that did nothing
         * wrong. The refusal names the header, never its value, which may be a key.
         */
        Prepared {
            java.net.http.HttpRequest.Builder check = java.net.http.HttpRequest.newBuilder();
            for (String name : headers.names()) {
                if (JdkHttpHeaders.setByTheClient(name)) {
                    continue;
                }
                for (String value : headers.values(name)) {
                    try {
                        check.header(name, value);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("headers: " + quote(name) + " with a value of length "
                                + value.length() + " (expected: a header name and a value the JDK's HTTP client"
                                + " sends, without CR, LF or other control characters)");
                    }
                }
            }
        }

        /** The method, path and header names only: the headers' values may hold a key. */
        @Override
        public String toString() {
            return "Prepared{" + method + " " + pathAndQuery + ", headers " + headers.names() + "}";
        }

        /** The request of one attempt, to the backend whose base URI ({@code scheme://host:port}) is given. */
        java.net.http.HttpRequest toBackend(URI base) {
            java.net.http.HttpRequest.Builder builder = java.net.http.HttpRequest.newBuilder(base.resolve(pathAndQuery));
            boolean typed = false;
            for (String name : headers.names()) {
                if (JdkHttpHeaders.setByTheClient(name)) {
                    continue;
                }
                typed |= name.equalsIgnoreCase("content-type");
                for (String value : headers.values(name)) {
                    builder.header(name, value);
                }
            }
            if (contentType != null && !typed) {
                builder.header("Content-Type", contentType);
            }
            builder.method(method, body == null
                    ? java.net.http.HttpRequest.BodyPublishers.noBody()
                    : java.net.http.HttpRequest.BodyPublishers.ofByteArray(body));
            if (timeout != null) {
                builder.timeout(timeout);
            }
            return builder.build();
        }
    }
}

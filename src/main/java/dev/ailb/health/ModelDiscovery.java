package dev.ailb.health;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.Backend;
import dev.ailb.BackendProfile;
import dev.ailb.internal.ModelList;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * Asks a backend's server which models and LoRA adapters it serves, by the OpenAI-style
 * {@code GET /v1/models} that vLLM, TGI and SGLang answer: each entry of {@code data} is a model,
 * or, with a {@code parent} (its base model, as vLLM lists them), an adapter. Set on a balancer
 * with {@code LoadBalancerBuilder#discoverModels}: while the health checker runs, each backend is
 * asked periodically, and requests naming a model go by what it answered as well as by what it
 * was declared to serve.
 *
 * <p>An answer is rejected, with the reason, when it is not a 2xx, is larger than
 * {@value #MAX_PAGE_BYTES} bytes, is not a model list (see {@link #profileOf}), or names a model
 * as requests cannot (blank, longer than 256 characters, with a control character). The backend
 * then keeps what it last learnt.
 *
 * <p>Immutable and thread-safe.
 */
public final class ModelDiscovery {
    /** The largest answer read; a longer one is rejected without being read to its end. */
    public static final int MAX_PAGE_BYTES = 1 << 20;

    private final String path;
    private final HttpProbeOptions http;

    private ModelDiscovery(String path, HttpProbeOptions http) {
        this.path = path;
        this.http = http;
    }

    /**
     * The OpenAI-style list at {@code GET /v1/models}.
     *
     * @return the discovery
     */
    public static ModelDiscovery openAi() {
        return new ModelDiscovery("/v1/models", HttpProbeOptions.plain());
    }

    /**
     * An OpenAI-style list at another path.
     *
     * @param path a URI path starting with {@code /}
     * @return the discovery
     * @throws NullPointerException     if {@code path} is null
     * @throws IllegalArgumentException if it is not a valid URI path
     */
    public static ModelDiscovery openAi(String path) {
        return new ModelDiscovery(HttpProbe.checkPath(path), HttpProbeOptions.plain());
    }

    /**
     * This discovery, asking with other HTTP settings: {@code https}, a TLS context, headers such
     * as a bearer token.
     *
     * @param http the scheme, TLS context and headers of the requests
     * @return a discovery of the same path with those settings
     * @throws NullPointerException if {@code http} is null
     */
    public ModelDiscovery withHttp(HttpProbeOptions http) {
        return new ModelDiscovery(path, checkNotNull(http, "http"));
    }

    /**
     * Starts asking one backend what it serves.
     *
     * @param backend the backend to ask
     * @param context the prober's timeout, executor and shared HTTP client
     * @return the models and adapters it serves (no labels), or a stage failed with the reason
     */
    public CompletionStage<BackendProfile> fetch(Backend backend, HealthCheckContext context) {
        checkNotNull(backend, "backend");
        checkNotNull(context, "context");
        HttpRequest request;
        try {
            request = http.get(backend, path, context, "application/json", "ailb-model-discovery");
        } catch (IllegalArgumentException | IllegalStateException e) {
            return CompletableFuture.failedFuture(e); // a header refused: named, its value never shown
        }
        CompletableFuture<HttpResponse<byte[]>> sent = http.client(context)
                .sendAsync(request, info -> new PrometheusLoadSource.LimitedBody(MAX_PAGE_BYTES));
        CompletableFuture<BackendProfile> profile = sent.handleAsync((response, error) -> {
            if (error != null) {
                throw new CompletionException(new IOException(HttpProbe.describe(error, path, context.timeout()), error));
            }
            int status = response.statusCode();
            if (status < 200 || status >= 300) {
                throw new IllegalStateException("HTTP " + status + " from GET " + path);
            }
            return profileOf(new String(response.body(), StandardCharsets.UTF_8));
        }, context.executor());
        return HttpProbe.cancellingExchange(profile, sent);
    }

    /**
     * What a model list says a backend serves: an entry without {@code parent} (or with
     * {@code "parent": null}) is a model, one with a parent an adapter. Other members are skipped.
     *
     * @param page the answer's body
     * @return a profile of those models and adapters, without labels
     * @throws NullPointerException     if {@code page} is null
     * @throws IllegalArgumentException if the page is not one JSON object with a {@code data}
     *                                  array of objects each with a string {@code id} (and a
     *                                  {@code parent} that is a string or null), nests deeper
     *                                  than 32 levels, has more than 10,000 entries, or names a
     *                                  model as requests cannot
     */
    public BackendProfile profileOf(String page) {
        checkNotNull(page, "page");
        BackendProfile.Builder profile = BackendProfile.builder();
        for (ModelList.Entry entry : ModelList.parse(page)) {
            try {
                if (entry.parent() == null) {
                    profile.model(entry.id());
                } else {
                    profile.adapter(entry.id());
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("model list: " + e.getMessage(), e);
            }
        }
        return profile.build();
    }

    @Override
    public String toString() {
        return http == HttpProbeOptions.plain() ? "GET " + path : "GET " + path + " " + http;
    }
}

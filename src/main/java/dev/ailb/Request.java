package dev.ailb;

import static dev.ailb.internal.Preconditions.checkId;
import static dev.ailb.internal.Preconditions.checkNotNull;

/**
 * One request to be routed: its id, the client's address (the key of {@link BalancingStrategy#IP_HASH}),
 * the path it targets and, optionally, how many tokens it is expected to take and the prompt the
 * instance will prefill (the key of {@link BalancingStrategy#PREFIX_AFFINITY}). The client address
 * is used as an opaque string; it is never resolved.
 *
 * <pre>{@code
 * Request r = new Request("req-1", clientIp, "/v1/chat/completions").withPrompt(promptText);
 * }</pre>
 *
 * <p>Immutable and thread-safe. {@link #toString()} shows the prompt's length, not its text.
 *
 * @param id       the request id, for logs and tracing; not blank
 * @param clientIp the client's address, e.g. {@code "192.168.1.100"}; not null, may be empty when
 *                 unknown (all such requests then hash alike)
 * @param path     the path the request targets, e.g. {@code "/api/process"}; not null
 * @param estimatedTokens the tokens the request is expected to take, prompt and output together,
 *                 {@code >= 0}; 0 when unknown. Counted while the request is in flight by a
 *                 balancer that {@linkplain LoadBalancerBuilder#countTokens(long) counts tokens},
 *                 ignored by one that counts connections.
 * @param prompt   the text the instance will prefill, empty when none; see {@link #withPrompt}
 * @param model    the model or LoRA adapter the request needs, empty when any backend will do; see
 *                 {@link #withModel}
 * @param priority how much the request matters when the fleet is full; see {@link #withPriority}
 * @param tenant   who the request is for, empty when unknown; see {@link #withTenant}
 * @param labels   the labels the request requires and prefers of its backend; see {@link #withLabels}
 */
public record Request(String id, String clientIp, String path, long estimatedTokens, String prompt, String model,
        Priority priority, String tenant, LabelSelector labels) {

    /** The largest token estimate a request may carry: 2^31 - 1. */
    public static final long MAX_TOKENS = Integer.MAX_VALUE;

    /**
     * The longest prompt a request may carry: 2^24 characters (16 Mi), about 4 million tokens,
     * beyond the context window of any model served today. A longer text is a mistake (a whole
     * document store passed as a prompt) that hashing it would only make slower to notice.
     */
    public static final int MAX_PROMPT_CHARS = 1 << 24;

    /**
     * Creates a request without a token estimate.
     *
     * @param id       the request id; not blank, at most 256 characters
     * @param clientIp the client's address; not null, may be empty
     * @param path     the path the request targets; not null
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code id} is blank or longer than 256 characters
     */
    public Request(String id, String clientIp, String path) {
        this(id, clientIp, path, 0L, "");
    }

    /**
     * Creates a request without a prompt.
     *
     * @param id       the request id; not blank, at most 256 characters
     * @param clientIp the client's address; not null, may be empty
     * @param path     the path the request targets; not null
     * @param estimatedTokens the tokens it is expected to take, 0..{@link #MAX_TOKENS}; 0 when unknown
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code id} is blank or longer than 256 characters, or
     *                                  {@code estimatedTokens} is out of range
     */
    public Request(String id, String clientIp, String path, long estimatedTokens) {
        this(id, clientIp, path, estimatedTokens, "");
    }

    /**
     * Creates a request for any model, of {@link Priority#STANDARD} priority, without a tenant or
     * labels.
     *
     * @param id       the request id; not blank, at most 256 characters
     * @param clientIp the client's address; not null, may be empty
     * @param path     the path the request targets; not null
     * @param estimatedTokens the tokens it is expected to take, 0..{@link #MAX_TOKENS}; 0 when unknown
     * @param prompt   the text the instance will prefill, at most {@link #MAX_PROMPT_CHARS}
     *                 characters; empty when none
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code id} is blank or longer than 256 characters,
     *                                  {@code estimatedTokens} is out of range, or the prompt is
     *                                  too long
     */
    public Request(String id, String clientIp, String path, long estimatedTokens, String prompt) {
        this(id, clientIp, path, estimatedTokens, prompt, "", Priority.STANDARD, "", LabelSelector.none());
    }

    /**
     * Creates a request.
     *
     * @param id       the request id; not blank, at most 256 characters
     * @param clientIp the client's address; not null, may be empty
     * @param path     the path the request targets; not null
     * @param estimatedTokens the tokens it is expected to take, 0..{@link #MAX_TOKENS}; 0 when unknown
     * @param prompt   the text the instance will prefill, at most {@link #MAX_PROMPT_CHARS}
     *                 characters; empty when none
     * @param model    the model or adapter the request needs, at most 256 characters without
     *                 control characters; empty when any will do
     * @param priority the request's priority; not null
     * @param tenant   who the request is for, at most 256 characters without control characters;
     *                 empty when unknown
     * @param labels   the labels required and preferred of the backend; {@link LabelSelector#none()}
     *                 when any will do
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code id} is blank or longer than 256 characters,
     *                                  {@code estimatedTokens} is out of range, the prompt is
     *                                  too long, or the model or tenant is malformed
     */
    public Request {
        checkId(id, "id");
        checkNotNull(clientIp, "clientIp");
        checkNotNull(path, "path");
        if (estimatedTokens < 0 || estimatedTokens > MAX_TOKENS) {
            throw new IllegalArgumentException("estimatedTokens: " + estimatedTokens + " (expected: 0.." + MAX_TOKENS + ")");
        }
        checkPrompt(prompt);
        checkOptionalId(model, "model");
        checkNotNull(priority, "priority");
        checkOptionalId(tenant, "tenant");
        checkNotNull(labels, "labels");
    }

    /** An id that may also be empty, meaning none. */
    private static void checkOptionalId(String value, String name) {
        checkNotNull(value, name);
        if (!value.isEmpty()) {
            checkId(value, name);
        }
    }

    private static void checkPrompt(CharSequence prompt) {
        checkNotNull(prompt, "prompt");
        if (prompt.length() > MAX_PROMPT_CHARS) {
            throw new IllegalArgumentException("prompt: " + prompt.length() + " characters (expected: at most "
                    + MAX_PROMPT_CHARS + ")");
        }
    }

    /**
     * This request with another token estimate.
     *
     * @param tokens the tokens it is expected to take, 0..{@link #MAX_TOKENS}; 0 when unknown
     * @return a new request, equal to this one but for the estimate
     * @throws IllegalArgumentException if {@code tokens} is out of range
     */
    public Request withEstimatedTokens(long tokens) {
        return new Request(id, clientIp, path, tokens, prompt, model, priority, tenant, labels);
    }

    /**
     * This request with the text the instance will prefill: for a chat, the system prompt, the
     * tools and every message in order, as the server renders them. A strategy that routes by
     * prompt ({@link BalancingStrategy#PREFIX_AFFINITY}) sends it where its longest prefix is
     * likely cached; the others ignore it. The text is read once, here: a mutable sequence may be
     * changed afterwards without effect on this request.
     *
     * @param prompt the text, at most {@link #MAX_PROMPT_CHARS} characters; empty for none
     * @return a new request, equal to this one but for the prompt
     * @throws NullPointerException     if {@code prompt} is null
     * @throws IllegalArgumentException if {@code prompt} is longer than {@link #MAX_PROMPT_CHARS}
     */
    public Request withPrompt(CharSequence prompt) {
        checkPrompt(prompt); // before toString(), so that a huge sequence is not copied to be refused
        return new Request(id, clientIp, path, estimatedTokens, prompt.toString(), model, priority, tenant, labels);
    }

    /**
     * This request for a model or a LoRA adapter: only backends that serve it are candidates, and
     * among them those that hold the adapter by their load reports (even idle in a slot), then
     * those with a free adapter slot, are preferred. The name is compared as it is, case and all, with the names backends declare or
     * list at {@code GET /v1/models}.
     *
     * @param model the model's or adapter's name, at most 256 characters without control
     *              characters; empty when any backend will do
     * @return a new request, equal to this one but for the model
     * @throws NullPointerException     if {@code model} is null
     * @throws IllegalArgumentException if {@code model} is blank but not empty, too long, or has a
     *                                  control character
     */
    public Request withModel(String model) {
        return new Request(id, clientIp, path, estimatedTokens, prompt, model, priority, tenant, labels);
    }

    /**
     * This request with another priority, which matters only when the fleet is full.
     *
     * @param priority the priority; {@link Priority#STANDARD} by default
     * @return a new request, equal to this one but for the priority
     * @throws NullPointerException if {@code priority} is null
     */
    public Request withPriority(Priority priority) {
        return new Request(id, clientIp, path, estimatedTokens, prompt, model, priority, tenant, labels);
    }

    /**
     * This request on behalf of a tenant: when requests wait for room, each tenant gets its share
     * of the room that frees up, whatever the number of requests it sends.
     *
     * @param tenant the tenant, at most 256 characters without control characters; empty when
     *               unknown (such requests share one tenant)
     * @return a new request, equal to this one but for the tenant
     * @throws NullPointerException     if {@code tenant} is null
     * @throws IllegalArgumentException if {@code tenant} is blank but not empty, too long, or has a
     *                                  control character
     */
    public Request withTenant(String tenant) {
        return new Request(id, clientIp, path, estimatedTokens, prompt, model, priority, tenant, labels);
    }

    /**
     * This request with labels it requires and prefers of its backend.
     *
     * @param labels the selector; {@link LabelSelector#none()} when any backend will do
     * @return a new request, equal to this one but for the labels
     * @throws NullPointerException if {@code labels} is null
     */
    public Request withLabels(LabelSelector labels) {
        return new Request(id, clientIp, path, estimatedTokens, prompt, model, priority, tenant, labels);
    }

    /**
     * Whether this request names a model.
     *
     * @return {@code true} if {@link #model()} is not empty
     */
    public boolean hasModel() {
        return !model.isEmpty();
    }

    /**
     * Whether this request carries a prompt.
     *
     * @return {@code true} if {@link #prompt()} is not empty
     */
    public boolean hasPrompt() {
        return !prompt.isEmpty();
    }

    /**
     * The request's fields, with the prompt's length in place of its text, which may be long and
     * private.
     *
     * @return e.g. {@code Request[id=req-1, clientIp=10.0.0.7, path=/v1/chat/completions,
     *         estimatedTokens=0, prompt=<1234 chars>, model=, priority=STANDARD, tenant=,
     *         labels=LabelSelector{required={}, preferred={}}]}
     */
    @Override
    public String toString() {
        return "Request[id=" + id + ", clientIp=" + clientIp + ", path=" + path + ", estimatedTokens="
                + estimatedTokens + ", prompt=<" + prompt.length() + " chars>, model=" + model + ", priority="
                + priority + ", tenant=" + tenant + ", labels=" + labels + "]";
    }
}

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
 */
public record Request(String id, String clientIp, String path, long estimatedTokens, String prompt) {

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
     * Creates a request.
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
    public Request {
        checkId(id, "id");
        checkNotNull(clientIp, "clientIp");
        checkNotNull(path, "path");
        if (estimatedTokens < 0 || estimatedTokens > MAX_TOKENS) {
            throw new IllegalArgumentException("estimatedTokens: " + estimatedTokens + " (expected: 0.." + MAX_TOKENS + ")");
        }
        checkPrompt(prompt);
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
        return new Request(id, clientIp, path, tokens, prompt);
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
        return new Request(id, clientIp, path, estimatedTokens, prompt.toString());
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
     *         estimatedTokens=0, prompt=<1234 chars>]}
     */
    @Override
    public String toString() {
        return "Request[id=" + id + ", clientIp=" + clientIp + ", path=" + path + ", estimatedTokens="
                + estimatedTokens + ", prompt=<" + prompt.length() + " chars>]";
    }
}

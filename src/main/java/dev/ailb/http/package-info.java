/**
 * HTTP through the balancer: {@link dev.ailb.http.BalancedHttpClient} sends requests to the
 * backends it picks with the JDK's {@link java.net.http.HttpClient}, whole or streamed, and
 * records each attempt's time and outcome. Its body-aware calls post OpenAI-style JSON bodies,
 * route them by the prompt that {@link dev.ailb.http.OpenAiPrompt} reads from them, and report
 * the server's prompt-cache figures from the answers; they need Jackson's {@code jackson-core},
 * an optional dependency.
 */
package dev.ailb.http;

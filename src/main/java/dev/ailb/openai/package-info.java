/**
 * The OpenAI Java SDK ({@code com.openai:openai-java-core}) over a pool:
 * {@link dev.ailb.openai.BalancedOpenAiHttpClient}, the SDK's pluggable transport sending each
 * request to the backend a {@link dev.ailb.LoadBalancer} picks, and
 * {@link dev.ailb.openai.OpenAiClients}, which builds the SDK's {@code OpenAIClient} and
 * {@code OpenAIClientAsync} on it. The SDK is an optional dependency: an application without it
 * never loads this package.
 */
package dev.ailb.openai;

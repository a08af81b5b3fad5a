/**
 * Spring AI over a pool: {@link dev.ailb.spring.ai.OpenAiChatModels} builds Spring AI's
 * {@code OpenAiChatModel} whose whole and streamed calls go through a
 * {@link dev.ailb.LoadBalancer}, on the OpenAI Java SDK's clients of {@link dev.ailb.openai}.
 * Spring AI is an optional dependency: an application without it never loads this package.
 */
package dev.ailb.spring.ai;

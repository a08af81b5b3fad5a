/**
 * LangChain4j over a pool: {@link dev.ailb.langchain4j.BalancedHttpClientBuilder} is LangChain4j's
 * pluggable HTTP client ({@code dev.langchain4j:langchain4j-http-client}) built on
 * {@link dev.ailb.http.BalancedHttpClient}, so that a model such as {@code OpenAiChatModel} or
 * {@code OpenAiStreamingChatModel} sends every call to a backend of a
 * {@link dev.ailb.LoadBalancer} by setting its {@code httpClientBuilder}. LangChain4j is an
 * optional dependency: only this package names its types, and an application without it never
 * loads the package. Like every integration it uses only the public API of {@code dev.ailb}.
 */
package dev.ailb.langchain4j;

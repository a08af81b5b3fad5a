/**
 * HTTP through the balancer: {@link dev.ailb.http.BalancedHttpClient} sends requests to the
 * backends it picks with the JDK's {@link java.net.http.HttpClient}, whole or streamed, and
 * records each attempt's time and outcome.
 */
package dev.ailb.http;

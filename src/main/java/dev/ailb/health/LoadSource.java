package dev.ailb.health;

import dev.ailb.Backend;
import dev.ailb.LoadReport;
import java.util.concurrent.CompletionStage;

/**
 * Where a balancer gets the load reports of its backends, polled while its health checker runs
 * (see {@code LoadBalancerBuilder#loadSource}) or on demand ({@code LoadBalancer#pollLoadReports}).
 * {@link #prometheus()} reads an inference server's {@code /metrics} page.
 *
 * <p>{@link #fetch} runs on a health checker thread and must not block: do blocking work on the
 * context's executor. A stage that fails, or does not complete within the context's timeout,
 * rejects the poll: the reason is logged and the backend's last good report stays until it ages
 * out. A stage past its timeout is cancelled ({@code toCompletableFuture().cancel(true)}); pass
 * the cancellation on to the work so that it frees its connection, as
 * {@link PrometheusLoadSource} does. A backend has one poll under way at most: while the work of
 * one that timed out still runs, its next polls are rejected without being started.
 * Implementations must be thread-safe.
 */
@FunctionalInterface
public interface LoadSource {

    /**
     * Starts fetching one backend's load report.
     *
     * @param backend the backend to ask
     * @param context the poller's timeout, executor and shared HTTP client
     * @return the report, or a stage failed with the reason it could not be had
     */
    CompletionStage<LoadReport> fetch(Backend backend, HealthCheckContext context);

    /**
     * A builder of a source that reads a Prometheus text page over HTTP, such as the
     * {@code /metrics} page of vLLM, TGI or SGLang. See {@link PrometheusLoadSource#vllm()},
     * {@link PrometheusLoadSource#tgi()} and {@link PrometheusLoadSource#sglang()} for the metric
     * names of each.
     *
     * @return a new builder, serving {@code GET /metrics} and reading no metric yet
     */
    static PrometheusLoadSource.Builder prometheus() {
        return PrometheusLoadSource.builder();
    }
}

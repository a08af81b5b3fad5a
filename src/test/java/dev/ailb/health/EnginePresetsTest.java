package dev.ailb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.Backend;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadReport;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ScriptedEndpoint;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The presets of {@link PrometheusLoadSource} for Text Generation Inference and SGLang, reading
 * pages written as those servers write them: TGI's router exports unlabelled gauges and counters
 * and histograms through the Rust {@code metrics} exporter; SGLang's scheduler exports
 * {@code sglang:} gauges labelled with the model and the parallel ranks through the Python client.
 */
class EnginePresetsTest {

    /** A TGI 3 router's page: 3 requests queued, 14 in the batch, and what surrounds them. */
    private static final String TGI_PAGE = String.join("\n",
            "# TYPE tgi_request_count counter",
            "tgi_request_count 1804",
            "# TYPE tgi_request_success counter",
            "tgi_request_success 1779",
            "# TYPE tgi_batch_inference_count counter",
            "tgi_batch_inference_count{method=\"prefill\"} 911",
            "tgi_batch_inference_count{method=\"decode\"} 60233",
            "# TYPE tgi_queue_size gauge",
            "tgi_queue_size 3",
            "# TYPE tgi_batch_current_size gauge",
            "tgi_batch_current_size 14",
            "# TYPE tgi_batch_current_max_tokens gauge",
            "tgi_batch_current_max_tokens 21480",
            "# TYPE tgi_request_queue_duration histogram",
            "tgi_request_queue_duration_bucket{le=\"0.005\"} 1201",
            "tgi_request_queue_duration_bucket{le=\"0.05\"} 1650",
            "tgi_request_queue_duration_bucket{le=\"0.5\"} 1770",
            "tgi_request_queue_duration_bucket{le=\"+Inf\"} 1779",
            "tgi_request_queue_duration_sum 97.3125",
            "tgi_request_queue_duration_count 1779",
            "# TYPE tgi_request_generated_tokens histogram",
            "tgi_request_generated_tokens_bucket{le=\"64\"} 312",
            "tgi_request_generated_tokens_bucket{le=\"512\"} 1500",
            "tgi_request_generated_tokens_bucket{le=\"+Inf\"} 1779",
            "tgi_request_generated_tokens_sum 531842",
            "tgi_request_generated_tokens_count 1779",
            "");

    /** One SGLang engine rank's series, the labels as the scheduler sets them. */
    private static String sglangRank(int dpRank, int running, int queued, double usage, long maxTokens) {
        String labels = "{dp_rank=\"" + dpRank + "\",engine_type=\"unified\",model_name=\"Qwen/Qwen2.5-7B-Instruct\","
                + "pp_rank=\"0\",tp_rank=\"0\"}";
        return String.join("\n",
                "sglang:num_running_reqs" + labels + " " + running + ".0",
                "sglang:num_used_tokens" + labels + " 50211.0",
                "sglang:token_usage" + labels + " " + usage,
                "sglang:gen_throughput" + labels + " 1830.5",
                "sglang:num_queue_reqs" + labels + " " + queued + ".0",
                "sglang:num_grammar_queue_reqs" + labels + " 2.0",
                "sglang:cache_hit_rate" + labels + " 0.4375",
                "sglang:max_total_num_tokens" + labels + " " + maxTokens + ".0",
                "");
    }

    /** An SGLang page with its HELP and TYPE lines, then the ranks' series, then a histogram. */
    private static String sglangPage(String... ranks) {
        StringBuilder page = new StringBuilder();
        page.append("# HELP sglang:num_running_reqs The number of running requests.\n");
        page.append("# TYPE sglang:num_running_reqs gauge\n");
        for (String rank : ranks) {
            page.append(rank);
        }
        page.append("# HELP sglang:time_to_first_token_seconds Histogram of time to first token in seconds.\n");
        page.append("# TYPE sglang:time_to_first_token_seconds histogram\n");
        page.append("sglang:time_to_first_token_seconds_bucket{le=\"0.1\",model_name=\"Qwen/Qwen2.5-7B-Instruct\"} 880.0\n");
        page.append("sglang:time_to_first_token_seconds_bucket{le=\"+Inf\",model_name=\"Qwen/Qwen2.5-7B-Instruct\"} 1024.0\n");
        page.append("sglang:time_to_first_token_seconds_sum{model_name=\"Qwen/Qwen2.5-7B-Instruct\"} 151.25\n");
        page.append("sglang:time_to_first_token_seconds_count{model_name=\"Qwen/Qwen2.5-7B-Instruct\"} 1024.0\n");
        return page.toString();
    }

    @Test
    void aTgiPageGivesItsQueueAndBatchAndLeavesTheKvCacheUnknown() {
        LoadReport report = PrometheusLoadSource.tgi().reportOf(TGI_PAGE);

        assertThat(report).isEqualTo(LoadReport.builder().waitingRequests(3).runningRequests(14).build());
        assertThat(report.hasKvCacheUsage()).as("TGI exports no KV-cache usage").isFalse();
        assertThat(report.hasKvCacheCapacity()).isFalse();
    }

    @Test
    void aTgiPageWithoutTheRoutersGaugesIsRejectedNamingThem() {
        assertThatThrownBy(() -> PrometheusLoadSource.tgi().reportOf("# TYPE tgi_request_count counter\n"
                + "tgi_request_count 3\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("none of the metrics [tgi_queue_size, tgi_batch_current_size] is on the page");
    }

    @Test
    void anSglangPageGivesItsQueueBatchTokenUsageAndPoolSize() {
        LoadReport report = PrometheusLoadSource.sglang().reportOf(sglangPage(sglangRank(0, 31, 5, 0.8125, 173_400)));

        assertThat(report).isEqualTo(LoadReport.builder().waitingRequests(5).runningRequests(31).kvCacheUsage(0.8125)
                .kvCacheCapacityTokens(173_400).build());
    }

    @Test
    void anSglangPageOfTwoDataParallelRanksSumsTheCountsAndThePoolsAndTakesTheFullerRank() {
        LoadReport report = PrometheusLoadSource.sglang().reportOf(sglangPage(
                sglangRank(0, 31, 5, 0.8125, 173_400), sglangRank(1, 12, 0, 0.25, 173_400)));

        assertThat(report).isEqualTo(LoadReport.builder().waitingRequests(5).runningRequests(43).kvCacheUsage(0.8125)
                .kvCacheCapacityTokens(346_800).build());
    }

    @Test
    void anSglangEngineThatHasNotSizedItsPoolYetLeavesTheCapacityUnknown() {
        LoadReport report = PrometheusLoadSource.sglang().reportOf(sglangPage(sglangRank(0, 0, 0, 0.0, 0)));

        assertThat(report).isEqualTo(LoadReport.builder().waitingRequests(0).runningRequests(0).kvCacheUsage(0.0)
                .build());
    }

    @Test
    void theSglangPresetPollsAnSglangInstanceOnLoopback() {
        ScriptedEndpoint metrics = ScriptedEndpoint.answering(200, "text/plain; version=0.0.4; charset=utf-8",
                sglangPage(sglangRank(0, 7, 1, 0.5, 90_000)));
        try (LoopbackServer server = LoopbackServer.start("sglang", Map.of("/metrics", metrics));
                LoadBalancer lb = LoadBalancer.builder()
                        .healthCheckTimeout(Duration.ofSeconds(5))
                        .loadSource(PrometheusLoadSource.sglang(), Duration.ofSeconds(1))
                        .build()) {
            Backend backend = lb.addBackend("sglang-0", LoopbackServer.HOST, server.port());

            lb.pollLoadReports();

            assertThat(backend.loadReport().orElseThrow().load()).isEqualTo(LoadReport.builder().waitingRequests(1)
                    .runningRequests(7).kvCacheUsage(0.5).kvCacheCapacityTokens(90_000).build());
            assertThat(metrics.requests()).isEqualTo(1);
        }
    }

    @Test
    void theLoadSourcePropertyNamesThePresetTgiIsPolledWith() {
        ScriptedEndpoint metrics = ScriptedEndpoint.answering(200, "text/plain; version=0.0.4", TGI_PAGE);
        try (LoopbackServer server = LoopbackServer.start("tgi", Map.of("/metrics", metrics));
                LoadBalancer lb = LoadBalancer.fromProperties(Map.of(
                        "ailb.load-source", "tgi",
                        "ailb.health-check.timeout", "5s",
                        "ailb.backends.tgi-0.host", LoopbackServer.HOST,
                        "ailb.backends.tgi-0.port", String.valueOf(server.port())), "ailb.")) {
            lb.pollLoadReports();

            assertThat(lb.getBackends().get(0).loadReport().orElseThrow().load())
                    .isEqualTo(LoadReport.builder().waitingRequests(3).runningRequests(14).build());
        }
    }
}

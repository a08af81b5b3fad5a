package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import dev.ailb.internal.PrometheusText.Sample;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PrometheusTextTest {

    /** The shape of a vLLM page: help and type lines, labels, histograms, several models. */
    static final String VLLM_PAGE = String.join("\n",
            "# HELP vllm:num_requests_running Number of requests in model execution batches.",
            "# TYPE vllm:num_requests_running gauge",
            "vllm:num_requests_running{engine=\"0\",model_name=\"llama\"} 12.0",
            "vllm:num_requests_running{engine=\"0\",model_name=\"qwen\"} 3.0",
            "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
            "# TYPE vllm:num_requests_waiting gauge",
            "vllm:num_requests_waiting{engine=\"0\",model_name=\"llama\"} 4.0",
            "# TYPE vllm:kv_cache_usage_perc gauge",
            "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"llama\"} 0.625",
            "# TYPE vllm:e2e_request_latency_seconds histogram",
            "vllm:e2e_request_latency_seconds_bucket{le=\"0.3\",model_name=\"llama\"} 17.0",
            "vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\",model_name=\"llama\"} 20.0",
            "vllm:e2e_request_latency_seconds_sum{model_name=\"llama\"} 9.5",
            "process_start_time_seconds 1.7e+09",
            "");

    @Test
    void keepsEverySeriesOfTheWantedMetrics() {
        Map<String, List<Double>> found = values(VLLM_PAGE,
                Set.of("vllm:num_requests_running", "vllm:kv_cache_usage_perc", "absent"));

        assertThat(found).containsOnlyKeys("vllm:num_requests_running", "vllm:kv_cache_usage_perc");
        assertThat(found.get("vllm:num_requests_running")).containsExactly(12.0, 3.0);
        assertThat(found.get("vllm:kv_cache_usage_perc")).containsExactly(0.625);
    }

    @Test
    void theLabelsOfAWantedSampleAreKeptUnescapedSortedAndUnmodifiable() {
        String page = String.join("\n",
                "# TYPE vllm:cache_config_info gauge",
                "vllm:cache_config_info{num_gpu_blocks=\"27000\",block_size=\"16\",engine=\"0\",sliding_window=\"\","
                        + "path=\"C:\\\\dir \\\"x\\\"\\n\"} 1.0",
                "vllm:num_requests_running{engine=\"0\"} 3",
                "other{a=\"1\"} 2",
                "");

        Map<String, List<Sample>> found = PrometheusText.samples(page,
                Set.of("vllm:cache_config_info", "vllm:num_requests_running"));

        assertThat(found).containsOnlyKeys("vllm:cache_config_info", "vllm:num_requests_running");
        Sample info = found.get("vllm:cache_config_info").get(0);
        assertThat(info.value()).isEqualTo(1.0);
        // sorted by name, the empty one dropped, the escapes undone
        assertThat(info.labels()).containsExactly(entry("block_size", "16"), entry("engine", "0"),
                entry("num_gpu_blocks", "27000"), entry("path", "C:\\dir \"x\"\n"));
        assertThat(found.get("vllm:num_requests_running")).containsExactly(new Sample(Map.of("engine", "0"), 3.0));
        assertThatThrownBy(() -> info.labels().put("block_size", "32"))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void everySeriesKeepsItsOwnLabels() {
        List<Sample> buckets = PrometheusText.samples(VLLM_PAGE, Set.of("vllm:e2e_request_latency_seconds_bucket"))
                .get("vllm:e2e_request_latency_seconds_bucket");

        assertThat(buckets).containsExactly(
                new Sample(Map.of("le", "0.3", "model_name", "llama"), 17.0),
                new Sample(Map.of("le", "+Inf", "model_name", "llama"), 20.0));
    }

    @Test
    void readsEveryFormOfValueLabelAndTimestamp() {
        String page = String.join("\r\n",
                "a 1",
                "b{} -2.5e-3 1700000000000",
                "c{x=\"a \\\"quoted\\\" \\\\ value\\n\",y=\"\",} NaN",
                "d\t+Inf",
                "e -Inf -5",
                "f{ x = \"1\" } .5",
                "   # an indented comment",
                "",
                "g 7.");
        Map<String, List<Double>> found = values(page, Set.of("a", "b", "c", "d", "e", "f", "g"));

        assertThat(found.get("a")).containsExactly(1.0);
        assertThat(found.get("b")).containsExactly(-0.0025);
        assertThat(found.get("c").get(0)).isNaN();
        assertThat(found.get("d")).containsExactly(Double.POSITIVE_INFINITY);
        assertThat(found.get("e")).containsExactly(Double.NEGATIVE_INFINITY);
        assertThat(found.get("f")).containsExactly(0.5);
        assertThat(found.get("g")).containsExactly(7.0);
    }

    @Test
    void aMalformedLineAnywhereRejectsThePageNamingTheLine() {
        assertMalformed("ok 1\n9bad 1", "line 2: expected a metric name");
        assertMalformed("m{x=\"1\" 2", "line 1: expected , or } after a label value");
        assertMalformed("m{x=\"1\",", "line 1: unterminated label set");
        assertMalformed("m{x=1} 2", "line 1: expected a quoted label value");
        assertMalformed("m{x \"1\"} 2", "line 1: expected = after a label name");
        assertMalformed("m{1x=\"1\"} 2", "line 1: expected a label name");
        assertMalformed("m{x=\"1} 2", "line 1: unterminated label value");
        assertMalformed("m{x=\"\\t\"} 2", "line 1: unknown escape \\t in a label value");
        assertMalformed("m", "line 1: expected a value");
        assertMalformed("m 0x1p3", "line 1: not a number: 0x1p3");
        assertMalformed("m 1d", "line 1: not a number: 1d");
        assertMalformed("m Infinity", "line 1: not a number: Infinity");
        assertMalformed("m 1 12.5", "line 1: not a time stamp: 12.5");
        assertMalformed("m 1 12 extra", "line 1: unexpected text after the time stamp");
        assertMalformed("m{x=\"1\"}2", "line 1: expected a space before the value");
        assertMalformed("<html><body>502 Bad Gateway</body></html>", "line 1: expected a metric name");
    }

    /** The values of the samples found, by metric name. */
    private static Map<String, List<Double>> values(String page, Set<String> wanted) {
        Map<String, List<Double>> values = new HashMap<>();
        PrometheusText.samples(page, wanted).forEach((name, samples) ->
                values.put(name, samples.stream().map(Sample::value).toList()));
        return values;
    }

    private static void assertMalformed(String page, String message) {
        assertThatThrownBy(() -> PrometheusText.samples(page, Set.of("m")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @Test
    void aSeriesListedTwiceRejectsThePageNamingItsMetricAndLabels() {
        assertMalformed("m{a=\"1\",b=\"2\"} 1\nm{a=\"1\",b=\"2\"} 2",
                "line 2: series m{a=\"1\",b=\"2\"} listed twice (first on line 1)");
        // the order of the labels, blanks and a trailing comma make no other series
        assertMalformed("# TYPE m gauge\nm{b=\"2\",a=\"1\"} 1\nother 3\nm{ a = \"1\" , b=\"2\", } 2",
                "line 4: series m{a=\"1\",b=\"2\"} listed twice (first on line 2)");
        // nor do time stamps, nor an empty label value, which Prometheus takes for no label
        assertMalformed("m 1 100\nm{} 2 200", "line 2: series m listed twice (first on line 1)");
        assertMalformed("m{a=\"1\",b=\"\"} 1\nm{a=\"1\"} 2", "line 2: series m{a=\"1\"} listed twice (first on line 1)");
        // values are compared unescaped, and shown escaped again
        assertMalformed("m{p=\"C:\\\\dir \\\"x\\\"\\n\"} 1\r\nm{p=\"C:\\\\dir \\\"x\\\"\\n\"} 2",
                "line 2: series m{p=\"C:\\\\dir \\\"x\\\"\\n\"} listed twice (first on line 1)");
    }

    @Test
    void theSeriesOfOneMetricWithDifferentLabelsAreAllKept() {
        String page = String.join("\n",
                "m{model=\"a\"} 1",
                "m{model=\"b\"} 2",
                "m{engine=\"1\",model=\"a\"} 3",
                "m{model=\"a\\n\"} 4",
                "m{model=\"A\"} 5",
                "m 6");

        assertThat(values(page, Set.of("m")).get("m")).containsExactly(1.0, 2.0, 3.0, 4.0, 5.0, 6.0);
    }

    @Test
    void aLabelNamedTwiceInOneSetIsMalformed() {
        assertMalformed("m{a=\"1\",b=\"2\",a=\"1\"} 1", "line 1: label a given twice");
    }

    @Test
    void onlyTheSeriesOfTheWantedMetricsAreComparedAcrossLines() {
        // Comparing every series of a large page would cost a key per line on every poll.
        Map<String, List<Double>> found = values("other 1\nother 2\nm 3", Set.of("m"));
        assertThat(found).containsOnlyKeys("m");
    }

    @Test
    void decimalFormsAreTheOnlyNumbersTaken() {
        for (String ok : List.of("0", "-1", "+2", "1.5", ".5", "5.", "1e3", "1E-3", "-2.5e+10")) {
            assertThat(PrometheusText.isDecimal(ok)).as(ok).isTrue();
        }
        for (String bad : List.of("", "+", ".", "e3", "1e", "1.2.3", "0x10", "1f", "١")) {
            assertThat(PrometheusText.isDecimal(bad)).as(bad).isFalse();
        }
    }
}

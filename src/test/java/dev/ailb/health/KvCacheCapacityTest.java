package dev.ailb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.LoadReport;
import org.junit.jupiter.api.Test;

/**
 * The KV cache's capacity as {@link PrometheusLoadSource#reportOf} reads it from a page: from the
 * labels of vLLM's {@code vllm:cache_config_info}, or from a gauge in tokens such as SGLang's.
 */
class KvCacheCapacityTest {
    private static final PrometheusLoadSource VLLM = PrometheusLoadSource.vllm();

    /** A vLLM page, with {@code cache_config_info} lines inserted after its load metrics. */
    private static String vllmPage(String... cacheConfigLines) {
        StringBuilder page = new StringBuilder(String.join("\n",
                "# HELP vllm:num_requests_running Number of requests in model execution batches.",
                "# TYPE vllm:num_requests_running gauge",
                "vllm:num_requests_running{engine=\"0\",model_name=\"llama\"} 12.0",
                "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
                "# TYPE vllm:num_requests_waiting gauge",
                "vllm:num_requests_waiting{engine=\"0\",model_name=\"llama\"} 4.0",
                "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.",
                "# TYPE vllm:kv_cache_usage_perc gauge",
                "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"llama\"} 0.625",
                ""));
        if (cacheConfigLines.length > 0) {
            page.append("# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n");
            page.append("# TYPE vllm:cache_config_info gauge\n");
            for (String line : cacheConfigLines) {
                page.append(line).append('\n');
            }
        }
        page.append("# TYPE vllm:prompt_tokens_total counter\n");
        page.append("vllm:prompt_tokens_total{engine=\"0\",model_name=\"llama\"} 1.234567e+06\n");
        return page.toString();
    }

    /** A {@code cache_config_info} line as vLLM writes it, with the two labels read given. */
    private static String cacheConfig(String engine, String numGpuBlocks, String blockSize) {
        return "vllm:cache_config_info{block_size=\"" + blockSize + "\",cache_dtype=\"auto\","
                + "enable_prefix_caching=\"True\",engine=\"" + engine + "\",gpu_memory_utilization=\"0.9\","
                + "num_cpu_blocks=\"None\",num_gpu_blocks=\"" + numGpuBlocks + "\","
                + "num_gpu_blocks_override=\"None\",sliding_window=\"None\",swap_space=\"4\"} 1.0";
    }

    private static LoadReport.Builder theLoadOfThePage() {
        return LoadReport.builder().waitingRequests(4).runningRequests(12).kvCacheUsage(0.625);
    }

    @Test
    void theCapacityOfAVllmInstanceIsItsBlocksTimesTheirSize() {
        LoadReport report = VLLM.reportOf(vllmPage(cacheConfig("0", "27000", "16")));

        assertThat(report).isEqualTo(theLoadOfThePage().kvCacheCapacityTokens(432_000).build());
    }

    @Test
    void aPageWithoutCacheConfigInfoLeavesTheCapacityUnknownAndTheRestAsItWas() {
        LoadReport report = VLLM.reportOf(vllmPage());

        assertThat(report).isEqualTo(theLoadOfThePage().build());
        assertThat(report.hasKvCacheCapacity()).isFalse();
    }

    @Test
    void theEnginesOfADataParallelInstanceAddTheirCaches() {
        LoadReport report = VLLM.reportOf(vllmPage(cacheConfig("0", "27000", "16"), cacheConfig("1", "26000", "16")));

        assertThat(report.kvCacheCapacityTokens()).isEqualTo(53_000L * 16);
    }

    @Test
    void aLabelMissingOrNotSetYetLeavesTheCapacityUnknown() {
        String noBlockSize = "vllm:cache_config_info{engine=\"0\",num_gpu_blocks=\"27000\"} 1.0";
        String emptyBlocks = "vllm:cache_config_info{block_size=\"16\",engine=\"0\",num_gpu_blocks=\"\"} 1.0";
        for (String line : new String[] {cacheConfig("0", "None", "16"), cacheConfig("0", "27000", "None"),
                noBlockSize, emptyBlocks}) {
            assertThat(VLLM.reportOf(vllmPage(line))).as(line).isEqualTo(theLoadOfThePage().build());
        }
        // one engine not sized yet: a sum without it would understate the instance
        assertThat(VLLM.reportOf(vllmPage(cacheConfig("0", "27000", "16"), cacheConfig("1", "None", "16")))
                .hasKvCacheCapacity()).isFalse();
    }

    @Test
    void aLabelThatIsNotAWholeNumberRejectsThePoll() {
        assertRejected(cacheConfig("0", "abc", "16"),
                "vllm:cache_config_info: num_gpu_blocks=\"abc\" (expected: a whole number 1..9223372036854775807)");
        assertRejected(cacheConfig("0", "-5", "16"),
                "vllm:cache_config_info: num_gpu_blocks=\"-5\" (expected: a whole number 1..9223372036854775807)");
        assertRejected(cacheConfig("0", "0", "16"),
                "vllm:cache_config_info: num_gpu_blocks=\"0\" (expected: a whole number 1..9223372036854775807)");
        assertRejected(cacheConfig("0", "27000", "16.0"),
                "vllm:cache_config_info: block_size=\"16.0\" (expected: a whole number 1..9223372036854775807)");
        assertRejected(cacheConfig("0", "27000", "+16"),
                "vllm:cache_config_info: block_size=\"+16\" (expected: a whole number 1..9223372036854775807)");
        assertRejected(cacheConfig("0", "27000", " 16"),
                "vllm:cache_config_info: block_size=\" 16\" (expected: a whole number 1..9223372036854775807)");
        assertRejected(cacheConfig("0", "9223372036854775808", "16"),
                "vllm:cache_config_info: num_gpu_blocks=\"9223372036854775808\" "
                        + "(expected: a whole number 1..9223372036854775807)");
        assertRejected(cacheConfig("0", "1".repeat(300), "16"),
                "vllm:cache_config_info: num_gpu_blocks=\"" + "1".repeat(32)
                        + "\"... of length 300 (expected: a whole number 1..9223372036854775807)");
        assertRejected(cacheConfig("0", "27000\\n", "16"),
                "vllm:cache_config_info: num_gpu_blocks=\"27000\\n\" (expected: a whole number 1..9223372036854775807)");
    }

    @Test
    void aCapacityBeyondALongRejectsThePoll() {
        String message = "vllm:cache_config_info: more than 9223372036854775807 tokens "
                + "(expected: at most 9223372036854775807)";
        assertRejected(cacheConfig("0", "9223372036854775807", "2"), message);
        // each engine fits, their sum does not
        assertRejected(cacheConfig("0", "4611686018427387904", "1") + "\n" + cacheConfig("1", "4611686018427387904", "1"),
                message);
        assertThat(VLLM.reportOf(vllmPage(cacheConfig("0", "4611686018427387903", "2"))).kvCacheCapacityTokens())
                .isEqualTo(Long.MAX_VALUE - 1);
    }

    @Test
    void cacheConfigInfoListedTwiceRejectsThePage() {
        assertRejected(cacheConfig("0", "27000", "16") + "\n" + cacheConfig("0", "27000", "16"),
                "line 13: series " + cacheConfig("0", "27000", "16").replace(" 1.0", "") + " listed twice (first on line 12)");
    }

    @Test
    void theCapacityAloneIsNoReport() {
        String page = "# TYPE vllm:cache_config_info gauge\n" + cacheConfig("0", "27000", "16") + "\n";

        assertThatThrownBy(() -> VLLM.reportOf(page))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("none of the metrics [vllm:num_requests_waiting, vllm:num_requests_running, "
                        + "vllm:kv_cache_usage_perc, vllm:gpu_cache_usage_perc] is on the page");
    }

    private static void assertRejected(String cacheConfigLines, String message) {
        String page = vllmPage(cacheConfigLines.split("\n"));
        assertThatThrownBy(() -> VLLM.reportOf(page)).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void aGaugeOfTokensIsSummedOverItsSeries() {
        PrometheusLoadSource sglang = PrometheusLoadSource.builder()
                .waitingRequests("sglang:num_queue_reqs")
                .runningRequests("sglang:num_running_reqs")
                .kvCacheCapacityTokens("sglang:max_total_num_tokens")
                .build();
        String page = String.join("\n",
                "# HELP sglang:num_running_reqs The number of running requests.",
                "# TYPE sglang:num_running_reqs gauge",
                "sglang:num_running_reqs{engine_type=\"unified\",model_name=\"qwen\",tp_rank=\"0\"} 7.0",
                "# HELP sglang:num_queue_reqs The number of requests in the waiting queue.",
                "# TYPE sglang:num_queue_reqs gauge",
                "sglang:num_queue_reqs{engine_type=\"unified\",model_name=\"qwen\",tp_rank=\"0\"} 2.0",
                "# HELP sglang:max_total_num_tokens Maximum total number of tokens in the KV cache pool.",
                "# TYPE sglang:max_total_num_tokens gauge",
                "sglang:max_total_num_tokens{dp_rank=\"0\",model_name=\"qwen\"} 500000.0",
                "sglang:max_total_num_tokens{dp_rank=\"1\",model_name=\"qwen\"} 480000.0",
                "");

        assertThat(sglang.reportOf(page)).isEqualTo(LoadReport.builder().waitingRequests(2).runningRequests(7)
                .kvCacheCapacityTokens(980_000).build());
    }

    @Test
    void aGaugeAtZeroLeavesTheCapacityUnknownAndABadOneRejectsThePoll() {
        PrometheusLoadSource source = PrometheusLoadSource.builder().runningRequests("running")
                .kvCacheCapacityTokens("tokens").build();

        assertThat(source.reportOf("running 1\ntokens 0\n").hasKvCacheCapacity()).isFalse();
        for (String bad : new String[] {"-3", "1.5", "NaN", "+Inf", "1e19"}) {
            assertThatThrownBy(() -> source.reportOf("running 1\ntokens " + bad + "\n")).as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("tokens: " + Double.parseDouble(bad.replace("Inf", "Infinity"))
                            + " (expected: a whole number of tokens >= 0)");
        }
        assertThatThrownBy(() -> source.reportOf("running 1\ntokens{a=\"1\"} 9e18\ntokens{a=\"2\"} 9e18\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tokens: more than 9223372036854775807 tokens (expected: at most 9223372036854775807)");
    }

    @Test
    void theGaugesComeFirstInOrderThenTheInfoMetric() {
        PrometheusLoadSource source = PrometheusLoadSource.builder().runningRequests("running")
                .kvCacheCapacityBlocks("info", "blocks", "size")
                .kvCacheCapacityTokens("first", "second")
                .build();

        assertThat(source.reportOf("running 1\ninfo{blocks=\"10\",size=\"4\"} 1\n").kvCacheCapacityTokens())
                .isEqualTo(40);
        assertThat(source.reportOf("running 1\ninfo{blocks=\"10\",size=\"4\"} 1\nsecond 300\n")
                .kvCacheCapacityTokens()).isEqualTo(300);
        assertThat(source.reportOf("running 1\nsecond 300\nfirst 200\n").kvCacheCapacityTokens()).isEqualTo(200);
        assertThat(source.toString()).isEqualTo("PrometheusLoadSource{GET /metrics, waiting=[], running=[running], "
                + "kvCache=[], cpu=[], memory=[], kvCacheCapacity=[first, second] then info{blocks * size}}");
    }

    @Test
    void capacitySettingsAreCheckedNamingTheBadValueAndLeaveTheBuilderAsItWas() {
        PrometheusLoadSource.Builder builder = PrometheusLoadSource.builder().runningRequests("running")
                .kvCacheCapacityBlocks("info", "blocks", "size");

        assertThatThrownBy(() -> builder.kvCacheCapacityTokens())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheCapacityTokens: no metric name (expected: at least one)");
        assertThatThrownBy(() -> builder.kvCacheCapacityTokens("ok", "not ok"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheCapacityTokens: \"not ok\" (expected: a metric name, [a-zA-Z_:][a-zA-Z0-9_:]*)");
        assertThatThrownBy(() -> builder.kvCacheCapacityBlocks("bad name", "blocks", "size"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheCapacityBlocks: \"bad name\" (expected: a metric name, [a-zA-Z_:][a-zA-Z0-9_:]*)");
        assertThatThrownBy(() -> builder.kvCacheCapacityBlocks(null, "blocks", "size"))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("kvCacheCapacityBlocks: null (expected: non-null)");
        assertThatThrownBy(() -> builder.kvCacheCapacityBlocks("other", "num-blocks", "size"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("blocksLabel: \"num-blocks\" (expected: a label name, [a-zA-Z_][a-zA-Z0-9_]*)");
        assertThatThrownBy(() -> builder.kvCacheCapacityBlocks("other", "blocks", "a:b"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("blockSizeLabel: \"a:b\" (expected: a label name, [a-zA-Z_][a-zA-Z0-9_]*)");
        assertThatThrownBy(() -> builder.kvCacheCapacityBlocks("other", null, "size"))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("blocksLabel: null (expected: non-null)");
        assertThatThrownBy(() -> builder.kvCacheCapacityBlocks("other", "n", "n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("blockSizeLabel: \"n\" (expected: not the blocksLabel)");

        assertThat(builder.build().toString()).endsWith("kvCacheCapacity=[] then info{blocks * size}}");
    }

    @Test
    void aSourceReadingOnlyTheCapacityCannotBeBuilt() {
        assertThatThrownBy(() -> PrometheusLoadSource.builder().kvCacheCapacityTokens("tokens").build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("no metric to read (expected: at least one of waitingRequests, runningRequests, "
                        + "kvCacheUsage, cpu, memory)");
    }
}

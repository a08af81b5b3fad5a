package dev.ailb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.Backend;
import dev.ailb.BackendProfile;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerBuilder;
import dev.ailb.LoadReport;
import dev.ailb.Request;
import dev.ailb.TimedLoadReport;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.ScriptedEndpoint;
import dev.ailb.testing.StandardErrorCapture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Load reports read from {@code /metrics} pages served by {@link LoopbackServer}s.
 * {@link LoadBalancer#pollLoadReports()} returns once every poll has ended, so what it recorded
 * can be asserted at once. Log lines are counted in a buffer swapped in for {@code System.err},
 * where slf4j-simple writes them.
 */
class LoopbackLoadPollingTest {
    private static final String LOOPBACK = LoopbackServer.HOST;
    private static final String METRICS_PATH = "/metrics";
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4";
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final String VLLM_PAGE = String.join("\n",
            "# HELP vllm:num_requests_running Number of requests in model execution batches.",
            "# TYPE vllm:num_requests_running gauge",
            "vllm:num_requests_running{engine=\"0\",model_name=\"llama\"} 12.0",
            "vllm:num_requests_running{engine=\"0\",model_name=\"qwen\"} 3.0",
            "# TYPE vllm:num_requests_waiting gauge",
            "vllm:num_requests_waiting{engine=\"0\",model_name=\"llama\"} 4.0",
            "vllm:num_requests_waiting{engine=\"0\",model_name=\"qwen\"} 2.0",
            "# TYPE vllm:kv_cache_usage_perc gauge",
            "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"llama\"} 0.625",
            "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"qwen\"} 0.25",
            "");

    private final ManualTicker ticker = new ManualTicker();
    private final List<LoopbackServer> servers = new ArrayList<>();
    private final List<LoadBalancer> balancers = new ArrayList<>();
    private StandardErrorCapture captured;

    @BeforeEach
    void captureStandardError() {
        captured = StandardErrorCapture.start();
    }

    @AfterEach
    void cleanUp() {
        captured.close();
        balancers.forEach(LoadBalancer::close);
        servers.forEach(LoopbackServer::close);
    }

    /** A {@code /metrics} page whose answer the test sets: a vLLM page with 200 until it does. */
    private static ScriptedEndpoint page() {
        return ScriptedEndpoint.answering(200, PROMETHEUS_TEXT, VLLM_PAGE);
    }

    /** Serves {@code page} on a loopback server of its own and returns the server's port. */
    private int serve(ScriptedEndpoint page) {
        LoopbackServer server = LoopbackServer.start("metrics", Map.of(METRICS_PATH, page));
        servers.add(server);
        return server.port();
    }

    private LoadBalancer balancer(LoadBalancerBuilder builder) {
        LoadBalancer lb = builder.ticker(ticker).healthCheckTimeout(TIMEOUT).build();
        balancers.add(lb);
        return lb;
    }

    private LoadBalancer vllmBalancer() {
        return balancer(LoadBalancer.builder().loadSource(PrometheusLoadSource.vllm(), Duration.ofSeconds(1)));
    }

    private long warnLinesAbout(String backendId) {
        return captured.text().lines()
                .filter(line -> line.contains("WARN") && line.contains("Backend " + backendId + ":"))
                .count();
    }

    @Test
    void aVllmPageBecomesAReportStampedWithTheTicker() {
        ScriptedEndpoint page = page();
        int port = serve(page);
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-a", LOOPBACK, port);
        ticker.advance(Duration.ofSeconds(3));

        lb.pollLoadReports();

        TimedLoadReport report = a.loadReport().orElseThrow();
        assertThat(report.reportedAtNanos()).isEqualTo(ticker.read());
        // counts are summed over the models, the KV cache takes the fuller one
        assertThat(report.load()).isEqualTo(LoadReport.builder().waitingRequests(6).runningRequests(15)
                .kvCacheUsage(0.625).build());
        assertThat(page.requests()).isEqualTo(1);
        assertThat(warnLinesAbout("poll-a")).isZero();
    }

    @Test
    void theKvCacheCapacityComesWithTheReportWhereThePageHasIt() {
        ScriptedEndpoint page = page();
        int port = serve(page);
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-capacity", LOOPBACK, port);
        lb.pollLoadReports();
        assertThat(a.loadReport().orElseThrow().load().hasKvCacheCapacity()).as("not on the page").isFalse();

        page.body(VLLM_PAGE + "# TYPE vllm:cache_config_info gauge\n"
                + "vllm:cache_config_info{block_size=\"16\",cache_dtype=\"auto\",engine=\"0\","
                + "num_gpu_blocks=\"27000\",sliding_window=\"None\"} 1.0\n");
        lb.pollLoadReports();
        LoadReport withCapacity = a.loadReport().orElseThrow().load();
        assertThat(withCapacity).isEqualTo(LoadReport.builder().waitingRequests(6).runningRequests(15)
                .kvCacheUsage(0.625).kvCacheCapacityTokens(432_000).build());

        page.body(VLLM_PAGE + "vllm:cache_config_info{block_size=\"16\",num_gpu_blocks=\"-1\"} 1.0\n");
        lb.pollLoadReports();
        assertThat(a.loadReport().orElseThrow().load()).as("the last good report stays").isSameAs(withCapacity);
        assertThat(captured.text()).contains("Backend poll-capacity: load report rejected: vllm:cache_config_info: "
                + "num_gpu_blocks=\"-1\" (expected: a whole number 1..9223372036854775807)");
    }

    @Test
    void theLoraAdaptersOfPolledPagesDecideWhereAnAdaptersRequestsGo() {
        ScriptedEndpoint first = page();
        ScriptedEndpoint second = page();
        int firstPort = serve(first);
        int secondPort = serve(second);
        LoadBalancer lb = balancer(LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN)
                .loadSource(PrometheusLoadSource.vllm(), Duration.ofSeconds(1)));
        BackendProfile profile = BackendProfile.builder().model("llama").adapter("sql-v2").build();
        lb.addBackend("lora-1", LOOPBACK, firstPort, 1, profile);
        lb.addBackend("lora-2", LOOPBACK, secondPort, 1, profile);
        Request request = new Request("r", "10.1.1.1", "/v1/completions").withModel("sql-v2");
        first.body(VLLM_PAGE + "# TYPE vllm:lora_requests_info gauge\n"
                + "vllm:lora_requests_info{max_lora=\"1\",running_lora_adapters=\"\",waiting_lora_adapters=\"\"} 10\n"
                + "vllm:lora_requests_info{max_lora=\"1\",running_lora_adapters=\"chat\",waiting_lora_adapters=\"\"} 20\n");
        second.body(VLLM_PAGE + "vllm:lora_requests_info{max_lora=\"1\",running_lora_adapters=\"sql-v2\","
                + "waiting_lora_adapters=\"\"} 30\n");

        lb.pollLoadReports();

        for (int i = 0; i < 4; i++) {
            assertThat(lb.selectBackend(request).id()).isEqualTo("lora-2");
        }
        second.body(VLLM_PAGE + "vllm:lora_requests_info{max_lora=\"1\",running_lora_adapters=\"sql-v2,sql-v2\","
                + "waiting_lora_adapters=\"\"} 30\n");
        lb.pollLoadReports();
        assertThat(lb.getBackend("lora-2").orElseThrow().loadReport().orElseThrow().load().runningAdapters())
                .as("a repeated adapter rejects the page, the last good report stays").containsExactly("sql-v2");
        assertThat(captured.text()).contains("Backend lora-2: load report rejected: vllm:lora_requests_info: "
                + "runningAdapters[1]: \"sql-v2\" (expected: each adapter once)");

        second.body(VLLM_PAGE + "vllm:lora_requests_info{max_lora=\"1\",running_lora_adapters=\"chat\","
                + "waiting_lora_adapters=\"\"} 40\n");
        lb.pollLoadReports();
        assertThat(List.of(lb.selectBackend(request).id(), lb.selectBackend(request).id()))
                .as("neither has it loaded nor a free slot: both take turns").containsExactlyInAnyOrder("lora-1", "lora-2");
    }

    @Test
    void everyRegisteredBackendIsPolledAndRemovedOnesAreNot() {
        ScriptedEndpoint first = page();
        int firstPort = serve(first);
        ScriptedEndpoint second = page();
        int secondPort = serve(second);
        second.body("vllm:num_requests_waiting 9\n");
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-b1", LOOPBACK, firstPort);
        Backend b = lb.addBackend("poll-b2", LOOPBACK, secondPort);
        Backend gone = lb.addBackend("poll-b3", LOOPBACK, firstPort);
        lb.removeBackend("poll-b3");

        lb.pollLoadReports();

        assertThat(a.loadReport().orElseThrow().load().waitingRequests()).isEqualTo(6);
        assertThat(b.loadReport().orElseThrow().load())
                .isEqualTo(LoadReport.builder().waitingRequests(9).build());
        assertThat(gone.loadReport()).isEmpty();
        assertThat(first.requests()).isEqualTo(1);
    }

    @Test
    void aMalformedPageIsRejectedWithItsReasonAndTheLastGoodReportAgesOut() {
        ScriptedEndpoint page = page();
        int port = serve(page);
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-c", LOOPBACK, port);
        lb.pollLoadReports();
        TimedLoadReport good = a.loadReport().orElseThrow();

        page.body("vllm:num_requests_waiting{model_name=\"llama\" 4\n");
        ticker.advance(Duration.ofSeconds(1));
        lb.pollLoadReports();
        lb.pollLoadReports();

        assertThat(a.loadReport()).contains(good);
        assertThat(warnLinesAbout("poll-c")).as("one WARN while the polls keep failing").isOne();
        assertThat(captured.text())
                .contains("Backend poll-c: load report rejected: line 1: expected , or } after a label value");

        // the report is still the last good one, and once it is too old it saturates nothing
        assertThat(lb.isSaturated()).isTrue(); // 6 waiting >= 5
        ticker.advance(Duration.ofSeconds(30));
        assertThat(lb.isSaturated()).isFalse();

        page.body(VLLM_PAGE.replace("} 4.0", "} 0.0").replace("} 2.0", "} 1.0"));
        lb.pollLoadReports();
        assertThat(a.loadReport().orElseThrow().load().waitingRequests()).isEqualTo(1);
        assertThat(a.loadReport().orElseThrow().reportedAtNanos()).isEqualTo(ticker.read());
    }

    @Test
    void aPageListingASeriesTwiceIsRejectedRatherThanCountedTwice() {
        ScriptedEndpoint page = page();
        int port = serve(page);
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-twice", LOOPBACK, port);
        page.body(String.join("\n",
                "# TYPE vllm:num_requests_waiting gauge",
                "vllm:num_requests_waiting{engine=\"0\",model_name=\"llama\"} 4.0",
                "vllm:num_requests_waiting{engine=\"0\",model_name=\"qwen\"} 2.0",
                "vllm:num_requests_waiting{model_name=\"llama\",engine=\"0\"} 4.0",
                ""));

        lb.pollLoadReports();

        assertThat(a.loadReport()).isEmpty();
        assertThat(captured.text()).contains("Backend poll-twice: load report rejected: line 4: series "
                + "vllm:num_requests_waiting{engine=\"0\",model_name=\"llama\"} listed twice (first on line 2)");
        assertThatThrownBy(() -> PrometheusLoadSource.vllm().reportOf("vllm:num_requests_running 3\n"
                + "vllm:num_requests_running 3\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("line 2: series vllm:num_requests_running listed twice (first on line 1)");
    }

    @Test
    void badAnswersAreRejectedWithWhatWasWrong() {
        ScriptedEndpoint page = page();
        int port = serve(page);
        LoadBalancer lb = vllmBalancer();
        lb.addBackend("poll-d", LOOPBACK, port);

        page.status(503);
        lb.pollLoadReports();
        page.status(200);
        page.body("# nothing we know\nsome_other_metric 1\n");
        lb.addBackend("poll-e", LOOPBACK, port);
        lb.removeBackend("poll-d");
        lb.pollLoadReports();
        page.body("vllm:num_requests_waiting -3\n");
        lb.addBackend("poll-f", LOOPBACK, port);
        lb.removeBackend("poll-e");
        lb.pollLoadReports();
        page.body("vllm:kv_cache_usage_perc 62.5\n");
        lb.addBackend("poll-g", LOOPBACK, port);
        lb.removeBackend("poll-f");
        lb.pollLoadReports();

        String log = captured.text();
        assertThat(log).contains("Backend poll-d: load report rejected: HTTP 503 from GET /metrics");
        assertThat(log).contains("Backend poll-e: load report rejected: none of the metrics [vllm:num_requests_waiting, "
                + "vllm:num_requests_running, vllm:kv_cache_usage_perc, vllm:gpu_cache_usage_perc] is on the page");
        assertThat(log).contains("Backend poll-f: load report rejected: vllm:num_requests_waiting: -3.0 "
                + "(expected: a whole count >= 0)");
        assertThat(log).contains("Backend poll-g: load report rejected: vllm:kv_cache_usage_perc: 62.5 "
                + "(expected: 0.0..1.0)");
    }

    @Test
    void aPageTooLargeIsRejectedWithoutBeingReadWhole() {
        ScriptedEndpoint page = page();
        int port = serve(page);
        StringBuilder big = new StringBuilder(PrometheusLoadSource.MAX_PAGE_BYTES + 100);
        while (big.length() <= PrometheusLoadSource.MAX_PAGE_BYTES) {
            big.append("# padding padding padding padding padding padding padding padding\n");
        }
        page.body(big + "vllm:num_requests_waiting 1\n");
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-h", LOOPBACK, port);

        lb.pollLoadReports();

        assertThat(a.loadReport()).isEmpty();
        assertThat(captured.text())
                .contains("Backend poll-h: load report rejected: GET /metrics: page larger than 4194304 bytes");
    }

    @Test
    void aClosedPortIsRejected() {
        int closedPort = LoopbackServer.closedPort();
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-i", LOOPBACK, closedPort);

        lb.pollLoadReports();

        assertThat(a.loadReport()).isEmpty();
        assertThat(captured.text())
                .contains("Backend poll-i: load report rejected: GET /metrics: connection refused");
    }

    @Test
    void whileTheHealthCheckerRunsPollsFollowTheInterval() throws Exception {
        ScriptedEndpoint page = page();
        int port = serve(page);
        ManualScheduler scheduler = new ManualScheduler(ticker);
        LoadBalancer lb = balancer(LoadBalancer.builder().healthCheckScheduler(scheduler)
                .loadSource(PrometheusLoadSource.vllm(), Duration.ofMillis(500)));
        Backend a = lb.addBackend("poll-j", LOOPBACK, port);

        lb.startHealthChecker();
        scheduler.runDueTasks(); // the first poll starts at once
        // the poll's I/O runs on real threads: wait for the request, not for a time
        assertThat(page.arrivals().poll(10, TimeUnit.SECONDS)).as("first poll").isEqualTo(1);
        // waits for that poll to be applied, or polls once more if it already was: either way no
        // poll is under way afterwards, so the next scheduled one is not skipped as a duplicate
        lb.pollLoadReports();
        assertThat(a.loadReport()).isPresent();
        int seen = page.requests();
        page.arrivals().clear();

        scheduler.advance(Duration.ofMillis(499));
        assertThat(page.arrivals()).isEmpty();
        scheduler.advance(Duration.ofMillis(1));
        assertThat(page.arrivals().poll(10, TimeUnit.SECONDS)).as("second scheduled poll").isEqualTo(seen + 1);
        lb.pollLoadReports();
        page.arrivals().clear();

        lb.stopHealthChecker();
        scheduler.advance(Duration.ofSeconds(10));
        assertThat(scheduler.pendingTasks()).as("nothing left scheduled").isZero();
        assertThat(page.arrivals()).isEmpty();
        assertThat(a.isAvailable()).isTrue();
    }

    @Test
    void settingsAreCheckedNamingTheBadValue() {
        assertThatThrownBy(() -> PrometheusLoadSource.builder().build())
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("no metric to read");
        assertThatThrownBy(() -> PrometheusLoadSource.builder().waitingRequests("vllm:ok", "has space"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("waitingRequests: \"has space\" (expected: a metric name, [a-zA-Z_:][a-zA-Z0-9_:]*)");
        assertThatThrownBy(() -> PrometheusLoadSource.builder().kvCacheUsage())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheUsage: no metric name (expected: at least one)");
        assertThatThrownBy(() -> PrometheusLoadSource.builder().path("metrics"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("path: \"metrics\"");
        assertThatThrownBy(() -> LoadBalancer.builder().loadSource(PrometheusLoadSource.vllm(), Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("pollInterval: PT0S");
        assertThatThrownBy(() -> LoadBalancer.builder().loadSource(null, Duration.ofSeconds(1)))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("source");
        assertThatThrownBy(() -> LoadBalancer.builder().loadSource(PrometheusLoadSource.vllm(), Duration.ofSeconds(1))
                .loadSource(PrometheusLoadSource.vllm(), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("loadSource");
        LoadBalancer without = balancer(LoadBalancer.builder());
        assertThatThrownBy(without::pollLoadReports)
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("no load source");
    }

    @Test
    void otherEnginesAreReadThroughTheirOwnNames() {
        ScriptedEndpoint page = page();
        int port = serve(page);
        page.body("tgi_queue_size 3\ntgi_batch_current_size 8\nnode_cpu 0.4\n");
        PrometheusLoadSource tgi = LoadSource.prometheus().path("/metrics").waitingRequests("tgi_queue_size")
                .runningRequests("tgi_batch_current_size").cpu("node_cpu").build();
        LoadBalancer lb = balancer(LoadBalancer.builder().loadSource(tgi, Duration.ofSeconds(5)));
        Backend a = lb.addBackend("poll-k", LOOPBACK, port);

        lb.pollLoadReports();

        assertThat(a.loadReport().orElseThrow().load())
                .isEqualTo(LoadReport.builder().waitingRequests(3).runningRequests(8).cpu(0.4).build());
    }
}

package dev.ailb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.ailb.Backend;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerBuilder;
import dev.ailb.LoadReport;
import dev.ailb.TimedLoadReport;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.StandardErrorCapture;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Load reports read from {@code /metrics} pages served by JDK {@link HttpServer}s on loopback.
 * {@link LoadBalancer#pollLoadReports()} returns once every poll has ended, so what it recorded
 * can be asserted at once. Log lines are counted in a buffer swapped in for {@code System.err},
 * where slf4j-simple writes them.
 */
class LoopbackLoadPollingTest {
    private static final String LOOPBACK = "127.0.0.1";
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
    private final List<Page> pages = new ArrayList<>();
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
        pages.forEach(Page::stop);
    }

    /** A loopback server whose {@code /metrics} answer the test sets. */
    private static final class Page {
        final AtomicReference<String> body = new AtomicReference<>(VLLM_PAGE);
        final AtomicInteger status = new AtomicInteger(200);
        final AtomicInteger requests = new AtomicInteger();
        final BlockingQueue<Integer> arrivals = new LinkedBlockingQueue<>();
        final ExecutorService executor = Executors.newFixedThreadPool(2, task -> {
            Thread t = new Thread(task, "loopback-metrics");
            t.setDaemon(true);
            return t;
        });
        final HttpServer server;

        Page() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getByName(LOOPBACK), 0), 50);
            server.setExecutor(executor);
            server.createContext("/metrics", exchange -> {
                arrivals.add(requests.incrementAndGet());
                byte[] bytes = body.get().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4");
                exchange.sendResponseHeaders(status.get(), bytes.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            });
            server.start();
        }

        int port() {
            return server.getAddress().getPort();
        }

        void stop() {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    private Page page() throws IOException {
        Page p = new Page();
        pages.add(p);
        return p;
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
    void aVllmPageBecomesAReportStampedWithTheTicker() throws IOException {
        Page page = page();
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-a", LOOPBACK, page.port());
        ticker.advance(Duration.ofSeconds(3));

        lb.pollLoadReports();

        TimedLoadReport report = a.loadReport().orElseThrow();
        assertThat(report.reportedAtNanos()).isEqualTo(ticker.read());
        // counts are summed over the models, the KV cache takes the fuller one
        assertThat(report.load()).isEqualTo(LoadReport.builder().waitingRequests(6).runningRequests(15)
                .kvCacheUsage(0.625).build());
        assertThat(page.requests).hasValue(1);
        assertThat(warnLinesAbout("poll-a")).isZero();
    }

    @Test
    void everyRegisteredBackendIsPolledAndRemovedOnesAreNot() throws IOException {
        Page first = page();
        Page second = page();
        second.body.set("vllm:num_requests_waiting 9\n");
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-b1", LOOPBACK, first.port());
        Backend b = lb.addBackend("poll-b2", LOOPBACK, second.port());
        Backend gone = lb.addBackend("poll-b3", LOOPBACK, first.port());
        lb.removeBackend("poll-b3");

        lb.pollLoadReports();

        assertThat(a.loadReport().orElseThrow().load().waitingRequests()).isEqualTo(6);
        assertThat(b.loadReport().orElseThrow().load())
                .isEqualTo(LoadReport.builder().waitingRequests(9).build());
        assertThat(gone.loadReport()).isEmpty();
        assertThat(first.requests).hasValue(1);
    }

    @Test
    void aMalformedPageIsRejectedWithItsReasonAndTheLastGoodReportAgesOut() throws IOException {
        Page page = page();
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-c", LOOPBACK, page.port());
        lb.pollLoadReports();
        TimedLoadReport good = a.loadReport().orElseThrow();

        page.body.set("vllm:num_requests_waiting{model_name=\"llama\" 4\n");
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

        page.body.set(VLLM_PAGE.replace("} 4.0", "} 0.0").replace("} 2.0", "} 1.0"));
        lb.pollLoadReports();
        assertThat(a.loadReport().orElseThrow().load().waitingRequests()).isEqualTo(1);
        assertThat(a.loadReport().orElseThrow().reportedAtNanos()).isEqualTo(ticker.read());
    }

    @Test
    void aPageListingASeriesTwiceIsRejectedRatherThanCountedTwice() throws IOException {
        Page page = page();
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-twice", LOOPBACK, page.port());
        page.body.set(String.join("\n",
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
    void badAnswersAreRejectedWithWhatWasWrong() throws IOException {
        Page page = page();
        LoadBalancer lb = vllmBalancer();
        lb.addBackend("poll-d", LOOPBACK, page.port());

        page.status.set(503);
        lb.pollLoadReports();
        page.status.set(200);
        page.body.set("# nothing we know\nsome_other_metric 1\n");
        lb.addBackend("poll-e", LOOPBACK, page.port());
        lb.removeBackend("poll-d");
        lb.pollLoadReports();
        page.body.set("vllm:num_requests_waiting -3\n");
        lb.addBackend("poll-f", LOOPBACK, page.port());
        lb.removeBackend("poll-e");
        lb.pollLoadReports();
        page.body.set("vllm:kv_cache_usage_perc 62.5\n");
        lb.addBackend("poll-g", LOOPBACK, page.port());
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
    void aPageTooLargeIsRejectedWithoutBeingReadWhole() throws IOException {
        Page page = page();
        StringBuilder big = new StringBuilder(PrometheusLoadSource.MAX_PAGE_BYTES + 100);
        while (big.length() <= PrometheusLoadSource.MAX_PAGE_BYTES) {
            big.append("# padding padding padding padding padding padding padding padding\n");
        }
        page.body.set(big + "vllm:num_requests_waiting 1\n");
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-h", LOOPBACK, page.port());

        lb.pollLoadReports();

        assertThat(a.loadReport()).isEmpty();
        assertThat(captured.text())
                .contains("Backend poll-h: load report rejected: GET /metrics: page larger than 4194304 bytes");
    }

    @Test
    void aClosedPortIsRejected() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
            closedPort = socket.getLocalPort();
        }
        LoadBalancer lb = vllmBalancer();
        Backend a = lb.addBackend("poll-i", LOOPBACK, closedPort);

        lb.pollLoadReports();

        assertThat(a.loadReport()).isEmpty();
        assertThat(captured.text())
                .contains("Backend poll-i: load report rejected: GET /metrics: connection refused");
    }

    @Test
    void whileTheHealthCheckerRunsPollsFollowTheInterval() throws Exception {
        Page page = page();
        ManualScheduler scheduler = new ManualScheduler(ticker);
        LoadBalancer lb = balancer(LoadBalancer.builder().healthCheckScheduler(scheduler)
                .loadSource(PrometheusLoadSource.vllm(), Duration.ofMillis(500)));
        Backend a = lb.addBackend("poll-j", LOOPBACK, page.port());

        lb.startHealthChecker();
        scheduler.runDueTasks(); // the first poll starts at once
        // the poll's I/O runs on real threads: wait for the request, not for a time
        assertThat(page.arrivals.poll(10, TimeUnit.SECONDS)).as("first poll").isEqualTo(1);
        // waits for that poll to be applied, or polls once more if it already was: either way no
        // poll is under way afterwards, so the next scheduled one is not skipped as a duplicate
        lb.pollLoadReports();
        assertThat(a.loadReport()).isPresent();
        int seen = page.requests.get();
        page.arrivals.clear();

        scheduler.advance(Duration.ofMillis(499));
        assertThat(page.arrivals).isEmpty();
        scheduler.advance(Duration.ofMillis(1));
        assertThat(page.arrivals.poll(10, TimeUnit.SECONDS)).as("second scheduled poll").isEqualTo(seen + 1);
        lb.pollLoadReports();
        page.arrivals.clear();

        lb.stopHealthChecker();
        scheduler.advance(Duration.ofSeconds(10));
        assertThat(scheduler.pendingTasks()).as("nothing left scheduled").isZero();
        assertThat(page.arrivals).isEmpty();
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
    void otherEnginesAreReadThroughTheirOwnNames() throws IOException {
        Page page = page();
        page.body.set("tgi_queue_size 3\ntgi_batch_current_size 8\nnode_cpu 0.4\n");
        PrometheusLoadSource tgi = LoadSource.prometheus().path("/metrics").waitingRequests("tgi_queue_size")
                .runningRequests("tgi_batch_current_size").cpu("node_cpu").build();
        LoadBalancer lb = balancer(LoadBalancer.builder().loadSource(tgi, Duration.ofSeconds(5)));
        Backend a = lb.addBackend("poll-k", LOOPBACK, page.port());

        lb.pollLoadReports();

        assertThat(a.loadReport().orElseThrow().load())
                .isEqualTo(LoadReport.builder().waitingRequests(3).runningRequests(8).cpu(0.4).build());
    }
}

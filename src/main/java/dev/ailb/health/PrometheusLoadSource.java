package dev.ailb.health;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.Backend;
import dev.ailb.LoadReport;
import dev.ailb.internal.PrometheusText;
import dev.ailb.internal.PrometheusText.Sample;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.function.DoubleConsumer;
import java.util.function.IntConsumer;

/**
 * A {@link LoadSource} that reads a backend's Prometheus text page ({@code GET /metrics} by
 * default) and makes a {@link LoadReport} of the metrics it is told to read. Engines and their
 * versions name their metrics differently, so each signal takes a list of names, of which the
 * first one on the page is used: {@link #vllm()}, {@link #tgi()} and {@link #sglang()} know those
 * servers' names, and {@link #withHttp} polls over {@code https} or with headers.
 *
 * <p>A metric may have several series (one per model, for example): the request counts are
 * summed over them, the utilisations take the highest. The KV cache's capacity, in tokens, is a
 * count too, read from a gauge ({@link Builder#kvCacheCapacityTokens}) or from the labels of an
 * info metric ({@link Builder#kvCacheCapacityBlocks}); a page without it, or with a value the
 * engine has not set yet, leaves it unknown.
 *
 * <p>A poll is rejected, with the reason, when the answer is not a 2xx, the page is larger than
 * {@value #MAX_PAGE_BYTES} bytes or breaks the text format anywhere (see {@link PrometheusText}),
 * lists a series of one of the metrics twice (the same labels, in any order: the format forbids
 * it, and summing both would count a queue twice), a count is negative, fractional beyond
 * rounding or not finite, a utilisation lies outside [0, 1], a capacity is malformed, or none of
 * the metrics of load is on the page (the capacity alone makes no report). A signal whose
 * metrics are all missing is not reported.
 *
 * <p>Immutable and thread-safe.
 */
public final class PrometheusLoadSource implements LoadSource {
    /** The largest page read; a longer one is rejected without being read to its end. */
    public static final int MAX_PAGE_BYTES = 4 << 20;

    private final String path;
    private final List<String> waiting;
    private final List<String> running;
    private final List<String> kvCache;
    private final List<String> cpu;
    private final List<String> memory;
    private final KvCacheCapacityMetrics capacity;
    private final LoraAdapterMetrics adapters;
    private final Set<String> wanted;
    private final HttpProbeOptions http;

    private PrometheusLoadSource(Builder b) {
        this.path = b.path;
        this.http = b.http;
        this.waiting = List.copyOf(b.waiting);
        this.running = List.copyOf(b.running);
        this.kvCache = List.copyOf(b.kvCache);
        this.cpu = List.copyOf(b.cpu);
        this.memory = List.copyOf(b.memory);
        this.capacity = b.capacity;
        this.adapters = b.adapters;
        Set<String> all = new HashSet<>();
        all.addAll(waiting);
        all.addAll(running);
        all.addAll(kvCache);
        all.addAll(cpu);
        all.addAll(memory);
        all.addAll(capacity.names());
        all.addAll(adapters.names());
        this.wanted = Set.copyOf(all);
    }

    private PrometheusLoadSource(PrometheusLoadSource source, HttpProbeOptions http) {
        this.path = source.path;
        this.waiting = source.waiting;
        this.running = source.running;
        this.kvCache = source.kvCache;
        this.cpu = source.cpu;
        this.memory = source.memory;
        this.capacity = source.capacity;
        this.adapters = source.adapters;
        this.wanted = source.wanted;
        this.http = http;
    }

    /**
     * vLLM's page: {@code GET /metrics}, waiting requests from {@code vllm:num_requests_waiting},
     * running ones from {@code vllm:num_requests_running}, the KV-cache usage (a fraction,
     * despite its name) from {@code vllm:kv_cache_usage_perc}, or from
     * {@code vllm:gpu_cache_usage_perc} as older versions call it, and the KV cache's capacity from
     * the labels {@code num_gpu_blocks} and {@code block_size} of {@code vllm:cache_config_info},
     * where the version has it, and the LoRA adapters loaded and the adapter slots from
     * {@code vllm:lora_requests_info} (see {@link Builder#loraAdapters}), where LoRA is enabled.
     *
     * @return the source
     */
    public static PrometheusLoadSource vllm() {
        return builder()
                .waitingRequests("vllm:num_requests_waiting")
                .runningRequests("vllm:num_requests_running")
                .kvCacheUsage("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
                .kvCacheCapacityBlocks("vllm:cache_config_info", "num_gpu_blocks", "block_size")
                .loraAdapters("vllm:lora_requests_info", "running_lora_adapters", "waiting_lora_adapters", "max_lora")
                .build();
    }

    /**
     * Text Generation Inference's page: {@code GET /metrics}, waiting requests from
     * {@code tgi_queue_size} (the requests in the router's queue) and running ones from
     * {@code tgi_batch_current_size} (the requests in the batch being generated), both gauges
     * without labels.
     *
     * <p>TGI exports nothing of its KV cache: no usage, no capacity (its {@code --max-total-tokens}
     * budget is on {@code GET /info}, not on the page), nor of LoRA adapters. A report from this
     * source has the two counts only, so a strategy or saturation rule that reads the KV cache
     * sees it unknown, and {@code tgi_batch_current_max_tokens}, the token budget of the current
     * batch, is not a usage and is not read as one.
     *
     * @return the source
     */
    public static PrometheusLoadSource tgi() {
        return builder()
                .waitingRequests("tgi_queue_size")
                .runningRequests("tgi_batch_current_size")
                .build();
    }

    /**
     * SGLang's page (served with {@code --enable-metrics}): {@code GET /metrics}, waiting requests
     * from {@code sglang:num_queue_reqs}, running ones from {@code sglang:num_running_reqs}, the
     * KV-cache usage (a fraction of the token pool) from {@code sglang:token_usage}, and the KV
     * cache's capacity in tokens from {@code sglang:max_total_num_tokens}. SGLang labels each
     * series with the model and, with data parallelism, the rank: the counts and the capacity are
     * summed over the ranks, the usage is the fullest rank's.
     *
     * <p>SGLang exports how many LoRA slots are in use, not which adapters hold them, so a
     * report from this source names no adapter; the grammar queue
     * ({@code sglang:num_grammar_queue_reqs}) and the disaggregated prefill and decode queues are
     * not counted as waiting.
     *
     * @return the source
     */
    public static PrometheusLoadSource sglang() {
        return builder()
                .waitingRequests("sglang:num_queue_reqs")
                .runningRequests("sglang:num_running_reqs")
                .kvCacheUsage("sglang:token_usage")
                .kvCacheCapacityTokens("sglang:max_total_num_tokens")
                .build();
    }

    /**
     * This source, asking for its page with other HTTP settings: {@code https}, a TLS context,
     * headers such as a bearer token.
     *
     * @param http the scheme, TLS context and headers of the polls
     * @return a source reading the same metrics with those settings
     * @throws NullPointerException if {@code http} is null
     */
    public PrometheusLoadSource withHttp(HttpProbeOptions http) {
        checkNotNull(http, "http");
        return new PrometheusLoadSource(this, http);
    }

    /**
     * A builder serving {@code GET /metrics} and reading no metric yet.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public CompletionStage<LoadReport> fetch(Backend backend, HealthCheckContext context) {
        HttpRequest request;
        try {
            request = http.get(backend, path, context, "text/plain", "ailb-load-poller");
        } catch (IllegalArgumentException | IllegalStateException e) {
            return CompletableFuture.failedFuture(e); // a header refused: named, its value never shown
        }
        CompletableFuture<HttpResponse<byte[]>> sent =
                http.client(context).sendAsync(request, info -> new LimitedBody(MAX_PAGE_BYTES));
        CompletableFuture<LoadReport> report = sent.handleAsync((response, error) -> {
            if (error != null) {
                throw new CompletionException(new IOException(HttpProbe.describe(error, path, context.timeout()), error));
            }
            int status = response.statusCode();
            if (status < 200 || status >= 300) {
                throw new IllegalStateException("HTTP " + status + " from GET " + path);
            }
            return reportOf(new String(response.body(), StandardCharsets.UTF_8));
        }, context.executor());
        return HttpProbe.cancellingExchange(report, sent);
    }

    /**
     * The report a page makes.
     *
     * @param page the text of the page
     * @return the report
     * @throws IllegalArgumentException if the page is malformed, a value is out of range, or none
     *                                  of the metrics of load is on it
     */
    public LoadReport reportOf(String page) {
        Map<String, List<Sample>> found = PrometheusText.samples(page, wanted);
        LoadReport.Builder report = LoadReport.builder();
        boolean any = readCount(waiting, found, report::waitingRequests);
        any |= readCount(running, found, report::runningRequests);
        any |= readUtilisation(kvCache, found, report::kvCacheUsage);
        any |= readUtilisation(cpu, found, report::cpu);
        any |= readUtilisation(memory, found, report::memory);
        if (!any) {
            throw new IllegalArgumentException("none of the metrics " + wantedInOrder()
                    + " is on the page");
        }
        long tokens = capacity.read(found);
        if (tokens != LoadReport.UNKNOWN_COUNT) {
            report.kvCacheCapacityTokens(tokens);
        }
        adapters.read(found, report);
        return report.build();
    }

    private List<String> wantedInOrder() {
        List<String> names = new ArrayList<>();
        for (List<String> signal : List.of(waiting, running, kvCache, cpu, memory)) {
            names.addAll(signal);
        }
        return names;
    }

    /** Sets a count from the first of its metrics on the page; false if none is there. */
    private static boolean readCount(List<String> names, Map<String, List<Sample>> found, IntConsumer set) {
        String name = firstPresent(names, found);
        if (name != null) {
            set.accept(count(name, found.get(name)));
        }
        return name != null;
    }

    /** Sets a utilisation from the first of its metrics on the page; false if none is there. */
    private static boolean readUtilisation(List<String> names, Map<String, List<Sample>> found,
            DoubleConsumer set) {
        String name = firstPresent(names, found);
        if (name != null) {
            set.accept(utilisation(name, found.get(name)));
        }
        return name != null;
    }

    private static String firstPresent(List<String> names, Map<String, List<Sample>> found) {
        for (String name : names) {
            if (found.containsKey(name)) {
                return name;
            }
        }
        return null;
    }

    /** A request count: the sum of the series, each a finite count >= 0 (gauges are floats). */
    private static int count(String name, List<Sample> series) {
        double sum = 0;
        for (Sample s : series) {
            double v = s.value();
            if (!(v >= 0) || Double.isInfinite(v) || Math.abs(v - Math.rint(v)) > 1e-6) {
                throw new IllegalArgumentException(name + ": " + v + " (expected: a whole count >= 0)");
            }
            sum += v;
        }
        return (int) Math.min(Integer.MAX_VALUE, Math.rint(sum));
    }

    /** A utilisation: the highest of the series, each in [0, 1]. */
    private static double utilisation(String name, List<Sample> series) {
        double max = 0;
        for (Sample s : series) {
            double v = s.value();
            if (!(v >= 0.0 && v <= 1.0)) {
                throw new IllegalArgumentException(name + ": " + v + " (expected: 0.0..1.0)");
            }
            max = Math.max(max, v);
        }
        return max;
    }

    @Override
    public String toString() {
        return "PrometheusLoadSource{GET " + path + (http == HttpProbeOptions.plain() ? "" : ", " + http)
                + ", waiting=" + waiting + ", running=" + running
                + ", kvCache=" + kvCache + ", cpu=" + cpu + ", memory=" + memory + ", kvCacheCapacity=" + capacity
                + '}';
    }

    /** Collects a body of at most {@code limit} bytes, and fails as soon as it is longer. */
    static final class LimitedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final int limit;
        private final CompletableFuture<byte[]> body = new CompletableFuture<>();
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private Flow.Subscription subscription;

        LimitedBody(int limit) {
            this.limit = limit;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return body;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (body.isDone()) {
                return;
            }
            for (ByteBuffer b : items) {
                if (out.size() + b.remaining() > limit) {
                    subscription.cancel();
                    body.completeExceptionally(new IOException("page larger than " + limit + " bytes"));
                    return;
                }
                byte[] chunk = new byte[b.remaining()];
                b.get(chunk);
                out.write(chunk, 0, chunk.length);
            }
        }

        @Override
        public void onError(Throwable error) {
            body.completeExceptionally(error);
        }

        @Override
        public void onComplete() {
            body.complete(out.toByteArray());
        }
    }

    /** Builds a {@link PrometheusLoadSource}. Not thread-safe. */
    public static final class Builder {
        private String path = "/metrics";
        private HttpProbeOptions http = HttpProbeOptions.plain();
        private final List<String> waiting = new ArrayList<>();
        private final List<String> running = new ArrayList<>();
        private final List<String> kvCache = new ArrayList<>();
        private final List<String> cpu = new ArrayList<>();
        private final List<String> memory = new ArrayList<>();
        private KvCacheCapacityMetrics capacity = KvCacheCapacityMetrics.NONE;
        private LoraAdapterMetrics adapters = LoraAdapterMetrics.NONE;

        private Builder() {}

        /**
         * The path of the page; default {@code /metrics}.
         *
         * @param path a URI path starting with {@code /}
         * @return this builder
         * @throws NullPointerException     if {@code path} is null
         * @throws IllegalArgumentException if it is not a valid URI path
         */
        public Builder path(String path) {
            this.path = HttpProbe.checkPath(path);
            return this;
        }

        /**
         * The scheme, TLS context and headers of the polls; default {@link HttpProbeOptions#plain()}.
         *
         * @param http the HTTP settings
         * @return this builder
         * @throws NullPointerException if {@code http} is null
         */
        public Builder http(HttpProbeOptions http) {
            this.http = checkNotNull(http, "http");
            return this;
        }

        /**
         * The metrics of the number of requests queued, the first on the page being used.
         *
         * @param names metric names, in order of preference
         * @return this builder
         * @throws NullPointerException     if a name is null
         * @throws IllegalArgumentException if there is no name, or one is not a metric name
         */
        public Builder waitingRequests(String... names) {
            return names(waiting, "waitingRequests", names);
        }

        /**
         * The metrics of the number of requests in the running batch.
         *
         * @param names metric names, in order of preference
         * @return this builder
         * @throws NullPointerException     if a name is null
         * @throws IllegalArgumentException if there is no name, or one is not a metric name
         */
        public Builder runningRequests(String... names) {
            return names(running, "runningRequests", names);
        }

        /**
         * The metrics of the share of the KV cache in use, a fraction in [0, 1].
         *
         * @param names metric names, in order of preference
         * @return this builder
         * @throws NullPointerException     if a name is null
         * @throws IllegalArgumentException if there is no name, or one is not a metric name
         */
        public Builder kvCacheUsage(String... names) {
            return names(kvCache, "kvCacheUsage", names);
        }

        /**
         * The metrics of the CPU utilisation, a fraction in [0, 1].
         *
         * @param names metric names, in order of preference
         * @return this builder
         * @throws NullPointerException     if a name is null
         * @throws IllegalArgumentException if there is no name, or one is not a metric name
         */
        public Builder cpu(String... names) {
            return names(cpu, "cpu", names);
        }

        /**
         * The metrics of the memory utilisation, a fraction in [0, 1].
         *
         * @param names metric names, in order of preference
         * @return this builder
         * @throws NullPointerException     if a name is null
         * @throws IllegalArgumentException if there is no name, or one is not a metric name
         */
        public Builder memory(String... names) {
            return names(memory, "memory", names);
        }

        /**
         * The gauges of the KV cache's capacity in tokens, such as SGLang's
         * {@code sglang:max_total_num_tokens}; tried before the info metric of
         * {@link #kvCacheCapacityBlocks}, if both are set. The capacity is not a signal of load:
         * the source needs another metric too.
         *
         * @param names metric names, in order of preference
         * @return this builder
         * @throws NullPointerException     if a name is null
         * @throws IllegalArgumentException if there is no name, or one is not a metric name
         */
        public Builder kvCacheCapacityTokens(String... names) {
            capacity = capacity.withTokenGauges(metricNames("kvCacheCapacityTokens", names));
            return this;
        }

        /**
         * An info metric whose labels give the KV cache's capacity as a number of blocks and the
         * tokens per block, such as vLLM's
         * {@code vllm:cache_config_info{block_size="16",num_gpu_blocks="27000",...} 1.0}; the
         * capacity is their product, summed over the series. A series without one of the labels,
         * or giving it as {@code None}, leaves the capacity unknown; a label of 0 or that is not a
         * decimal number, or a product over {@link Long#MAX_VALUE}, rejects the poll.
         *
         * @param name           the metric name
         * @param blocksLabel    the label with the number of blocks
         * @param blockSizeLabel the label with the tokens per block
         * @return this builder
         * @throws NullPointerException     if an argument is null
         * @throws IllegalArgumentException if {@code name} is not a metric name, a label is not a
         *                                  label name, or both labels are the same
         */
        public Builder kvCacheCapacityBlocks(String name, String blocksLabel, String blockSizeLabel) {
            metricNames("kvCacheCapacityBlocks", name);
            KvCacheCapacityMetrics.checkLabelName(blocksLabel, "blocksLabel");
            KvCacheCapacityMetrics.checkLabelName(blockSizeLabel, "blockSizeLabel");
            if (blocksLabel.equals(blockSizeLabel)) {
                throw new IllegalArgumentException("blockSizeLabel: \"" + blockSizeLabel
                        + "\" (expected: not the blocksLabel)");
            }
            capacity = capacity.withBlocks(name, blocksLabel, blockSizeLabel);
            return this;
        }

        /**
         * An info gauge whose labels list the LoRA adapters loaded, such as vLLM's
         * {@code vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql-v2",waiting_lora_adapters=""}},
         * whose value is the time the adapters last changed: of its series, the one with the
         * highest value is read. The adapters are comma-separated (spaces around a name and empty
         * entries are ignored); a missing slots label leaves the slots unknown. A series whose value
         * is not a time (negative, not finite), a malformed or repeated adapter, or slots that are
         * not a whole number reject the poll. Not a signal of load: the source needs another metric
         * too.
         *
         * @param name         the metric name
         * @param runningLabel the label listing the adapters with requests running
         * @param waitingLabel the label listing the adapters with requests waiting
         * @param maxLabel     the label with the number of adapter slots
         * @return this builder
         * @throws NullPointerException     if an argument is null
         * @throws IllegalArgumentException if {@code name} is not a metric name, a label is not a
         *                                  label name, or two labels are the same
         */
        public Builder loraAdapters(String name, String runningLabel, String waitingLabel, String maxLabel) {
            metricNames("loraAdapters", name);
            KvCacheCapacityMetrics.checkLabelName(runningLabel, "runningLabel");
            KvCacheCapacityMetrics.checkLabelName(waitingLabel, "waitingLabel");
            KvCacheCapacityMetrics.checkLabelName(maxLabel, "maxLabel");
            if (runningLabel.equals(waitingLabel) || waitingLabel.equals(maxLabel)) {
                throw new IllegalArgumentException("waitingLabel: \"" + waitingLabel
                        + "\" (expected: not the runningLabel nor the maxLabel)");
            }
            if (runningLabel.equals(maxLabel)) {
                throw new IllegalArgumentException("maxLabel: \"" + maxLabel + "\" (expected: not the runningLabel)");
            }
            adapters = new LoraAdapterMetrics(name, runningLabel, waitingLabel, maxLabel);
            return this;
        }

        private Builder names(List<String> signal, String what, String... names) {
            List<String> checked = metricNames(what, names);
            signal.clear();
            signal.addAll(checked);
            return this;
        }

        private static List<String> metricNames(String what, String... names) {
            checkNotNull(names, what);
            if (names.length == 0) {
                throw new IllegalArgumentException(what + ": no metric name (expected: at least one)");
            }
            for (String name : names) {
                checkNotNull(name, what);
                if (!name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")) {
                    throw new IllegalArgumentException(what + ": \"" + name
                            + "\" (expected: a metric name, [a-zA-Z_:][a-zA-Z0-9_:]*)");
                }
            }
            return List.of(names);
        }

        /**
         * The source.
         *
         * @return a new source with these settings
         * @throws IllegalStateException if no metric was named
         */
        public PrometheusLoadSource build() {
            if (waiting.isEmpty() && running.isEmpty() && kvCache.isEmpty() && cpu.isEmpty() && memory.isEmpty()) {
                throw new IllegalStateException("no metric to read (expected: at least one of waitingRequests, "
                        + "runningRequests, kvCacheUsage, cpu, memory)");
            }
            return new PrometheusLoadSource(this);
        }
    }
}

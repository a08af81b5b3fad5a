package dev.ailb.health;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.shown;

import dev.ailb.LoadReport;
import dev.ailb.internal.PrometheusText.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The metrics a {@link PrometheusLoadSource} reads the KV cache's capacity from, and how. Engines
 * say it in one of two ways:
 * <ul>
 *   <li>a gauge whose value is the capacity in tokens (SGLang's
 *       {@code sglang:max_total_num_tokens});</li>
 *   <li>an info metric, of value 1, whose labels give the number of blocks and the tokens per
 *       block (vLLM's {@code vllm:cache_config_info{block_size="16",num_gpu_blocks="27000",...}});
 *       the capacity is their product.</li>
 * </ul>
 * The gauges are tried first, in order, then the info metric. Capacity is a count, so it is summed
 * over the series, as the request counts are: a data-parallel instance lists one series per engine,
 * each with a cache of its own.
 *
 * <p>The capacity stays unknown, and the poll goes on, when none of the metrics is on the page,
 * when the gauges sum to 0 (an engine that has not sized its cache yet), or when a series of the
 * info metric lacks one of the two labels or gives it as {@code None} (Python's word for a value
 * not set, as vLLM's configuration holds it until the cache is sized). Anything else that is not a whole
 * number in range rejects the poll, as a bad count does: a gauge negative, fractional or not
 * finite, a label of 0 or that is not a decimal number, or a total over {@link Long#MAX_VALUE}.
 *
 * <p>Immutable and thread-safe.
 */
final class KvCacheCapacityMetrics {
    /** Reads no capacity. */
    static final KvCacheCapacityMetrics NONE = new KvCacheCapacityMetrics(List.of(), null);

    /** Gauges of the capacity in tokens, in order of preference. */
    private final List<String> tokenGauges;
    /** The info metric with the blocks and block-size labels; null if none. */
    private final Blocks blocks;

    private KvCacheCapacityMetrics(List<String> tokenGauges, Blocks blocks) {
        this.tokenGauges = List.copyOf(tokenGauges);
        this.blocks = blocks;
    }

    /** These metrics with the token gauges replaced. */
    KvCacheCapacityMetrics withTokenGauges(List<String> names) {
        return new KvCacheCapacityMetrics(names, blocks);
    }

    /** These metrics with the info metric replaced. */
    KvCacheCapacityMetrics withBlocks(String name, String blocksLabel, String blockSizeLabel) {
        return new KvCacheCapacityMetrics(tokenGauges, new Blocks(name, blocksLabel, blockSizeLabel));
    }

    /** The names of the metrics read, for the page reader to keep. */
    List<String> names() {
        List<String> names = new ArrayList<>(tokenGauges);
        if (blocks != null) {
            names.add(blocks.name);
        }
        return names;
    }

    /**
     * The capacity the page gives, in tokens.
     *
     * @param found the samples of the page, by metric name
     * @return the capacity, {@code >= 1}, or {@link LoadReport#UNKNOWN_COUNT}
     * @throws IllegalArgumentException if a value is malformed or the total out of range
     */
    long read(Map<String, List<Sample>> found) {
        for (String name : tokenGauges) {
            List<Sample> series = found.get(name);
            if (series != null) {
                long tokens = fromGauge(name, series);
                return tokens > 0 ? tokens : LoadReport.UNKNOWN_COUNT;
            }
        }
        if (blocks != null && found.containsKey(blocks.name)) {
            return blocks.read(found.get(blocks.name));
        }
        return LoadReport.UNKNOWN_COUNT;
    }

    private static long fromGauge(String name, List<Sample> series) {
        long sum = 0;
        for (Sample s : series) {
            double v = s.value();
            // as for the request counts, a float off a whole number by rounding only is that number;
            // 0x1p63 is the first double above Long.MAX_VALUE
            if (!(v >= 0) || v >= 0x1p63 || Math.abs(v - Math.rint(v)) > 1e-6) {
                throw new IllegalArgumentException(name + ": " + v + " (expected: a whole number of tokens >= 0)");
            }
            sum = add(name, sum, (long) Math.rint(v));
        }
        return sum;
    }

    private static long add(String name, long a, long b) {
        try {
            return Math.addExact(a, b);
        } catch (ArithmeticException e) {
            throw tooLarge(name);
        }
    }

    private static IllegalArgumentException tooLarge(String name) {
        return new IllegalArgumentException(name + ": more than " + Long.MAX_VALUE + " tokens (expected: at most "
                + Long.MAX_VALUE + ")");
    }

    @Override
    public String toString() {
        return blocks == null ? tokenGauges.toString() : tokenGauges + " then " + blocks;
    }

    /** An info metric with the number of blocks and the tokens per block in two of its labels. */
    private record Blocks(String name, String blocksLabel, String blockSizeLabel) {

        long read(List<Sample> series) {
            long sum = 0;
            for (Sample s : series) {
                String count = s.labels().get(blocksLabel);
                String size = s.labels().get(blockSizeLabel);
                if (count == null || size == null || count.equals("None") || size.equals("None")) {
                    return LoadReport.UNKNOWN_COUNT;
                }
                long tokens;
                try {
                    tokens = Math.multiplyExact(whole(blocksLabel, count), whole(blockSizeLabel, size));
                } catch (ArithmeticException e) {
                    throw tooLarge(name);
                }
                sum = add(name, sum, tokens);
            }
            return sum;
        }

        /** A label's value: decimal digits only, of a number 1..Long.MAX_VALUE. */
        private long whole(String label, String value) {
            boolean digits = !value.isEmpty() && value.length() <= 19;
            for (int i = 0; digits && i < value.length(); i++) {
                digits = value.charAt(i) >= '0' && value.charAt(i) <= '9';
            }
            long parsed = 0;
            if (digits) {
                try {
                    parsed = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    // nineteen digits above Long.MAX_VALUE: refused below like any other
                }
            }
            if (parsed < 1) {
                throw new IllegalArgumentException(name + ": " + label + "=" + shown(value)
                        + " (expected: a whole number 1.." + Long.MAX_VALUE + ")");
            }
            return parsed;
        }

        @Override
        public String toString() {
            return name + "{" + blocksLabel + " * " + blockSizeLabel + "}";
        }
    }

    /** Checked by the builder: a label name of the text format. */
    static String checkLabelName(String label, String what) {
        checkNotNull(label, what);
        if (!label.matches("[a-zA-Z_][a-zA-Z0-9_]*")) {
            throw new IllegalArgumentException(what + ": " + shown(label)
                    + " (expected: a label name, [a-zA-Z_][a-zA-Z0-9_]*)");
        }
        return label;
    }
}

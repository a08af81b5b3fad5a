package dev.ailb.health;

import static dev.ailb.internal.Preconditions.shown;

import dev.ailb.LoadReport;
import dev.ailb.internal.PrometheusText.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where a page says which LoRA adapters its instance has loaded: an info gauge whose labels list
 * the adapters running and waiting, comma-separated, and the number of adapter slots, such as
 * vLLM's
 * {@code vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql-v2,chat",waiting_lora_adapters=""} 1.7e9}.
 * vLLM adds a series each time the adapters change, its value the time of the change, and keeps
 * the older ones: the series with the highest value is the current one.
 *
 * <p>Immutable.
 */
final class LoraAdapterMetrics {
    static final LoraAdapterMetrics NONE = new LoraAdapterMetrics(null, null, null, null);

    private final String name;
    private final String runningLabel;
    private final String waitingLabel;
    private final String maxLabel;

    LoraAdapterMetrics(String name, String runningLabel, String waitingLabel, String maxLabel) {
        this.name = name;
        this.runningLabel = runningLabel;
        this.waitingLabel = waitingLabel;
        this.maxLabel = maxLabel;
    }

    /** The metric read, if any. */
    List<String> names() {
        return name == null ? List.of() : List.of(name);
    }

    /**
     * Sets the adapters of the newest series on the page, if the metric is there.
     *
     * @throws IllegalArgumentException naming the metric, if a series' value is not a time (finite,
     *                                  {@code >= 0}), an adapter's name is malformed or listed
     *                                  twice, or the slots are not a whole number
     */
    void read(Map<String, List<Sample>> found, LoadReport.Builder report) {
        List<Sample> series = name == null ? null : found.get(name);
        if (series == null || series.isEmpty()) {
            return;
        }
        Sample newest = null;
        for (Sample s : series) {
            double v = s.value();
            if (!(v >= 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException(name + ": " + v + " (expected: the time of a change, finite and >= 0)");
            }
            if (newest == null || v >= newest.value()) {
                newest = s;
            }
        }
        Map<String, String> labels = newest.labels();
        try {
            report.runningAdapters(adapters(labels.get(runningLabel)));
            report.waitingAdapters(adapters(labels.get(waitingLabel)));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
        String max = labels.get(maxLabel);
        if (max != null) {
            report.maxAdapters(slots(max));
        }
    }

    private static List<String> adapters(String list) {
        if (list == null || list.isBlank()) {
            return List.of();
        }
        List<String> names = new ArrayList<>();
        for (String part : list.split(",", -1)) {
            String adapter = part.strip();
            if (!adapter.isEmpty()) {
                names.add(adapter);
            }
        }
        return names;
    }

    private int slots(String value) {
        boolean digits = !value.isEmpty() && value.length() <= 9;
        for (int i = 0; digits && i < value.length(); i++) {
            digits = value.charAt(i) >= '0' && value.charAt(i) <= '9';
        }
        if (!digits) {
            throw new IllegalArgumentException(name + ": " + maxLabel + "=" + shown(value)
                    + " (expected: a whole number of adapters, 0..999999999)");
        }
        return Integer.parseInt(value);
    }

    @Override
    public String toString() {
        return name == null ? "none" : name + "{" + runningLabel + ", " + waitingLabel + ", " + maxLabel + "}";
    }
}

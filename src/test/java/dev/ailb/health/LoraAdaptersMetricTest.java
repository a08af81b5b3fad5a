package dev.ailb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.LoadReport;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The LoRA adapters as {@link PrometheusLoadSource#reportOf} reads them from vLLM's
 * {@code vllm:lora_requests_info}: the newest series, its running and waiting adapters and slots.
 */
class LoraAdaptersMetricTest {
    private static final PrometheusLoadSource VLLM = PrometheusLoadSource.vllm();

    /** A vLLM page with the given {@code lora_requests_info} lines after its load metrics. */
    private static String vllmPage(String... loraLines) {
        StringBuilder page = new StringBuilder(String.join("\n",
                "# TYPE vllm:num_requests_running gauge",
                "vllm:num_requests_running{model_name=\"llama\"} 3.0",
                "# TYPE vllm:num_requests_waiting gauge",
                "vllm:num_requests_waiting{model_name=\"llama\"} 1.0",
                ""));
        if (loraLines.length > 0) {
            page.append("# HELP vllm:lora_requests_info Running stats on lora requests.\n");
            page.append("# TYPE vllm:lora_requests_info gauge\n");
            for (String line : loraLines) {
                page.append(line).append('\n');
            }
        }
        return page.toString();
    }

    private static String lora(String max, String running, String waiting, String time) {
        return "vllm:lora_requests_info{max_lora=\"" + max + "\",running_lora_adapters=\"" + running
                + "\",waiting_lora_adapters=\"" + waiting + "\"} " + time;
    }

    @Test
    void theNewestSeriesGivesTheAdaptersRunningAndWaitingAndTheSlots() {
        LoadReport report = VLLM.reportOf(vllmPage(
                lora("4", "sql-v2", "", "1.7000001e+09"),
                lora("3", "sql-v2,chat", "summary", "1.7000003e+09"),
                lora("4", "", "", "1.7000002e+09")));

        assertThat(report.runningAdapters()).containsExactly("sql-v2", "chat");
        assertThat(report.waitingAdapters()).containsExactly("summary");
        assertThat(report.maxAdapters()).isEqualTo(3);
        assertThat(report.hasAdapterLoaded("summary")).isTrue();
        assertThat(report.hasAdapterLoaded("other")).isFalse();
        assertThat(report.hasFreeAdapterSlot()).isFalse();
        assertThat(report.waitingRequests()).isEqualTo(1);
    }

    @Test
    void emptyListsMeanNoAdapterLoadedAndEveryEmptySlotIsFree() {
        LoadReport report = VLLM.reportOf(vllmPage(lora("2", "", "", "1.7e9")));

        assertThat(report.runningAdapters()).isEmpty();
        assertThat(report.waitingAdapters()).isEmpty();
        assertThat(report.hasFreeAdapterSlot()).isTrue();
    }

    @Test
    void spacesAroundNamesAndEmptyEntriesAreIgnored() {
        LoadReport report = VLLM.reportOf(vllmPage(lora("3", " sql-v2 , ,chat,", "", "5")));

        assertThat(report.runningAdapters()).containsExactly("sql-v2", "chat");
    }

    @Test
    void aPageWithoutTheMetricLeavesTheAdaptersUnknown() {
        LoadReport report = VLLM.reportOf(vllmPage());

        assertThat(report.runningAdapters()).isEmpty();
        assertThat(report.hasMaxAdapters()).isFalse();
        assertThat(report.hasFreeAdapterSlot()).isFalse();
        assertThat(report).isEqualTo(LoadReport.builder().runningRequests(3).waitingRequests(1).build());
    }

    @Test
    void aSeriesWithoutTheSlotsLabelLeavesTheSlotsUnknown() {
        LoadReport report = VLLM.reportOf(vllmPage(
                "vllm:lora_requests_info{running_lora_adapters=\"sql-v2\",waiting_lora_adapters=\"\"} 7"));

        assertThat(report.runningAdapters()).containsExactly("sql-v2");
        assertThat(report.hasMaxAdapters()).isFalse();
    }

    @Test
    void badPagesAreRejectedWithTheReason() {
        assertThatThrownBy(() -> VLLM.reportOf(vllmPage(lora("four", "", "", "1"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("vllm:lora_requests_info: max_lora=\"four\" (expected: a whole number of adapters, "
                        + "0..999999999)");
        assertThatThrownBy(() -> VLLM.reportOf(vllmPage(lora("-1", "", "", "1"))))
                .hasMessageContaining("max_lora=\"-1\"");
        assertThatThrownBy(() -> VLLM.reportOf(vllmPage(lora("2", "", "", "-1"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("vllm:lora_requests_info: -1.0 (expected: the time of a change, finite and >= 0)");
        assertThatThrownBy(() -> VLLM.reportOf(vllmPage(lora("2", "", "", "NaN"))))
                .hasMessage("vllm:lora_requests_info: NaN (expected: the time of a change, finite and >= 0)");
        assertThatThrownBy(() -> VLLM.reportOf(vllmPage(lora("2", "a,b,a", "", "1"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("vllm:lora_requests_info: runningAdapters[2]: \"a\" (expected: each adapter once)");
        assertThatThrownBy(() -> VLLM.reportOf(vllmPage(lora("2", "x".repeat(300), "", "1"))))
                .hasMessageContaining("vllm:lora_requests_info: runningAdapters[0]:")
                .hasMessageContaining("(expected: at most 256 characters)");
    }

    @Test
    void aBuilderTakesOtherNamesAndRefusesRepeatedLabels() {
        PrometheusLoadSource custom = PrometheusLoadSource.builder().runningRequests("running")
                .loraAdapters("adapters_info", "active", "queued", "slots").build();
        LoadReport report = custom.reportOf("running 2\nadapters_info{active=\"a\",queued=\"b\",slots=\"3\"} 1\n");

        assertThat(report.runningAdapters()).isEqualTo(List.of("a"));
        assertThat(report.waitingAdapters()).isEqualTo(List.of("b"));
        assertThat(report.hasFreeAdapterSlot()).isTrue();
        assertThatThrownBy(() -> PrometheusLoadSource.builder().loraAdapters("m", "a", "a", "b"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("waitingLabel: \"a\" (expected: not the runningLabel nor the maxLabel)");
        assertThatThrownBy(() -> PrometheusLoadSource.builder().loraAdapters("m", "a", "b", "a"))
                .hasMessage("maxLabel: \"a\" (expected: not the runningLabel)");
    }
}

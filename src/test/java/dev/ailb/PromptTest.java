package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import org.junit.jupiter.api.Test;

/** A request's prompt, and what a lease reports of the server's prompt cache. */
class PromptTest {
    private static final Request REQUEST = new Request("req-1", "10.1.1.1", "/v1/chat/completions");

    private final LoadBalancer lb = LoadBalancer.builder().ticker(new ManualTicker())
            .outlierDetection(OutlierDetection.disabled()).build();

    @Test
    void aRequestCarriesItsPromptAsTextReadOnce() {
        StringBuilder text = new StringBuilder("You are a helpful assistant.");

        Request r = REQUEST.withPrompt(text);
        text.append(" Changed later.");

        assertThat(r.prompt()).isEqualTo("You are a helpful assistant.");
        assertThat(r.hasPrompt()).isTrue();
        assertThat(REQUEST.hasPrompt()).isFalse();
        assertThat(REQUEST.prompt()).isEmpty();
        assertThat(r.withEstimatedTokens(500).prompt()).isEqualTo(r.prompt());
        assertThat(r.withPrompt("").hasPrompt()).isFalse();
        assertThat(r).isEqualTo(REQUEST.withPrompt("You are a helpful assistant.")).isNotEqualTo(REQUEST);
    }

    @Test
    void aRequestShowsItsPromptsLengthNotItsText() {
        Request r = REQUEST.withPrompt("secret ".repeat(100));

        assertThat(r.toString()).isEqualTo(
                "Request[id=req-1, clientIp=10.1.1.1, path=/v1/chat/completions, estimatedTokens=0, prompt=<700 chars>, model=, priority=STANDARD, tenant=, "
                        + "labels=LabelSelector{required={}, preferred={}}]");
    }

    @Test
    void aNullOrHugePromptIsRefusedByName() {
        assertThatThrownBy(() -> REQUEST.withPrompt(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("prompt: null (expected: non-null)");
        CharSequence huge = new RepeatedChar('x', Request.MAX_PROMPT_CHARS + 1);
        assertThatThrownBy(() -> REQUEST.withPrompt(huge)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("prompt: 16777217 characters (expected: at most 16777216)");
        assertThatThrownBy(() -> new Request("r", "", "/", 0, null)).isInstanceOf(NullPointerException.class)
                .hasMessage("prompt: null (expected: non-null)");
    }

    @Test
    void aPromptOfTheLargestLengthIsTaken() {
        Request r = REQUEST.withPrompt(new RepeatedChar('y', Request.MAX_PROMPT_CHARS));

        assertThat(r.prompt()).hasSize(Request.MAX_PROMPT_CHARS);
    }

    @Test
    void aLeaseReportsThePromptCacheOnceIntoItsBackendsStats() {
        lb.addBackend("a", "10.0.0.1", 8001);

        Lease lease = lb.acquire(REQUEST);
        assertThat(lease.reportCachedTokens(1_000, 750)).isTrue();
        assertThat(lease.reportCachedTokens(1_000, 1_000)).isFalse();
        lease.success();
        try (Lease late = lb.acquire(REQUEST)) {
            late.success();
            assertThat(late.reportCachedTokens(200, 0)).as("after the release").isTrue();
        }

        PromptCacheStats stats = lb.getBackendStats("a").promptCache();
        assertThat(stats).isEqualTo(new PromptCacheStats(0, 0, 1_200, 750));
        assertThat(stats.reportedHitRate()).isEqualTo(0.625);
        assertThat(stats.predictedHitRate()).isZero();
    }

    @Test
    void aBadCacheReportIsRefusedByNameAndCountsNothing() {
        lb.addBackend("a", "10.0.0.1", 8001);
        Lease lease = lb.acquire(REQUEST);

        assertThatThrownBy(() -> lease.reportCachedTokens(-1, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("promptTokens: -1 (expected: 0..2147483647)");
        assertThatThrownBy(() -> lease.reportCachedTokens(100, 101)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cachedTokens: 101 (expected: 0..100, the prompt's tokens)");
        assertThatThrownBy(() -> lease.reportCachedTokens(100, -5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cachedTokens: -5 (expected: 0..100, the prompt's tokens)");

        assertThat(lb.getBackendStats("a").promptCache()).isEqualTo(PromptCacheStats.NONE);
        assertThat(lease.reportCachedTokens(100, 100)).as("a refused report does not use up the lease's").isTrue();
    }

    /** A long sequence that costs no memory, to reach the prompt's bound cheaply. */
    private record RepeatedChar(char c, int length) implements CharSequence {
        @Override
        public char charAt(int index) {
            return c;
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new RepeatedChar(c, end - start);
        }

        @Override
        public String toString() {
            return String.valueOf(c).repeat(length);
        }
    }
}

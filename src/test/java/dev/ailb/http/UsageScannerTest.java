package dev.ailb.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.PromptCacheStats;
import dev.ailb.Request;
import dev.ailb.testing.StandardErrorCapture;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The prompt-cache report read from answers as their bytes go by, whole JSON or server-sent
 * events, however the bytes are cut: what is reported on the lease, and what is not.
 */
class UsageScannerTest {
    private static final String ANSWER = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
            + "\"usage\":{\"prompt_tokens\":1,\"prompt_tokens_details\":{\"cached_tokens\":1}}}],"
            + "\"usage\":{\"prompt_tokens\":1234,\"completion_tokens\":5,\"total_tokens\":1239,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":1024,\"audio_tokens\":0},"
            + "\"completion_tokens_details\":{\"cached_tokens\":3}}}";
    private static final String STREAM = ""
            + ": a comment\n"
            + "data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}}],\"usage\":null}\n\n"
            + "event: message\n"
            + "data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}],\"usage\":null}\n\n"
            + "data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"lo \\\"usage\\\": {\"}}],\"usage\":null}\n\n"
            + "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":300,\"completion_tokens\":2,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":256}}}\n\n"
            + "data: [DONE]\n\n";

    private final LoadBalancer lb = LoadBalancer.builder().build();
    private final Lease lease;

    UsageScannerTest() {
        lb.addBackend("a", "10.0.0.1", 8000);
        lease = lb.acquire(new Request("r", "", "/v1/chat/completions"));
    }

    @AfterEach
    void cleanUp() {
        lease.success();
        lb.close();
    }

    private PromptCacheStats reported() {
        return lb.getBackendStats("a").promptCache();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private UsageScanner json() {
        return new UsageScanner("lb", lease);
    }

    private EventStreamScanner events() {
        return new EventStreamScanner(json());
    }

    /** Feeds {@code bytes} cut into pieces of {@code piece} bytes. */
    private static void feed(AnswerScanner scanner, byte[] bytes, int piece) {
        for (int i = 0; i < bytes.length; i += piece) {
            scanner.scan(bytes, i, Math.min(piece, bytes.length - i));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 7, 64, 100_000})
    void aWholeAnswersTopLevelUsageIsReportedHoweverItsBytesAreCut(int piece) {
        UsageScanner scanner = json();

        feed(scanner, utf8(ANSWER), piece);

        assertThat(reported()).isEqualTo(new PromptCacheStats(0, 0, 1234, 1024));
        assertThat(scanner.done()).isTrue();
    }

    @Test
    void theReportIsMadeWhenItsObjectClosesNotAtTheEndOfTheBody() {
        UsageScanner scanner = json();
        byte[] bytes = utf8(ANSWER);

        scanner.scan(bytes, 0, bytes.length - 1);
        assertThat(reported().reportedPromptTokens()).as("the top-level object is still open").isZero();
        scanner.scan(bytes, bytes.length - 1, 1);

        assertThat(reported()).isEqualTo(new PromptCacheStats(0, 0, 1234, 1024));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3}}",
            "{\"usage\":{\"prompt_tokens\":12,\"prompt_tokens_details\":null}}",
            "{\"usage\":{\"prompt_tokens\":12,\"prompt_tokens_details\":{\"audio_tokens\":0}}}",
            "{\"usage\":{\"prompt_tokens\":12,\"prompt_tokens_details\":{\"cached_tokens\":null}}}",
            "{\"usage\":null}",
            "{\"choices\":[]}",
            "[{\"usage\":{\"prompt_tokens\":12,\"prompt_tokens_details\":{\"cached_tokens\":5}}}]",
            "{\"data\":{\"usage\":{\"prompt_tokens\":12,\"prompt_tokens_details\":{\"cached_tokens\":5}}}}"})
    void anAnswerWithoutAWholeTopLevelReportReportsNothingAndLogsNothing(String answer) {
        try (StandardErrorCapture log = StandardErrorCapture.start()) {
            feed(json(), utf8(answer), 5);

            assertThat(reported()).isEqualTo(PromptCacheStats.NONE);
            assertThat(log.text()).isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"usage\":{\"prompt_tokens\":\"12\",\"prompt_tokens_details\":{\"cached_tokens\":5}}}"
                    + "|usage.prompt_tokens: \"12\" (expected: an integer 0..2147483647)",
            "{\"usage\":{\"prompt_tokens\":12,\"prompt_tokens_details\":{\"cached_tokens\":5.0}}}"
                    + "|usage.prompt_tokens_details.cached_tokens: 5.0 (expected: an integer 0..2147483647)",
            "{\"usage\":{\"prompt_tokens\":-1,\"prompt_tokens_details\":{\"cached_tokens\":0}}}"
                    + "|usage.prompt_tokens: -1 (expected: an integer 0..2147483647)",
            "{\"usage\":{\"prompt_tokens\":99999999999999999999999,\"prompt_tokens_details\":{\"cached_tokens\":0}}}"
                    + "|usage.prompt_tokens: 99999999999999999999999 (expected: an integer 0..2147483647)",
            "{\"usage\":\"none\"}|usage: \"none\" (expected: an object or null)",
            "{\"usage\":{\"prompt_tokens\":12,\"prompt_tokens_details\":[5]}}"
                    + "|usage.prompt_tokens_details: an array (expected: an object or null)",
            "{\"usage\":{\"prompt_tokens\":12,\"prompt_tokens_details\":{\"cached_tokens\":13}}}"
                    + "|its usage has more cached tokens (13) than prompt tokens (12)",
            "{\"usage\":{\"prompt_tokens_details\":{\"cached_tokens\":13}}}"
                    + "|its usage has prompt_tokens_details.cached_tokens but no prompt_tokens",
            "{\"usage\":{\"prompt_tokens\":12,\"prompt_tokens_details\":{\"cached_tokens\":5}},}"
                    + "|its JSON could not be read"})
    void aMalformedReportIsNotReportedAndLogsOneDebugLine(String answerAndWhy) {
        String answer = answerAndWhy.substring(0, answerAndWhy.indexOf('|'));
        String why = answerAndWhy.substring(answerAndWhy.indexOf('|') + 1);
        try (StandardErrorCapture log = StandardErrorCapture.start()) {
            UsageScanner scanner = json();
            feed(scanner, utf8(answer), 4);
            feed(scanner, utf8(answer), 4); // the same again: still one line

            assertThat(reported()).isEqualTo(PromptCacheStats.NONE);
            assertThat(log.text().lines()).singleElement().asString()
                    .contains("DEBUG", "lb - Backend a: no prompt-cache report read from the answer: ")
                    .contains(why);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5, 13, 4096})
    void aStreamsUsageChunkIsReportedOnceHoweverItsBytesAreCut(int piece) {
        EventStreamScanner scanner = events();

        feed(scanner, utf8(STREAM), piece);

        assertThat(reported()).isEqualTo(new PromptCacheStats(0, 0, 300, 256));
        assertThat(scanner.done()).isTrue();
    }

    @Test
    void aStreamIsReadAtEveryCutOfItsBytes() {
        byte[] bytes = utf8(STREAM.replace("\n", "\r\n"));
        for (int cut = 0; cut <= bytes.length; cut++) {
            LoadBalancer own = LoadBalancer.builder().build();
            own.addBackend("b", "10.0.0.2", 8000);
            try (Lease leased = own.acquire(new Request("r", "", "/v1/chat/completions"))) {
                EventStreamScanner scanner = new EventStreamScanner(new UsageScanner("own", leased));

                scanner.scan(bytes, 0, cut);
                scanner.scan(bytes, cut, bytes.length - cut);

                assertThat(own.getBackendStats("b").promptCache()).as("cut at %d", cut)
                        .isEqualTo(new PromptCacheStats(0, 0, 300, 256));
            } finally {
                own.close();
            }
        }
    }

    @Test
    void dataLinesOfOneEventAreJoinedAndEveryLineEndingCounts() {
        String stream = "data: {\"usage\":\r"
                + "data:{\"prompt_tokens\":40,\n"
                + "data:  \"prompt_tokens_details\":{\"cached_tokens\":32}}}\r\n"
                + "\n"
                + "data: [DONE]\n\n";

        feed(events(), utf8(stream), 3);

        assertThat(reported()).isEqualTo(new PromptCacheStats(0, 0, 40, 32));
    }

    @Test
    void anEventCutShortOrUnreadableDoesNotStopTheNextOne() {
        String stream = "data: {\"choices\":[{\"delta\":\n\n"          // cut short by its blank line
                + "data: {\"choices\": nope}\n\n"                     // not JSON
                + "data: {\"usage\":{\"prompt_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n"
                + "data: [DONE]\n\n";

        feed(events(), utf8(stream), 6);

        assertThat(reported()).isEqualTo(new PromptCacheStats(0, 0, 7, 0));
    }

    @Test
    void aStreamWithoutUsageReportsNothing() {
        String stream = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
                + "data: {\"choices\":[{\"delta\":{}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n"
                + "data: [DONE]\n\n";
        EventStreamScanner scanner = events();

        feed(scanner, utf8(stream), 10);

        assertThat(reported()).isEqualTo(PromptCacheStats.NONE);
        assertThat(scanner.done()).isFalse();
    }

    @Test
    void aBufferWithoutAnAccessibleArrayIsReadWithoutMovingIt() {
        byte[] bytes = utf8(ANSWER);
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
        ByteBuffer readOnly = direct.asReadOnlyBuffer();
        UsageScanner scanner = json();

        scanner.scan(readOnly);

        assertThat(readOnly.position()).isZero();
        assertThat(readOnly.remaining()).isEqualTo(bytes.length);
        assertThat(reported()).isEqualTo(new PromptCacheStats(0, 0, 1234, 1024));
    }
}

package dev.ailb.demo.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.AttemptTracer;
import dev.ailb.BackendStats;
import dev.ailb.LoadBalancerStats;
import dev.ailb.RoutingDecision;
import dev.ailb.health.HealthState;
import dev.ailb.spring.boot.PoolState;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Runs the Spring Boot sample in-process, its checks driven round by round in virtual time, and
 * checks the facts of its report: every answer came back whole and from the backend its attempt went
 * to, health showed three instances and then two, the stopped instance got no request once it was
 * marked down, and after the context closed the pool was closed with every lease released.
 */
class SpringBootSampleTest {

    @Test
    void theSampleAnswersThroughThePoolBypassesTheStoppedInstanceAndReleasesEveryLease() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        SpringBootSample.Report report;
        try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
            report = SpringBootSample.run(out, SpringBootSample.Checks.DRIVEN);
        }
        String printed = buffer.toString(StandardCharsets.UTF_8);
        String stopped = SpringBootSample.STOPPED;

        // the properties, printed once, as set
        assertThat(report.properties()).containsEntry("ailb.pools.chat.strategy", "least-connections")
                .containsEntry("ailb.pools.chat.health-check.path", "/health")
                .containsEntry("ailb.pools.chat.chat-model.enabled", "true");
        report.properties().forEach((key, value) ->
                assertThat(printed).containsOnlyOnce("\n  " + key + "=" + value + "\n"));

        // each answer is the greeting of the instance its attempt went to, routed by least load
        List<Assistant.Answer> answers = new ArrayList<>(report.before());
        answers.addAll(report.after());
        int whole = SpringBootSample.WHOLE_ANSWERS;
        for (List<Assistant.Answer> phase : List.of(report.before(), report.after())) {
            assertThat(phase).hasSize(whole + 1);
            assertThat(phase.subList(0, whole)).noneMatch(Assistant.Answer::streamed);
            assertThat(phase.get(whole).streamed()).isTrue();
        }
        for (Assistant.Answer answer : answers) {
            RoutingDecision decision = answer.decision();
            assertThat(answer.text()).isEqualTo("Hello from " + decision.backend());
            assertThat(decision.balancer()).isEqualTo(SpringBootSample.POOL);
            assertThat(decision.strategy()).isEqualTo("LEAST_CONNECTIONS");
            assertThat(decision.reason()).isEqualTo(RoutingDecision.Reason.LEAST_LOADED);
            assertThat(answer.outcome()).isEqualTo(AttemptTracer.Outcome.SUCCESS);
            assertThat(printed).contains("\"" + answer.text() + "\" -> " + decision.backend());
        }

        // health: three available, then two, the stopped one unhealthy for a refused check
        assertThat(report.healthBefore().status()).isEqualTo("UP");
        assertThat(report.healthBefore().available()).isEqualTo(3);
        assertThat(report.healthBefore().backends().values()).allMatch(PoolState.BackendState::available);
        assertThat(report.healthAfter().status()).isEqualTo("UP");
        assertThat(report.healthAfter().available()).isEqualTo(2);
        PoolState.BackendState down = report.healthAfter().backends().get(stopped);
        assertThat(down.available()).isFalse();
        assertThat(down.health()).isEqualTo(HealthState.UNHEALTHY);
        assertThat(down.lastFailure()).contains("/health");
        assertThat(printed).contains("health /actuator/health/ailb/chat: UP, 3 of 3 available")
                .contains("health /actuator/health/ailb/chat: UP, 2 of 3 available")
                .contains(stopped + " marked down after " + SpringBootSample.UNHEALTHY_THRESHOLD + " check rounds");

        // once down, the stopped instance got nothing: no attempt, no request
        assertThat(report.after()).extracting(Assistant.Answer::backend).doesNotContain(stopped);
        assertThat(report.chatRequests().get(stopped)).isEqualTo(report.stoppedRequestsAtDown());
        assertThat(printed).contains(stopped + " received 0 chat requests after it was marked down");

        // the context closed the pool; every lease was released, and the counts add up
        assertThat(report.closed()).isTrue();
        LoadBalancerStats stats = report.stats();
        assertThat(stats.backends()).allSatisfy(b -> {
            assertThat(b.activeConnections()).as(b.id()).isZero();
            assertThat(b.failures()).as(b.id()).isZero();
            assertThat(b.successes()).as(b.id()).isEqualTo(b.totalRequests());
            assertThat(b.totalRequests()).as(b.id()).isEqualTo(report.chatRequests().get(b.id()).longValue());
            assertThat(b.totalRequests()).as(b.id())
                    .isEqualTo(answers.stream().filter(a -> a.backend().equals(b.id())).count());
        });
        assertThat(stats.backends().stream().mapToLong(BackendStats::totalRequests).sum()).isEqualTo(answers.size());
        assertThat(printed).contains("context closed: pool closed=true, active connections 0")
                .contains("leases 8 = 8 successes + 0 failures; answers 8");
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a request says of the backend it needs and of how much it matters: model, priority, tenant, labels. */
class RequestRoutingTest {
    private static final Request REQUEST = new Request("req-1", "10.1.1.1", "/v1/chat/completions");

    @Test
    void aRequestNeedsNoModelHasStandardPriorityAndNoTenantByDefault() {
        assertThat(REQUEST.model()).isEmpty();
        assertThat(REQUEST.hasModel()).isFalse();
        assertThat(REQUEST.priority()).isEqualTo(Priority.STANDARD);
        assertThat(REQUEST.tenant()).isEmpty();
        assertThat(REQUEST.labels()).isSameAs(LabelSelector.none());
        assertThat(new Request("r", "", "/", 5, "hi").priority()).isEqualTo(Priority.STANDARD);
    }

    @Test
    void eachWithChangesOneFieldAndKeepsTheOthers() {
        LabelSelector gpu = LabelSelector.require("gpu", "h100");
        Request r = REQUEST.withPrompt("hello").withEstimatedTokens(30).withModel("sql-v2")
                .withPriority(Priority.CRITICAL).withTenant("acme").withLabels(gpu);

        assertThat(r).isEqualTo(new Request("req-1", "10.1.1.1", "/v1/chat/completions", 30, "hello", "sql-v2",
                Priority.CRITICAL, "acme", gpu));
        assertThat(r.withEstimatedTokens(1).model()).isEqualTo("sql-v2");
        assertThat(r.withPrompt("x").tenant()).isEqualTo("acme");
        assertThat(r.withModel("").hasModel()).isFalse();
        assertThat(r.withModel("").priority()).isEqualTo(Priority.CRITICAL);
        assertThat(r.withTenant("").labels()).isEqualTo(gpu);
        assertThat(r.withLabels(LabelSelector.none()).model()).isEqualTo("sql-v2");
        assertThat(r.toString()).isEqualTo("Request[id=req-1, clientIp=10.1.1.1, path=/v1/chat/completions, "
                + "estimatedTokens=30, prompt=<5 chars>, model=sql-v2, priority=CRITICAL, tenant=acme, "
                + "labels=LabelSelector{required={gpu=h100}, preferred={}}]");
    }

    @Test
    void aMalformedModelTenantPriorityOrSelectorIsRefusedByName() {
        assertThatThrownBy(() -> REQUEST.withModel(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("model: null (expected: non-null)");
        assertThatThrownBy(() -> REQUEST.withModel("  ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model: \"  \" (expected: not blank)");
        assertThatThrownBy(() -> REQUEST.withModel("a\nb")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model: \"a\\nb\" (expected: no control characters)");
        assertThatThrownBy(() -> REQUEST.withModel("m".repeat(257))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("model: \"mmmm").hasMessageEndingWith("(expected: at most 256 characters)");
        assertThatThrownBy(() -> REQUEST.withTenant(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tenant: \" \" (expected: not blank)");
        assertThatThrownBy(() -> REQUEST.withTenant(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("tenant: null (expected: non-null)");
        assertThatThrownBy(() -> REQUEST.withPriority(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("priority: null (expected: non-null)");
        assertThatThrownBy(() -> REQUEST.withLabels(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("labels: null (expected: non-null)");
    }

    @Test
    void aSelectorAdmitsBackendsWithEveryRequiredLabelAndPrefersThoseWithEveryPreferredOne() {
        LabelSelector s = LabelSelector.require("gpu", "h100").andPrefer("zone", "a");

        assertThat(s.admits(Map.of("gpu", "h100", "zone", "b"))).isTrue();
        assertThat(s.admits(Map.of("gpu", "a100", "zone", "a"))).isFalse();
        assertThat(s.admits(Map.of())).isFalse();
        assertThat(s.prefers(Map.of("gpu", "h100", "zone", "a"))).isTrue();
        assertThat(s.prefers(Map.of("gpu", "h100"))).isFalse();
        assertThat(LabelSelector.none().admits(Map.of())).isTrue();
        assertThat(LabelSelector.none().prefers(Map.of())).isTrue();
        assertThat(LabelSelector.none().isEmpty()).isTrue();
        assertThat(s.isEmpty()).isFalse();
        assertThat(s.required()).containsExactly(Map.entry("gpu", "h100"));
        assertThat(s.preferred()).containsExactly(Map.entry("zone", "a"));
        assertThat(s).isEqualTo(LabelSelector.prefer("zone", "a").andRequire("gpu", "h100"))
                .hasSameHashCodeAs(LabelSelector.prefer("zone", "a").andRequire("gpu", "h100"));
        assertThat(LabelSelector.require("k", "")).isNotEqualTo(LabelSelector.prefer("k", ""));
        assertThat(LabelSelector.require("topology.kubernetes.io/zone", "us-east-1a").admits(
                Map.of("topology.kubernetes.io/zone", "us-east-1a"))).isTrue();
    }

    @Test
    void aMalformedOrRepeatedLabelIsRefusedByNameAndTheSelectorIsUnchanged() {
        LabelSelector s = LabelSelector.require("gpu", "h100");

        assertThatThrownBy(() -> s.andPrefer("gpu", "a100")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("key: \"gpu\" (expected: a key not already in "
                        + "LabelSelector{required={gpu=h100}, preferred={}})");
        assertThatThrownBy(() -> s.andRequire("", "x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("key: \"\" (expected: 1 to 128 characters among letters, digits, '.', '_', '-' and '/')");
        assertThatThrownBy(() -> s.andRequire("zone", "a b")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("value: \"a b\" (expected: at most 128 characters among letters, digits, '.', '_' and '-')");
        assertThatThrownBy(() -> s.andRequire(null, "x")).isInstanceOf(NullPointerException.class)
                .hasMessage("key: null (expected: non-null)");
        assertThatThrownBy(() -> LabelSelector.prefer("zone", null)).isInstanceOf(NullPointerException.class)
                .hasMessage("value: null (expected: non-null)");
        assertThat(s).isEqualTo(LabelSelector.require("gpu", "h100"));
    }
}

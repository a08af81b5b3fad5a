package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** PREFIX_AFFINITY: affinity to the longest cached prefix, bounded load, agreement between replicas, feedback. */
class PrefixAffinityStrategyTest {
    private static final String[] IDS = {"a", "b", "c", "d", "e", "f"};
    /** One block at the defaults: 64 tokens of 4 characters. */
    private static final int BLOCK = 256;

    private final ManualTicker ticker = new ManualTicker();

    private LoadBalancer balancer(BalancingStrategy strategy, String... ids) {
        LoadBalancer lb = LoadBalancer.builder().strategy(strategy).ticker(ticker).random(new Random(3))
                .outlierDetection(OutlierDetection.disabled()).build();
        for (String id : ids) {
            lb.addBackend(id, "10.0.0." + (id.charAt(0) - 'a' + 1), 8000);
        }
        return lb;
    }

    private LoadBalancer balancer() {
        return balancer(BalancingStrategy.PREFIX_AFFINITY, IDS);
    }

    /** Text of {@code blocks} whole blocks, distinct for each seed. */
    private static String text(String seed, int blocks) {
        StringBuilder s = new StringBuilder();
        Random random = new Random(seed.hashCode());
        while (s.length() < blocks * BLOCK) {
            s.append(seed).append(' ').append(random.nextInt(1_000_000)).append(". ");
        }
        s.setLength(blocks * BLOCK);
        return s.toString();
    }

    private static Request request(String prompt) {
        return new Request("req", "10.1.1.1", "/v1/chat/completions").withPrompt(prompt);
    }

    private static Backend served(LoadBalancer lb, String prompt) {
        try (Lease lease = lb.acquire(request(prompt))) {
            lease.success();
            return lease.backend();
        }
    }

    @Test
    void aConversationsNextTurnsFollowItsFirst() {
        LoadBalancer lb = balancer();
        Map<Integer, Backend> first = new HashMap<>();
        List<String> prompts = new ArrayList<>();
        List<Lease> concurrent = new ArrayList<>();
        for (int c = 0; c < 30; c++) { // first turns in flight together: the load bound spreads them
            String turn1 = text("system " + (c % 3), 4) + text("user " + c, 2);
            prompts.add(turn1);
            Lease lease = lb.acquire(request(turn1));
            concurrent.add(lease);
            first.put(c, lease.backend());
        }
        concurrent.forEach(Lease::success);
        for (int turn = 2; turn <= 4; turn++) {
            for (int c = 0; c < 30; c++) {
                String next = prompts.get(c) + text("answer " + c + "/" + turn, 1) + text("user " + c + "/" + turn, 1);
                prompts.set(c, next);
                assertThat(served(lb, next)).as("conversation %d, turn %d", c, turn).isSameAs(first.get(c));
            }
        }
        // The conversations spread: a shared system prompt did not pull them all onto one backend.
        assertThat(first.values().stream().distinct().count()).isGreaterThanOrEqualTo(4);
    }

    @Test
    void balancersBuiltInDifferentOrdersPlaceNewPromptsAlike() {
        LoadBalancer one = balancer(BalancingStrategy.PREFIX_AFFINITY, "a", "b", "c", "d", "e", "f");
        LoadBalancer other = balancer(BalancingStrategy.PREFIX_AFFINITY, "f", "d", "b", "e", "c", "a");
        Map<String, Integer> counts = new HashMap<>();

        for (int i = 0; i < 300; i++) {
            String prompt = text("conversation " + i, 3);
            String placed = served(one, prompt).id();
            assertThat(served(other, prompt).id()).as("prompt %d", i).isEqualTo(placed);
            counts.merge(placed, 1, Integer::sum);
        }

        // Rendezvous hashing spreads new prompts evenly: 50 expected per backend.
        assertThat(counts).hasSize(6);
        assertThat(counts.values()).allSatisfy(n -> assertThat(n).isBetween(25, 80));
    }

    @Test
    void aNextTurnArrivingAtAnotherReplicaFollowsTheFirstOnceTheSystemPromptIsKnownToBoth() {
        LoadBalancer one = balancer();
        LoadBalancer other = balancer(BalancingStrategy.PREFIX_AFFINITY, "f", "e", "d", "c", "b", "a");
        String system = text("shared system prompt", 4);
        // Both replicas have seen the system prompt on several backends.
        for (int i = 0; i < 40; i++) {
            String prompt = system + text("warm " + i, 2);
            served(i % 2 == 0 ? one : other, prompt);
        }

        int followed = 0;
        for (int c = 0; c < 40; c++) {
            String turn1 = system + text("user " + c, 2);
            Backend first = served(one, turn1);
            String turn2 = turn1 + text("answer " + c, 1) + text("again " + c, 1);
            if (served(other, turn2).id().equals(first.id())) {
                followed++;
            }
        }

        assertThat(followed).isEqualTo(40);
    }

    @Test
    void onePrefixForEveryRequestDoesNotMeltOneBackend() {
        LoadBalancer lb = balancer();
        String prompt = text("the one prompt everybody sends", 8);
        List<Lease> held = new ArrayList<>();

        for (int k = 1; k <= 120; k++) {
            held.add(lb.acquire(request(prompt)));
            for (Backend b : lb.getBackends()) {
                // Bounded load: a backend takes the k-th request only while below 1.25 k / 6.
                assertThat(b.activeConnections()).as("after %d requests, %s", k, b.id())
                        .isLessThanOrEqualTo((int) Math.ceil(1.25 * k / 6));
            }
        }

        // The prefix spilled over, in its placement order, to as many backends as the bound needs.
        assertThat(lb.getBackends().stream().filter(b -> b.activeConnections() > 0).count()).isGreaterThanOrEqualTo(5);
        assertThat(lb.getBackends().stream().mapToInt(Backend::activeConnections).sum()).isEqualTo(120);
        held.forEach(Lease::success);
        assertThat(lb.getAllStats().metrics().activeConnections()).isZero();
    }

    @Test
    void aRequestWithoutAPromptGoesToTheLeastLoaded() {
        LoadBalancer lb = balancer();
        for (String id : new String[] {"a", "b", "c", "e", "f"}) {
            lb.acquireConnection(lb.getBackend(id).orElseThrow());
        }

        Backend chosen = lb.selectBackend(new Request("r", "10.1.1.1", "/v1/models"));
        Backend shortPrompt = lb.selectBackend(request("shorter than a block"));

        assertThat(chosen.id()).isEqualTo("d");
        assertThat(shortPrompt.id()).isEqualTo("d");
    }

    @Test
    void saturatedBackendsAreLeftOut() {
        LoadBalancer lb = balancer();
        String turn1 = text("system", 4) + text("user", 2);
        Backend holder = served(lb, turn1);

        lb.updateBackendResources(holder.id(), LoadReport.builder().waitingRequests(50).build());
        Backend next = served(lb, turn1 + text("more", 2));

        assertThat(next).isNotSameAs(holder);
        lb.updateBackendResources(holder.id(), LoadReport.builder().waitingRequests(0).build());
        assertThat(served(lb, turn1 + text("more", 2))).as("back once it reports a short queue")
                .isIn(holder, next);
    }

    @Test
    void aFullKvCacheAloneDoesNotLeaveABackendOut() {
        LoadBalancer lb = balancer();
        String turn1 = text("system", 4) + text("user", 2);
        Backend holder = served(lb, turn1);

        lb.updateBackendResources(holder.id(), LoadReport.builder().waitingRequests(0).kvCacheUsage(0.99).build());

        assertThat(served(lb, turn1 + text("more", 2))).isSameAs(holder);
        ticker.advance(Duration.ofSeconds(6));
        lb.updateBackendResources(holder.id(), LoadReport.builder().waitingRequests(9).build());
        ticker.advance(Duration.ofSeconds(6));
        assertThat(served(lb, turn1 + text("more", 3))).as("a queue reported 6 s ago is forgotten").isSameAs(holder);
    }

    @Test
    void anImbalancedFleetIsRoutedByLoadAlone() {
        LoadBalancer lb = balancer(BalancingStrategy.PREFIX_AFFINITY, "a", "b", "c");
        for (int i = 0; i < 40; i++) {
            lb.acquireConnection(lb.getBackend("a").orElseThrow());
        }
        lb.acquireConnection(lb.getBackend("b").orElseThrow());

        for (int i = 0; i < 30; i++) {
            assertThat(lb.selectBackend(request(text("new " + i, 2))).id()).isEqualTo("c");
        }
    }

    @Test
    void withinTheImbalanceThresholdsPromptsStillDecide() {
        BalancingStrategy lenient = PrefixAffinity.builder().imbalance(1_000, 10).build();
        LoadBalancer lb = balancer(lenient, "a", "b", "c");
        for (int i = 0; i < 40; i++) {
            lb.acquireConnection(lb.getBackend("a").orElseThrow());
        }
        lb.acquireConnection(lb.getBackend("b").orElseThrow());
        lb.acquireConnection(lb.getBackend("c").orElseThrow());

        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 60; i++) {
            counts.merge(lb.selectBackend(request(text("new " + i, 2))).id(), 1, Integer::sum);
        }

        // "a" is above the load bound; "b" and "c", equally loaded, share the new prompts by their hashes.
        assertThat(counts).doesNotContainKey("a");
        assertThat(counts.get("b")).isGreaterThan(10);
        assertThat(counts.get("c")).isGreaterThan(10);
    }

    @Test
    void predictionsAndReportsShowInTheBackendsStats() {
        LoadBalancer lb = balancer();
        String turn1 = text("system", 4) + text("user", 2); // 6 blocks, 384 tokens
        Backend holder = served(lb, turn1);
        String turn2 = turn1 + text("answer", 2); // 8 blocks

        try (Lease lease = lb.acquire(request(turn2))) {
            assertThat(lease.backend()).isSameAs(holder);
            lease.reportCachedTokens(512, 384);
            lease.success();
        }

        PromptCacheStats stats = lb.getBackendStats(holder.id()).promptCache();
        assertThat(stats.predictedPromptTokens()).isEqualTo(384 + 512);
        assertThat(stats.predictedCachedTokens()).isEqualTo(384);
        assertThat(stats.reportedCachedTokens()).isEqualTo(384);
        assertThat(stats.predictedHitRate()).isEqualTo(384.0 / 896);
    }

    @Test
    void aRefutedPredictionDropsTheEntriesThatAreAtLeastAsOld() {
        LoadBalancer lb = balancer(BalancingStrategy.PREFIX_AFFINITY, "a");
        String older = text("older conversation", 6);
        String newer = text("newer conversation", 6);
        served(lb, older);
        served(lb, newer);

        try (Lease lease = lb.acquire(request(newer + text("turn 2", 2)))) {
            // The server had none of it: it evicted the newer conversation, hence the older too.
            lease.reportCachedTokens(512, 0);
            lease.success();
        }

        Backend a = lb.getBackend("a").orElseThrow();
        long before = a.promptCache().predictedCachedTokens();
        served(lb, older + text("older, turn 2", 2));
        assertThat(a.promptCache().predictedCachedTokens()).as("nothing predicted of the older one").isEqualTo(before);
        served(lb, newer + text("turn 2", 2) + text("turn 3", 1));
        assertThat(a.promptCache().predictedCachedTokens() - before)
                .as("the refuted request's own prompt is cached now, and predicted").isEqualTo(8 * 64);
    }

    @Test
    void aConfirmedPredictionKeepsTheEntries() {
        LoadBalancer lb = balancer(BalancingStrategy.PREFIX_AFFINITY, "a");
        String older = text("older conversation", 6);
        String newer = text("newer conversation", 6);
        served(lb, older);
        served(lb, newer);

        try (Lease lease = lb.acquire(request(newer + text("turn 2", 2)))) {
            lease.reportCachedTokens(512, 384);
            lease.success();
        }

        Backend a = lb.getBackend("a").orElseThrow();
        long before = a.promptCache().predictedCachedTokens();
        served(lb, older + text("older, turn 2", 2));
        assertThat(a.promptCache().predictedCachedTokens() - before).isEqualTo(6 * 64);
    }

    @Test
    void aBackendThatLeavesTheAvailableSetLosesItsIndex() {
        LoadBalancer lb = balancer(BalancingStrategy.PREFIX_AFFINITY, "a", "b");
        String turn1 = text("system", 4) + text("user", 2);
        Backend holder = served(lb, turn1);
        long before = holder.promptCache().predictedCachedTokens();

        lb.setBackendHealthy(holder.id(), false);
        lb.setBackendHealthy(holder.id(), true);
        lb.setBackendHealthy(holder.id().equals("a") ? "b" : "a", false);
        served(lb, turn1 + text("turn 2", 2));

        assertThat(holder.promptCache().predictedCachedTokens()).isEqualTo(before);
    }

    @Test
    void theIndexIsSizedFromTheKvCacheCapacityTheBackendReports() {
        LoadBalancer lb = balancer(BalancingStrategy.PREFIX_AFFINITY, "a");
        // 640 tokens of KV cache: ten blocks of 64.
        lb.updateBackendResources("a", LoadReport.builder().waitingRequests(0).kvCacheCapacityTokens(640).build());
        String first = text("first conversation", 8);
        served(lb, first);
        served(lb, text("second conversation", 8));

        // Ten blocks held: the second prompt's eight and two of the first; its longest went first.
        Backend a = lb.getBackend("a").orElseThrow();
        long before = a.promptCache().predictedCachedTokens();
        served(lb, first + text("turn 2", 1));
        assertThat(a.promptCache().predictedCachedTokens() - before).isEqualTo(2 * 64);
    }

    @Test
    void aSessionsRequestsTeachTheIndexToo() {
        LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.PREFIX_AFFINITY).ticker(ticker)
                .outlierDetection(OutlierDetection.disabled()).sessionAffinity(SessionAffinity.TABLE).build();
        for (String id : IDS) {
            lb.addBackend(id, "10.0.0.1", 8000);
        }
        String turn1 = text("system", 4) + text("user", 2);
        Backend bound;
        try (Lease lease = lb.acquire(request(turn1), "session-1")) {
            bound = lease.backend();
            lease.success();
        }
        try (Lease lease = lb.acquire(request(turn1 + text("turn 2", 2)), "session-1")) {
            assertThat(lease.backend()).isSameAs(bound);
            lease.success();
        }

        // Without the session, the next turn follows what the session's requests taught the index.
        assertThat(served(lb, turn1 + text("turn 2", 2) + text("turn 3", 2))).isSameAs(bound);
        assertThat(bound.promptCache().predictedCachedTokens()).isEqualTo(6 * 64 + 8 * 64);
    }

    @Test
    void aTokenizerCutsBlocksOfRealTokens() {
        Tokenizer perWord = text -> text.isEmpty() ? new int[0]
                : java.util.Arrays.stream(text.split(" ")).mapToInt(String::hashCode).toArray();
        BalancingStrategy strategy = PrefixAffinity.builder().tokenizer(perWord).blockTokens(4).build();
        LoadBalancer lb = balancer(strategy, IDS);
        String turn1 = "you are terse . tell me about the sea and the sky";
        Backend first = served(lb, turn1);

        try (Lease lease = lb.acquire(request(turn1 + " and then the land"))) {
            assertThat(lease.backend()).isSameAs(first);
            lease.success();
        }
        // 12 words: three blocks of 4 predicted cached of 16.
        assertThat(first.promptCache().predictedCachedTokens()).isEqualTo(12);
        assertThat(first.promptCache().predictedPromptTokens()).isEqualTo(12 + 16);
    }

    @Test
    void aTokenizerThatReturnsNullFailsThePickClearly() {
        BalancingStrategy broken = PrefixAffinity.builder().tokenizer(text -> null).build();
        LoadBalancer lb = balancer(broken, "a", "b");

        assertThatThrownBy(() -> lb.selectBackend(request("some prompt")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("returned null for a prompt of 11 characters");
        assertThat(lb.getAllStats().metrics().totalRequests()).isZero();
    }

    @Test
    void hugePromptsAreHashedUpToTheBound() {
        BalancingStrategy bounded = PrefixAffinity.builder().maxPromptBlocks(4).build();
        LoadBalancer lb = balancer(bounded, IDS);
        String shared = text("shared beginning", 4);

        Backend first = served(lb, shared + text("one tail", 200));
        Backend second = served(lb, shared + text("another tail", 200));

        // Only the first four blocks count: both prompts are the same prompt to the strategy.
        assertThat(second).isSameAs(first);
        assertThat(first.promptCache().predictedCachedTokens()).isEqualTo(4 * 64);
    }

    @Test
    void theSettingsAreCheckedByName() {
        assertThatThrownBy(() -> PrefixAffinity.builder().blockTokens(0)).hasMessage("blockTokens: 0 (expected: 1..65536)");
        assertThatThrownBy(() -> PrefixAffinity.builder().charsPerToken(65))
                .hasMessage("charsPerToken: 65 (expected: 1..64)");
        assertThatThrownBy(() -> PrefixAffinity.builder().maxPromptBlocks(-1))
                .hasMessage("maxPromptBlocks: -1 (expected: 1..65536)");
        assertThatThrownBy(() -> PrefixAffinity.builder().indexBlocks(0))
                .hasMessage("indexBlocks: 0 (expected: 1..16777216)");
        assertThatThrownBy(() -> PrefixAffinity.builder().loadBound(0.9))
                .hasMessage("loadBound: 0.9 (expected: a finite number >= 1.0)");
        assertThatThrownBy(() -> PrefixAffinity.builder().loadBound(Double.NaN))
                .hasMessage("loadBound: NaN (expected: a finite number >= 1.0)");
        assertThatThrownBy(() -> PrefixAffinity.builder().imbalance(-1, 2))
                .hasMessage("absolute: -1.0 (expected: a finite number >= 0)");
        assertThatThrownBy(() -> PrefixAffinity.builder().imbalance(1, 0.5))
                .hasMessage("relative: 0.5 (expected: a finite number >= 1.0)");
        assertThatThrownBy(() -> PrefixAffinity.builder().maxReportAge(Duration.ZERO))
                .hasMessage("maxReportAge: PT0S (expected: > 0)");
        assertThatThrownBy(() -> PrefixAffinity.builder().tokenizer(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("tokenizer: null (expected: non-null)");
        PrefixAffinity defaults = PrefixAffinity.builder().build();
        assertThat(defaults.toString()).isEqualTo("PREFIX_AFFINITY{blockTokens=64, charsPerToken=4, maxPromptBlocks=2048,"
                + " indexBlocks=8192, loadBound=1.25, imbalance=32.0/1.5, saturatedQueue=5, maxReportAge=PT5S}");
        assertThat(BalancingStrategy.builtIn("PREFIX_AFFINITY")).isSameAs(BalancingStrategy.PREFIX_AFFINITY);
    }
}

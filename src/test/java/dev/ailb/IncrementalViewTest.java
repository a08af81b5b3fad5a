package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.health.AllUnhealthyPolicy;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A view derived from the one before it and the one backend that changed
 * ({@link Registry#withChange}) must equal the view built from the whole fleet: the same lists,
 * the same map of ids, the same candidates for every kind of request kept, and, where the strategy
 * is deterministic, the same picks. Driven through the public API by a seeded run of joins,
 * removals (some while requests are in flight), health flips, weights and maintenance, under
 * every built-in strategy, failing open or not; the requests in flight are counted throughout.
 */
class IncrementalViewTest {
    private static final String[] KIND_MODELS = {"m1", "m2", "", "m1"};
    private static final LabelSelector[] KIND_LABELS = {LabelSelector.none(), LabelSelector.require("zone", "a"),
            LabelSelector.require("zone", "b"), LabelSelector.prefer("zone", "a")};

    static Stream<Arguments> strategies() {
        List<Arguments> out = new ArrayList<>();
        for (String name : List.of("ROUND_ROBIN", "WEIGHTED_ROUND_ROBIN", "LEAST_CONNECTIONS", "LEAST_RESPONSE_TIME",
                "IP_HASH", "RANDOM", "RESOURCE_BASED", "PREFIX_AFFINITY")) {
            out.add(Arguments.of(name, false));
            out.add(Arguments.of(name, true));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}, fail open {1}")
    @MethodSource("strategies")
    void viewsFollowingOneChangeEqualViewsBuiltFromTheWholeFleet(String strategy, boolean failOpen)
            throws ReflectiveOperationException {
        // given: a fleet of a few models and zones, and requests of four kinds routed once each
        LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.builtIn(strategy))
                .allUnhealthyPolicy(failOpen ? AllUnhealthyPolicy.FAIL_OPEN : AllUnhealthyPolicy.FAIL_CLOSED)
                .build();
        Random random = new Random(strategy.hashCode() * 31L + (failOpen ? 1 : 0));
        try (lb) {
            for (int i = 0; i < 12; i++) {
                add(lb, "b" + i, random);
            }
            for (int k = 0; k < KIND_MODELS.length; k++) {
                routeOnce(lb, kindRequest(k, "10.1.0.1"));
            }
            Map<Backend, Integer> inFlight = new IdentityHashMap<>();

            // when: one change at a time
            for (int step = 0; step < 400; step++) {
                String id = "b" + random.nextInt(20);
                Backend backend = lb.getBackend(id).orElse(null);
                int op = random.nextInt(8);
                try {
                    if (backend == null) {
                        add(lb, id, random);
                    } else if (op == 0) {
                        lb.removeBackend(id);
                    } else if (op <= 2) {
                        lb.setBackendHealthy(id, random.nextInt(3) > 0);
                    } else if (op == 3) {
                        lb.setWeight(id, 1 + random.nextInt(4));
                    } else if (op == 4) {
                        if (backend.isInMaintenance()) {
                            lb.endMaintenance(id);
                        } else {
                            lb.beginMaintenance(id);
                        }
                    } else if (op == 5 && backend.isAvailable()) {
                        lb.acquireConnection(backend);
                        inFlight.merge(backend, 1, Integer::sum);
                    } else if (!inFlight.isEmpty()) {
                        Backend held = inFlight.keySet().iterator().next();
                        if (inFlight.merge(held, -1, Integer::sum) == 0) {
                            inFlight.remove(held);
                        }
                        lb.releaseConnection(held, 1_000_000L, true);
                    }
                } catch (IllegalStateException e) {
                    // a change refused (a removal under way): the view must still be the fleet's
                }

                // then
                assertViewIsTheFleets(lb, strategy, failOpen, "step " + step);
                for (Backend b : lb.getBackends()) {
                    assertThat(b.activeConnections()).as("step %d, %s", step, b.id())
                            .isEqualTo(inFlight.getOrDefault(b, 0));
                }
            }

            // and: every request in flight is released, every drain finishes, nothing is left over
            inFlight.forEach((b, n) -> {
                for (int i = 0; i < n; i++) {
                    lb.releaseConnection(b, 1_000_000L, true);
                }
            });
            for (Backend b : lb.getBackends()) {
                assertThat(b.activeConnections()).isZero();
                assertThat(b.isDraining()).as(b.id()).isFalse();
            }
            assertViewIsTheFleets(lb, strategy, failOpen, "at the end");
        }
    }

    private static void add(LoadBalancer lb, String id, Random random) {
        int n = Integer.parseInt(id.substring(1));
        BackendProfile profile = BackendProfile.builder().model(n % 3 == 0 ? "m2" : "m1")
                .label("zone", n % 2 == 0 ? "a" : "b").build();
        // 10.x addresses are labels: nothing connects to them.
        lb.addBackend(id, "10.0.0." + (n + 1), 8000, 1 + random.nextInt(4), profile);
    }

    private static Request kindRequest(int k, String ip) {
        Request request = new Request("r", ip, "/v1/completions").withLabels(KIND_LABELS[k]);
        return KIND_MODELS[k].isEmpty() ? request : request.withModel(KIND_MODELS[k]);
    }

    private static void routeOnce(LoadBalancer lb, Request request) {
        try {
            lb.selectBackend(request);
        } catch (NoAvailableBackendException e) {
            // the kind is kept all the same
        }
    }

    private static void assertViewIsTheFleets(LoadBalancer lb, String strategy, boolean failOpen, String when)
            throws ReflectiveOperationException {
        RoutingTable table = field(lb, "table");
        SelectionContext context = field(lb, "context");
        Registry view = table.current();
        BalancingStrategy s = view.strategy;
        Subsets fresh = new Subsets(s, context);
        for (int k = 0; k < KIND_MODELS.length; k++) {
            fresh.add(KIND_MODELS[k], KIND_LABELS[k]);
        }
        Registry whole = Registry.build(s, RoutingTable.selectorOf(s, context), fresh, view.all,
                Backend::isInService, failOpen);

        assertThat(view.available).as(when).containsExactlyElementsOf(whole.available);
        assertThat(view.routable).as(when).containsExactlyElementsOf(whole.routable);
        assertThat(view.panic).as(when).isEqualTo(whole.panic);
        if (failOpen) {
            assertThat(view.inService).as(when).containsExactlyElementsOf(whole.inService);
        }
        assertThat(view.ejecting).as(when).isEqualTo(whole.ejecting);
        assertThat(new HashMap<>(view.byId)).as(when).isEqualTo(new HashMap<>(whole.byId));
        assertSamePicks(strategy, view.routable, view.picker, whole.picker, when);
        for (int k = 0; k < KIND_MODELS.length; k++) {
            Candidates mine = view.candidatesOf(KIND_MODELS[k], KIND_LABELS[k]);
            Candidates theirs = whole.candidatesOf(KIND_MODELS[k], KIND_LABELS[k]);
            String kind = when + ", kind " + k;
            assertThat(mine.backends).as(kind).containsExactlyElementsOf(theirs.backends);
            assertThat(mine.admitted).as(kind).containsExactlyElementsOf(theirs.admitted);
            assertThat(mine.panic).as(kind).isEqualTo(theirs.panic);
            assertSamePicks(strategy, mine.backends, mine.picker, theirs.picker, kind);
        }
    }

    /**
     * The hash ring places every address where a ring built afresh does; weighted round robin
     * gives each backend the same count over a whole number of periods; any other strategy picks
     * only among the backends its picker was built for.
     */
    private static void assertSamePicks(String strategy, List<Backend> backends, Picker mine, Picker theirs,
            String when) {
        if (backends.isEmpty()) {
            return;
        }
        if (strategy.equals("IP_HASH")) {
            for (int i = 0; i < 300; i++) {
                Request r = new Request("r", "172.16." + (i >> 8) + "." + (i & 255), "/");
                assertThat(mine.pick(r)).as("%s, address %d", when, i).isSameAs(theirs.pick(r));
            }
        } else if (strategy.equals("WEIGHTED_ROUND_ROBIN")) {
            int total = 0;
            for (Backend b : backends) {
                total += b.weight();
            }
            Request r = new Request("r", "10.1.0.1", "/");
            Map<Backend, Integer> mineCounts = new IdentityHashMap<>();
            Map<Backend, Integer> theirCounts = new IdentityHashMap<>();
            for (int i = 0; i < total; i++) {
                mineCounts.merge(mine.pick(r), 1, Integer::sum);
                theirCounts.merge(theirs.pick(r), 1, Integer::sum);
            }
            assertThat(mineCounts).as(when).isEqualTo(theirCounts);
        } else {
            Request r = new Request("r", "10.1.0.1", "/").withPrompt("a prompt of some length to match on");
            for (int i = 0; i < 50; i++) {
                assertThat(backends).as(when).contains(mine.pick(r));
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> T field(LoadBalancer lb, String name) throws ReflectiveOperationException {
        Field f = LoadBalancer.class.getDeclaredField(name);
        f.setAccessible(true);
        return (T) f.get(lb);
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.AllUnhealthyPolicy;
import dev.ailb.health.HealthState;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.ScriptedHealthCheck;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Random programs of operations on one balancer, each step checked against a plain model of what
 * the balancer promises: who is registered, available, draining or in maintenance; active
 * connections equal to acquires minus releases and never negative; request, success, failure,
 * rejection and session counters that add up; a removed backend leaving exactly when its last
 * connection is released (or its drain times out); sessions that stay on their backend while it
 * can take requests; passive ejection after a run of failures, within the ejection cap, ending
 * on time on probation.
 *
 * <p>The model is written from the documented behaviour, not from the implementation, and is
 * deliberately simple: five backend ids that come and go, time in whole seconds, ejections that
 * always last {@link #EJECTION}. jqwik shrinks a failing program to a short one; such programs are
 * kept as plain regression tests at the end of this class.
 */
class LoadBalancerModelTest {
    static final int SLOTS = 5;
    static final int FAILURES_TO_EJECT = 3;
    static final int HEALTHY_THRESHOLD = 2;
    static final int UNHEALTHY_THRESHOLD = 3;
    static final Duration EJECTION = Duration.ofSeconds(30);
    static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(90);

    @Property
    void everyStepAgreesWithTheModel(@ForAll("programs") List<Op> program, @ForAll boolean failOpen,
            @ForAll boolean consistentHash) {
        try (Harness h = new Harness(failOpen, consistentHash)) {
            h.run(program);
        }
    }

    /**
     * Found by the property: a backend whose third failure in a row came while it was in
     * maintenance (so it could not be ejected) was never ejected afterwards, because only the
     * failure that reached the threshold exactly was considered.
     */
    @Example
    void aRunOfFailuresThatReachedTheThresholdInMaintenanceEjectsOnTheNextFailure() {
        try (Harness h = new Harness(false, false)) {
            h.run(List.of(new Add(0, 1), new Add(1, 1),
                    new AcquireDirect(0), new AcquireDirect(0), new AcquireDirect(0),
                    new Drain(0),
                    new Release(0, 1, 5), new Release(0, 1, 5), new Release(0, 1, 5),
                    new Undrain(0), new AcquireDirect(0), new Release(0, 1, 5)));
            assertThat(h.lb.getBackend("b0").orElseThrow().healthState()).isEqualTo(HealthState.EJECTED);
        }
    }

    @Provide
    Arbitrary<List<Op>> programs() {
        Arbitrary<Integer> slot = Arbitraries.integers().between(0, SLOTS - 1);
        Arbitrary<Integer> client = Arbitraries.integers().between(0, 20);
        Arbitrary<Integer> session = Arbitraries.integers().between(-1, 5);
        Arbitrary<Integer> pick = Arbitraries.integers().between(0, 1_000);
        Arbitrary<Op> op = Arbitraries.frequencyOf(
                Tuple.of(6, Combinators.combine(slot, Arbitraries.integers().between(1, 5)).as(Add::new)),
                Tuple.of(3, slot.map(Remove::new)),
                Tuple.of(2, slot.map(Drain::new)),
                Tuple.of(2, slot.map(Undrain::new)),
                Tuple.of(3, Combinators.combine(slot, Arbitraries.of(true, false)).as(SetHealthy::new)),
                Tuple.of(3, Arbitraries.integers().between(0, (1 << SLOTS) - 1).map(HealthRound::new)),
                Tuple.of(3, Arbitraries.integers().between(0, 45).map(Advance::new)),
                Tuple.of(2, Arbitraries.integers().between(0, BalancingStrategy.builtIns().size() - 1)
                        .map(SetStrategy::new)),
                Tuple.of(8, Combinators.combine(client, session, Arbitraries.of(true, false)).as(Select::new)),
                Tuple.of(10, Combinators.combine(client, session, Arbitraries.of(true, false)).as(Acquire::new)),
                Tuple.of(2, slot.map(AcquireDirect::new)),
                Tuple.of(12, Combinators.combine(pick, Arbitraries.integers().between(0, 2),
                        Arbitraries.integers().between(0, 500)).as(Release::new)),
                Tuple.of(1, slot.map(ReleaseUnheld::new)),
                Tuple.of(1, Combinators.combine(slot, Arbitraries.integers().between(0, 10),
                        Arbitraries.integers().between(0, 10)).as(Resources::new)));
        return op.list().ofMinSize(1).ofMaxSize(80);
    }

    // ---------------------------------------------------------------- operations

    /** One step of a program; indices are taken modulo what exists when the step runs. */
    sealed interface Op {}

    record Add(int slot, int weight) implements Op {}

    record Remove(int slot) implements Op {}

    record Drain(int slot) implements Op {}

    record Undrain(int slot) implements Op {}

    record SetHealthy(int slot, boolean healthy) implements Op {}

    /** One round of active checks; bit {@code slot} of {@code passing} says whether that slot passes. */
    record HealthRound(int passing) implements Op {}

    record Advance(int seconds) implements Op {}

    record SetStrategy(int index) implements Op {}

    /** {@code session < 0}: no session; {@code tryVariant}: trySelectBackend where there is one. */
    record Select(int client, int session, boolean tryVariant) implements Op {}

    /** With {@code lease}, {@code acquire(...)}; without, {@code selectBackend} then {@code acquireConnection}. */
    record Acquire(int client, int session, boolean lease) implements Op {}

    /** {@code acquireConnection} on the slot's latest backend object, even one that was removed. */
    record AcquireDirect(int slot) implements Op {}

    /** Releases held connection {@code index % held}: outcome 0 success, 1 failure, 2 close. */
    record Release(int index, int outcome, int millis) implements Op {}

    /** A release on a backend the model holds no connection on: always rejected. */
    record ReleaseUnheld(int slot) implements Op {}

    record Resources(int slot, int cpuTenths, int memoryTenths) implements Op {}

    // ---------------------------------------------------------------- the model

    /** What the model knows of one backend object (one registration of an id). */
    static final class Model {
        final String id;
        final Backend real;
        boolean removing;
        boolean left;
        boolean maintenance;
        /** Down by active checks or by hand; one flag, as the documentation describes it. */
        boolean down;
        int checkFailures;
        int checkSuccesses;
        boolean ejected;
        boolean probation;
        long ejectedUntil;
        long removedAt;
        int streak;
        int active;
        long selections;
        long successes;
        long failures;
        final List<CompletableFuture<Void>> removals = new ArrayList<>();
        final List<CompletableFuture<Void>> maintenanceDrains = new ArrayList<>();
        /** Whether the current maintenance wait has completed (reached zero, or the backend left). */
        boolean maintenanceDone;

        Model(String id, Backend real) {
            this.id = id;
            this.real = real;
        }

        HealthState state() {
            return down ? HealthState.UNHEALTHY : ejected ? HealthState.EJECTED : HealthState.HEALTHY;
        }

        boolean inService() {
            return !left && !removing && !maintenance;
        }

        boolean available() {
            return inService() && state() == HealthState.HEALTHY;
        }
    }

    /** Where a session was hashed to, and the routable backends it was hashed over. */
    record Placement(List<Backend> routable, Backend backend) {}

    /** A held connection: through a lease, or acquired by hand. */
    record Held(Model backend, Lease lease) {}

    /** A balancer, the model beside it, and the checks that compare them. */
    static final class Harness implements AutoCloseable {
        final ManualTicker ticker = new ManualTicker();
        final ManualScheduler scheduler = new ManualScheduler(ticker);
        final ScriptedHealthCheck checks = new ScriptedHealthCheck(ticker::read);
        final boolean failOpen;
        final boolean consistentHash;
        /** With consistent hashing: where each session went, and over which routable set. */
        final Map<String, Placement> hashed = new HashMap<>();
        final LoadBalancer lb;
        final Map<Backend, int[]> events = new IdentityHashMap<>(); // added, removed
        final LinkedHashMap<String, Model> present = new LinkedHashMap<>();
        final Map<String, Model> latest = new HashMap<>();
        final List<Model> gone = new ArrayList<>();
        final Map<String, Model> sessions = new HashMap<>();
        /** Sessions whose backend left: remembered without it, so that their next placement is a rebind. */
        final Set<String> unbound = new HashSet<>();
        final List<Held> held = new ArrayList<>();
        BalancingStrategy strategy = BalancingStrategy.ROUND_ROBIN;
        long requests;
        long rejected;
        long successes;
        long failures;
        long sessionHits;
        long sessionMisses;
        long sessionRebinds;
        int requestIds;
        final List<Op> done = new ArrayList<>();

        Harness(boolean failOpen, boolean consistentHash) {
            this.failOpen = failOpen;
            this.consistentHash = consistentHash;
            lb = LoadBalancer.builder()
                    .strategy(strategy)
                    .ticker(ticker)
                    .random(new java.util.SplittableRandom(42))
                    .healthCheckScheduler(scheduler)
                    .healthCheck(checks)
                    .healthyThreshold(HEALTHY_THRESHOLD)
                    .unhealthyThreshold(UNHEALTHY_THRESHOLD)
                    .drainTimeout(DRAIN_TIMEOUT)
                    .sessionIdleTimeout(Duration.ofHours(24))
                    .sessionAffinity(consistentHash ? SessionAffinity.CONSISTENT_HASH : SessionAffinity.TABLE)
                    .allUnhealthyPolicy(failOpen ? AllUnhealthyPolicy.FAIL_OPEN : AllUnhealthyPolicy.FAIL_CLOSED)
                    .outlierDetection(OutlierDetection.builder()
                            .consecutiveFailures(FAILURES_TO_EJECT)
                            .baseEjectionTime(EJECTION)
                            .maxEjectionTime(EJECTION)
                            .maxEjectionPercent(50)
                            .build())
                    .build();
            lb.addListener(new LoadBalancerListener() {
                @Override
                public void onBackendAdded(Backend backend) {
                    events.computeIfAbsent(backend, b -> new int[2])[0]++;
                }

                @Override
                public void onBackendRemoved(Backend backend) {
                    events.computeIfAbsent(backend, b -> new int[2])[1]++;
                }
            });
        }

        void run(List<Op> program) {
            for (Op op : program) {
                done.add(op);
                apply(op);
                check();
            }
            releaseEverything();
            check();
            for (Model m : gone) {
                assertThat(m.active).as("%s after every release", m.id).isZero();
            }
            assertThat(present.values()).noneMatch(m -> m.removing);
        }

        void apply(Op op) {
            if (op instanceof Add a) {
                add(a);
            } else if (op instanceof Remove r) {
                remove(r.slot());
            } else if (op instanceof Drain d) {
                drain(d.slot());
            } else if (op instanceof Undrain u) {
                undrain(u.slot());
            } else if (op instanceof SetHealthy s) {
                setHealthy(s.slot(), s.healthy());
            } else if (op instanceof HealthRound r) {
                healthRound(r.passing());
            } else if (op instanceof Advance a) {
                advance(a.seconds());
            } else if (op instanceof SetStrategy s) {
                setStrategy(s.index());
            } else if (op instanceof Select s) {
                select(s);
            } else if (op instanceof Acquire a) {
                acquire(a);
            } else if (op instanceof AcquireDirect a) {
                acquireDirect(a.slot());
            } else if (op instanceof Release r) {
                release(r);
            } else if (op instanceof ReleaseUnheld r) {
                releaseUnheld(r.slot());
            } else if (op instanceof Resources r) {
                resources(r);
            } else {
                throw new AssertionError("unknown operation " + op);
            }
        }

        static String id(int slot) {
            return "b" + slot;
        }

        // ---- registration

        void add(Add a) {
            String id = id(a.slot());
            if (present.containsKey(id)) {
                assertThatThrownBy(() -> lb.addBackend(id, "127.0.0.1", 8000 + a.slot(), a.weight()))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(id);
                return;
            }
            Backend real = lb.addBackend(id, "127.0.0.1", 8000 + a.slot(), a.weight());
            Model m = new Model(id, real);
            present.put(id, m);
            latest.put(id, m);
        }

        void remove(int slot) {
            Model m = present.get(id(slot));
            if (m == null) {
                assertThatThrownBy(() -> lb.removeBackend(id(slot))).isInstanceOf(IllegalArgumentException.class);
                return;
            }
            CompletableFuture<Void> removal = lb.removeBackend(m.id);
            m.removals.add(removal);
            if (!m.removing) {
                m.removing = true;
                m.maintenance = false;
                m.removedAt = ticker.read();
                if (m.active == 0) {
                    leave(m);
                }
            }
        }

        void leave(Model m) {
            m.left = true;
            m.removing = false;
            m.maintenanceDone = true; // a maintenance wait superseded by the removal completes with it
            present.remove(m.id);
            gone.add(m);
            sessions.entrySet().removeIf(e -> {
                if (e.getValue() == m) {
                    unbound.add(e.getKey());
                    return true;
                }
                return false;
            });
        }

        void drain(int slot) {
            Model m = present.get(id(slot));
            if (m == null) {
                assertThatThrownBy(() -> lb.beginMaintenance(id(slot))).isInstanceOf(IllegalArgumentException.class);
                return;
            }
            if (m.removing) {
                assertThatThrownBy(() -> lb.beginMaintenance(m.id)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("not being removed");
                return;
            }
            CompletableFuture<Void> drained = lb.beginMaintenance(m.id);
            if (!m.maintenance) {
                m.maintenance = true;
                m.maintenanceDrains.clear();
                m.maintenanceDone = m.active == 0;
            }
            m.maintenanceDrains.add(drained);
        }

        void undrain(int slot) {
            Model m = present.get(id(slot));
            if (m == null) {
                assertThatThrownBy(() -> lb.endMaintenance(id(slot))).isInstanceOf(IllegalArgumentException.class);
                return;
            }
            if (m.removing) {
                assertThatThrownBy(() -> lb.endMaintenance(m.id)).isInstanceOf(IllegalStateException.class);
                return;
            }
            assertThat(lb.endMaintenance(m.id)).isEqualTo(m.maintenance);
            if (m.maintenance) {
                m.maintenance = false;
                for (CompletableFuture<Void> f : m.maintenanceDrains) {
                    assertThat(f.isDone()).isTrue();
                    assertThat(f.isCompletedExceptionally()).as("a pending maintenance wait is cancelled by undrain")
                            .isEqualTo(!m.maintenanceDone);
                }
                m.maintenanceDrains.clear();
            }
        }

        void setHealthy(int slot, boolean healthy) {
            Model m = present.get(id(slot));
            if (m == null) {
                assertThatThrownBy(() -> lb.setBackendHealthy(id(slot), healthy))
                        .isInstanceOf(IllegalArgumentException.class);
                return;
            }
            HealthState before = m.state();
            m.down = !healthy;
            m.checkFailures = 0;
            m.checkSuccesses = 0;
            if (healthy) {
                m.ejected = false;
                m.probation = false;
                m.streak = 0;
            }
            assertThat(lb.setBackendHealthy(m.id, healthy)).as("whether %s changed state", m.id)
                    .isEqualTo(before != m.state());
        }

        void healthRound(int passing) {
            for (int slot = 0; slot < SLOTS; slot++) {
                if ((passing & (1 << slot)) != 0) {
                    checks.pass(id(slot));
                } else {
                    checks.fail(id(slot), "scripted failure");
                }
            }
            lb.performHealthChecks();
            for (Model m : present.values()) {
                boolean pass = (passing & (1 << Integer.parseInt(m.id.substring(1)))) != 0;
                if (pass) {
                    m.checkSuccesses++;
                    m.checkFailures = 0;
                    if (m.down && m.checkSuccesses >= HEALTHY_THRESHOLD) {
                        m.down = false;
                    }
                } else {
                    m.checkFailures++;
                    m.checkSuccesses = 0;
                    if (!m.down && m.checkFailures >= UNHEALTHY_THRESHOLD) {
                        m.down = true;
                    }
                }
            }
        }

        void advance(int seconds) {
            long end = ticker.read() + Duration.ofSeconds(seconds).toNanos();
            // Drains time out on the scheduler; they leave whatever their connections.
            for (Model m : List.copyOf(present.values())) {
                if (m.removing && m.active > 0 && m.removedAt + DRAIN_TIMEOUT.toNanos() <= end) {
                    leave(m);
                }
            }
            scheduler.advance(Duration.ofSeconds(seconds));
            endEjectionsDue(end);
        }

        /** Ends the ejections that are over by {@code now}, as the balancer's next read does. */
        void endEjectionsDue(long now) {
            for (Model m : present.values()) {
                if (m.ejected && m.ejectedUntil <= now) {
                    m.ejected = false;
                    m.probation = true;
                    m.streak = 0; // failures counted while it was out are not held against it
                }
            }
            lb.getAvailableBackends(); // ends the ejections that are over, as any read would
        }

        void setStrategy(int index) {
            strategy = BalancingStrategy.builtIns().get(index);
            lb.setStrategy(strategy);
        }

        void resources(Resources r) {
            Model m = present.get(id(r.slot()));
            double cpu = r.cpuTenths() / 10.0;
            double memory = r.memoryTenths() / 10.0;
            if (m == null) {
                assertThatThrownBy(() -> lb.updateBackendResources(id(r.slot()), cpu, memory))
                        .isInstanceOf(IllegalArgumentException.class);
                return;
            }
            lb.updateBackendResources(m.id, cpu, memory);
        }

        // ---- selection

        List<Model> available() {
            return present.values().stream().filter(Model::available).toList();
        }

        boolean panic() {
            return failOpen && available().isEmpty() && present.values().stream().anyMatch(Model::inService);
        }

        List<Model> routable() {
            return panic() ? present.values().stream().filter(Model::inService).toList() : available();
        }

        boolean routes(Model m) {
            return panic() ? m.inService() : m.available();
        }

        Request request(int client) {
            return new Request("r" + (++requestIds), "10.0.0." + client, "/v1/chat/completions");
        }

        /**
         * Runs a selection the model expects to succeed or to be rejected, and checks its result.
         *
         * @return the chosen backend's model, or null if none was available
         */
        Model expectSelection(int session, java.util.function.Supplier<Backend> call) {
            String sessionId = session < 0 ? null : "s" + session;
            List<Model> routable = routable();
            if (sessionId != null && consistentHash) {
                return expectHashed(sessionId, routable, call);
            }
            Model bound = sessionId == null ? null : sessions.get(sessionId);
            if (bound != null && routes(bound)) {
                Backend chosen = call.get();
                assertThat(chosen).as("session %s stays on %s while it takes requests", sessionId, bound.id)
                        .isSameAs(bound.real);
                sessionHits++;
                return counted(bound);
            }
            if (routable.isEmpty()) {
                assertThatThrownBy(call::get).isInstanceOf(NoAvailableBackendException.class)
                        .satisfies(e -> assertThat(((NoAvailableBackendException) e).reason()).isEqualTo(reason()));
                rejected++;
                return null;
            }
            Backend chosen = call.get();
            Model m = modelOf(chosen);
            assertThat(routable).as("a selection goes to a backend that takes requests").contains(m);
            if (sessionId != null) {
                sessions.put(sessionId, m);
                if (bound == null && !unbound.remove(sessionId)) {
                    sessionMisses++;
                } else {
                    sessionRebinds++;
                }
            }
            return counted(m);
        }

        /** Consistent hashing keeps no table: a session moves only when the routable set changes. */
        Model expectHashed(String sessionId, List<Model> routable, java.util.function.Supplier<Backend> call) {
            if (routable.isEmpty()) {
                assertThatThrownBy(call::get).isInstanceOf(NoAvailableBackendException.class);
                rejected++;
                return null;
            }
            Model m = modelOf(call.get());
            assertThat(routable).as("a selection goes to a backend that takes requests").contains(m);
            List<Backend> over = reals(routable);
            Placement before = hashed.put(sessionId, new Placement(over, m.real));
            if (before != null && before.routable().equals(over)) {
                assertThat(m.real).as("session %s over an unchanged set of backends", sessionId)
                        .isSameAs(before.backend());
            }
            sessionHits++;
            return counted(m);
        }

        Model counted(Model m) {
            m.selections++;
            requests++;
            return m;
        }

        NoAvailableBackendException.Reason reason() {
            if (present.isEmpty()) {
                return NoAvailableBackendException.Reason.NO_BACKENDS;
            }
            long unhealthy = present.values().stream().filter(m -> m.inService() && m.state() != HealthState.HEALTHY)
                    .count();
            long draining = present.values().stream().filter(m -> !m.inService()).count();
            if (unhealthy == present.size()) {
                return NoAvailableBackendException.Reason.ALL_UNHEALTHY;
            }
            if (draining == present.size()) {
                return NoAvailableBackendException.Reason.ALL_OUT_OF_SERVICE;
            }
            return NoAvailableBackendException.Reason.ALL_UNHEALTHY_OR_OUT_OF_SERVICE;
        }

        Model modelOf(Backend backend) {
            Model m = present.get(backend.id());
            assertThat(m).as("%s is registered", backend).isNotNull();
            assertThat(m.real).isSameAs(backend);
            return m;
        }

        void select(Select s) {
            Request request = request(s.client());
            if (s.session() >= 0) {
                expectSelection(s.session(), () -> lb.selectBackend(request, "s" + s.session()));
            } else if (s.tryVariant()) {
                if (routable().isEmpty()) {
                    assertThat(lb.trySelectBackend(request)).isEmpty();
                    rejected++;
                } else {
                    expectSelection(-1, () -> lb.trySelectBackend(request).orElseThrow());
                }
            } else {
                expectSelection(-1, () -> lb.selectBackend(request));
            }
        }

        void acquire(Acquire a) {
            Request request = request(a.client());
            String sessionId = a.session() < 0 ? null : "s" + a.session();
            if (a.lease()) {
                Lease[] lease = new Lease[1];
                Model m = expectSelection(a.session(), () -> {
                    lease[0] = sessionId == null ? lb.acquire(request) : lb.acquire(request, sessionId);
                    return lease[0].backend();
                });
                if (m != null) {
                    m.active++;
                    held.add(new Held(m, lease[0]));
                }
            } else {
                Model m = expectSelection(a.session(), () -> sessionId == null ? lb.selectBackend(request)
                        : lb.selectBackend(request, sessionId));
                if (m != null) {
                    lb.acquireConnection(m.real);
                    m.active++;
                    held.add(new Held(m, null));
                }
            }
        }

        void acquireDirect(int slot) {
            Model m = latest.get(id(slot));
            if (m == null) {
                return;
            }
            if (m.left) {
                assertThatThrownBy(() -> lb.acquireConnection(m.real)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("removed");
                assertThat(lb.tryAcquireConnection(m.real)).isFalse();
                return;
            }
            lb.acquireConnection(m.real); // allowed on unhealthy, draining and maintenance backends
            m.active++;
            held.add(new Held(m, null));
        }

        // ---- release

        void release(Release r) {
            if (held.isEmpty()) {
                return;
            }
            Held h = held.remove(r.index() % held.size());
            boolean success = r.outcome() == 0;
            if (h.lease() != null) {
                ticker.advance(Duration.ofMillis(r.millis()));
                switch (r.outcome()) {
                    case 0 -> assertThat(h.lease().success()).isTrue();
                    case 1 -> assertThat(h.lease().failure()).isTrue();
                    default -> h.lease().close();
                }
                assertThat(h.lease().isOpen()).isFalse();
                // A lease releases once; what follows changes nothing.
                assertThat(h.lease().success()).isFalse();
                assertThat(h.lease().failure()).isFalse();
                h.lease().close();
            } else {
                lb.releaseConnection(h.backend().real, Duration.ofMillis(r.millis()), success);
            }
            released(h.backend(), success);
            // A lease's time passes on the ticker: an ejection may end within it.
            endEjectionsDue(ticker.read());
        }

        void released(Model m, boolean success) {
            m.active--;
            if (success) {
                m.successes++;
                successes++;
                m.streak = 0;
                m.probation = false;
            } else {
                m.failures++;
                failures++;
                m.streak++;
                considerEjection(m);
            }
            if (m.removing && m.active == 0) {
                leave(m);
            }
            if (m.maintenance && m.active == 0) {
                m.maintenanceDone = true;
            }
        }

        /** Outlier detection as documented: a run of failures, or one on probation, ejects within the cap. */
        void considerEjection(Model m) {
            if (m.left || m.ejected || !m.inService() || (m.streak < FAILURES_TO_EJECT && !m.probation)) {
                return;
            }
            long inService = present.values().stream().filter(Model::inService).count();
            long ejected = present.values().stream().filter(b -> b.inService() && b.ejected).count();
            long allowed = Math.max(1, inService * 50 / 100);
            if (ejected >= allowed) {
                m.streak = 0;
                return;
            }
            m.ejected = true;
            m.ejectedUntil = ticker.read() + EJECTION.toNanos();
            m.probation = false;
            m.streak = 0;
        }

        void releaseUnheld(int slot) {
            Model m = latest.get(id(slot));
            if (m == null || m.active != 0) {
                return;
            }
            assertThatThrownBy(() -> lb.releaseConnection(m.real, Duration.ofMillis(1), true))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("no active connection");
        }

        void releaseEverything() {
            while (!held.isEmpty()) {
                done.add(new Release(0, 0, 1));
                release(new Release(0, 0, 1));
                check();
            }
        }

        // ---- the checks

        void check() {
            String trace = "after " + done;
            assertThat(lb.getBackends()).as(trace).containsExactlyElementsOf(reals(present.values()));
            assertThat(lb.getAvailableBackends()).as(trace).containsExactlyElementsOf(reals(available()));
            assertThat(lb.getStrategy()).isSameAs(strategy);

            LoadBalancerStats stats = lb.getAllStats();
            Map<Model, Integer> bound = new IdentityHashMap<>();
            sessions.values().forEach(m -> bound.merge(m, 1, Integer::sum));
            List<BackendStats> perBackend = stats.backends();
            assertThat(perBackend).extracting(BackendStats::id).as(trace).containsExactlyElementsOf(present.keySet());
            int i = 0;
            for (Model m : present.values()) {
                BackendStats s = perBackend.get(i++);
                String what = m.id + " " + trace;
                assertThat(m.real.activeConnections()).as("active connections of %s", what).isEqualTo(m.active);
                assertThat(m.real.isRemoved()).as(what).isFalse();
                assertThat(m.real.isDraining()).as("draining %s", what).isEqualTo(m.removing);
                assertThat(m.real.isInMaintenance()).as("maintenance %s", what).isEqualTo(m.maintenance);
                assertThat(m.real.healthState()).as("health of %s", what).isEqualTo(m.state());
                assertThat(s.activeConnections()).isEqualTo(m.active);
                assertThat(s.totalRequests()).as("requests of %s", what).isEqualTo(m.selections);
                assertThat(s.successes()).as("successes of %s", what).isEqualTo(m.successes);
                assertThat(s.failures()).as("failures of %s", what).isEqualTo(m.failures);
                assertThat(s.sessions()).as("sessions of %s", what).isEqualTo(bound.getOrDefault(m, 0));
                assertThat(s.health().onProbation()).as("probation of %s", what).isEqualTo(m.probation);
                assertThat(s.health().consecutiveRequestFailures()).as("failure streak of %s", what)
                        .isEqualTo(m.streak);
                assertThat(s.health().consecutiveCheckFailures()).as("failed checks of %s", what)
                        .isEqualTo(m.checkFailures);
                assertThat(s.health().consecutiveCheckSuccesses()).as("passed checks of %s", what)
                        .isEqualTo(m.checkSuccesses);
                for (CompletableFuture<Void> f : m.removals) {
                    assertThat(f).as("removal of %s not done while connections remain", what).isNotDone();
                }
                for (CompletableFuture<Void> f : m.maintenanceDrains) {
                    assertThat(f.isDone()).as("maintenance wait of %s", what).isEqualTo(m.maintenanceDone);
                }
                assertThat(events.get(m.real)).as(what).containsExactly(1, 0);
            }
            for (Model m : gone) {
                String what = m.id + " (gone) " + trace;
                assertThat(m.real.isRemoved()).as(what).isTrue();
                assertThat(m.real.activeConnections()).as("late releases of %s count down", what).isEqualTo(m.active);
                assertThat(m.removals).as(what).isNotEmpty().allMatch(f -> f.isDone() && !f.isCompletedExceptionally());
                assertThat(m.maintenanceDrains).as(what).allMatch(CompletableFuture::isDone);
                assertThat(events.get(m.real)).as("one added and one removed event for %s", what)
                        .containsExactly(1, 1);
            }

            LoadBalancerMetrics metrics = stats.metrics();
            assertThat(metrics.totalRequests()).as("requests " + trace).isEqualTo(requests);
            assertThat(metrics.rejectedRequests()).as("rejections " + trace).isEqualTo(rejected);
            assertThat(metrics.successes()).as("successes " + trace).isEqualTo(successes);
            assertThat(metrics.failures()).as("failures " + trace).isEqualTo(failures);
            assertThat(metrics.activeConnections()).as(trace)
                    .isEqualTo(present.values().stream().mapToLong(m -> m.active).sum());
            assertThat(held.size()).as("held = acquired - released")
                    .isEqualTo(present.values().stream().mapToInt(m -> m.active).sum()
                            + gone.stream().mapToInt(m -> m.active).sum());
            assertThat(metrics.totalBackends()).isEqualTo(present.size());
            assertThat(metrics.availableBackends()).isEqualTo(available().size());
            assertThat(metrics.ejectedBackends()).as(trace)
                    .isEqualTo((int) present.values().stream().filter(m -> m.state() == HealthState.EJECTED).count());
            assertThat(metrics.panicMode()).as("panic " + trace).isEqualTo(panic());
            assertThat(metrics.sessions()).as("sessions " + trace).isEqualTo(sessions.size());
            assertThat(metrics.sessionHits()).as("session hits " + trace).isEqualTo(sessionHits);
            assertThat(metrics.sessionMisses()).as("session misses " + trace).isEqualTo(sessionMisses);
            assertThat(metrics.sessionRebinds()).as("session rebinds " + trace).isEqualTo(sessionRebinds);
            assertThat(stats.strategy()).isEqualTo(strategy.name());
        }

        static List<Backend> reals(java.util.Collection<Model> models) {
            return models.stream().map(m -> m.real).toList();
        }

        @Override
        public void close() {
            lb.close();
        }
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Connection limits, the admission queue and acquireAsync, in virtual time. */
class AdmissionTest {
    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private LoadBalancer lb;

    @AfterEach
    void close() {
        if (lb != null) {
            lb.close();
        }
    }

    private LoadBalancer balancer(int limit, int capacity, Duration maxWait) {
        lb = LoadBalancer.builder().ticker(ticker).healthCheckScheduler(scheduler)
                .strategy(BalancingStrategy.ROUND_ROBIN).connectionLimit(limit)
                .admissionQueue(capacity, maxWait).build();
        return lb;
    }

    private static Request request(String id, Priority priority, String tenant) {
        return new Request(id, "", "/v1/chat/completions").withPriority(priority).withTenant(tenant);
    }

    private static Request standard(String id) {
        return request(id, Priority.STANDARD, "");
    }

    private static Throwable failureOf(CompletableFuture<Lease> f) {
        assertThat(f).isCompletedExceptionally();
        try {
            f.join();
            throw new AssertionError("not failed");
        } catch (CompletionException e) {
            return e.getCause();
        }
    }

    private static RequestRejectedException.Reason reasonOf(CompletableFuture<Lease> f) {
        Throwable t = failureOf(f);
        assertThat(t).isInstanceOf(RequestRejectedException.class);
        return ((RequestRejectedException) t).reason();
    }

    private AdmissionStats admission() {
        return lb.getAllStats().metrics().admission();
    }

    @Test
    void withoutLimitsNothingIsEverFullAndNothingWaits() {
        lb = LoadBalancer.builder().ticker(ticker).healthCheckScheduler(scheduler).build();
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.updateBackendResources("a", LoadReport.builder().waitingRequests(500).build());
        List<Lease> leases = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            leases.add(lb.acquire(standard("r" + i)));
        }
        CompletableFuture<Lease> sheddable = lb.acquireAsync(request("s", Priority.SHEDDABLE, ""));

        assertThat(sheddable).isCompleted();
        assertThat(lb.getBackend("a").orElseThrow().activeConnections()).isEqualTo(101);
        assertThat(lb.getBackend("a").orElseThrow().connectionLimit()).isEqualTo(LoadBalancer.NO_CONNECTION_LIMIT);
        assertThat(admission()).isEqualTo(new AdmissionStats(0, 0, 0, 0, 0, 0, 0, 0, 0, Duration.ZERO, Duration.ZERO));
        leases.forEach(Lease::success);
        sheddable.join().success();
    }

    @Test
    void aFullPickGivesWayToTheLeastLoadedBackendWithRoom() {
        balancer(2, 10, Duration.ofSeconds(1));
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        Backend c = lb.addBackend("c", "10.0.0.3", 8000);
        lb.setStrategy(BalancingStrategy.IP_HASH); // every request of one client goes to one backend

        List<Lease> leases = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            leases.add(lb.acquire(standard("r" + i)));
        }

        assertThat(List.of(a.activeConnections(), b.activeConnections(), c.activeConnections()))
                .containsExactly(2, 2, 2);
        CompletableFuture<Lease> seventh = lb.acquireAsync(standard("r6"));
        assertThat(seventh).isNotDone();
        assertThat(admission().waiting()).isEqualTo(1);

        leases.get(4).success(); // a connection on one backend frees room for the waiter
        assertThat(seventh).isCompleted();
        assertThat(seventh.join().backend()).isSameAs(leases.get(4).backend());
        seventh.join().success();
        leases.forEach(Lease::success);
    }

    @Test
    void aSaturatedBackendCountsAsFull() {
        balancer(LoadBalancer.NO_CONNECTION_LIMIT, 10, Duration.ofSeconds(1));
        lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        lb.updateBackendResources("a", LoadReport.builder().waitingRequests(9).build());

        for (int i = 0; i < 4; i++) {
            assertThat(lb.acquire(standard("r" + i)).backend()).isSameAs(b);
        }
        lb.updateBackendResources("b", LoadReport.builder().kvCacheUsage(0.95).build());
        CompletableFuture<Lease> waiting = lb.acquireAsync(standard("w"));
        assertThat(waiting).isNotDone();
        assertThatThrownBy(() -> lb.selectBackend(standard("s")))
                .isInstanceOfSatisfying(NoAvailableBackendException.class,
                        e -> assertThat(e.reason()).isEqualTo(NoAvailableBackendException.Reason.ALL_FULL));

        lb.updateBackendResources("a", LoadReport.builder().waitingRequests(0).build()); // a report with room

        assertThat(waiting.join().backend().id()).isEqualTo("a");
    }

    @Test
    void waitersAreAdmittedCriticalFirstThenInArrivalOrder() {
        balancer(1, 10, Duration.ofSeconds(10));
        lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));
        java.util.Map<String, CompletableFuture<Lease>> waiters = new java.util.LinkedHashMap<>();
        waiters.put("s1", lb.acquireAsync(standard("s1")));
        waiters.put("s2", lb.acquireAsync(standard("s2")));
        waiters.put("c1", lb.acquireAsync(request("c1", Priority.CRITICAL, "")));

        List<String> order = new ArrayList<>();
        Lease current = holder;
        for (int i = 0; i < 3; i++) {
            current.success();
            String admitted = waiters.entrySet().stream()
                    .filter(e -> e.getValue().isDone() && e.getValue().join().isOpen())
                    .map(java.util.Map.Entry::getKey).findFirst().orElseThrow();
            order.add(admitted);
            current = waiters.get(admitted).join();
        }
        current.success();

        assertThat(order).containsExactly("c1", "s1", "s2");
        AdmissionStats stats = admission();
        assertThat(stats.queued()).isEqualTo(3);
        assertThat(stats.admitted()).isEqualTo(3);
        assertThat(stats.waiting()).isZero();
    }

    @Test
    void tenantsTakeTurnsWhateverHowManyEachQueued() {
        balancer(1, 100, Duration.ofSeconds(10));
        lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));
        List<CompletableFuture<Lease>> futures = new ArrayList<>();
        List<String> tenants = new ArrayList<>();
        for (int i = 0; i < 6; i++) { // the noisy tenant queues six first
            futures.add(lb.acquireAsync(request("noisy" + i, Priority.STANDARD, "noisy")));
            tenants.add("noisy");
        }
        for (int i = 0; i < 2; i++) {
            futures.add(lb.acquireAsync(request("quiet" + i, Priority.STANDARD, "quiet")));
            tenants.add("quiet");
            futures.add(lb.acquireAsync(request("other" + i, Priority.STANDARD, "other")));
            tenants.add("other");
        }

        List<String> admitted = new ArrayList<>();
        Lease current = holder;
        for (int n = 0; n < futures.size(); n++) {
            current.success();
            int done = -1;
            for (int i = 0; i < futures.size(); i++) {
                if (futures.get(i).isDone() && futures.get(i).join().isOpen()) {
                    done = i;
                }
            }
            assertThat(done).as("one waiter admitted per release").isNotNegative();
            admitted.add(tenants.get(done));
            current = futures.get(done).join();
        }
        current.success();

        assertThat(admitted).containsExactly("noisy", "quiet", "other", "noisy", "quiet", "other",
                "noisy", "noisy", "noisy", "noisy");
    }

    @Test
    void aFullModelHoldsUpNoRequestForAnotherModel() {
        balancer(1, 10, Duration.ofSeconds(10));
        BackendProfile llama = BackendProfile.builder().model("llama").build();
        Backend a = lb.addBackend("a", "10.0.0.1", 8000, 1, llama);
        Backend c = lb.addBackend("c", "10.0.0.3", 8000, 1, BackendProfile.builder().model("mistral").build());
        Lease onA = lb.acquire(standard("l0").withModel("llama"));
        CompletableFuture<Lease> llamaWaits = lb.acquireAsync(request("l1", Priority.CRITICAL, "").withModel("llama"));

        CompletableFuture<Lease> mistral = lb.acquireAsync(standard("m1").withModel("mistral"));

        assertThat(llamaWaits).isNotDone();
        assertThat(mistral.join().backend()).as("past the critical llama waiter, to the model with room")
                .isSameAs(c);
        assertThatThrownBy(() -> lb.selectBackend(standard("l2").withModel("llama")))
                .isInstanceOfSatisfying(NoAvailableBackendException.class, e -> assertThat(e).hasMessage(
                        "no backend available: all available backends of the 1 registered backend serving model "
                                + "\"llama\" are full (at their connection limit or saturated)"));
        onA.success();
        assertThat(llamaWaits.join().backend()).isSameAs(a);
        llamaWaits.join().success();
        mistral.join().success();
    }

    @Test
    void aFullBestTierGivesWayToTheOtherBackendsServingTheModel() {
        balancer(1, 10, Duration.ofSeconds(10));
        Backend loaded = lb.addBackend("loaded", "10.0.0.1", 8000, 1,
                BackendProfile.builder().adapter("sql-v2").label("zone", "a").build());
        Backend other = lb.addBackend("other", "10.0.0.2", 8000, 1,
                BackendProfile.builder().adapter("sql-v2").label("zone", "b").build());
        Request r = standard("q").withModel("sql-v2").withLabels(LabelSelector.prefer("zone", "a"));

        Lease first = lb.acquire(r);
        Lease second = lb.acquire(r);

        assertThat(first.backend()).isSameAs(loaded);
        assertThat(second.backend()).as("the preferred tier is full").isSameAs(other);
        first.success();
        second.success();
    }

    @Test
    void aRetryIsNotSentToABackendAtItsLimit() {
        balancer(1, 10, Duration.ofSeconds(10));
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        lb.setConnectionLimit("b", 1);
        lb.setConnectionLimit("a", 2);
        Lease onB = lb.acquire(standard("h"));
        if (onB.backend() != b) { // round robin's first pick may be either: make b the full one
            Lease second = lb.acquire(standard("h2"));
            onB.success();
            onB = second;
        }
        assertThat(onB.backend()).isSameAs(b);
        List<String> attempts = new ArrayList<>();

        assertThatThrownBy(() -> lb.execute(standard("x"), backend -> {
            attempts.add(backend.id());
            throw new java.io.IOException("reset by " + backend.id());
        })).isInstanceOf(CallFailedException.class);

        assertThat(attempts).as("the retry would go to b, which is full").containsExactly("a");
        assertThat(b.activeConnections()).isEqualTo(1);
        assertThat(a.activeConnections()).isZero();
        onB.success();
    }

    @Test
    void aSheddableRequestIsRefusedRatherThanQueued() {
        balancer(1, 10, Duration.ofSeconds(10));
        lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));

        CompletableFuture<Lease> shed = lb.acquireAsync(request("batch", Priority.SHEDDABLE, "t"));

        assertThat(reasonOf(shed)).isEqualTo(RequestRejectedException.Reason.SHED);
        assertThatThrownBy(() -> lb.acquire(request("batch2", Priority.SHEDDABLE, "t")))
                .isInstanceOfSatisfying(RequestRejectedException.class, e -> {
                    assertThat(e.reason()).isEqualTo(RequestRejectedException.Reason.SHED);
                    assertThat(e.priority()).isEqualTo(Priority.SHEDDABLE);
                    assertThat(e.waited()).isZero();
                    assertThat(e).hasMessage("request batch2 rejected (SHED): the fleet is full and the request "
                            + "is sheddable; priority SHEDDABLE, tenant t, waited PT0S");
                });
        assertThat(admission().shed()).isEqualTo(2);
        assertThat(admission().queued()).isZero();
        holder.success();
        assertThat(lb.acquire(request("batch3", Priority.SHEDDABLE, "t")).success()).isTrue();
    }

    @Test
    void aFullQueueRefusesAStandardArrivalAndACriticalOneDisplacesTheNewestStandardWaiter() {
        balancer(1, 2, Duration.ofSeconds(10));
        lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));
        CompletableFuture<Lease> s1 = lb.acquireAsync(standard("s1"));
        CompletableFuture<Lease> s2 = lb.acquireAsync(standard("s2"));

        CompletableFuture<Lease> s3 = lb.acquireAsync(standard("s3"));
        CompletableFuture<Lease> c1 = lb.acquireAsync(request("c1", Priority.CRITICAL, ""));

        assertThat(reasonOf(s3)).isEqualTo(RequestRejectedException.Reason.QUEUE_FULL);
        assertThat(reasonOf(s2)).isEqualTo(RequestRejectedException.Reason.QUEUE_FULL);
        assertThat(s1).isNotDone();
        assertThat(c1).isNotDone();
        CompletableFuture<Lease> c2 = lb.acquireAsync(request("c2", Priority.CRITICAL, ""));
        CompletableFuture<Lease> c3 = lb.acquireAsync(request("c3", Priority.CRITICAL, ""));
        assertThat(reasonOf(s1)).as("s1 gave way to c2").isEqualTo(RequestRejectedException.Reason.QUEUE_FULL);
        assertThat(c2).isNotDone();
        assertThat(reasonOf(c3)).as("no standard waiter left to displace").isEqualTo(
                RequestRejectedException.Reason.QUEUE_FULL);

        AdmissionStats stats = admission();
        assertThat(stats.queueFull()).isEqualTo(4);
        assertThat(stats.displaced()).isEqualTo(2);
        assertThat(stats.waiting()).isEqualTo(2);
        holder.success();
        c1.join().success();
        c2.join().success();
    }

    @Test
    void aWaiterWhoseDeadlinePassesIsRejectedOnTheScheduler() {
        balancer(1, 10, Duration.ofSeconds(5));
        lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));
        CompletableFuture<Lease> byDefault = lb.acquireAsync(standard("d"));
        CompletableFuture<Lease> shorter = lb.acquireAsync(standard("s"), Duration.ofSeconds(2));

        scheduler.advance(Duration.ofSeconds(2));
        assertThat(byDefault).isNotDone();
        Throwable t = failureOf(shorter);
        assertThat(((RequestRejectedException) t).reason()).isEqualTo(RequestRejectedException.Reason.DEADLINE_PASSED);
        assertThat(((RequestRejectedException) t).waited()).isEqualTo(Duration.ofSeconds(2));

        scheduler.advance(Duration.ofSeconds(3));
        assertThat(reasonOf(byDefault)).isEqualTo(RequestRejectedException.Reason.DEADLINE_PASSED);
        assertThat(admission().deadlinePassed()).isEqualTo(2);
        assertThat(admission().waiting()).isZero();
        assertThat(scheduler.pendingTasks()).isZero();
        holder.success();
        assertThat(lb.getBackend("a").orElseThrow().activeConnections()).isZero();
    }

    @Test
    void aBlockingCallerWhoseDeadlinePassesGetsTheRejection() throws Exception {
        balancer(1, 10, Duration.ofSeconds(5));
        lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));
        CompletableFuture<Throwable> outcome = new CompletableFuture<>();
        Thread waiter = new Thread(() -> {
            try {
                lb.acquire(standard("blocked"), Duration.ofSeconds(3));
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            }
        });
        int tasksBefore = scheduler.pendingTasks();
        waiter.start();
        // The waiter is counted before its deadline is scheduled: advancing the clock between the
        // two would leave the deadline three seconds ahead of the clock, and the waiter parked.
        while (scheduler.pendingTasks() == tasksBefore) {
            Thread.onSpinWait();
        }

        scheduler.advance(Duration.ofSeconds(3));
        waiter.join();

        assertThat(outcome.get()).isInstanceOfSatisfying(RequestRejectedException.class, e -> {
            assertThat(e.reason()).isEqualTo(RequestRejectedException.Reason.DEADLINE_PASSED);
            assertThat(e.waited()).isEqualTo(Duration.ofSeconds(3));
        });
        holder.success();
    }

    @Test
    void aZeroWaitRefusesAtOnceWhenFull() {
        balancer(1, 10, Duration.ofSeconds(5));
        lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));

        assertThatThrownBy(() -> lb.acquire(standard("z"), Duration.ZERO))
                .isInstanceOfSatisfying(RequestRejectedException.class,
                        e -> assertThat(e.reason()).isEqualTo(RequestRejectedException.Reason.DEADLINE_PASSED));
        assertThat(admission().queued()).isZero();
        holder.success();
    }

    @Test
    void cancellingAFutureWithdrawsTheWaiterAndTheNextOneGetsTheRoom() {
        balancer(1, 10, Duration.ofSeconds(5));
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));
        CompletableFuture<Lease> first = lb.acquireAsync(standard("1"));
        CompletableFuture<Lease> second = lb.acquireAsync(standard("2"));

        assertThat(first.cancel(false)).isTrue();
        holder.success();

        assertThat(second).isCompleted();
        assertThat(a.activeConnections()).isEqualTo(1);
        second.join().success();
        AdmissionStats stats = admission();
        assertThat(stats.withdrawn()).isEqualTo(1);
        assertThat(stats.admitted()).isEqualTo(1);
        assertThat(stats.waiting()).isZero();
        assertThat(scheduler.pendingTasks()).as("the withdrawn waiter's deadline is cancelled").isZero();
        LoadBalancerMetrics m = lb.getAllStats().metrics();
        assertThat(m.totalRequests()).as("the withdrawn request is not counted as routed").isEqualTo(2);
        assertThat(m.failures()).isZero();
        assertThat(m.successes()).isEqualTo(2);
    }

    @Test
    void aLeaseHandedToAFutureTheCallerCompletedIsGivenBackWithoutAFailure() {
        balancer(1, 10, Duration.ofSeconds(5));
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));
        CompletableFuture<Lease> first = lb.acquireAsync(standard("1"));
        CompletableFuture<Lease> second = lb.acquireAsync(standard("2"));
        // The caller settles the future itself, as a timeout of its own would: the queue sees it
        // as a withdrawal.
        first.completeExceptionally(new IllegalStateException("caller gave up"));

        holder.success();

        assertThat(second.join().backend()).isSameAs(a);
        assertThat(a.activeConnections()).isEqualTo(1);
        second.join().success();
        assertThat(lb.getAllStats().metrics().failures()).isZero();
        assertThat(admission().withdrawn()).isEqualTo(1);
    }

    @Test
    void aBlockingCallerInterruptedWhileWaitingIsWithdrawn() throws Exception {
        balancer(1, 10, Duration.ofDays(1));
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));
        CompletableFuture<Throwable> outcome = new CompletableFuture<>();
        CompletableFuture<Boolean> flag = new CompletableFuture<>();
        Thread waiter = new Thread(() -> {
            try {
                lb.acquire(standard("blocked"));
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            }
            flag.complete(Thread.currentThread().isInterrupted());
        });
        waiter.start();
        while (admission().waiting() == 0) {
            Thread.onSpinWait();
        }

        waiter.interrupt();
        waiter.join();

        assertThat(outcome.get()).isInstanceOf(CancellationException.class)
                .hasMessageContaining("interrupted").hasCauseInstanceOf(InterruptedException.class);
        assertThat(flag.get()).isTrue();
        assertThat(admission().withdrawn()).isEqualTo(1);
        assertThat(admission().waiting()).isZero();
        holder.success();
        assertThat(a.activeConnections()).isZero();
    }

    @Test
    void aBlockingCallerWaitsForRoomFreedOnAnotherThread() throws Exception {
        balancer(1, 10, Duration.ofDays(1));
        lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));
        CompletableFuture<Lease> got = new CompletableFuture<>();
        Thread waiter = new Thread(() -> got.complete(lb.acquire(standard("blocked"))));
        waiter.start();
        while (admission().waiting() == 0) {
            Thread.onSpinWait();
        }

        holder.success();
        waiter.join();

        assertThat(got.get().isOpen()).isTrue();
        got.get().success();
        assertThat(admission().admitted()).isEqualTo(1);
    }

    @Test
    void addingABackendOrRaisingALimitAdmitsWaiters() {
        balancer(1, 10, Duration.ofSeconds(10));
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));
        CompletableFuture<Lease> w1 = lb.acquireAsync(standard("1"));
        CompletableFuture<Lease> w2 = lb.acquireAsync(standard("2"));
        CompletableFuture<Lease> w3 = lb.acquireAsync(standard("3"));

        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        assertThat(w1.join().backend()).isSameAs(b);
        assertThat(w2).isNotDone();

        assertThat(lb.setConnectionLimit("a", 3)).isEqualTo(1);
        assertThat(a.connectionLimit()).isEqualTo(3);
        assertThat(w2.join().backend()).isSameAs(a);
        assertThat(w3.join().backend()).isSameAs(a);
        assertThat(a.activeConnections()).isEqualTo(3);
        List.of(holder, w1.join(), w2.join(), w3.join()).forEach(Lease::success);
    }

    @Test
    void aBackendBackUpAdmitsWaiters() {
        balancer(1, 10, Duration.ofSeconds(10));
        lb.addBackend("a", "10.0.0.1", 8000);
        Backend b = lb.addBackend("b", "10.0.0.2", 8000);
        lb.setBackendHealthy("b", false);
        Lease holder = lb.acquire(standard("h"));
        CompletableFuture<Lease> w = lb.acquireAsync(standard("w"));
        assertThat(w).isNotDone();

        lb.setBackendHealthy("b", true);

        assertThat(w.join().backend()).isSameAs(b);
        holder.success();
        w.join().success();
    }

    @Test
    void aLimitSetAtRuntimeTurnsLimitsOn() {
        lb = LoadBalancer.builder().ticker(ticker).healthCheckScheduler(scheduler).build();
        Backend a = lb.addBackend("a", "10.0.0.1", 8000);
        Lease first = lb.acquire(standard("1"));

        assertThat(lb.setConnectionLimit("a", 1)).isEqualTo(LoadBalancer.NO_CONNECTION_LIMIT);
        CompletableFuture<Lease> waits = lb.acquireAsync(standard("2"));

        assertThat(waits).isNotDone();
        first.success();
        assertThat(waits.join().backend()).isSameAs(a);
        waits.join().success();
    }

    @Test
    void closingTheBalancerRejectsTheWaiters() {
        balancer(1, 10, Duration.ofSeconds(10));
        lb.addBackend("a", "10.0.0.1", 8000);
        Lease holder = lb.acquire(standard("h"));
        CompletableFuture<Lease> w = lb.acquireAsync(standard("w"));

        lb.close();

        assertThat(reasonOf(w)).isEqualTo(RequestRejectedException.Reason.BALANCER_CLOSED);
        assertThat(holder.success()).isTrue();
        assertThat(lb.getAllStats().metrics().admission().balancerClosed()).isEqualTo(1);
    }

    @Test
    void noBackendAtAllIsNotAFullFleet() {
        balancer(1, 10, Duration.ofSeconds(10));

        assertThat(failureOf(lb.acquireAsync(standard("x")))).isInstanceOf(NoAvailableBackendException.class);
        assertThatThrownBy(() -> lb.acquire(standard("y"))).isInstanceOf(NoAvailableBackendException.class);
        assertThat(admission().queued()).isZero();
    }

    @Test
    void everyRequestEndsExactlyOnce() {
        balancer(2, 4, Duration.ofSeconds(3));
        lb.addBackend("a", "10.0.0.1", 8000);
        lb.addBackend("b", "10.0.0.2", 8000);
        java.util.Random random = new java.util.Random(7);
        Priority[] priorities = Priority.values();
        List<CompletableFuture<Lease>> all = new ArrayList<>();
        List<Lease> open = new ArrayList<>();
        for (int step = 0; step < 2_000; step++) {
            switch (random.nextInt(5)) {
                case 0, 1 -> all.add(lb.acquireAsync(request("r" + step, priorities[random.nextInt(3)],
                        "t" + random.nextInt(3))));
                case 2 -> {
                    collect(all, open);
                    if (!open.isEmpty()) {
                        open.remove(random.nextInt(open.size())).success();
                    }
                }
                case 3 -> {
                    if (!all.isEmpty()) {
                        all.get(random.nextInt(all.size())).cancel(false);
                    }
                }
                default -> scheduler.advance(Duration.ofMillis(500));
            }
        }
        scheduler.advance(Duration.ofSeconds(10));
        collect(all, open);
        open.forEach(Lease::success);

        long leases = all.stream().filter(f -> !f.isCompletedExceptionally()).count();
        long rejected = all.stream().filter(f -> f.isCompletedExceptionally() && !f.isCancelled()).count();
        long cancelled = all.stream().filter(CompletableFuture::isCancelled).count();
        AdmissionStats s = admission();
        LoadBalancerMetrics m = lb.getAllStats().metrics();
        assertThat(s.waiting()).isZero();
        assertThat(leases + rejected + cancelled).isEqualTo(all.size());
        assertThat(s.rejected()).isEqualTo(rejected);
        assertThat(m.totalRequests()).as("every lease counted once as routed").isEqualTo(leases);
        assertThat(m.successes()).isEqualTo(leases);
        assertThat(m.failures()).isZero();
        assertThat(m.activeConnections()).isZero();
        assertThat(s.queued()).isEqualTo(s.admitted() + s.withdrawn() + s.deadlinePassed() + s.displaced());
        assertThat(s.withdrawn()).as("a cancel of a future already settled withdraws nothing")
                .isLessThanOrEqualTo(cancelled);
        assertThat(s.shed()).isPositive();
        assertThat(s.deadlinePassed()).isPositive();
        assertThat(s.admitted()).isPositive();
    }

    private static void collect(List<CompletableFuture<Lease>> all, List<Lease> open) {
        for (CompletableFuture<Lease> f : all) {
            if (f.isDone() && !f.isCompletedExceptionally()) {
                Lease l = f.join();
                if (l.isOpen() && !open.contains(l)) {
                    open.add(l);
                }
            }
        }
    }
}

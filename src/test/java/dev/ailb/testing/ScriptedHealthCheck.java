package dev.ailb.testing;

import dev.ailb.Backend;
import dev.ailb.health.HealthCheck;
import dev.ailb.health.HealthCheckContext;
import dev.ailb.health.HealthCheckResult;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A health check whose verdict per backend the test sets: healthy (the default), failing with a
 * reason, or hanging until the test answers. Records when each backend was checked. Thread-safe.
 */
public final class ScriptedHealthCheck implements HealthCheck {
    private final LongSupplier clock;
    private final Map<String, HealthCheckResult> verdicts = new ConcurrentHashMap<>();
    private final Map<String, Boolean> hanging = new ConcurrentHashMap<>();
    private final Map<String, List<Long>> checkedAt = new ConcurrentHashMap<>();
    private final Map<String, List<CompletableFuture<HealthCheckResult>>> pending = new ConcurrentHashMap<>();

    /** @param clock the time recorded for each check, e.g. the test's manual ticker */
    public ScriptedHealthCheck(LongSupplier clock) {
        this.clock = clock;
    }

    public ScriptedHealthCheck pass(String id) {
        hanging.remove(id);
        verdicts.put(id, HealthCheckResult.healthy());
        return this;
    }

    public ScriptedHealthCheck fail(String id, String reason) {
        hanging.remove(id);
        verdicts.put(id, HealthCheckResult.unhealthy(reason));
        return this;
    }

    /** Later checks of {@code id} do not answer until {@link #answer} is called. */
    public ScriptedHealthCheck hang(String id) {
        hanging.put(id, true);
        return this;
    }

    /** Completes every check of {@code id} still waiting, with {@code result}. */
    public void answer(String id, HealthCheckResult result) {
        for (CompletableFuture<HealthCheckResult> f : pending.getOrDefault(id, List.of())) {
            f.complete(result);
        }
    }

    /** How many times {@code id} was checked. */
    public int checks(String id) {
        return checkedAt.getOrDefault(id, List.of()).size();
    }

    /** The clock readings at which {@code id} was checked, in order. */
    public List<Long> checkedAt(String id) {
        return List.copyOf(checkedAt.getOrDefault(id, List.of()));
    }

    @Override
    public CompletionStage<HealthCheckResult> check(Backend backend, HealthCheckContext context) {
        String id = backend.id();
        checkedAt.computeIfAbsent(id, k -> Collections.synchronizedList(new ArrayList<>()))
                .add(clock.getAsLong());
        if (hanging.containsKey(id)) {
            CompletableFuture<HealthCheckResult> f = new CompletableFuture<>();
            pending.computeIfAbsent(id, k -> Collections.synchronizedList(new ArrayList<>())).add(f);
            return f;
        }
        return CompletableFuture.completedFuture(verdicts.getOrDefault(id, HealthCheckResult.healthy()));
    }

    @Override
    public String toString() {
        return "ScriptedHealthCheck";
    }
}

package dev.ailb.demo.spring;

import dev.ailb.Backend;
import dev.ailb.BackendStats;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerListener;
import dev.ailb.LoadBalancerStats;
import dev.ailb.health.HealthState;
import dev.ailb.spring.boot.LoadBalancerBuilderCustomizer;
import dev.ailb.spring.boot.PoolState;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.actuate.endpoint.IndicatedHealthDescriptor;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The Spring Boot sample: a Spring Boot application whose properties declare a pool {@code chat} of
 * three simulated OpenAI-compatible instances on loopback, checked over HTTP, and ask for its Spring
 * AI chat model; the application's service asks it whole and streamed answers, each shown with the
 * instance the pool sent it to and why. Actuator's health shows the pool; one instance then stops,
 * its check marks it down, health shows it, and the next answers go to the other two only. Closing
 * the context closes the pool, with every lease released.
 *
 * <pre>
 * mvn -B -q -Pspring-demo test-compile exec:java
 * </pre>
 *
 * <p>The run takes a few seconds, most of them Spring's start. Its checks run every
 * {@link #CHECK_INTERVAL} in real time; a test drives them round by round instead
 * ({@link Checks#DRIVEN}), in the virtual time of a manual ticker and scheduler.
 */
public final class SpringBootSample {
    /** The pool's name, its beans' qualifier. */
    static final String POOL = "chat";
    /** The instances, in registration order. */
    static final List<String> INSTANCES = List.of("gpu-1", "gpu-2", "gpu-3");
    /** The instance that stops. */
    static final String STOPPED = "gpu-3";
    /** How often the pool checks each instance. */
    static final Duration CHECK_INTERVAL = Duration.ofMillis(200);
    /**
     * How long a check may take: longer than the interval, so that a check slowed by a busy machine
     * (the first ones warm the JVM's HTTP client) does not count as failed, while a stopped
     * instance, whose port refuses the connection at once, fails its checks at once.
     */
    static final Duration CHECK_TIMEOUT = Duration.ofSeconds(1);
    /** Failed checks in a row that take an instance down. */
    static final int UNHEALTHY_THRESHOLD = 2;
    /** How long the sample waits, at most, for the stopped instance to be marked down. */
    static final Duration DOWN_WAIT = Duration.ofSeconds(10);
    /** Whole answers asked in each phase, before a streamed one. */
    static final int WHOLE_ANSWERS = 3;

    private SpringBootSample() {}

    /** How the pool's health checks are timed. */
    enum Checks {
        /** Every {@link #CHECK_INTERVAL}, on the pool's own scheduler; the sample waits for them. */
        REAL_TIME,
        /** Only when the sample runs a round ({@link LoadBalancer#performHealthChecks()}), in virtual time. */
        DRIVEN
    }

    /**
     * What a run saw.
     *
     * @param properties          the application's properties, as set
     * @param before              the answers while every instance was up
     * @param after               the answers after {@link #STOPPED} was marked down
     * @param healthBefore        the pool's health before the stop
     * @param healthAfter         the pool's health after {@link #STOPPED} was marked down
     * @param stoppedRequestsAtDown chat requests {@link #STOPPED} had received when it was marked down
     * @param chatRequests        chat requests each instance received in the whole run
     * @param closed              whether the pool was closed with the context
     * @param stats               the pool's figures after the context closed
     */
    record Report(Map<String, String> properties, List<Assistant.Answer> before, List<Assistant.Answer> after,
            PoolHealth healthBefore, PoolHealth healthAfter, int stoppedRequestsAtDown,
            Map<String, Integer> chatRequests, boolean closed, LoadBalancerStats stats) {}

    /**
     * The pool's Actuator health, {@code /actuator/health/ailb/chat}.
     *
     * @param status    UP or DOWN
     * @param available backends that take new requests
     * @param backends  each backend's state, by id
     */
    record PoolHealth(String status, int available, Map<String, PoolState.BackendState> backends) {}

    /**
     * Runs the sample with real-time checks and prints its report.
     *
     * @param args none
     * @throws Exception if the sample fails
     */
    public static void main(String[] args) throws Exception {
        long started = System.nanoTime();
        run(System.out, Checks.REAL_TIME);
        System.out.printf(Locale.ROOT, "sample ran in %d ms%n", elapsedMillis(started));
    }

    /** Runs the sample, prints its report to {@code out} and returns what it saw. */
    static Report run(PrintStream out, Checks checks) throws Exception {
        List<SampleInstance> instances = new ArrayList<>();
        try {
            for (String id : INSTANCES) {
                instances.add(SampleInstance.start(id));
            }
            return run(out, checks, instances);
        } finally {
            instances.forEach(SampleInstance::close);
        }
    }

    private static Report run(PrintStream out, Checks checks, List<SampleInstance> instances) throws Exception {
        out.println("Spring Boot sample: Spring AI's OpenAiChatModel over the ailb pool '" + POOL + "'");
        StringBuilder listed = new StringBuilder("instances:");
        for (SampleInstance instance : instances) {
            listed.append(' ').append(instance.id()).append('=').append(LoopbackServer.HOST).append(':')
                    .append(instance.port());
        }
        out.println(listed);
        Map<String, String> properties = properties(instances);
        out.println("application properties:");
        properties.forEach((key, value) -> out.println("  " + key + "=" + value));

        SpringApplicationBuilder application = new SpringApplicationBuilder(SampleApplication.class)
                .web(WebApplicationType.NONE)
                .properties(new LinkedHashMap<>(properties));
        if (checks == Checks.DRIVEN) {
            ManualTicker ticker = new ManualTicker();
            ManualScheduler scheduler = new ManualScheduler(ticker);
            LoadBalancerBuilderCustomizer virtualTime =
                    (pool, builder) -> builder.ticker(ticker).healthCheckScheduler(scheduler);
            application.initializers(context -> context.getBeanFactory().registerSingleton("virtualTime", virtualTime));
        }

        long started = System.nanoTime();
        LoadBalancer pool;
        List<Assistant.Answer> before = new ArrayList<>();
        List<Assistant.Answer> after = new ArrayList<>();
        PoolHealth healthBefore;
        PoolHealth healthAfter;
        int stoppedAtDown;
        try (ConfigurableApplicationContext context = application.run()) {
            out.printf(Locale.ROOT, "context started in %d ms%n", elapsedMillis(started));
            Assistant assistant = context.getBean(Assistant.class);
            HealthEndpoint health = context.getBean(HealthEndpoint.class);
            pool = assistant.pool();

            out.println();
            out.println("answers, every instance up:");
            ask(assistant, before, out);
            healthBefore = health(health);
            print(healthBefore, out);

            out.println();
            SampleInstance stopped = instances.get(INSTANCES.indexOf(STOPPED));
            stopped.stop();
            long stoppedAt = System.nanoTime();
            out.println(STOPPED + " stops");
            String how = awaitDown(pool, checks);
            stoppedAtDown = stopped.chatRequests();
            out.printf(Locale.ROOT, "%s marked down %s (%d ms after it stopped)%n", STOPPED, how,
                    elapsedMillis(stoppedAt));
            healthAfter = health(health);
            print(healthAfter, out);

            out.println();
            out.println("answers, " + STOPPED + " down:");
            ask(assistant, after, out);
            out.printf(Locale.ROOT, "%s received %d chat requests after it was marked down%n", STOPPED,
                    stopped.chatRequests() - stoppedAtDown);
        }

        out.println();
        LoadBalancerStats stats = pool.getAllStats();
        Map<String, Integer> chatRequests = new LinkedHashMap<>();
        for (SampleInstance instance : instances) {
            chatRequests.put(instance.id(), instance.chatRequests());
        }
        int active = stats.backends().stream().mapToInt(BackendStats::activeConnections).sum();
        long total = stats.backends().stream().mapToLong(BackendStats::totalRequests).sum();
        long successes = stats.backends().stream().mapToLong(BackendStats::successes).sum();
        long failures = stats.backends().stream().mapToLong(BackendStats::failures).sum();
        out.printf(Locale.ROOT, "context closed: pool closed=%s, active connections %d%n", pool.isClosed(), active);
        out.printf(Locale.ROOT, "leases %d = %d successes + %d failures; answers %d; chat requests received %s%n",
                total, successes, failures, before.size() + after.size(), chatRequests);
        return new Report(properties, before, after, healthBefore, healthAfter, stoppedAtDown, chatRequests,
                pool.isClosed(), stats);
    }

    /**
     * The application's properties, as its {@code application.yml} would say them: the pool
     * {@code chat}, least connections, an HTTP check of {@code /health} every {@link #CHECK_INTERVAL},
     * its three instances, and its Spring AI chat model.
     */
    private static Map<String, String> properties(List<SampleInstance> instances) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("spring.main.banner-mode", "off");
        p.put("spring.main.log-startup-info", "false");
        p.put("management.endpoint.health.show-details", "always");
        p.put("ailb.observations.enabled", "false"); // the application logs each attempt itself
        String pool = "ailb.pools." + POOL + ".";
        p.put(pool + "strategy", "least-connections");
        p.put(pool + "health-check.type", "http");
        p.put(pool + "health-check.path", SampleInstance.HEALTH_PATH);
        p.put(pool + "health-check.interval", CHECK_INTERVAL.toMillis() + "ms");
        p.put(pool + "health-check.timeout", CHECK_TIMEOUT.toSeconds() + "s");
        p.put(pool + "unhealthy-threshold", String.valueOf(UNHEALTHY_THRESHOLD));
        p.put(pool + "chat-model.enabled", "true");
        p.put(pool + "chat-model.model", "llama");
        for (SampleInstance instance : instances) {
            p.put(pool + "backends." + instance.id() + ".host", LoopbackServer.HOST);
            p.put(pool + "backends." + instance.id() + ".port", String.valueOf(instance.port()));
        }
        return p;
    }

    /** Asks {@link #WHOLE_ANSWERS} whole answers and a streamed one, and prints each. */
    private static void ask(Assistant assistant, List<Assistant.Answer> answers, PrintStream out)
            throws InterruptedException {
        for (int i = 0; i < WHOLE_ANSWERS; i++) {
            answers.add(assistant.ask("Say hello"));
        }
        answers.add(assistant.askStreamed("Say hello"));
        for (Assistant.Answer answer : answers) {
            out.printf(Locale.ROOT, "  %-8s %-18s -> %s  (%s%s, %s)%n", answer.streamed() ? "streamed" : "whole",
                    '"' + answer.text() + '"', answer.backend(), answer.decision().reason(),
                    Double.isNaN(answer.decision().figure()) ? ""
                            : String.format(Locale.ROOT, " %.0f", answer.decision().figure()),
                    answer.outcome());
        }
    }

    /** Waits until {@link #STOPPED} is no longer available, and says how it got there. */
    private static String awaitDown(LoadBalancer pool, Checks checks) throws InterruptedException {
        if (checks == Checks.DRIVEN) {
            int rounds = 0;
            while (isAvailable(pool, STOPPED)) {
                if (rounds == UNHEALTHY_THRESHOLD + 1) {
                    throw new IllegalStateException(STOPPED + " still available after " + rounds + " check rounds");
                }
                pool.performHealthChecks();
                rounds++;
            }
            return "after " + rounds + " check rounds";
        }
        CountDownLatch down = new CountDownLatch(1);
        LoadBalancerListener listener = new LoadBalancerListener() {
            @Override
            public void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current,
                    String reason) {
                if (backend.id().equals(STOPPED) && current != HealthState.HEALTHY) {
                    down.countDown();
                }
            }
        };
        pool.addListener(listener);
        try {
            if (isAvailable(pool, STOPPED) && !down.await(DOWN_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException(STOPPED + " not marked down within " + DOWN_WAIT);
            }
        } finally {
            pool.removeListener(listener);
        }
        return "by its checks (GET " + SampleInstance.HEALTH_PATH + " every " + CHECK_INTERVAL.toMillis() + " ms, "
                + UNHEALTHY_THRESHOLD + " failures in a row)";
    }

    private static boolean isAvailable(LoadBalancer pool, String id) {
        return pool.getBackend(id).map(Backend::isAvailable).orElse(false);
    }

    @SuppressWarnings("unchecked")
    private static PoolHealth health(HealthEndpoint endpoint) {
        IndicatedHealthDescriptor health = (IndicatedHealthDescriptor) endpoint.healthForPath("ailb", POOL);
        Map<String, Object> details = health.getDetails();
        return new PoolHealth(health.getStatus().getCode(), (Integer) details.get("available"),
                (Map<String, PoolState.BackendState>) details.get("backends"));
    }

    private static void print(PoolHealth health, PrintStream out) {
        out.printf(Locale.ROOT, "health /actuator/health/ailb/%s: %s, %d of %d available%n", POOL, health.status(),
                health.available(), health.backends().size());
        for (PoolState.BackendState backend : health.backends().values()) {
            out.printf(Locale.ROOT, "  %-6s %-9s %-11s active %d%s%n", backend.id(), backend.health(),
                    backend.available() ? "available" : "unavailable", backend.activeConnections(),
                    backend.health() == HealthState.HEALTHY || backend.lastFailure() == null ? ""
                            : "  last failure: " + backend.lastFailure());
        }
    }

    private static long elapsedMillis(long since) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
    }
}

package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.health.HealthCheck;
import dev.ailb.health.HealthCheckContext;
import dev.ailb.health.HealthCheckResult;
import dev.ailb.health.LoadSource;
import dev.ailb.health.ModelDiscovery;
import dev.ailb.internal.probe.ProbeContext;
import dev.ailb.internal.probe.ProbeKind;
import dev.ailb.internal.probe.Prober;
import dev.ailb.internal.probe.RecurringTask;
import dev.ailb.internal.probe.Targets;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.random.RandomGenerator;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a balancer's active health checks and load polls on the generic {@link Prober}: the
 * configured {@link HealthCheck} and {@link LoadSource} are its two kinds of probe, every
 * registered backend its targets. Verdicts go to {@link HealthTransitions#onCheckResult}, which applies
 * the thresholds, and reports to {@link LoadReports#onPoll}; each round of checks first ends
 * the ejections that are over. How the probes are bounded (one per backend, each by the timeout,
 * whatever it does) and which threads run them is the prober's: see {@code Probes} and
 * {@code Session} in its package.
 */
final class HealthChecker {
    private static final Logger log = LoggerFactory.getLogger(HealthChecker.class);

    private final HealthCheck check; // null: no active check, the rounds only end ejections
    private final LoadSource loadSource; // null: no load polling
    private final Duration interval;
    private final Duration jitter;
    private final Duration timeout;
    private final Duration pollInterval;
    private final RecurringTask<Backend> rounds;
    private final RecurringTask<Backend> polls; // null without a load source
    private final ModelDiscovery discovery; // null: nobody is asked what they serve
    private final RecurringTask<Backend> discoveries; // null without a discovery
    private final Prober<Backend> prober;
    private final String name; // the balancer's, which the log lines start with

    /**
     * The checker of a balancer's backends: the checks' verdicts go to {@code health}, the polls'
     * reports to {@code reports}, and each round first ends the ejections that are over.
     */
    HealthChecker(String name, RoutingTable table, HealthTransitions health, LoadReports reports,
            LearntModels learnt, Ticker ticker, BalancerSettings.Health settings, RandomGenerator random) {
        this.name = name;
        this.check = settings.check();
        this.loadSource = settings.loadSource();
        this.interval = settings.interval();
        this.jitter = settings.jitter();
        this.timeout = settings.timeout();
        this.pollInterval = settings.pollInterval();
        String round = "health check round";
        this.rounds = (check != null
                ? RecurringTask.probing(round, new Checks(health, check, timeout), interval, jitter)
                : RecurringTask.<Backend>withoutProbes(round, interval, jitter))
                .startingWith(health::readmitDueNow);
        this.polls = loadSource != null
                ? RecurringTask.probing("load poll", new Polls(reports, loadSource, timeout), pollInterval,
                        Duration.ZERO)
                : null;
        this.discovery = settings.discovery();
        this.discoveries = discovery != null
                ? RecurringTask.probing("model discovery", new Discoveries(learnt, discovery, timeout),
                        settings.discoveryInterval(), Duration.ZERO)
                : null;
        List<RecurringTask<Backend>> tasks = new ArrayList<>(List.of(rounds));
        if (polls != null) {
            tasks.add(polls);
        }
        if (discoveries != null) {
            tasks.add(discoveries);
        }
        this.prober = new Prober<>(
                new Prober.Identity(name, "health checker", "ailb-health", "load balancer is closed", log),
                timeout, settings.scheduler(), ticker::read, random, new Registered(table), List.copyOf(tasks));
    }

    /**
     * Starts the periodic rounds (and polls).
     *
     * @return false if they were running already
     * @throws IllegalStateException if the checker was closed, or the scheduler refused the first round
     */
    boolean start() {
        try {
            if (!prober.start()) {
                return false;
            }
        } catch (RejectedExecutionException e) {
            throw new IllegalStateException("health check scheduler refused the first round: " + e, e);
        }
        if (loadSource != null) {
            log.info("{} - Load polling started: {} every {}", name, loadSource, pollInterval);
        }
        if (discovery != null) {
            log.info("{} - Model discovery started: {}", name, discovery);
        }
        if (check == null) {
            log.info("{} - Health checker started with no active check: its rounds only end ejections on time",
                    name);
        } else {
            log.info("{} - Health checker started: {} every {} (jitter {}), timeout {}", name, check, interval, jitter,
                    timeout);
        }
        return true;
    }

    boolean stop() {
        return logStop(prober.stop());
    }

    /**
     * Stops the checker for good: a start or on-demand round that comes later, or races this call,
     * is refused, so nothing the checker runs outlives the balancer's close.
     */
    void close() {
        logStop(prober.close());
    }

    private boolean logStop(boolean wasRunning) {
        if (wasRunning) {
            log.info("{} - Health checker stopped", name);
        }
        return wasRunning;
    }

    boolean isRunning() {
        return prober.isRunning();
    }

    /**
     * One round on demand; returns once every check has a verdict (see {@link Prober#runOnce}).
     * Without a check it only ends the ejections that are over, on the calling thread.
     *
     * @throws IllegalStateException if the checker was closed
     */
    void runOnce() {
        prober.runOnce(rounds);
    }

    /**
     * One poll of every registered backend's load on demand; returns once every poll has ended or
     * its timeout has passed, the late ones then counting as timed out.
     *
     * @throws IllegalStateException if there is no load source, or the checker was closed
     */
    void pollOnce() {
        if (polls == null) {
            throw new IllegalStateException("no load source (expected: LoadBalancerBuilder.loadSource)");
        }
        prober.runOnce(polls);
    }

    /**
     * One question to every registered backend about what it serves, on demand; returns once
     * every answer has been applied or its timeout has passed.
     *
     * @throws IllegalStateException if there is no discovery, or the checker was closed
     */
    void discoverOnce() {
        if (discoveries == null) {
            throw new IllegalStateException("no model discovery (expected: LoadBalancerBuilder.discoverModels)");
        }
        prober.runOnce(discoveries);
    }

    /** The targets of every round: the registered backends; one removed meanwhile is skipped. */
    private static final class Registered implements Targets<Backend> {
        private final RoutingTable table;

        Registered(RoutingTable table) {
            this.table = table;
        }

        @Override
        public Collection<Backend> current() {
            return table.current().all;
        }

        @Override
        public boolean isGone(Backend backend) {
            return backend.isRemoved();
        }

        @Override
        public String describe(Backend backend) {
            return "backend " + backend.id();
        }
    }

    /** The active check as a probe: a failure, forced or not, counts as an unhealthy verdict. */
    private static final class Checks implements ProbeKind<Backend, HealthCheckResult> {
        private final HealthTransitions health;
        private final HealthCheck check;
        private final Duration timeout;

        Checks(HealthTransitions health, HealthCheck check, Duration timeout) {
            this.health = health;
            this.check = check;
            this.timeout = timeout;
        }

        @Override
        public CompletionStage<HealthCheckResult> begin(Backend backend, ProbeContext context) {
            return check.check(backend, new Lent(context));
        }

        @Override
        public void apply(Backend backend, HealthCheckResult result, Throwable error) {
            health.onCheckResult(backend, error == null ? result : HealthCheckResult.unhealthy(reasonOf(error)));
        }

        @Override
        public String what() {
            return "health check";
        }

        @Override
        public String timedOut() {
            return "no verdict within " + timeout;
        }

        @Override
        public String toString() {
            return check.toString();
        }
    }

    /** The load source as a probe: a report, or the error that rejects the poll. */
    private static final class Polls implements ProbeKind<Backend, LoadReport> {
        private final LoadReports reports;
        private final LoadSource source;
        private final Duration timeout;

        Polls(LoadReports reports, LoadSource source, Duration timeout) {
            this.reports = reports;
            this.source = source;
            this.timeout = timeout;
        }

        @Override
        public CompletionStage<LoadReport> begin(Backend backend, ProbeContext context) {
            return source.fetch(backend, new Lent(context));
        }

        @Override
        public void apply(Backend backend, LoadReport report, Throwable error) {
            reports.onPoll(backend, report, error);
        }

        @Override
        public String what() {
            return "load source";
        }

        @Override
        public String timedOut() {
            return "no report within " + timeout;
        }

        @Override
        public String toString() {
            return source.toString();
        }
    }

    /** The model discovery as a probe: the models and adapters served, or the error that rejects the answer. */
    private static final class Discoveries implements ProbeKind<Backend, BackendProfile> {
        private final LearntModels learnt;
        private final ModelDiscovery discovery;
        private final Duration timeout;

        Discoveries(LearntModels learnt, ModelDiscovery discovery, Duration timeout) {
            this.learnt = learnt;
            this.discovery = discovery;
            this.timeout = timeout;
        }

        @Override
        public CompletionStage<BackendProfile> begin(Backend backend, ProbeContext context) {
            return discovery.fetch(backend, new Lent(context));
        }

        @Override
        public void apply(Backend backend, BackendProfile profile, Throwable error) {
            learnt.onDiscovery(backend, profile, error);
        }

        @Override
        public String what() {
            return "model discovery";
        }

        @Override
        public String timedOut() {
            return "no model list within " + timeout;
        }

        @Override
        public String toString() {
            return discovery.toString();
        }
    }

    /** What a check or poll is lent, as the health API names it: the prober's context. */
    private static final class Lent implements HealthCheckContext {
        private final ProbeContext context;

        Lent(ProbeContext context) {
            this.context = context;
        }

        @Override
        public Duration timeout() {
            return context.timeout();
        }

        @Override
        public Executor executor() {
            return context.executor();
        }

        @Override
        public HttpClient httpClient() {
            return context.httpClient();
        }

        @Override
        public HttpClient httpClient(SSLContext sslContext) {
            checkNotNull(sslContext, "sslContext");
            return context.httpClient(sslContext);
        }
    }
}

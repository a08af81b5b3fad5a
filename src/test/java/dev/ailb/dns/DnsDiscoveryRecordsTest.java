package dev.ailb.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.BackendSpec;
import dev.ailb.DiscoveryContext;
import dev.ailb.MembershipChange;
import dev.ailb.testing.Dnsmasq;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a {@link DnsDiscovery} delivers, and when, for each kind of answer of a real dnsmasq on
 * loopback: the context here records the deliveries and schedules on virtual time, so that each
 * resolution happens exactly when the test advances the clock, and the queries run right there
 * ({@code executor(Runnable::run)}), but for the one test of the source's own threads.
 */
class DnsDiscoveryRecordsTest {
    private static final Duration INTERVAL = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private Dnsmasq dns;
    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private final RecordingContext context = new RecordingContext(scheduler);

    @BeforeEach
    void startDnsmasq() {
        dns = Dnsmasq.start(dir);
    }

    @AfterEach
    void stopDnsmasq() {
        dns.close();
    }

    @Test
    void addressRecordsBecomeOneBackendEachAtThePortWithStableIds() {
        dns.hosts("127.0.0.12 api.fleet.test", "127.0.0.11 api.fleet.test");
        DnsDiscovery source = DnsDiscovery.addresses("api.fleet.test", 8000).server(dns.address()).executor(Runnable::run).interval(INTERVAL)
                .build();

        source.start(context);
        assertThat(context.deliveries).as("nothing before the scheduler runs the first resolution").isEmpty();
        scheduler.runDueTasks();

        List<BackendSpec> expected = List.of(BackendSpec.of("127.0.0.11:8000", "127.0.0.11", 8000),
                BackendSpec.of("127.0.0.12:8000", "127.0.0.12", 8000));
        assertThat(context.lastUpdate()).containsExactlyElementsOf(expected);

        // dnsmasq rotates its answers: the next resolutions state the same backends, in the same order
        scheduler.advance(INTERVAL);
        scheduler.advance(INTERVAL);
        assertThat(context.deliveries).hasSize(3).allSatisfy(d -> assertThat(d).isEqualTo(expected));
    }

    @Test
    void theFamilySaysWhichAddressRecordsAreAskedForAndIpv6IdsHaveBrackets() {
        dns.hosts("127.0.0.11 api.fleet.test", "::1 api.fleet.test");

        assertThat(resolveOnce(DnsDiscovery.addresses("api.fleet.test", 8000)
                .family(DnsDiscovery.AddressFamily.IPV6)))
                .containsExactly(BackendSpec.of("[::1]:8000", "::1", 8000));
        assertThat(resolveOnce(DnsDiscovery.addresses("api.fleet.test", 8000)
                .family(DnsDiscovery.AddressFamily.BOTH)))
                .extracting(BackendSpec::id).containsExactly("127.0.0.11:8000", "[::1]:8000");
    }

    @Test
    void srvRecordsGiveEachTargetsAddressesWithTheRecordsPortAndWeightFromTheLowestPriorityGroup() {
        dns.hosts("127.0.0.21 gpu-a.fleet.test", "127.0.0.22 gpu-b.fleet.test", "127.0.0.23 gpu-b.fleet.test",
                "127.0.0.31 standby.fleet.test");
        dns.srv("_llm._tcp.fleet.test,gpu-a.fleet.test,8001,10,0",
                "_llm._tcp.fleet.test,gpu-b.fleet.test,8002,10,40",
                "_llm._tcp.fleet.test,standby.fleet.test,8003,20,100");

        List<BackendSpec> backends = resolveOnce(DnsDiscovery.srv("_llm._tcp.fleet.test"));

        assertThat(backends).containsExactly(
                BackendSpec.of("127.0.0.21:8001", "127.0.0.21", 8001).withWeight(1), // SRV weight 0
                BackendSpec.of("127.0.0.22:8002", "127.0.0.22", 8002).withWeight(40),
                BackendSpec.of("127.0.0.23:8002", "127.0.0.23", 8002).withWeight(40));
    }

    @Test
    void theNextPriorityGroupIsUsedWhenTheLowestHasNoAddress() {
        dns.hosts("::1 gpu-a.fleet.test", "127.0.0.31 standby.fleet.test");
        dns.srv("_llm._tcp.fleet.test,gpu-a.fleet.test,8001,10,5", "_llm._tcp.fleet.test,standby.fleet.test,8003,20,7");

        assertThat(resolveOnce(DnsDiscovery.srv("_llm._tcp.fleet.test")))
                .containsExactly(BackendSpec.of("127.0.0.31:8003", "127.0.0.31", 8003).withWeight(7));
    }

    @Test
    void twoRecordsReachingOneAddressAndPortAreOneBackendWithTheLargerWeight() {
        dns.hosts("127.0.0.21 gpu-a.fleet.test gpu-a-alias.fleet.test");
        dns.srv("_llm._tcp.fleet.test,gpu-a.fleet.test,8001,0,5", "_llm._tcp.fleet.test,gpu-a-alias.fleet.test,8001,0,9");

        assertThat(resolveOnce(DnsDiscovery.srv("_llm._tcp.fleet.test")))
                .containsExactly(BackendSpec.of("127.0.0.21:8001", "127.0.0.21", 8001).withWeight(9));
    }

    @Test
    void aNameWithoutRecordsIsAnEmptyUpdateNotAFailure() {
        dns.hosts("::1 api.fleet.test");

        assertThat(resolveOnce(DnsDiscovery.addresses("api.fleet.test", 8000))).isEmpty();
        assertThat(context.failures).isEmpty();
    }

    @Test
    void failuresAreReportedAndTheNextIntervalTriesAgain() {
        dns.hosts("127.0.0.11 api.fleet.test");
        DnsDiscovery source = DnsDiscovery.addresses("gone.fleet.test", 8000).server(dns.address()).executor(Runnable::run)
                .interval(INTERVAL).build();
        source.start(context);
        scheduler.runDueTasks();

        assertThat(context.deliveries).isEmpty();
        assertThat(context.failures).singleElement().satisfies(f -> assertThat(f)
                .isInstanceOf(DnsLookupException.class)
                .hasMessageStartingWith("gone.fleet.test A from " + dns.address() + ": NXDOMAIN"));

        dns.hosts("127.0.0.11 api.fleet.test", "127.0.0.13 gone.fleet.test");
        scheduler.advance(INTERVAL);
        assertThat(context.lastUpdate()).extracting(BackendSpec::id).containsExactly("127.0.0.13:8000");
    }

    @Test
    void aMissingSrvTargetFailsTheWholeResolution() {
        dns.hosts("127.0.0.21 gpu-a.fleet.test");
        dns.srv("_llm._tcp.fleet.test,gpu-a.fleet.test,8001,0,5", "_llm._tcp.fleet.test,gpu-z.fleet.test,8001,0,5");
        DnsDiscovery source = DnsDiscovery.srv("_llm._tcp.fleet.test").server(dns.address()).executor(Runnable::run).build();

        source.start(context);
        scheduler.runDueTasks();

        assertThat(context.deliveries).isEmpty();
        assertThat(context.failures).singleElement().satisfies(f -> assertThat(f)
                .hasMessageStartingWith("gpu-z.fleet.test A from " + dns.address() + ": NXDOMAIN"));
    }

    @Test
    void closeCancelsTheNextResolution() {
        dns.hosts("127.0.0.11 api.fleet.test");
        DnsDiscovery source = DnsDiscovery.addresses("api.fleet.test", 8000).server(dns.address()).executor(Runnable::run)
                .interval(INTERVAL).build();
        source.start(context);
        scheduler.runDueTasks();
        assertThat(scheduler.pendingTasks()).isEqualTo(1);

        source.close();

        assertThat(scheduler.pendingTasks()).isZero();
        scheduler.advance(INTERVAL.multipliedBy(3));
        assertThat(context.deliveries).hasSize(1);
    }

    @Test
    void aResolutionUnderWayWhenTheSourceClosesDeliversNothing() {
        dns.hosts("127.0.0.11 api.fleet.test");
        DnsDiscovery source = DnsDiscovery.addresses("api.fleet.test", 8000).server(dns.address()).executor(Runnable::run).build();
        // The scheduler closes the source just before it runs the resolution, as another thread
        // closing it while the queries are under way would.
        RecordingContext closing = new RecordingContext(scheduler) {
            @Override
            public ScheduledFuture<?> schedule(Runnable task, Duration delay) {
                return super.schedule(() -> {
                    source.close();
                    task.run();
                }, delay);
            }
        };

        source.start(closing);
        scheduler.runDueTasks();

        assertThat(closing.deliveries).isEmpty();
        assertThat(closing.failures).isEmpty();
        assertThat(scheduler.pendingTasks()).isZero();
    }

    @Test
    void byDefaultTheQueriesRunOnADaemonThreadOfTheSourcesOwnWhichEndsWithIt() throws Exception {
        dns.hosts("127.0.0.11 api.fleet.test");
        java.util.concurrent.CountDownLatch delivered = new java.util.concurrent.CountDownLatch(1);
        List<String> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
        RecordingContext threaded = new RecordingContext(scheduler) {
            @Override
            public synchronized MembershipChange update(Collection<BackendSpec> backends) {
                threads.add(Thread.currentThread().getName());
                super.update(backends);
                delivered.countDown();
                return null;
            }
        };
        DnsDiscovery source = DnsDiscovery.addresses("api.fleet.test", 8000).server(dns.address()).build();

        source.start(threaded);
        scheduler.runDueTasks();
        assertThat(delivered.await(30, TimeUnit.SECONDS)).as("the resolution was delivered").isTrue();
        source.close();

        assertThat(threads).singleElement().asString().startsWith("ailb-dns-");
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.getName().equals(threads.get(0))) {
                assertThat(thread.isDaemon()).isTrue();
                thread.join(TimeUnit.SECONDS.toMillis(30));
                assertThat(thread.isAlive()).as("the query thread ends once the source is closed").isFalse();
            }
        }
        assertThat(threaded.lastUpdate()).extracting(BackendSpec::id).containsExactly("127.0.0.11:8000");
    }

    private List<BackendSpec> resolveOnce(DnsDiscovery.Builder builder) {
        DnsDiscovery source = builder.server(dns.address()).executor(Runnable::run).build();
        RecordingContext once = new RecordingContext(scheduler);
        source.start(once);
        scheduler.runDueTasks();
        source.close();
        assertThat(once.failures).isEmpty();
        return once.lastUpdate();
    }

    /** A context that keeps what it is given and runs the source's tasks on the manual scheduler. */
    static class RecordingContext implements DiscoveryContext {
        final List<List<BackendSpec>> deliveries = new ArrayList<>();
        final List<Throwable> failures = new ArrayList<>();
        private final ManualScheduler scheduler;

        RecordingContext(ManualScheduler scheduler) {
            this.scheduler = scheduler;
        }

        @Override
        public String balancerName() {
            return "test";
        }

        @Override
        public MembershipChange update(Collection<BackendSpec> backends) {
            deliveries.add(List.copyOf(backends));
            return null; // the source reads nothing of it
        }

        @Override
        public void fail(Throwable cause) {
            failures.add(cause);
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable task, Duration delay) {
            return scheduler.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
        }

        List<BackendSpec> lastUpdate() {
            assertThat(deliveries).as("updates delivered").isNotEmpty();
            return deliveries.get(deliveries.size() - 1);
        }
    }
}

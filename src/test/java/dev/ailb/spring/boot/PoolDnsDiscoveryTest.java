package dev.ailb.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.Backend;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerListener;
import dev.ailb.testing.Dnsmasq;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * A pool whose backends come from DNS, {@code ailb.pools.<name>.discovery.dns.*}: a real dnsmasq on
 * loopback answers, the pool's scheduler runs on virtual time (a customizer hands it a manual one),
 * and the queries run on the source's own thread, as in an application.
 */
class PoolDnsDiscoveryTest {
    @TempDir
    Path dir;

    private Dnsmasq dns;
    private final ManualScheduler scheduler = new ManualScheduler(new ManualTicker());
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(AilbAutoConfiguration.class))
            .withBean(LoadBalancerBuilderCustomizer.class,
                    () -> (pool, builder) -> builder.healthCheckScheduler(scheduler));

    @BeforeEach
    void startDnsmasq() {
        dns = Dnsmasq.start(dir);
    }

    @AfterEach
    void stopDnsmasq() {
        dns.close();
    }

    @Test
    void aPoolFollowsTheSrvRecordsOfItsName() {
        dns.hosts("127.0.0.21 gpu-a.fleet.test", "127.0.0.22 gpu-b.fleet.test");
        dns.srv("_llm._tcp.fleet.test,gpu-a.fleet.test,8001,0,5", "_llm._tcp.fleet.test,gpu-b.fleet.test,8002,0,10");

        runner.withPropertyValues("ailb.pools.chat.discovery.dns.name=_llm._tcp.fleet.test",
                        "ailb.pools.chat.discovery.dns.srv=true",
                        "ailb.pools.chat.discovery.dns.server=" + dns.address(),
                        "ailb.pools.chat.discovery.dns.interval=10s")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    LoadBalancer chat = context.getBean(LoadBalancerPools.class).get("chat");
                    CountDownLatch added = new CountDownLatch(2);
                    chat.addListener(new LoadBalancerListener() {
                        @Override
                        public void onBackendAdded(Backend backend) {
                            added.countDown();
                        }
                    });

                    scheduler.runDueTasks(); // the first resolution, handed to the source's thread
                    assertThat(added.await(30, TimeUnit.SECONDS)).as("both backends added").isTrue();

                    assertThat(chat.getBackends()).extracting(Backend::id, Backend::weight).containsExactly(
                            org.assertj.core.groups.Tuple.tuple("127.0.0.21:8001", 5),
                            org.assertj.core.groups.Tuple.tuple("127.0.0.22:8002", 10));
                });
    }

    @Test
    void badDiscoveryKeysFailTheStartNamingTheKey() {
        runner.withPropertyValues("ailb.pools.chat.discovery.dns.name=api.fleet.test",
                        "ailb.pools.chat.discovery.dns.port=8000",
                        "ailb.pools.chat.discovery.dns.server=dns.fleet.test")
                .run(context -> assertThat(rootCause(context.getStartupFailure())).hasMessage(
                        "ailb.pools.chat.discovery.dns.server: server: \"dns.fleet.test\" (expected: an IP address,"
                                + " optionally with a port 1..65535: 10.0.0.2, 10.0.0.2:5353, fd00::2 or [fd00::2]:5353)"));
        runner.withPropertyValues("ailb.pools.chat.discovery.dns.name=_llm._tcp.fleet.test",
                        "ailb.pools.chat.discovery.dns.srv=true", "ailb.pools.chat.discovery.dns.port=8000")
                .run(context -> assertThat(rootCause(context.getStartupFailure())).hasMessage(
                        "ailb.pools.chat.discovery.dns.port: 8000 set with srv (expected: no port; the SRV records"
                                + " give each backend's)"));
        runner.withPropertyValues("ailb.pools.chat.discovery.dns.name=api.fleet.test",
                        "ailb.pools.chat.discovery.dns.port=8000",
                        "ailb.pools.chat.backends.a.host=10.0.0.1", "ailb.pools.chat.backends.a.port=8000")
                .run(context -> assertThat(rootCause(context.getStartupFailure())).hasMessage(
                        "ailb.pools.chat.discovery.dns: set with backends [a] (expected: one or the other; the"
                                + " discovery states the whole membership)"));
        runner.withPropertyValues("ailb.pools.chat.discovery.dns.name=api fleet",
                        "ailb.pools.chat.discovery.dns.port=0")
                .run(context -> assertThat(rootCause(context.getStartupFailure())).hasMessageStartingWith(
                        "ailb.pools.chat.discovery.dns.name: name: \"api fleet\" (expected: a DNS name"));
        runner.withPropertyValues("ailb.pools.chat.discovery.dns.name=api.fleet.test",
                        "ailb.pools.chat.discovery.dns.port=0")
                .run(context -> assertThat(rootCause(context.getStartupFailure())).hasMessage(
                        "ailb.pools.chat.discovery.dns.port: port: 0 (expected: 1..65535)"));
    }

    private static Throwable rootCause(Throwable failure) {
        assertThat(failure).as("the start failed").isNotNull();
        Throwable cause = failure;
        while (cause.getCause() != null && !(cause instanceof IllegalArgumentException)) {
            cause = cause.getCause();
        }
        return cause;
    }
}

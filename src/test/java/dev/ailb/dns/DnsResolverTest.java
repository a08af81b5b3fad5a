package dev.ailb.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.testing.Dnsmasq;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JDK's DNS client asked of a real dnsmasq on loopback: what each kind of answer becomes. */
class DnsResolverTest {
    @TempDir
    Path dir;

    private Dnsmasq dns;
    private DnsResolver resolver;

    @BeforeEach
    void startDnsmasq() {
        dns = Dnsmasq.start(dir);
        resolver = new DnsResolver(dns.address(), Duration.ofSeconds(5));
    }

    @AfterEach
    void stopDnsmasq() {
        dns.close();
    }

    @Test
    void addressRecordsOfBothFamiliesComeBackAsTheirTextualAddresses() throws Exception {
        dns.hosts("127.0.0.11 api.fleet.test", "127.0.0.12 api.fleet.test", "::1 api.fleet.test");

        assertThat(resolver.query("api.fleet.test", "A")).containsExactlyInAnyOrder("127.0.0.11", "127.0.0.12");
        assertThat(resolver.query("api.fleet.test.", "A")).containsExactlyInAnyOrder("127.0.0.11", "127.0.0.12");
        assertThat(resolver.query("api.fleet.test", "AAAA")).containsExactly("::1");
    }

    @Test
    void aNameWithoutRecordsOfTheTypeIsAnEmptyAnswerNotAFailure() throws Exception {
        dns.hosts("::1 v6only.fleet.test");

        assertThat(resolver.query("v6only.fleet.test", "A")).isEmpty();
    }

    @Test
    void srvRecordsComeBackAsPriorityWeightPortAndTarget() throws Exception {
        dns.srv("_llm._tcp.fleet.test,gpu-a.fleet.test,8001,0,5", "_llm._tcp.fleet.test,gpu-b.fleet.test,8002,1,10");

        List<String> records = resolver.query("_llm._tcp.fleet.test", "SRV");

        assertThat(records).containsExactlyInAnyOrder("0 5 8001 gpu-a.fleet.test.", "1 10 8002 gpu-b.fleet.test.");
        assertThat(SrvRecord.parse(records.get(0)).target()).doesNotEndWith(".");
    }

    @Test
    void aNameThatDoesNotExistFailsWithNxdomain() {
        assertThatThrownBy(() -> resolver.query("gone.fleet.test", "A"))
                .isInstanceOf(DnsLookupException.class)
                .hasMessageStartingWith("gone.fleet.test A from " + dns.address() + ": NXDOMAIN, the name does not exist");
    }

    @Test
    void aRefusedQueryFails() {
        assertThatThrownBy(() -> resolver.query("api.elsewhere.test", "A"))
                .isInstanceOf(DnsLookupException.class)
                .hasMessageContaining("the server refused the query");
    }

    @Test
    void aStoppedServerFailsAtOnce() {
        dns.stop();

        assertThatThrownBy(() -> resolver.query("api.fleet.test", "A"))
                .isInstanceOf(DnsLookupException.class)
                .hasMessageEndingWith(": no server listens there (port unreachable)");
    }

    @Test
    void aServerThatDoesNotAnswerInTimeFailsAfterTheTimeout() {
        dns.forwardToNowhere("slow.test");
        DnsResolver impatient = new DnsResolver(dns.address(), Duration.ofMillis(200));

        assertThatThrownBy(() -> impatient.query("api.slow.test", "A"))
                .isInstanceOf(DnsLookupException.class)
                .hasMessage("api.slow.test A from " + dns.address() + ": no answer within PT0.2S");
    }

    @Test
    void anIpv6ServerIsReachedInBrackets() throws Exception {
        // dnsmasq listens on 127.0.0.1 only: the bracketed form must reach the provider intact,
        // which its refusal to connect shows without a network.
        DnsResolver v6 = new DnsResolver("[::1]:" + dns.port(), Duration.ofSeconds(1));

        assertThatThrownBy(() -> v6.query("api.fleet.test", "A"))
                .isInstanceOf(DnsLookupException.class)
                .hasMessageStartingWith("api.fleet.test A from [::1]:" + dns.port() + ": ");
    }
}

package dev.ailb.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The options of a DNS discovery source: what each accepts, and how a bad one is refused. */
class DnsDiscoveryOptionsTest {

    @ParameterizedTest
    @CsvSource({
        "127.0.0.1, 127.0.0.1:53",
        "127.0.0.1:5353, 127.0.0.1:5353",
        "::1, [::1]:53",
        "[::1], [::1]:53",
        "[::1]:5353, [::1]:5353",
        "[fd00::2]:053, [fd00::2]:53",
    })
    void serverAddressesAreReadIntoHostAndPort(String given, String read) {
        assertThat(DnsDiscovery.serverAddress(given)).isEqualTo(read);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "dns.internal", "dns.internal:53", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:",
        "127.0.0.01", "127.0.0", "[127.0.0.1]:53", "[::1]53", "[::1", "fe80::1%eth0", "1.2.3.4:5:6", "[::1]:-1",
        "127.0.0.1:5x"})
    void aServerThatIsNotAnAddressIsRefused(String bad) {
        assertThatThrownBy(() -> DnsDiscovery.srv("_llm._tcp.fleet.test").server(bad))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("server: \"" + bad + "\" (expected: an IP address");
    }

    @ParameterizedTest
    @ValueSource(strings = {"api.fleet.test", "api.fleet.test.", "_llm._tcp.fleet.test", "localhost", "gpu-7"})
    void dnsNamesAreAccepted(String name) {
        assertThat(DnsDiscovery.checkDnsName(name)).isEqualTo(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "api..fleet.test", "-api.fleet.test", "api-.fleet.test", "api fleet", "api/fleet",
        "api.fleet.test..", "http://api.fleet.test", "api.fleet.test:8000"})
    void aNameThatIsNotADnsNameIsRefused(String bad) {
        assertThatThrownBy(() -> DnsDiscovery.addresses(bad, 8000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("name: \"" + bad + "\" (expected: a DNS name, labels of letters, digits, '-' and '_'"
                        + " joined by dots)");
    }

    @Test
    void longLabelsAndNamesAreRefused() {
        String label63 = "a".repeat(63);
        assertThat(DnsDiscovery.checkDnsName(label63 + ".test")).isNotNull();
        assertThatThrownBy(() -> DnsDiscovery.checkDnsName("a".repeat(64) + ".test"))
                .isInstanceOf(IllegalArgumentException.class);
        String name253 = String.join(".", label63, label63, label63, "a".repeat(61));
        assertThat(DnsDiscovery.checkDnsName(name253)).hasSize(253);
        assertThatThrownBy(() -> DnsDiscovery.checkDnsName(name253 + "a"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void badNumbersAndDurationsAreRefusedNamingTheOption() {
        assertThatThrownBy(() -> DnsDiscovery.addresses("api.fleet.test", 0))
                .hasMessage("port: 0 (expected: 1..65535)");
        assertThatThrownBy(() -> DnsDiscovery.srv("_llm._tcp.fleet.test").interval(Duration.ZERO))
                .hasMessage("interval: PT0S (expected: PT0.001S..PT24H)");
        assertThatThrownBy(() -> DnsDiscovery.srv("_llm._tcp.fleet.test").timeout(Duration.ofMinutes(2)))
                .hasMessage("timeout: PT2M (expected: PT0.001S..PT1M)");
        assertThatThrownBy(() -> DnsDiscovery.srv("_llm._tcp.fleet.test").family(null))
                .isInstanceOf(NullPointerException.class).hasMessage("family: null (expected: non-null)");
        assertThatThrownBy(() -> DnsDiscovery.srv(null))
                .isInstanceOf(NullPointerException.class).hasMessage("name: null (expected: non-null)");
    }

    @Test
    void eachOptionIsGivenOnce() {
        DnsDiscovery.Builder builder = DnsDiscovery.srv("_llm._tcp.fleet.test").interval(Duration.ofSeconds(10));

        assertThatThrownBy(() -> builder.interval(Duration.ofSeconds(20)))
                .isInstanceOf(IllegalStateException.class).hasMessage("interval was already set to PT10S");
        assertThat(builder.server("127.0.0.1:5353").build())
                .hasToString("DnsDiscovery{_llm._tcp.fleet.test SRV from 127.0.0.1:5353 every PT10S}");
    }

    @Test
    void theDefaultsAreTheSystemsResolverEveryThirtySecondsIpv4() {
        assertThat(DnsDiscovery.addresses("api.fleet.test", 8000).build())
                .hasToString("DnsDiscovery{api.fleet.test A port 8000 from the system's resolver every PT30S}");
    }

    @Test
    void aSourceStartsOnce() {
        DnsDiscovery source = DnsDiscovery.addresses("api.fleet.test", 8000).server("127.0.0.1:5353").build();
        DnsDiscoveryRecordsTest.RecordingContext context = new DnsDiscoveryRecordsTest.RecordingContext(
                new dev.ailb.testing.ManualScheduler(new dev.ailb.testing.ManualTicker()));
        source.start(context);

        assertThatThrownBy(() -> source.start(context))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage(source + " was already started (expected: one source per balancer)");
        source.close();
    }

    @Test
    void srvRecordsAreReadFromTheProvidersText() throws Exception {
        assertThat(SrvRecord.parse("10 40 8002 gpu-b.fleet.test.")).isEqualTo(new SrvRecord(10, 40, 8002, "gpu-b.fleet.test"));
        assertThat(SrvRecord.parse("0 0 0 .").offersNothing()).isTrue();
        assertThatThrownBy(() -> SrvRecord.parse("0 5 70000 gpu.fleet.test."))
                .isInstanceOf(DnsLookupException.class)
                .hasMessage("SRV record \"0 5 70000 gpu.fleet.test.\": port 70000 (expected: 0..65535)");
        assertThat(DnsMembership.clampWeight(0)).isEqualTo(1);
        assertThat(DnsMembership.clampWeight(65535)).isEqualTo(65535);
    }
}

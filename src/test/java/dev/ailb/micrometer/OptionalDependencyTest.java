package dev.ailb.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.LoadBalancer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Micrometer, Jackson and the frameworks are optional: no class outside {@code dev.ailb.micrometer}
 * may name a type of Micrometer, none but the JSON readers of {@code dev.ailb.http} a type of
 * Jackson, and none outside a framework's own package ({@code dev.ailb.langchain4j},
 * {@code dev.ailb.spring.boot}, {@code dev.ailb.spring.ai}, {@code dev.ailb.kubernetes} for the
 * fabric8 Kubernetes client; for the OpenAI Java SDK,
 * {@code dev.ailb.openai} and the Spring AI package built on it) a type of that framework, or an
 * application without them would fail to load it. (The readers are reached only after
 * {@code dev.ailb.http.Jackson} has checked that Jackson is there; ClassPathWithoutJacksonTest and
 * ModulePathConsumerTest run the library without either.)
 */
class OptionalDependencyTest {
    /** The classes that read JSON with Jackson, which the body-aware calls load after their check. */
    private static final Set<String> JSON_READERS = Set.of("dev/ailb/http/PromptReader.class",
            "dev/ailb/http/CanonicalJson.class", "dev/ailb/http/UsageScanner.class");

    @Test
    void onlyTheMicrometerPackageReferencesMicrometer() throws Exception {
        Path classes = Path.of(LoadBalancer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<Path> all;
        try (Stream<Path> walk = Files.walk(classes)) {
            all = walk.filter(p -> p.toString().endsWith(".class")).toList();
        }
        assertThat(all).hasSizeGreaterThan(50);
        for (Path file : all) {
            String relative = classes.relativize(file).toString().replace('\\', '/');
            boolean mentions = mentionsMicrometer(file);
            // The auto-configuration's observations, imported only where Micrometer is.
            if (relative.startsWith("dev/ailb/micrometer/") || relative.equals("dev/ailb/spring/boot/PoolObservations.class")) {
                continue;
            }
            assertThat(mentions).as(relative).isFalse();
        }
        assertThat(mentionsMicrometer(classes.resolve("dev/ailb/micrometer/LoadBalancerMeterBinder.class")))
                .as("the check can see a reference").isTrue();
        assertThat(mentionsMicrometer(classes.resolve("dev/ailb/micrometer/ObservationAttemptTracing.class")))
                .as("the check can see a reference to the Observation API").isTrue();
    }

    @Test
    void onlyTheJsonReadersReferenceJackson() throws Exception {
        Path classes = Path.of(LoadBalancer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Set<String> mentioning = new TreeSet<>();
        try (Stream<Path> walk = Files.walk(classes)) {
            for (Path file : walk.filter(p -> p.toString().endsWith(".class")).toList()) {
                if (mentions(file, "com/fasterxml/jackson/")) {
                    String relative = classes.relativize(file).toString().replace('\\', '/');
                    mentioning.add(relative.replaceFirst("\\$.*\\.class$", ".class")); // with its nested classes
                }
            }
        }
        assertThat(mentioning).containsExactlyInAnyOrderElementsOf(JSON_READERS);
    }

    @Test
    void onlyTheLangChain4jPackageReferencesLangChain4j() throws Exception {
        assertOnlyPackageNames("dev/langchain4j/", "dev/ailb/langchain4j/",
                "dev/ailb/langchain4j/BalancedHttpClientBuilder.class");
    }

    @Test
    void onlyTheKubernetesPackageReferencesFabric8() throws Exception {
        assertOnlyPackageNames("io/fabric8/", "dev/ailb/kubernetes/",
                "dev/ailb/kubernetes/EndpointSliceDiscovery.class");
    }

    @Test
    void onlyTheSpringBootPackageReferencesSpringBoot() throws Exception {
        assertOnlyPackageNames("org/springframework/boot/", "dev/ailb/spring/boot/",
                "dev/ailb/spring/boot/AilbAutoConfiguration.class");
    }

    @Test
    void onlyTheSpringAiPackageReferencesSpringAi() throws Exception {
        assertOnlyPackageNames("org/springframework/ai/", "dev/ailb/spring/ai/",
                "dev/ailb/spring/ai/OpenAiChatModels.class", "dev/ailb/spring/boot/PoolChatModelBeans.class");
    }

    @Test
    void onlyTheOpenAiAndSpringAiPackagesReferenceTheOpenAiSdk() throws Exception {
        Path classes = Path.of(LoadBalancer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Set<String> naming = new TreeSet<>();
        try (Stream<Path> walk = Files.walk(classes)) {
            for (Path file : walk.filter(p -> p.toString().endsWith(".class")).toList()) {
                if (mentions(file, "com/openai/")) {
                    String relative = classes.relativize(file).toString().replace('\\', '/');
                    naming.add(relative.substring(0, relative.lastIndexOf('/') + 1));
                }
            }
        }
        assertThat(naming).as("packages naming the OpenAI SDK")
                .containsExactlyInAnyOrder("dev/ailb/openai/", "dev/ailb/spring/ai/");
    }

    @Test
    void onlyTheDnsResolverNamesJndi() throws Exception {
        // JNDI is part of the JDK, not an optional dependency; still, one class asks it for DNS
        // records, so that the module's need of java.naming has a single reason.
        assertOnlyPackageNames("javax/naming/", "dev/ailb/dns/DnsResolver", "dev/ailb/dns/DnsResolver.class");
    }

    /**
     * Only the classes under {@code packagePrefix} (and the classes {@code alsoAllowed}) name a
     * type under {@code typePrefix}, and {@code witness} does, so that the check is known to see a
     * reference.
     */
    private static void assertOnlyPackageNames(String typePrefix, String packagePrefix, String witness,
            String... alsoAllowed) throws Exception {
        Path classes = Path.of(LoadBalancer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Set<String> mentioning = new TreeSet<>();
        try (Stream<Path> walk = Files.walk(classes)) {
            for (Path file : walk.filter(p -> p.toString().endsWith(".class")).toList()) {
                if (mentions(file, typePrefix)) {
                    mentioning.add(classes.relativize(file).toString().replace('\\', '/'));
                }
            }
        }
        assertThat(mentioning).as("the check can see a reference").contains(witness);
        Set<String> allowed = Set.of(alsoAllowed);
        assertThat(mentioning).allSatisfy(name -> assertThat(name.startsWith(packagePrefix) || allowed.contains(name))
                .as(name).isTrue());
    }

    private static boolean mentionsMicrometer(Path classFile) throws IOException {
        return mentions(classFile, "io/micrometer/");
    }

    private static boolean mentions(Path classFile, String packagePrefix) throws IOException {
        return new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1).contains(packagePrefix);
    }
}

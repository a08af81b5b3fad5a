package dev.ailb.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.LoadBalancer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Micrometer is optional: no class outside {@code dev.ailb.micrometer} may name one of its types,
 * or an application without Micrometer would fail to load it.
 */
class OptionalDependencyTest {

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
            if (relative.startsWith("dev/ailb/micrometer/")) {
                continue;
            }
            assertThat(mentions).as(relative).isFalse();
        }
        assertThat(mentionsMicrometer(classes.resolve("dev/ailb/micrometer/LoadBalancerMeterBinder.class")))
                .as("the check can see a reference").isTrue();
    }

    private static boolean mentionsMicrometer(Path classFile) throws IOException {
        return new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1).contains("io/micrometer/");
    }
}

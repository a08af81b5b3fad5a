package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.demo.Demo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/** Figures and first steps in README.md that must match the code they describe. */
class ReadmeFactsTest {
    private static final Path README = Path.of("README.md");

    private static String readme() throws IOException {
        return Files.readString(README, StandardCharsets.UTF_8).replaceAll("\\s+", " ");
    }

    @Test
    void theDemoDescriptionGivesTheDemosDefaultNumberOfRequestsPerStrategy() throws IOException {
        String perStrategy = String.format(Locale.ROOT, "%,d real HTTP requests through each of the seven strategies",
                Demo.DEFAULT_REQUESTS);

        assertThat(readme()).contains(perStrategy + " by default");
    }

    @Test
    void theDependencySnippetIsPrecededByTheInstallCommand() throws IOException {
        String text = readme();
        int snippet = text.indexOf("<artifactId>ailb</artifactId>");
        int quickStart = text.indexOf("## Quick start");

        assertThat(quickStart).isNotNegative();
        assertThat(text.substring(quickStart, snippet))
                .contains("not on Maven Central")
                .contains("`mvn -B -q install -DskipTests`");
    }
}

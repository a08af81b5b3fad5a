package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.demo.Demo;
import dev.ailb.testing.Docs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Figures and first steps in README.md, and the strategy tables of the docs, that must match the code they describe. */
class ReadmeFactsTest {

    private static String readme() {
        return Docs.read(Docs.README).replaceAll("\\s+", " ");
    }

    /** The strategy names in the first column of the first table under a heading, backticks and notes removed. */
    private static List<String> strategyColumn(Path doc, String heading) {
        List<String> names = new ArrayList<>();
        for (List<String> row : Docs.firstTable(Docs.section(doc, heading))) {
            String cell = row.get(0);
            assertThat(cell).as("the first cell of a row under %s in %s", heading, doc).startsWith("`");
            names.add(cell.substring(1, cell.indexOf('`', 1)));
        }
        return names;
    }

    private static List<String> builtInNames() {
        return BalancingStrategy.builtIns().stream().map(BalancingStrategy::name).collect(Collectors.toList());
    }

    @Test
    void theDemoDescriptionGivesTheDemosDefaultNumberOfRequestsPerStrategy() {
        String perStrategy = String.format(Locale.ROOT, "%,d real HTTP requests through each of the seven strategies",
                Demo.DEFAULT_REQUESTS);

        assertThat(readme()).contains(perStrategy + " by default");
    }

    @Test
    void theDependencySnippetIsPrecededByTheInstallCommand() {
        String text = readme();
        int snippet = text.indexOf("<artifactId>ailb</artifactId>");
        int install = text.indexOf("## Install");

        assertThat(install).isNotNegative();
        assertThat(snippet).isGreaterThan(install);
        assertThat(text.substring(install, snippet))
                .contains("not on Maven Central")
                .contains("`mvn -B -q install -DskipTests`");
    }

    @Test
    void theReadmesStrategyTableNamesEveryBuiltInStrategyOnce() {
        List<String> names = strategyColumn(Docs.README, "## Choosing a strategy");

        assertThat(names).containsExactlyInAnyOrderElementsOf(builtInNames());
    }

    @Test
    void theStrategiesGuideDescribesEveryBuiltInStrategyOnce() {
        List<String> names = strategyColumn(Docs.guide("strategies.md"), "## The eight built-in strategies");

        assertThat(names).containsExactlyInAnyOrderElementsOf(builtInNames());
    }

    @Test
    void theReadmeMarksTheDefaultStrategy() {
        List<List<String>> rows = Docs.firstTable(Docs.section(Docs.README, "## Choosing a strategy"));
        List<String> marked = rows.stream().map(r -> r.get(0)).filter(c -> c.contains("(default)"))
                .collect(Collectors.toList());

        try (LoadBalancer lb = new LoadBalancer()) {
            assertThat(marked).containsExactly("`" + lb.getStrategy().name() + "` (default)");
        }
    }
}

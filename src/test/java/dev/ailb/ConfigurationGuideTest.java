package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.testing.Docs;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The configuration guide lists every builder setting, and every key fromProperties reads. */
class ConfigurationGuideTest {
    private static final Pattern SETTING = Pattern.compile("^`(\\w+)");
    private static final Pattern KEY = Pattern.compile("case \"([a-z.-]+)\" ->");
    /** The other cases of PropertiesConfig's switches: check types, duration units, load sources. */
    private static final Set<String> NOT_KEYS = Set.of("http", "tcp", "ms", "s", "m", "h", "d", "vllm", "tgi", "sglang");

    @Test
    void theSettingsTableHasARowForEveryBuilderSettingAndNoOther() {
        Set<String> settings = Arrays.stream(LoadBalancerBuilder.class.getDeclaredMethods())
                .filter(m -> Modifier.isPublic(m.getModifiers()) && m.getReturnType() == LoadBalancerBuilder.class)
                .map(Method::getName).collect(Collectors.toCollection(TreeSet::new));
        Set<String> documented = new TreeSet<>();
        for (List<String> row : Docs.firstTable(Docs.lines(Docs.guide("configuration.md")))) {
            Matcher m = SETTING.matcher(row.get(0));
            assertThat(m.find()).as("row %s names a setting", row).isTrue();
            documented.add(m.group(1));
        }
        assertThat(documented).isEqualTo(settings);
    }

    @Test
    void everyPropertyKeyIsNamedInTheGuideAndInTheJavadocOfFromProperties() {
        Set<String> keys = new TreeSet<>();
        Matcher m = KEY.matcher(Docs.read(Path.of("src/main/java/dev/ailb/PropertiesConfig.java")));
        while (m.find()) {
            keys.add(m.group(1));
        }
        keys.removeAll(NOT_KEYS);
        assertThat(keys).contains("name", "strategy", "drain-timeout", "saturation.max-report-age");
        String guide = Docs.read(Docs.guide("configuration.md"));
        String facade = Docs.read(Path.of("src/main/java/dev/ailb/LoadBalancer.java"));
        for (String key : keys) {
            // The saturation keys are written saturation.* then their last part, in both places.
            String leaf = key.substring(key.indexOf('.') + 1);
            String named = key.startsWith("saturation.") ? leaf : key;
            assertThat(guide).as("configuration.md names %s", key)
                    .containsPattern("[`.]" + Pattern.quote(named) + "[`=]");
            assertThat(facade).as("the Javadoc of fromProperties names %s", key)
                    .containsPattern("(\\{@code (saturation\\.)?|ailb\\.)" + Pattern.quote(named) + "[}=]");
        }
    }
}

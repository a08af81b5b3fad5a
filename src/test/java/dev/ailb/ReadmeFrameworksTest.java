package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.testing.Docs;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java of the README's section on frameworks, compiled as it is written against the library and
 * the frameworks (Spring Boot, Spring AI, the OpenAI Java SDK, LangChain4j) of the test class path:
 * a block that declares a class is a source file with its imports; any other block is statements,
 * compiled in a method of a class that has the block's imports. So a renamed method, a bean that
 * is not there or a missing import fails here.
 */
class ReadmeFrameworksTest {
    private static final String SECTION = "## In your framework";
    private static final Pattern CLASS_NAME = Pattern.compile("(?m)^(?:public )?(?:final )?class (\\w+)");

    @TempDir
    Path work;

    /** The class path the tests run on, every framework included. */
    private static String testClassPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }

    @Test
    void everyJavaBlockOfTheFrameworksSectionCompiles() throws Exception {
        List<String> blocks = Docs.codeBlocks(Docs.section(Docs.README, SECTION), "java");
        assertThat(blocks).as("Java blocks under %s in the README", SECTION).hasSizeGreaterThanOrEqualTo(2);

        List<String> sources = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            sources.add(source(blocks.get(i), i).toString());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream messages = new ByteArrayOutputStream();
        List<String> args = new ArrayList<>(List.of("--release", "17", "-proc:none",
                "-classpath", testClassPath(), "-d", Files.createDirectories(work.resolve("out")).toString()));
        args.addAll(sources);
        int status = javac.run(null, null, messages, args.toArray(new String[0]));

        assertThat(status).as("javac:%n%s", messages.toString(StandardCharsets.UTF_8)).isZero();
    }

    /** The block as a source file: as it is if it declares a class, else its statements in a method. */
    private Path source(String block, int index) throws Exception {
        StringBuilder imports = new StringBuilder();
        StringBuilder rest = new StringBuilder();
        for (String line : block.split("\n", -1)) {
            (line.startsWith("import ") ? imports : rest).append(line).append('\n');
        }
        Matcher declared = CLASS_NAME.matcher(rest);
        String name;
        String text;
        if (declared.find()) {
            name = declared.group(1);
            text = imports + "\n" + rest;
        } else {
            name = "Block" + index;
            text = imports + "\nclass " + name + " {\n    void run() throws Exception {\n" + rest + "    }\n}\n";
        }
        Path file = work.resolve("block" + index).resolve(name + ".java");
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
        return file;
    }
}

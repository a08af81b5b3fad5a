package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.testing.Docs;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
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
 * The Java of the README's quick start, compiled as it is written against the library (and SLF4J,
 * its one dependency): the first block is a whole program, with its imports, which must compile
 * without warnings and run; the blocks after it are statements, compiled in a method of a class
 * that imports the library's API packages. So a renamed method or a missing import fails here.
 */
class ReadmeQuickStartTest {
    private static final String SECTION = "## Quick start";
    private static final Pattern CLASS_NAME = Pattern.compile("(?m)^public class (\\w+) \\{$");

    @TempDir
    Path work;

    private static List<String> quickStartBlocks() {
        List<String> blocks = Docs.codeBlocks(Docs.section(Docs.README, SECTION), "java");
        assertThat(blocks).as("Java blocks under %s in the README", SECTION).isNotEmpty();
        return blocks;
    }

    private static String location(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    /** Compiles one source file into {@code out}; returns javac's messages, failing if it fails. */
    private static String compile(Path source, Path out) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream messages = new ByteArrayOutputStream();
        List<String> args = new ArrayList<>(List.of("--release", "17", "-Xlint:all", "-Werror",
                "-classpath", location(LoadBalancer.class) + File.pathSeparator + location(org.slf4j.Logger.class),
                "-d", out.toString(), source.toString()));
        int status = javac.run(null, null, messages, args.toArray(new String[0]));
        String text = messages.toString(StandardCharsets.UTF_8);
        assertThat(status).as("javac on %s:%n%s", source.getFileName(), text).isZero();
        return text;
    }

    @Test
    void theQuickStartProgramCompilesAndRuns() throws Exception {
        String program = quickStartBlocks().get(0);
        Matcher name = CLASS_NAME.matcher(program);
        assertThat(name.find()).as("a line 'public class Name {' in the quick start").isTrue();
        Path source = work.resolve(name.group(1) + ".java");
        Files.writeString(source, program, StandardCharsets.UTF_8);
        Path out = Files.createDirectories(work.resolve("out"));

        compile(source, out);
        String printed;
        PrintStream original = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {out.toUri().toURL()}, getClass().getClassLoader())) {
            Method main = loader.loadClass(name.group(1)).getMethod("main", String[].class);
            System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
            try {
                main.invoke(null, (Object) new String[0]);
            } finally {
                System.setOut(original);
            }
            printed = buffer.toString(StandardCharsets.UTF_8);
        }

        assertThat(printed).matches("instance-[12]: success rate 1\\.0, p99 PT\\S+S; requests 2\\R");
    }

    @Test
    void theQuickStartsOtherSnippetsCompileAsStatements() throws Exception {
        List<String> blocks = quickStartBlocks();
        assertThat(blocks).as("the quick start shows the builder after the program").hasSizeGreaterThan(1);
        StringBuilder snippets = new StringBuilder();
        for (int i = 1; i < blocks.size(); i++) {
            snippets.append("    void snippet").append(i).append("() throws Exception {\n")
                    .append(blocks.get(i)).append("    }\n");
        }
        Path source = work.resolve("Snippets.java");
        Files.writeString(source, "import dev.ailb.*;\nimport dev.ailb.health.*;\nimport java.time.Duration;\n"
                + "class Snippets {\n" + snippets + "}\n", StandardCharsets.UTF_8);

        compile(source, Files.createDirectories(work.resolve("out")));
    }
}

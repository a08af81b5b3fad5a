package dev.ailb.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The project's documentation as the tests read it: README.md and the guides under
 * {@code src/site/markdown}, paths relative to the project directory (where Maven runs the tests).
 * Tests that hold a document to the code read it through here, so a document that moves is
 * followed in one place.
 */
public final class Docs {
    /** The README: what ailb is, the commands, install, quick start, choosing a strategy. */
    public static final Path README = Path.of("README.md");
    /** The folder of the guides. */
    public static final Path GUIDES = Path.of("src", "site", "markdown");

    private static final Pattern CELL_SEPARATOR = Pattern.compile("(?<!\\\\)\\|");

    private Docs() {}

    /**
     * A guide by file name.
     *
     * @param name the file name, such as {@code "health.md"}
     * @return its path
     */
    public static Path guide(String name) {
        return GUIDES.resolve(name);
    }

    /** The guides, sorted by file name. */
    public static List<Path> guides() {
        try (Stream<Path> files = Files.list(GUIDES)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".md")).sorted().collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The README and the guides. */
    public static List<Path> all() {
        List<Path> all = new ArrayList<>();
        all.add(README);
        all.addAll(guides());
        return all;
    }

    /** The text of a document. */
    public static String read(Path doc) {
        try {
            return Files.readString(doc, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The lines of a document. */
    public static List<String> lines(Path doc) {
        return List.of(read(doc).split("\n", -1));
    }

    /**
     * The lines under a heading, up to the next heading of the same or a higher level (or the end).
     *
     * @throws IllegalArgumentException if the document has no line equal to {@code heading}
     */
    public static List<String> section(Path doc, String heading) {
        List<String> lines = lines(doc);
        int start = lines.indexOf(heading);
        if (start < 0) {
            throw new IllegalArgumentException(doc + " has no line " + heading);
        }
        int level = headingLevel(heading);
        if (level == 0) {
            throw new IllegalArgumentException("heading: \"" + heading + "\" (expected: #, ## ... and a space)");
        }
        int end = start + 1;
        boolean inCode = false;
        while (end < lines.size()) {
            String line = lines.get(end);
            if (line.startsWith("```")) {
                inCode = !inCode;
            } else if (!inCode && headingLevel(line) > 0 && headingLevel(line) <= level) {
                break;
            }
            end++;
        }
        return lines.subList(start + 1, end);
    }

    /** The number of leading {@code #} of a heading line, 0 if it is not one. */
    static int headingLevel(String line) {
        int n = 0;
        while (n < line.length() && line.charAt(n) == '#') {
            n++;
        }
        return n < line.length() && line.charAt(n) == ' ' ? n : 0;
    }

    /** The fenced code blocks of these lines whose fence names {@code language}, fences excluded. */
    public static List<String> codeBlocks(List<String> lines, String language) {
        List<String> blocks = new ArrayList<>();
        StringBuilder block = null;
        for (String line : lines) {
            if (block == null && line.equals("```" + language)) {
                block = new StringBuilder();
            } else if (block != null && line.equals("```")) {
                blocks.add(block.toString());
                block = null;
            } else if (block != null) {
                block.append(line).append('\n');
            }
        }
        return blocks;
    }

    /**
     * The body rows of the first table in these lines, header and rule excluded, each split into
     * its trimmed cells (escaped pipes kept as {@code \|}).
     */
    public static List<List<String>> firstTable(List<String> lines) {
        List<List<String>> rows = new ArrayList<>();
        boolean inTable = false;
        int tableLine = 0;
        for (String line : lines) {
            if (!line.startsWith("|")) {
                if (inTable) {
                    break;
                }
                continue;
            }
            inTable = true;
            if (tableLine++ < 2) {
                continue; // the header and the line under it
            }
            String[] cells = CELL_SEPARATOR.split(line, -1);
            List<String> row = new ArrayList<>();
            for (int i = 1; i < cells.length - 1; i++) { // empty before the first | and after the last
                row.add(cells[i].trim());
            }
            if (!cells[0].isEmpty() || !cells[cells.length - 1].isEmpty()) {
                throw new IllegalArgumentException("a table row that does not start and end with |: " + line);
            }
            rows.add(row);
        }
        return rows;
    }
}

package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.testing.Docs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The links between README.md and the guides under {@code src/site/markdown}: every relative link
 * points at a file that exists (and, with a {@code #fragment} into a Markdown file, at one of its
 * headings, named as GitHub names their anchors), and every guide can be reached from the README
 * or the guide index.
 */
class DocLinksTest {
    private static final Pattern LINK = Pattern.compile("\\[[^\\]]*\\]\\(([^)\\s]+)\\)");
    private static final Pattern CODE_SPAN = Pattern.compile("`[^`\\n]*`");
    private static final Pattern EXTERNAL = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*:");

    /** A link as written in a document. */
    record Link(Path from, String target) {
        Path file() {
            String path = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
            Path doc = from.toAbsolutePath().normalize();
            return path.isEmpty() ? doc : doc.getParent().resolve(path).normalize();
        }

        String fragment() {
            return target.contains("#") ? target.substring(target.indexOf('#') + 1) : null;
        }
    }

    /** The links of a document outside code blocks and code spans. */
    private static List<Link> links(Path doc) {
        List<Link> links = new ArrayList<>();
        boolean inCode = false;
        for (String line : Docs.lines(doc)) {
            if (line.startsWith("```")) {
                inCode = !inCode;
                continue;
            }
            if (inCode) {
                continue;
            }
            Matcher m = LINK.matcher(CODE_SPAN.matcher(line).replaceAll(""));
            while (m.find()) {
                links.add(new Link(doc, m.group(1)));
            }
        }
        return links;
    }

    private static List<Link> relativeLinks(Path doc) {
        return links(doc).stream().filter(l -> !EXTERNAL.matcher(l.target()).find()).collect(Collectors.toList());
    }

    /** The anchors GitHub gives the headings of a Markdown file (duplicates aside, which the docs avoid). */
    static Set<String> anchors(Path doc) {
        Set<String> anchors = new LinkedHashSet<>();
        boolean inCode = false;
        for (String line : Docs.lines(doc)) {
            if (line.startsWith("```")) {
                inCode = !inCode;
            } else if (!inCode && line.matches("#{1,6} .*")) {
                anchors.add(slug(line.substring(line.indexOf(' ') + 1)));
            }
        }
        return anchors;
    }

    /** GitHub's heading anchor: lower case, punctuation other than {@code -} and {@code _} dropped, spaces to {@code -}. */
    static String slug(String heading) {
        return heading.trim().toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{M}\\p{N}\\p{Pc} -]", "").replace(' ', '-');
    }

    @Test
    void slugsAreMadeAsGitHubMakesThem() {
        assertThat(slug("Which strategy: a simulated fleet")).isEqualTo("which-strategy-a-simulated-fleet");
        assertThat(slug("Reading vLLM's `/metrics`")).isEqualTo("reading-vllms-metrics");
        assertThat(slug("Retries: `execute`")).isEqualTo("retries-execute");
        assertThat(slug("What `mvn -B verify` does")).isEqualTo("what-mvn--b-verify-does");
    }

    @Test
    void everyRelativeLinkPointsAtAFileThatExists() {
        List<String> broken = new ArrayList<>();
        for (Path doc : Docs.all()) {
            for (Link link : relativeLinks(doc)) {
                if (!Files.exists(link.file())) {
                    broken.add(doc + ": " + link.target());
                }
            }
        }

        assertThat(broken).as("links to files that do not exist").isEmpty();
    }

    @Test
    void everyLinkIntoAMarkdownFileNamesOneOfItsHeadings() {
        List<String> broken = new ArrayList<>();
        for (Path doc : Docs.all()) {
            for (Link link : relativeLinks(doc)) {
                Path file = link.file();
                if (link.fragment() != null && file.toString().endsWith(".md") && Files.exists(file)
                        && !anchors(file).contains(link.fragment())) {
                    broken.add(doc + ": " + link.target() + " (anchors there: " + anchors(file) + ")");
                }
            }
        }

        assertThat(broken).as("links to headings that do not exist").isEmpty();
    }

    @Test
    void everyGuideIsLinkedFromTheReadmeOrTheIndex() {
        Path index = Docs.guide("index.md");
        Set<Path> linked = new LinkedHashSet<>();
        for (Path doc : List.of(Docs.README, index)) {
            for (Link link : relativeLinks(doc)) {
                linked.add(link.file());
            }
        }
        List<Path> guides = Docs.guides();

        assertThat(guides).as("the guides").contains(index).hasSizeGreaterThan(5);
        assertThat(linked).as("files linked from the README").contains(index.toAbsolutePath().normalize());
        for (Path guide : guides) {
            if (!guide.equals(index)) {
                assertThat(linked).as("files linked from the README or %s", index)
                        .contains(guide.toAbsolutePath().normalize());
            }
        }
    }

    @Test
    void everyGuideIsListedInTheIndex() {
        Path index = Docs.guide("index.md");
        Set<Path> listed = relativeLinks(index).stream().map(Link::file).collect(Collectors.toSet());

        for (Path guide : Docs.guides()) {
            if (!guide.equals(index)) {
                assertThat(listed).as("files linked from %s", index).contains(guide.toAbsolutePath().normalize());
            }
        }
    }
}

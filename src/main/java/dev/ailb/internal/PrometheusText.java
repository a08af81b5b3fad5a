package dev.ailb.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A reader of the Prometheus text exposition format (version 0.0.4), the page an inference
 * server serves at {@code /metrics}. It checks every line and keeps the samples of the metrics
 * asked for, each with its labels and value, whatever the labels are.
 *
 * <p>A line is blank, a comment (starting with {@code #}, which covers {@code HELP} and
 * {@code TYPE}), or a sample: a metric name, optionally a set of labels in braces with values in
 * double quotes (escapes {@code \\}, {@code \"} and {@code \n}), a value ({@code NaN},
 * {@code +Inf}, {@code -Inf} or a decimal number) and optionally an integer time stamp, separated
 * by spaces or tabs. Anything else makes the whole page malformed: a page that breaks the format
 * in one place cannot be trusted in another.
 *
 * <p>Of the metrics asked for, a series, that is the metric name with one set of labels, may
 * appear on one line only, as the format requires: a page that lists a series twice is malformed
 * too, rather than having its values counted twice. Labels are compared as a set, in any order,
 * by their values unescaped; a label with an empty value counts as absent, as in Prometheus. A
 * label named twice in one set is malformed as well.
 */
public final class PrometheusText {
    private PrometheusText() {}

    /**
     * One sample of a wanted metric: its labels, unescaped, sorted by name, without those whose
     * value is empty, and its value. Info metrics (such as vLLM's {@code vllm:cache_config_info},
     * whose value is always 1) carry what they say in their labels.
     *
     * @param labels the labels, unmodifiable
     * @param value  the value
     */
    public record Sample(Map<String, String> labels, double value) {}

    /**
     * Every sample of the wanted metrics on a page, with its labels, by metric name; a wanted
     * metric without a sample has no entry.
     *
     * @param page   the page
     * @param wanted the metric names to keep
     * @return the samples found, in the order of the page
     * @throws IllegalArgumentException if the page is malformed; the message names the line and
     *                                  what was wrong with it
     */
    public static Map<String, List<Sample>> samples(String page, Set<String> wanted) {
        Map<String, List<Sample>> found = new HashMap<>();
        Map<Series, Integer> seen = new HashMap<>();
        int line = 0;
        int pos = 0;
        int n = page.length();
        while (pos < n) {
            int end = page.indexOf('\n', pos);
            if (end < 0) {
                end = n;
            }
            line++;
            new Line(page, pos, end > pos && page.charAt(end - 1) == '\r' ? end - 1 : end, line)
                    .read(wanted, found, seen);
            pos = end + 1;
        }
        return found;
    }

    /** One line being read: {@code text[at, end)}. */
    private static final class Line {
        private final String text;
        private final int end;
        private final int number;
        private int at;

        Line(String text, int start, int end, int number) {
            this.text = text;
            this.at = start;
            this.end = end;
            this.number = number;
        }

        /**
         * Reads the line; keeps its value if its metric is wanted, after checking that its series
         * is not in {@code seen} (the series of the wanted metrics met so far, with their lines).
         */
        void read(Set<String> wanted, Map<String, List<Sample>> found, Map<Series, Integer> seen) {
            skipBlanks();
            if (at == end || text.charAt(at) == '#') {
                return;
            }
            String name = metricName();
            // The labels of the other metrics are only checked, never kept.
            Map<String, String> labels = wanted.contains(name) ? new TreeMap<>() : null;
            if (at < end && text.charAt(at) == '{') {
                at++;
                labels(labels);
            }
            if (at < end && !isBlank(text.charAt(at))) {
                throw malformed("expected a space before the value");
            }
            skipBlanks();
            double value = value();
            skipBlanks();
            if (at < end) {
                timestamp();
                skipBlanks();
                if (at < end) {
                    throw malformed("unexpected text after the time stamp");
                }
            }
            if (labels != null) {
                labels.values().removeIf(String::isEmpty); // in Prometheus, an empty label is no label
                Map<String, String> kept = Collections.unmodifiableMap(labels);
                Series series = new Series(name, kept);
                Integer first = seen.putIfAbsent(series, number);
                if (first != null) {
                    throw malformed("series " + series + " listed twice (first on line " + first + ")");
                }
                found.computeIfAbsent(name, k -> new ArrayList<>(1)).add(new Sample(kept, value));
            }
        }

        private String metricName() {
            int start = at;
            if (!isNameStart(text.charAt(at), true)) {
                throw malformed("expected a metric name");
            }
            at++;
            while (at < end && isNamePart(text.charAt(at), true)) {
                at++;
            }
            return text.substring(start, at);
        }

        /**
         * The labels after an opening brace, up to and including the closing one; put in
         * {@code into}, unless it is null, with their values unescaped.
         */
        private void labels(Map<String, String> into) {
            for (;;) {
                skipBlanks();
                if (at == end) {
                    throw malformed("unterminated label set");
                }
                if (text.charAt(at) == '}') {
                    at++;
                    return;
                }
                if (!isNameStart(text.charAt(at), false)) {
                    throw malformed("expected a label name");
                }
                int nameStart = at;
                while (at < end && isNamePart(text.charAt(at), false)) {
                    at++;
                }
                int nameEnd = at;
                skipBlanks();
                expect('=', "expected = after a label name");
                skipBlanks();
                expect('"', "expected a quoted label value");
                String value = labelValue(into != null);
                if (into != null) {
                    String label = text.substring(nameStart, nameEnd);
                    if (into.putIfAbsent(label, value) != null) {
                        throw malformed("label " + label + " given twice");
                    }
                }
                skipBlanks();
                if (at < end && text.charAt(at) == ',') {
                    at++;
                } else if (at < end && text.charAt(at) == '}') {
                    at++;
                    return;
                } else {
                    throw malformed("expected , or } after a label value");
                }
            }
        }

        /**
         * A label value after its opening quote, up to and including the closing one; returns it
         * unescaped if {@code keep}, else null.
         */
        private String labelValue(boolean keep) {
            StringBuilder value = keep ? new StringBuilder() : null;
            while (at < end) {
                char c = text.charAt(at++);
                if (c == '"') {
                    return keep ? value.toString() : null;
                }
                if (c == '\\') {
                    if (at == end) {
                        break;
                    }
                    char escaped = text.charAt(at++);
                    if (escaped != '\\' && escaped != '"' && escaped != 'n') {
                        throw malformed("unknown escape \\" + escaped + " in a label value");
                    }
                    c = escaped == 'n' ? '\n' : escaped;
                }
                if (keep) {
                    value.append(c);
                }
            }
            throw malformed("unterminated label value");
        }

        private double value() {
            int start = at;
            while (at < end && !isBlank(text.charAt(at))) {
                at++;
            }
            String token = text.substring(start, at);
            switch (token) {
                case "NaN":
                    return Double.NaN;
                case "+Inf":
                case "Inf":
                    return Double.POSITIVE_INFINITY;
                case "-Inf":
                    return Double.NEGATIVE_INFINITY;
                default:
                    if (!isDecimal(token)) {
                        throw malformed(token.isEmpty() ? "expected a value" : "not a number: " + token);
                    }
                    return Double.parseDouble(token);
            }
        }

        private void timestamp() {
            int start = at;
            if (at < end && text.charAt(at) == '-') {
                at++;
            }
            int digits = at;
            while (at < end && text.charAt(at) >= '0' && text.charAt(at) <= '9') {
                at++;
            }
            if (at == digits || (at < end && !isBlank(text.charAt(at)))) {
                while (at < end && !isBlank(text.charAt(at))) {
                    at++;
                }
                throw malformed("not a time stamp: " + text.substring(start, at));
            }
        }

        private void expect(char c, String problem) {
            if (at == end || text.charAt(at) != c) {
                throw malformed(problem);
            }
            at++;
        }

        private void skipBlanks() {
            while (at < end && isBlank(text.charAt(at))) {
                at++;
            }
        }

        private IllegalArgumentException malformed(String problem) {
            return new IllegalArgumentException("line " + number + ": " + problem);
        }
    }

    /** A metric name with a set of labels, none of them empty; equal whatever the labels' order. */
    private record Series(String name, Map<String, String> labels) {
        /** As on a page, the labels sorted by name and their values escaped again. */
        @Override
        public String toString() {
            if (labels.isEmpty()) {
                return name;
            }
            StringBuilder s = new StringBuilder(name).append('{');
            labels.forEach((label, value) -> {
                s.append(label).append("=\"");
                for (int i = 0; i < value.length(); i++) {
                    char c = value.charAt(i);
                    switch (c) {
                        case '\\' -> s.append("\\\\");
                        case '"' -> s.append("\\\"");
                        case '\n' -> s.append("\\n");
                        default -> s.append(c);
                    }
                }
                s.append("\",");
            });
            s.setCharAt(s.length() - 1, '}');
            return s.toString();
        }
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }

    private static boolean isNameStart(char c, boolean colon) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
    }

    private static boolean isNamePart(char c, boolean colon) {
        return isNameStart(c, colon) || (c >= '0' && c <= '9');
    }

    /**
     * {@code [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?}: the decimal forms, and not
     * the hexadecimal or suffixed ones that {@link Double#parseDouble} would also take.
     */
    static boolean isDecimal(String s) {
        int i = 0;
        int n = s.length();
        if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            i++;
        }
        int mantissa = 0;
        while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
            i++;
            mantissa++;
        }
        if (i < n && s.charAt(i) == '.') {
            i++;
            while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                i++;
                mantissa++;
            }
        }
        if (mantissa == 0) {
            return false;
        }
        if (i < n && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            i++;
            if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                i++;
            }
            int exponent = 0;
            while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                i++;
                exponent++;
            }
            if (exponent == 0) {
                return false;
            }
        }
        return i == n;
    }
}

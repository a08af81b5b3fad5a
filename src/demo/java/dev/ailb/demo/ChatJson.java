package dev.ailb.demo;

import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The few JSON fields that the chat clients and the {@link CachingInstance}s of the demo exchange,
 * written and read by hand: a string quoted into a request, a string field and a whole-number field
 * found by name in an answer. Not a JSON parser: a field is found by its name wherever it is, so
 * the names looked up must be unique in the documents at hand, as they are in these. Stateless.
 */
final class ChatJson {

    private ChatJson() {}

    /** {@code text} as a JSON string literal, quotes included. */
    static String quote(String text) {
        StringBuilder out = new StringBuilder(text.length() + 16).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"':
                    out.append("\\\"");
                    break;
                case '\\':
                    out.append("\\\\");
                    break;
                case '\n':
                    out.append("\\n");
                    break;
                case '\r':
                    out.append("\\r");
                    break;
                case '\t':
                    out.append("\\t");
                    break;
                default:
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.append('"').toString();
    }

    /**
     * The value of the first string field called {@code name} in {@code json}, unescaped.
     *
     * @return the value, or empty if there is no such string field or it is cut short
     */
    static Optional<String> string(String json, String name) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*\"").matcher(json);
        if (!m.find()) {
            return Optional.empty();
        }
        StringBuilder value = new StringBuilder();
        for (int i = m.end(); i < json.length(); i++) {
            char c = json.charAt(i);
            if (c == '"') {
                return Optional.of(value.toString());
            }
            if (c != '\\') {
                value.append(c);
                continue;
            }
            if (++i == json.length()) {
                return Optional.empty();
            }
            char e = json.charAt(i);
            switch (e) {
                case 'n':
                    value.append('\n');
                    break;
                case 'r':
                    value.append('\r');
                    break;
                case 't':
                    value.append('\t');
                    break;
                case 'b':
                    value.append('\b');
                    break;
                case 'f':
                    value.append('\f');
                    break;
                case 'u':
                    if (i + 4 >= json.length()) {
                        return Optional.empty();
                    }
                    try {
                        value.append((char) Integer.parseInt(json.substring(i + 1, i + 5), 16));
                    } catch (NumberFormatException bad) {
                        return Optional.empty();
                    }
                    i += 4;
                    break;
                default: // \" \\ \/
                    value.append(e);
            }
        }
        return Optional.empty();
    }

    /**
     * The value of the first whole-number field called {@code name} in {@code json}.
     *
     * @return the value, or empty if there is no such field or it does not fit a long
     */
    static OptionalLong number(String json, String name) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*(\\d{1,18})(?![\\d.eE])").matcher(json);
        return m.find() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
    }
}

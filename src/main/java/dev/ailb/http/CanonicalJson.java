package dev.ailb.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One JSON value in a form that depends only on what it says: object fields sorted by name, no
 * whitespace, strings escaped one way ({@code "}, {@code \} and control characters only; every
 * other character as itself), numbers and literals as written. So two bodies that differ in field
 * order or layout give the same text. Read from a streaming parser in one pass; the sort costs
 * O(k log k) per object of k fields. Stateless.
 */
final class CanonicalJson {
    private static final Comparator<Field> BY_NAME = Comparator.comparing(Field::name);

    private CanonicalJson() {}

    /**
     * One field of an object: its name and its value in canonical form, or, for a string value,
     * the string itself (escaped only when the object is written), so that a reader that wants the
     * text of a field pays nothing more for it.
     */
    record Field(String name, String value, boolean isString) {
        void writeValue(StringBuilder out) {
            if (isString) {
                quote(value, out);
            } else {
                out.append(value);
            }
        }
    }

    /**
     * Writes the value that starts at the parser's current token; on return the parser is on the
     * value's last token.
     */
    static void write(JsonParser parser, StringBuilder out) throws IOException {
        JsonToken token = parser.currentToken();
        switch (token) {
            case START_OBJECT -> writeObject(readFields(parser), out);
            case START_ARRAY -> {
                out.append('[');
                boolean first = true;
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    if (!first) {
                        out.append(',');
                    }
                    first = false;
                    write(parser, out);
                }
                out.append(']');
            }
            case VALUE_STRING -> quote(parser.getText(), out);
            default -> out.append(parser.getText()); // numbers as written, true, false, null
        }
    }

    /** The value that starts at the parser's current token, in canonical form. */
    static String of(JsonParser parser) throws IOException {
        StringBuilder out = new StringBuilder();
        write(parser, out);
        return out.toString();
    }

    /**
     * The fields of the object whose {@code START_OBJECT} is the parser's current token, in the
     * order read; on return the parser is on its {@code END_OBJECT}.
     */
    static List<Field> readFields(JsonParser parser) throws IOException {
        List<Field> fields = new ArrayList<>();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            fields.add(parser.nextToken() == JsonToken.VALUE_STRING
                    ? new Field(name, parser.getText(), true)
                    : new Field(name, of(parser), false));
        }
        return fields;
    }

    /** Writes an object of these fields, sorted by name (the parser refuses a name given twice). */
    static void writeObject(List<Field> fields, StringBuilder out) {
        List<Field> sorted = new ArrayList<>(fields);
        sorted.sort(BY_NAME);
        out.append('{');
        for (int i = 0; i < sorted.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            Field field = sorted.get(i);
            quote(field.name(), out);
            out.append(':');
            field.writeValue(out);
        }
        out.append('}');
    }

    /** A JSON string: {@code "} and {@code \} escaped, control characters as short or {@code \}{@code uXXXX} escapes. */
    static void quote(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append("\\u00").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 0xF, 16));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}

package dev.ailb.http;

/**
 * Whether Jackson's streaming parser, an optional dependency, can be loaded here. It names no
 * Jackson type itself, so that the public types that ask it load in an application without
 * Jackson and fail with a clear message rather than a {@link NoClassDefFoundError}: they call
 * {@link #require} before they touch a class that reads JSON ({@link PromptReader},
 * {@link CanonicalJson}, {@link UsageScanner}). Stateless.
 */
final class Jackson {
    /** The artifact an application adds to use the body-aware calls. */
    static final String ARTIFACT = "com.fasterxml.jackson.core:jackson-core";

    private static final boolean PRESENT = isPresent();

    private Jackson() {}

    /**
     * Checks that Jackson is there.
     *
     * @param caller what needs it, named in the message
     * @throws IllegalStateException if it is not
     */
    static void require(String caller) {
        if (!PRESENT) {
            throw new IllegalStateException(caller + " reads JSON with " + ARTIFACT + " (version 2), an optional"
                    + " dependency of ailb that is missing here: add it to the class path, or, on the module"
                    + " path, make the application module require com.fasterxml.jackson.core");
        }
    }

    private static boolean isPresent() {
        try {
            Class.forName("com.fasterxml.jackson.core.async.ByteArrayFeeder", false, Jackson.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}

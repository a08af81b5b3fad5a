/**
 * ailb: an embeddable load balancer for fleets of AI inference instances. The API is the packages
 * {@code dev.ailb}, {@code dev.ailb.health} and {@code dev.ailb.http} (whose body-aware calls need
 * Jackson's {@code jackson-core}), and {@code dev.ailb.micrometer} for applications that have
 * Micrometer; everything else is internal.
 */
module dev.ailb {
    requires org.slf4j;
    requires transitive java.net.http;
    // Static: only dev.ailb.micrometer uses it, and an application without Micrometer never loads
    // that package. Not transitive: that would make Micrometer a compile-time need of every user;
    // an application that binds the meters requires Micrometer itself.
    requires static micrometer.core;
    // Static for the same reason: only the body-aware calls of dev.ailb.http read JSON, and they
    // check that Jackson is there before they touch it.
    requires static com.fasterxml.jackson.core;

    exports dev.ailb;
    exports dev.ailb.health;
    exports dev.ailb.http;
    exports dev.ailb.micrometer;
}

/**
 * ailb: an embeddable load balancer for fleets of AI inference instances. The API is the packages
 * {@code dev.ailb}, {@code dev.ailb.health}, {@code dev.ailb.dns} (DNS discovery, over the JDK's
 * DNS client) and {@code dev.ailb.http} (whose body-aware calls need Jackson's
 * {@code jackson-core}), {@code dev.ailb.micrometer} for applications that have Micrometer,
 * {@code dev.ailb.langchain4j} for those that have LangChain4j, {@code dev.ailb.kubernetes} for
 * those that find their backends in Kubernetes with the fabric8 client, and
 * {@code dev.ailb.spring.boot}, the Spring Boot auto-configuration; everything else is internal.
 */
module dev.ailb {
    requires org.slf4j;
    requires transitive java.net.http;
    // DNS discovery asks the JDK's DNS client (JNDI's DNS provider, jdk.naming.dns, bound as a
    // service of java.naming) for A, AAAA and SRV records of a chosen server.
    requires java.naming;
    // Static: only dev.ailb.micrometer uses it, and an application without Micrometer never loads
    // that package. Not transitive: that would make Micrometer a compile-time need of every user;
    // an application that binds the meters requires Micrometer itself.
    requires static micrometer.core;
    // Static for the same reason: only the body-aware calls of dev.ailb.http read JSON, and they
    // check that Jackson is there before they touch it.
    requires static com.fasterxml.jackson.core;
    // Static, each for its integration package only, loaded by an application that has the
    // framework: Spring Boot (dev.ailb.spring.boot), Micrometer's observations, the OpenAI Java SDK
    // and Spring AI (dev.ailb.openai, dev.ailb.spring.ai), LangChain4j (dev.ailb.langchain4j).
    requires static micrometer.observation;
    requires static spring.core;
    requires static spring.beans;
    requires static spring.context;
    requires static spring.boot;
    requires static spring.boot.autoconfigure;
    requires static spring.boot.actuator;
    requires static spring.boot.health;
    requires static openai.java.core;
    requires static spring.ai.model;
    requires static spring.ai.openai;
    requires static reactor.core;
    requires static langchain4j.core;
    requires static langchain4j.http.client;
    // Static for dev.ailb.kubernetes only. The fabric8 client's jars name no module, so these are
    // the names the module system derives from their file names.
    requires static kubernetes.client.api;
    requires static kubernetes.model.core;
    requires static kubernetes.model.discovery;

    exports dev.ailb;
    exports dev.ailb.dns;
    exports dev.ailb.health;
    exports dev.ailb.http;
    exports dev.ailb.kubernetes;
    exports dev.ailb.langchain4j;
    exports dev.ailb.micrometer;
    exports dev.ailb.openai;
    exports dev.ailb.spring.ai;
    exports dev.ailb.spring.boot;
    // Spring creates the auto-configuration's package-private registrars, conditions and beans.
    opens dev.ailb.spring.boot to spring.core, spring.beans, spring.context;
}

/**
 * ailb: an embeddable load balancer for fleets of AI inference instances. The API is the package
 * {@code dev.ailb}; everything else is internal.
 */
module dev.ailb {
    requires org.slf4j;

    exports dev.ailb;
}

package dev.ailb.demo;

/**
 * One simulated instance.
 *
 * @param id          backend id
 * @param kind        a label for the table
 * @param meanMillis  mean service time in milliseconds, before scaling
 * @param weight      backend weight
 * @param failureRate fraction of requests answered with HTTP 503
 * @param cpu         CPU utilisation reported for {@code RESOURCE_BASED}
 * @param memory      memory utilisation reported for {@code RESOURCE_BASED}
 */
record InstanceSpec(String id, String kind, double meanMillis, int weight, double failureRate,
                    double cpu, double memory) {}

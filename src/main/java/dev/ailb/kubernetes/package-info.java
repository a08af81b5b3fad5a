/**
 * Kubernetes for a {@link dev.ailb.LoadBalancer}: its backends from the EndpointSlices of a
 * Service ({@link dev.ailb.kubernetes.EndpointSliceDiscovery}), watched with the fabric8 client.
 * The fabric8 client is an optional dependency; only this package uses it.
 */
package dev.ailb.kubernetes;

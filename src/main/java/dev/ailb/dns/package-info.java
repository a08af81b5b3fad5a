/**
 * DNS discovery: {@link dev.ailb.dns.DnsDiscovery}, a {@link dev.ailb.DiscoverySource} that
 * re-resolves a name on an interval (its A or AAAA records at a given port, or its SRV records for
 * ports and weights) and states each answer as the balancer's membership.
 *
 * <p>It needs nothing but the JDK: the queries go through JNDI's DNS provider
 * ({@code DnsResolver}, the one class that names a JNDI type). {@code DnsMembership} turns one
 * resolution's records into backends; {@code DnsDiscovery} times the resolutions on the balancer's
 * scheduler and delivers them. Like any source an application writes, it uses only the public API
 * of {@code dev.ailb}; the balancer knows nothing of it.
 */
package dev.ailb.dns;

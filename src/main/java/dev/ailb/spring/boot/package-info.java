/**
 * Spring Boot auto-configuration of ailb: named pools from {@code ailb.pools.*} properties
 * ({@link dev.ailb.spring.boot.AilbProperties}), each a {@link dev.ailb.LoadBalancer} bean
 * qualified by its name and gathered in {@link dev.ailb.spring.boot.LoadBalancerPools}, run with
 * the application context, with an Actuator health contributor and endpoint and Micrometer meters
 * ({@link dev.ailb.spring.boot.AilbAutoConfiguration}). Spring Boot is an optional dependency of
 * ailb: only this package uses it, and an application without Spring Boot never loads it.
 */
package dev.ailb.spring.boot;

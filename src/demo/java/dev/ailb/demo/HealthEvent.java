package dev.ailb.demo;

import dev.ailb.health.HealthState;

/**
 * One health state change, as a balancer's listener heard it.
 *
 * @param atNanos  when, counted from the start of the run of that balancer
 * @param backend  the backend's id
 * @param previous its state before
 * @param current  its state after
 * @param reason   why, as the balancer put it
 */
public record HealthEvent(long atNanos, String backend, HealthState previous, HealthState current,
                          String reason) {}

/**
 * The built-in strategies behind the constants of {@link dev.ailb.BalancingStrategy}. Not exported:
 * use the constants. Each strategy is immutable; its per-balancer state lives in the selector it
 * creates, and each picker holds the table derived from one set of available backends.
 */
package dev.ailb.strategy;

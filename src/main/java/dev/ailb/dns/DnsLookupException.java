package dev.ailb.dns;

import java.io.IOException;

/**
 * A DNS query that gave no usable answer, the cause a DNS discovery source reports to
 * {@link dev.ailb.DiscoveryContext#fail}: its message names the name, the record type, the server
 * and the reason (NXDOMAIN, SERVFAIL, refused, no answer in time, no server listening).
 */
final class DnsLookupException extends IOException {
    private static final long serialVersionUID = 1L;

    DnsLookupException(String message, Throwable cause) {
        super(message, cause);
    }

    DnsLookupException(String message) {
        super(message);
    }
}

package dev.ailb.dns;

/**
 * One SRV record (RFC 2782) as the DNS provider writes it: {@code "priority weight port target"}.
 *
 * @param priority the record's group: clients use the lowest-numbered group they can reach
 * @param weight   the record's share within its group, 0..65535 (0: only a very small share)
 * @param port     the service's port, 0..65535
 * @param target   the host name of the service, without its final dot; {@code "."} in DNS (empty
 *                 here) means the service is decidedly not offered under this name
 */
record SrvRecord(int priority, int weight, int port, String target) {

    /**
     * Reads a record as the DNS provider writes it.
     *
     * @param text four fields separated by spaces
     * @return the record
     * @throws DnsLookupException if the text is not four fields with numbers 0..65535 in the first three
     */
    static SrvRecord parse(String text) throws DnsLookupException {
        String[] fields = text.trim().split("\\s+");
        if (fields.length != 4) {
            throw new DnsLookupException("SRV record \"" + text + "\": expected priority, weight, port and target");
        }
        int priority = field(text, fields[0], "priority");
        int weight = field(text, fields[1], "weight");
        int port = field(text, fields[2], "port");
        String target = fields[3].endsWith(".") ? fields[3].substring(0, fields[3].length() - 1) : fields[3];
        return new SrvRecord(priority, weight, port, target);
    }

    /** Whether the record says the service is not offered: target "." or port 0. */
    boolean offersNothing() {
        return target.isEmpty() || port == 0;
    }

    private static int field(String text, String field, String name) throws DnsLookupException {
        try {
            int value = Integer.parseInt(field);
            if (value >= 0 && value <= 65535) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new DnsLookupException("SRV record \"" + text + "\": " + name + " " + field + " (expected: 0..65535)");
    }
}

package io.pgfleet.common.pg;

import java.util.List;

/**
 * A table whose rows pgfleet copies itself: an ordinary table or a partition leaf, logged or unlogged.
 *
 * @param columns the columns COPY carries, in attnum order; generated columns are left out, since the server
 *     computes them again on load and refuses them in COPY FROM
 * @param bytes heap plus TOAST size on disk
 * @param blocks heap pages now (pg_relation_size is not transactional: pages added after the snapshot count too)
 * @param integerKey the column of a single-column smallint/integer/bigint primary key, or null
 */
public record TableInfo(long oid, TableRef ref, List<String> columns, long bytes, long estimatedRows,
    boolean unlogged, boolean rowSecurity, boolean partition, long blocks, String integerKey) {}

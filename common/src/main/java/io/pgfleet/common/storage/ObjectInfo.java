package io.pgfleet.common.storage;

import java.time.Instant;

public record ObjectInfo(String key, long size, Instant modified) {}

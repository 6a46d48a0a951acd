package io.pgfleet.coordinator.run;

import io.pgfleet.common.manifest.Manifest;

/** A backup that exists: its manifest is written. */
public record BackupOutcome(Manifest manifest, String manifestKey) {}

package io.pgfleet.cli;

import io.pgfleet.cli.fleet.FleetSetup;
import io.pgfleet.common.config.ConfigException;
import io.pgfleet.common.config.FleetConfig;
import io.pgfleet.common.retention.RetentionExecutor;
import io.pgfleet.common.retention.RetentionPlanner;
import io.pgfleet.common.storage.Storage;
import io.pgfleet.common.storage.StorageException;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "retention", description = "Delete the backups a GFS policy does not keep (docs/retention.md).")
final class RetentionCommand implements Callable<Integer> {
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  @Option(names = "--repo", description = "Repository: a directory, gs://BUCKET/PREFIX or s3://BUCKET/PREFIX"
      + " (default with --config: the configuration's repository.url).")
  String repo;

  @Option(names = "--config", paramLabel = "FILE", description = "Take the policies from this fleet configuration's"
      + " retention.rules (the first rule matching cluster/database applies; other databases keep everything).")
  Path config;

  @Option(names = "--keep-last", paramLabel = "N", description = "Keep the N newest backups.")
  Integer keepLast;

  @Option(names = "--keep-daily", paramLabel = "N", description = "Keep the newest backup of each of the N newest days that have one.")
  Integer keepDaily;

  @Option(names = "--keep-weekly", paramLabel = "N", description = "The same per ISO week.")
  Integer keepWeekly;

  @Option(names = "--keep-monthly", paramLabel = "N", description = "The same per calendar month.")
  Integer keepMonthly;

  @Option(names = "--keep-yearly", paramLabel = "N", description = "The same per calendar year.")
  Integer keepYearly;

  @Option(names = "--min-age", paramLabel = "DURATION", description = "Always keep backups younger than this (7d, 12h, 30m, PT2H).")
  String minAge;

  @Option(names = "--time-zone", paramLabel = "ZONE", description = "Calendar days, weeks, months and years are those of this zone (default UTC).")
  String timeZone;

  @Option(names = "--cluster", description = "Only the databases of this cluster.")
  String cluster;

  @Option(names = "--database", description = "Only databases of this name.")
  String database;

  @Option(names = "--dry-run", description = "Print what would be deleted; delete nothing.")
  boolean dryRun;

  @Option(names = "--leftover-age", hidden = true, defaultValue = "2d",
      description = "Remove folders without a manifest only when their backup id is older than this (must exceed the longest backup run).")
  String leftoverAge;

  @Override
  public Integer call() throws Exception {
    boolean flags = keepLast != null || keepDaily != null || keepWeekly != null || keepMonthly != null
        || keepYearly != null || minAge != null || timeZone != null;
    if (flags && config != null) {
      throw new UserError("give the policy either with --keep-*/--min-age/--time-zone or with --config, not both");
    }
    if (!flags && config == null) {
      throw new UserError("no policy: give --keep-last/--keep-daily/--keep-weekly/--keep-monthly/--keep-yearly,"
          + " or --config FILE with retention.rules");
    }
    FleetConfig.RetentionPolicy flagPolicy = null;
    FleetConfig.Retention rules = null;
    if (flags) {
      flagPolicy = new FleetConfig.RetentionPolicy(orZero(keepLast), orZero(keepDaily), orZero(keepWeekly),
          orZero(keepMonthly), orZero(keepYearly), minAge == null ? Duration.ZERO : duration("--min-age", minAge),
          zone());
      try {
        RetentionPlanner.validate(flagPolicy);
      } catch (RetentionPlanner.InvalidPolicyException e) {
        throw new UserError(e.getMessage());
      }
    } else {
      FleetConfig c;
      try {
        c = FleetSetup.load(config);
      } catch (ConfigException e) {
        throw new UserError("configuration " + config + ": " + String.join("; ", e.problems()));
      }
      rules = c.retention();
      if (rules.rules().isEmpty()) {
        throw new UserError("configuration " + config + " has no retention.rules: nothing to apply");
      }
      if (repo == null && c.repository() != null) {
        repo = c.repository().url();
      }
    }
    if (repo == null) {
      throw new UserError("--repo is missing: give the repository (or --config with repository.url)");
    }
    Duration leftover = duration("--leftover-age", leftoverAge);
    Storage storage = dryRun ? Repositories.forReading(repo) : Repositories.forWriting(repo);
    RetentionExecutor executor = new RetentionExecutor(storage);
    List<Map.Entry<String, String>> databases;
    try {
      databases = executor.databases();
    } catch (StorageException e) {
      throw new UserError(e.getMessage());
    }
    int dbs = 0;
    int unmatched = 0;
    long kept = 0;
    long deleted = 0;
    long leftovers = 0;
    List<String> failures = new ArrayList<>();
    Instant now = Instant.now();
    for (Map.Entry<String, String> db : databases) {
      if ((cluster != null && !cluster.equals(db.getKey())) || (database != null && !database.equals(db.getValue()))) {
        continue;
      }
      Optional<FleetConfig.RetentionPolicy> policy = flagPolicy != null ? Optional.of(flagPolicy)
          : rules.policyFor(db.getKey(), db.getValue());
      if (policy.isEmpty()) {
        unmatched++;
        continue;
      }
      dbs++;
      String name = db.getKey() + "/" + db.getValue();
      RetentionExecutor.Report r = executor.apply(db.getKey(), db.getValue(), policy.get(),
          new RetentionExecutor.Options(dryRun, leftover), now);
      List<String> failedIds = r.failures().stream().map(RetentionExecutor.Failure::backupId).toList();
      for (RetentionPlanner.Decision d : r.decisions()) {
        String id = d.backup().backupId();
        if (d.keep()) {
          kept++;
          System.out.println("keep " + id + " " + name + ": " + String.join(", ", d.reasons()));
        } else if (dryRun) {
          deleted++;
          System.out.println("would delete " + id + " " + name);
        } else if (!failedIds.contains(id)) {
          deleted++;
          System.out.println("delete " + id + " " + name);
        }
      }
      for (RetentionExecutor.Leftover l : r.leftovers()) {
        leftovers++;
        System.out.println((dryRun ? "would remove " : "remove ") + l.backupId() + " " + name
            + ": folder without manifest (a failed, interrupted or half-deleted backup), " + l.objects()
            + " object(s)");
      }
      for (RetentionExecutor.Failure f : r.failures()) {
        failures.add(f.backupId() + " " + name + ": " + f.what());
      }
    }
    for (String f : failures) {
      System.err.println("pgfleet: could not delete " + f);
    }
    System.out.printf("%s%d database(s): %d backup(s) kept, %d %s, %d leftover folder(s) %s%s%s%n",
        dryRun ? "dry run, " : "", dbs, kept, deleted, dryRun ? "would be deleted" : "deleted", leftovers,
        dryRun ? "would be removed" : "removed",
        unmatched > 0 ? ", " + unmatched + " database(s) matched by no rule (all kept)" : "",
        failures.isEmpty() ? "" : ", " + failures.size() + " failure(s): run again to finish");
    return failures.isEmpty() ? 0 : 1;
  }

  private ZoneId zone() {
    if (timeZone == null) {
      return ZoneId.of("UTC");
    }
    try {
      return ZoneId.of(timeZone);
    } catch (DateTimeException e) {
      throw new UserError("--time-zone '" + timeZone + "' is not a time zone: give a region such as Europe/Berlin,"
          + " or UTC");
    }
  }

  private static int orZero(Integer n) {
    if (n != null && n < 0) {
      throw new UserError("keep counts cannot be negative (got " + n + ")");
    }
    return n == null ? 0 : n;
  }

  static Duration duration(String option, String s) {
    Matcher m = DURATION.matcher(s.trim());
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    }
    try {
      Duration d = Duration.parse(s.trim());
      if (!d.isNegative()) {
        return d;
      }
    } catch (java.time.format.DateTimeParseException ignored) {
      // reported below
    }
    throw new UserError(option + " '" + s + "' is not a duration: give e.g. 7d, 12h, 30m or PT2H");
  }
}

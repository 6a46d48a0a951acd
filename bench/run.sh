#!/usr/bin/env bash
# bench/run.sh — benchmark pgfleet against the standard PostgreSQL tools, same data, same run.
#
#   bench/run.sh [--scale S] [--port P] [--host H] [--user U] [--db NAME] [--out DIR]
#                [--repeat N] [--reuse-dataset] [--keep] [--workers N] [--jobs N]
#
#   --scale S         dataset scale (default 1: ~1.8 GB; 0.05: ~120 MB)
#   --port/--host/--user  server (default $PGPORT or 5432, $PGHOST or 127.0.0.1, $PGUSER or postgres)
#   --db NAME         source database (default pgfleet_bench); (re)created by make-dataset.sh --force
#   --out DIR         results directory (default <repo>/bench/out/<UTC time>)
#   --repeat N        timed runs of every measurement (default 1); best and every run are reported
#   --reuse-dataset   use the existing --db instead of re-creating it
#   --keep            keep dumps, backups and restored databases
#   --workers N       pgfleet backup --workers (default 2)
#   --jobs N          pg_dump/pg_restore -j, COPY floor sessions, pgfleet restore --jobs (default 2)
#
# Prints a Markdown table (also DIR/results.md, DIR/results.tsv, DIR/env.txt). See bench/README.md.
set -euo pipefail

die() { echo "bench/run.sh: error: $*" >&2; exit 2; }
fail() { echo "bench/run.sh: error: $*" >&2; exit 1; }
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

((BASH_VERSINFO[0] >= 5)) || die "bash 5 is required (EPOCHREALTIME), this is $BASH_VERSION"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

SCALE=1
PORT=${PGPORT:-5432}
HOST=${PGHOST:-127.0.0.1}
DBUSER=${PGUSER:-postgres}
DB=pgfleet_bench
OUT=
REPEAT=1
REUSE=0
KEEP=0
WORKERS=2
JOBS=2
TIMEOUT=${PGFLEET_BENCH_TIMEOUT:-3600}   # seconds; a pgfleet command running longer is killed and reported failed

need_value() { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale)   need_value "$@"; SCALE=$2; shift 2 ;;
    --port)    need_value "$@"; PORT=$2; shift 2 ;;
    --host)    need_value "$@"; HOST=$2; shift 2 ;;
    --user)    need_value "$@"; DBUSER=$2; shift 2 ;;
    --db)      need_value "$@"; DB=$2; shift 2 ;;
    --out)     need_value "$@"; OUT=$2; shift 2 ;;
    --repeat)  need_value "$@"; REPEAT=$2; shift 2 ;;
    --workers) need_value "$@"; WORKERS=$2; shift 2 ;;
    --jobs)    need_value "$@"; JOBS=$2; shift 2 ;;
    --reuse-dataset) REUSE=1; shift ;;
    --keep)    KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$SCALE" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v s="$SCALE" 'BEGIN { exit !(s > 0 && s <= 100) }' \
  || die "--scale must be a decimal number in (0, 100], got '$SCALE'"
[[ "$PORT" =~ ^[0-9]+$ ]] && ((PORT >= 1 && PORT <= 65535)) || die "--port must be a port number, got '$PORT'"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "--repeat must be a positive integer, got '$REPEAT'"
[[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || die "--workers must be a positive integer, got '$WORKERS'"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer, got '$JOBS'"
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "PGFLEET_BENCH_TIMEOUT must be a positive number of seconds, got '$TIMEOUT'"
[[ "$HOST" != /* ]] || die "--host must be a TCP host name or address (pgfleet connects through a postgresql:// URL), not a socket directory"
[[ ${#DB} -le 47 ]] || die "--db must be at most 47 characters (restore targets append a suffix)"

for tool in psql pg_dump pg_restore createdb zstd java awk du timeout; do
  command -v "$tool" >/dev/null || fail "$tool not found on PATH (needed: psql, pg_dump, pg_restore, createdb, zstd, java 17+, awk, du, timeout)"
done
JSON_TOOL=
if command -v jq >/dev/null; then JSON_TOOL=jq; elif command -v python3 >/dev/null; then JSON_TOOL=python3; fi

# ------------------------------------------------------------------ output directory
[[ -n "$OUT" ]] || OUT="$REPO/bench/out/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT" || fail "cannot create --out directory $OUT"
OUT=$(cd "$OUT" && pwd)
[[ ! -e "$OUT/results.tsv" ]] || die "$OUT already holds results; pick another --out"
LOG="$OUT/logs"
WORK="$OUT/work"
mkdir -p "$LOG" "$WORK"
RESULTS="$OUT/results.tsv"
EXTRAS="$OUT/pgfleet-details.tsv"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/progress.log" >&2; }

# ------------------------------------------------------------------ dataset script
if [[ -n "${PGFLEET_DATASET_SCRIPT:-}" ]]; then
  DATASET=$PGFLEET_DATASET_SCRIPT
  [[ -x "$DATASET" ]] || fail "PGFLEET_DATASET_SCRIPT=$DATASET is not an executable file"
elif [[ -x "$REPO/../shared/bench/make-dataset.sh" ]]; then
  DATASET=$(cd "$REPO/../shared/bench" && pwd)/make-dataset.sh
else
  DATASET="$HERE/dataset/make-dataset.sh"
  [[ -x "$DATASET" ]] || fail "no dataset script: set PGFLEET_DATASET_SCRIPT or restore bench/dataset/make-dataset.sh"
fi

# ------------------------------------------------------------------ pgfleet
JAR="$REPO/cli/target/pgfleet.jar"
if [[ ! -f "$JAR" || ! -d "$REPO/cli/target/lib" || -n "${PGFLEET_REBUILD:-}" ]]; then
  command -v mvn >/dev/null || fail "cli/target/pgfleet.jar is missing and Maven (mvn) is not installed to build it"
  log "building pgfleet: mvn -B -q -ntp -DskipTests package (log: logs/build.log)"
  (cd "$REPO" && mvn -B -q -ntp -DskipTests package) >"$LOG/build.log" 2>&1 \
    || fail "pgfleet build failed; see $LOG/build.log"
  [[ -f "$JAR" ]] || fail "build finished but $JAR does not exist"
fi
read -r -a JAVA_OPTS <<<"${PGFLEET_JAVA_OPTS:--Xmx1g}"
MEM_JAVA_OPTS=(-Xmx256m)
java "${JAVA_OPTS[@]}" -jar "$JAR" --version >"$LOG/pgfleet-version.txt" 2>&1 || fail "pgfleet does not start: $(head -3 "$LOG/pgfleet-version.txt")"
HAS_STATS=0
# Not `java ... | grep -q`: grep exits at the first match and pipefail would count java's SIGPIPE as a failure.
BACKUP_HELP=$(java -jar "$JAR" backup --help 2>&1 || true)
if [[ "$BACKUP_HELP" == *--stats-json* ]]; then HAS_STATS=1; fi

# ------------------------------------------------------------------ connection
export PGHOST="$HOST" PGPORT="$PORT" PGUSER="$DBUSER"
unset PGDATABASE PGOPTIONS PGSERVICE
PSQL=(psql -X -q --no-psqlrc -v ON_ERROR_STOP=1)
q() { "${PSQL[@]}" -At "$@"; }
qa() { q -d postgres "$@"; }   # maintenance database
qa -c 'select 1' >/dev/null 2>&1 || fail "cannot connect to $HOST:$PORT as $DBUSER (database postgres)"

urlenc() { # percent-encode everything outside the URI unreserved set
  local s=$1 out= c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    if [[ "$c" =~ ^[A-Za-z0-9._~-]$ ]]; then out+=$c
    else out+=$(printf '%s' "$c" | od -An -tx1 -v | tr -d ' \n' | sed 's/../%&/g'); fi
  done
  printf '%s' "$out"
}
HOST_IN_URL=$HOST; [[ "$HOST" == *:* ]] && HOST_IN_URL="[$HOST]"
pg_url() { printf 'postgresql://%s@%s:%s/%s' "$(urlenc "$DBUSER")" "$HOST_IN_URL" "$PORT" "$(urlenc "$1")"; }

db_exists() { [[ $(qa -v t="$1" <<<"SELECT count(*) FROM pg_database WHERE datname = :'t'") != 0 ]]; }
db_comment() { qa -v t="$1" <<<"SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = :'t'"; }

# Restore targets: dropped/re-created only if this script created them (comment).
TARGET_MARK='pgfleet bench/run.sh restore target (disposable)'
PGR_DB="${DB}_bench_pgrestore"
PGF_DB="${DB}_bench_pgfleet"
for t in "$PGR_DB" "$PGF_DB"; do
  if db_exists "$t" && [[ "$(db_comment "$t")" != "$TARGET_MARK" ]]; then
    fail "database $t exists and was not created by bench/run.sh; drop it or choose another --db"
  fi
done

# ------------------------------------------------------------------ dataset
DATASET_MARK='pgfleet benchmark dataset'
if [[ $REUSE == 1 ]] && db_exists "$DB"; then
  log "reusing database $DB ($(db_comment "$DB"))"
  DATASET_NOTE="reused (--reuse-dataset): $(db_comment "$DB")"
  SCALE=$(db_comment "$DB" | sed -n 's/.*(scale \([0-9.]*\)).*/\1/p'); SCALE=${SCALE:-unknown}
else
  if db_exists "$DB" && [[ "$(db_comment "$DB")" != "$DATASET_MARK"* ]]; then
    fail "database $DB exists and is not a pgfleet benchmark dataset (comment: '$(db_comment "$DB")'); not dropping it: choose another --db"
  fi
  log "creating dataset: $DATASET --port $PORT --host $HOST --user $DBUSER --db $DB --scale $SCALE --force (log: logs/dataset.log)"
  t0=$EPOCHREALTIME
  "$DATASET" --port "$PORT" --host "$HOST" --user "$DBUSER" --db "$DB" --scale "$SCALE" --force >"$LOG/dataset.log" 2>&1 \
    || { tail -15 "$LOG/dataset.log" >&2; fail "make-dataset.sh failed; see $LOG/dataset.log"; }
  DATASET_NOTE="created by this run in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s: $(db_comment "$DB")"
fi
export PGDATABASE="$DB"
SRC_URL=$(pg_url "$DB")

fingerprint() { "$DATASET" --fingerprint-only --host "$HOST" --port "$PORT" --user "$DBUSER" --db "$1"; }
log "source fingerprint (untimed)"
fingerprint "$DB" >"$LOG/source.fingerprint" 2>"$LOG/source.fingerprint.err" \
  || fail "fingerprint of $DB failed; see $LOG/source.fingerprint.err"

# ------------------------------------------------------------------ accounting (as baseline.sh)
CLK_TCK=$(getconf CLK_TCK)
client_ticks() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }
PM_PID=
if [[ "$HOST" =~ ^(127\.0\.0\.1|localhost|::1|/.*)$ ]]; then
  datadir=$(q -c 'show data_directory' 2>/dev/null || true)
  if [[ -n "$datadir" && -r "$datadir/postmaster.pid" ]]; then
    PM_PID=$(head -1 "$datadir/postmaster.pid")
    [[ -r "/proc/$PM_PID/stat" ]] || PM_PID=
  fi
fi
server_snapshot() { # file
  : >"$1"
  [[ -n "$PM_PID" ]] || return 0
  awk '{ sub(/^.*\) /, ""); print "PM", $14 + $15 }' "/proc/$PM_PID/stat" >>"$1"
  local p
  for p in $(ps -o pid= --ppid "$PM_PID"); do
    awk -v p="$p" '{ sub(/^.*\) /, ""); print p, $12 + $13 }' "/proc/$p/stat" 2>/dev/null >>"$1" || true
  done
}
server_delta() { # before after -> seconds or n/a
  [[ -n "$PM_PID" ]] || { echo n/a; return; }
  awk -v tck="$CLK_TCK" 'NR == FNR { b[$1] = $2; next } { a[$1] = $2 }
    END { d = a["PM"] - b["PM"];
          for (p in a) if (p != "PM") d += a[p] - ((p in b) ? b[p] : 0);
          for (p in b) if (p != "PM" && !(p in a)) d -= b[p];
          printf "%.1f", d / tck }' "$1" "$2"
}
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

printf 'id\trun\tlabel\twall_s\tbytes\tclient_cpu_s\tserver_cpu_s\tother_cpu_s\tload1\trc\tnote\n' >"$RESULTS"
printf 'id\trun\tkey\tvalue\n' >"$EXTRAS"

# measure ID RUN LABEL SIZE_SPEC -- command...   (SIZE_SPEC: path:<file|dir> | db:<database> | none)
measure() {
  local id=$1 run=$2 label=$3 size_spec=$4; shift 5
  local logf="$LOG/$id.$run.log" load1 c0 c1 t0 t1 m0 m1 rc=0 bytes=0 note=""
  load1=$(cut -d' ' -f1 /proc/loadavg)
  log "start $id #$run: $label (load $load1)"
  server_snapshot "$LOG/.s0"; c0=$(client_ticks); m0=$(machine_ticks); t0=$EPOCHREALTIME
  "$@" >"$logf" 2>&1 || rc=$?
  t1=$EPOCHREALTIME; m1=$(machine_ticks)
  MEASURE_T0=$t0 MEASURE_T1=$t1
  sleep 1   # let backends exit and be reaped, so their CPU is accounted
  c1=$(client_ticks); server_snapshot "$LOG/.s1"
  case "$size_spec" in
    path:*) bytes=$(du -sb "${size_spec#path:}" 2>/dev/null | cut -f1 || true) ;;
    db:*)   bytes=$(qa -v t="${size_spec#db:}" <<<"SELECT coalesce(pg_database_size(:'t'), 0)" 2>/dev/null || true) ;;
  esac
  [[ -n "$bytes" ]] || bytes=0
  [[ $rc == 0 ]] || note="FAILED: exit status $rc, see logs/$id.$run.log"
  local wall ccpu scpu ocpu
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  ccpu=$(awk -v a="$c0" -v b="$c1" -v t="$CLK_TCK" 'BEGIN { printf "%.1f", (b - a) / t }')
  scpu=$(server_delta "$LOG/.s0" "$LOG/.s1")
  ocpu=$(awk -v a="$m0" -v b="$m1" -v t="$CLK_TCK" -v c="$ccpu" -v s="$scpu" \
    'BEGIN { o = (b - a) / t - c - (s == "n/a" ? 0 : s); printf "%.1f", o < 0 ? 0 : o }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$run" "$label" "$wall" "$bytes" "$ccpu" "$scpu" "$ocpu" "$load1" "$rc" "$note" >>"$RESULTS"
  log "done  $id #$run: ${wall} s, $((bytes / 1048576)) MB, client CPU ${ccpu} s, server CPU ${scpu} s, other CPU ${ocpu} s, rc=$rc"
  return 0
}
note() { # id run text: append to the note column of a row
  awk -F'\t' -v OFS='\t' -v id="$1" -v run="$2" -v t="$3" \
    '$1 == id && $2 == run { $11 = ($11 == "" ? t : $11 "; " t) } { print }' "$RESULTS" >"$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
}
skipped() { # id run label reason: a row for a measurement that could not run
  printf '%s\t%s\t%s\t0\t0\t-\t-\t-\t-\t-\t%s\n' "$1" "$2" "$3" "skipped: $4" >>"$RESULTS"
  log "skip $1 #$2: $4"
}
extra() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$EXTRAS"; }
get_extra() { awk -F'\t' -v id="$1" -v r="$2" -v k="$3" '$1 == id && $2 == r && $3 == k { v = $4 } END { print v }' "$EXTRAS"; }
run_rc() { awk -F'\t' -v id="$1" -v r="$2" '$1 == id && $2 == r { v = $10 } END { print v }' "$RESULTS"; }
run_wall() { awk -F'\t' -v id="$1" -v r="$2" '$1 == id && $2 == r { v = $4 } END { print v }' "$RESULTS"; }

# ------------------------------------------------------------------ environment
DB_BYTES=$(q -c 'select pg_database_size(current_database())')
read -r DB_ENC DB_COLLATE DB_CTYPE <<<"$(q -F ' ' -c "select pg_encoding_to_char(encoding), datcollate, datctype from pg_database where datname = current_database()")"
{
  echo "date:            $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "host:            $(hostname)"
  echo "kernel:          $(uname -srm)"
  echo "os:              $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "cpu:             $(nproc) cores (nproc), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "memory:          $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "load average:    $(cat /proc/loadavg)"
  echo "server:          $(q -c 'select version()') on $HOST:$PORT"
  echo "pg_dump:         $(pg_dump --version)"
  echo "pg_restore:      $(pg_restore --version)"
  echo "zstd:            $(zstd --version)"
  echo "java:            $(java -version 2>&1 | head -1)"
  echo "pgfleet:         $(head -1 "$LOG/pgfleet-version.txt") ($JAR; --stats-json $([[ $HAS_STATS == 1 ]] && echo supported || echo 'not supported by this build'))"
  echo "java options:    ${JAVA_OPTS[*]} (memory run: ${MEM_JAVA_OPTS[*]})"
  echo "dataset script:  $DATASET"
  echo "database:        $DB ($(awk -v b="$DB_BYTES" 'BEGIN { printf "%.0f MB", b / 1048576 }'), $DB_ENC, collate $DB_COLLATE), $DATASET_NOTE"
  echo "options:         --scale $SCALE --repeat $REPEAT --workers $WORKERS --jobs $JOBS$([[ $REUSE == 1 ]] && echo ' --reuse-dataset')$([[ $KEEP == 1 ]] && echo ' --keep')"
  echo "server settings: $(q -F '=' -c "select name, setting || coalesce(unit, '') from pg_settings where name in ('shared_buffers','max_wal_size','maintenance_work_mem','work_mem','synchronous_commit','fsync','max_parallel_workers','max_parallel_maintenance_workers','checkpoint_timeout') order by 1" | tr '\n' ' ')"
  echo "server CPU:      $([[ -n "$PM_PID" ]] && echo "measured from /proc/$PM_PID (postmaster)" || echo 'not measured (server not local or data dir unreadable)')"
} >"$OUT/env.txt"
cat "$OUT/env.txt" >&2

# ------------------------------------------------------------------ COPY floor (baseline.sh's copy_lb)
# One task per table (relkind r: plain tables, partition leaves, unlogged tables), largest first,
# given to the least loaded of JOBS psql sessions; every session imports one exported snapshot,
# held open by a holder session until all are done. Output discarded: the server producing COPY
# text and the protocol carrying it, nothing compressed or written.
copy_tasks() {
  q -F $'\t' <<'SQL'
SELECT row_number() OVER (ORDER BY bytes DESC, qname), qname, 'COPY ' || qname || ' TO STDOUT', greatest(bytes, 8192)
FROM (SELECT format('%I.%I', n.nspname, c.relname) AS qname,
             pg_relation_size(c.oid) + coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) AS bytes
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%') t
ORDER BY bytes DESC, qname;
SQL
}
copy_parallel() { # taskdir
  local taskdir=$1 snap rc=0 w
  mkdir -p "$taskdir"
  copy_tasks >"$taskdir/plan.tsv" || return 1
  awk -F'\t' -v OFS='\t' -v J="$JOBS" '{ best = 0; for (w = 1; w < J; w++) if (load[w] < load[best]) best = w;
                                          load[best] += $4; print best, $0 }' "$taskdir/plan.tsv" >"$taskdir/assign.tsv"
  echo "tasks: $(wc -l <"$taskdir/plan.tsv"), sessions: $JOBS"
  coproc SNAPHOLDER { "${PSQL[@]}" -At 2>&1; }
  local holder_pid=$SNAPHOLDER_PID holder_in=${SNAPHOLDER[1]} holder_out=${SNAPHOLDER[0]}
  printf 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n' >&"$holder_in"
  IFS= read -r -t 60 snap <&"$holder_out" || { echo "could not export a snapshot"; return 1; }
  [[ "$snap" =~ ^[0-9A-F-]+$ ]] || { echo "unexpected snapshot id: $snap"; return 1; }
  echo "snapshot: $snap"
  local pids=()
  for ((w = 0; w < JOBS; w++)); do
    awk -F'\t' -v w="$w" -v snap="$snap" -v q="'" '
      BEGIN { print "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
              print "SET TRANSACTION SNAPSHOT " q snap q ";"
              print "SET row_security = off;" }
      $1 == w { print "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset"
                print $4 ";"
                print "SELECT extract(epoch FROM clock_timestamp()) AS t1 \\gset"
                print "\\warn TASK " $2 " :t0 :t1" }
      END { print "COMMIT;" }' "$taskdir/assign.tsv" >"$taskdir/session.$w.sql"
    "${PSQL[@]}" -At -f "$taskdir/session.$w.sql" >/dev/null 2>"$taskdir/session.$w.err" &
    pids+=($!)
  done
  for w in "${!pids[@]}"; do
    wait "${pids[$w]}" || { rc=1; echo "session $w failed:"; grep -v '^TASK ' "$taskdir/session.$w.err" | tail -5; }
  done
  printf 'COMMIT;\n' >&"$holder_in"
  exec {holder_in}>&-
  wait "$holder_pid" || true
  awk '$1 == "TASK" { print $2 "\t" $3 "\t" $4 }' "$taskdir"/session.*.err |
    awk -F'\t' -v OFS='\t' 'NR == FNR { t0[$1] = $2; t1[$1] = $3; next } ($1 in t0) { print $1, $2, t0[$1], t1[$1] }' - "$taskdir/plan.tsv" \
    >"$taskdir/tasks.tsv" || true
  return $rc
}

# ------------------------------------------------------------------ restore targets
fresh_db() { # name: a new empty database like the source (created untimed)
  if db_exists "$1"; then
    [[ "$(db_comment "$1")" == "$TARGET_MARK" ]] || fail "database $1 exists and was not created by bench/run.sh"
    qa -v t="$1" <<<'DROP DATABASE :"t" WITH (FORCE)'
  fi
  createdb -T template0 -E "$DB_ENC" --lc-collate="$DB_COLLATE" --lc-ctype="$DB_CTYPE" "$1"
  qa -v t="$1" -v m="$TARGET_MARK" <<<"COMMENT ON DATABASE :\"t\" IS :'m'"
}
drop_target() {
  [[ $KEEP == 1 ]] && return 0
  if db_exists "$1" && [[ "$(db_comment "$1")" == "$TARGET_MARK" ]]; then
    qa -v t="$1" <<<'DROP DATABASE :"t" WITH (FORCE)'
  fi
}
verify_target() { # id run db
  local fp="$LOG/$1.$2.fingerprint"
  if ! fingerprint "$3" >"$fp" 2>"$fp.err"; then
    note "$1" "$2" "content check failed to run (logs/$1.$2.fingerprint.err)"; extra "$1" "$2" content error; return 0
  fi
  if diff -q "$LOG/source.fingerprint" "$fp" >/dev/null; then
    note "$1" "$2" "content = source ($(wc -l <"$fp") tables, matviews, sequences, LOs)"
    extra "$1" "$2" content equal
  else
    local detail
    detail=$(LC_ALL=C join -t $'\t' -a1 -a2 -e missing -o 0,1.2,2.2 <(LC_ALL=C sort "$LOG/source.fingerprint") <(LC_ALL=C sort "$fp") |
             awk -F'\t' '$2 != $3 { split($2, a, " "); split($3, b, " ");
                                    printf "%s%s: %s → %s", (n++ ? ", " : ""), $1, a[1], b[1] }' | cut -c1-300)
    note "$1" "$2" "CONTENT DIFFERS from source (rows source → target): $detail"
    extra "$1" "$2" content different
  fi
}

# ------------------------------------------------------------------ pgfleet runs
# timestamp every line (EPOCHREALTIME), to see when pgfleet's start-up ends and its shutdown begins
ts_lines() { local line; while IFS= read -r line || [[ -n "$line" ]]; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }
# pgfleet_exec STDOUT_FILE RSS_FILE GC_LOG JAVA_OPT... -- pgfleet args...   (stderr lines timestamped)
pgfleet_exec() {
  local out=$1 rss=$2 gclog=$3; shift 3
  local opts=()
  while [[ $1 != -- ]]; do opts+=("$1"); shift; done; shift
  [[ "$gclog" =~ ^[A-Za-z0-9_./+-]+$ ]] && opts+=("-Xlog:gc,gc+heap+exit:file=$gclog")
  # Through the launcher, as users run it: it adds its JVM defaults and the class-data sharing archive.
  local cmd=(env "PGFLEET_JAVA_OPTS=${opts[*]}" "$REPO/pgfleet" "$@")
  [[ -x /usr/bin/time ]] && cmd=(/usr/bin/time -f 'maxrss_kb=%M' -o "$rss" "${cmd[@]}")
  timeout -k 30 "$TIMEOUT" "${cmd[@]}" >"$out" 2> >(ts_lines >&2)
}
json_field() { # file field (top level)
  [[ -s "$1" ]] || return 0
  case "$JSON_TOOL" in
    jq) jq -r --arg f "$2" '.[$f] // empty' "$1" 2>/dev/null || true ;;
    python3) python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2" 2>/dev/null || true ;;
  esac
}
manifest_summary() { # manifest -> tables, max elapsedMillis, its table, max rawBytes, total rawBytes, its table (separated by 0x1f)
  case "$JSON_TOOL" in
    jq) jq -r '(.data // []) as $d
          | ([$d[] | select(.elapsedMillis != null)] | max_by(.elapsedMillis)) as $t
          | ($d | max_by(.rawBytes)) as $r
          | [($d | length), ($t.elapsedMillis // ""), (if $t then "\($t.table.schema).\($t.table.name)" else "" end),
             ($r.rawBytes // ""), ([$d[].rawBytes] | add // 0), (if $r then "\($r.table.schema).\($r.table.name)" else "" end)]
          | map(tostring) | join("\u001f")' "$1" 2>/dev/null || true ;;
    python3) python3 - "$1" <<'PY' 2>/dev/null || true
import json, sys
d = json.load(open(sys.argv[1])).get("data") or []
t = [x for x in d if x.get("elapsedMillis") is not None]
t = max(t, key=lambda x: x["elapsedMillis"]) if t else None
r = max(d, key=lambda x: x.get("rawBytes", 0)) if d else None
name = lambda x: "%s.%s" % (x["table"]["schema"], x["table"]["name"]) if x else ""
print("\x1f".join(map(str, [len(d), t["elapsedMillis"] if t else "", name(t), r["rawBytes"] if r else "", sum(x.get("rawBytes", 0) for x in d), name(r)])))
PY
    ;;
  esac
}
gc_peak_mib() { # gc log -> max heap used before a GC or at exit, MiB
  [[ -s "$1" ]] || return 0
  awk '
    function mib(s,   n, u) { n = s + 0; u = substr(s, length(s)); return u == "K" ? n / 1024 : u == "G" ? n * 1024 : u == "B" ? n / 1048576 : n }
    / Pause / && match($0, /[0-9]+[KMGB]->/) { v = mib(substr($0, RSTART, RLENGTH - 2)); if (v > peak) peak = v }
    /heap +total .*used [0-9]+K/ && match($0, /used [0-9]+K/) { v = substr($0, RSTART + 5, RLENGTH - 6) / 1024; if (v > peak) peak = v }
    END { if (peak > 0) printf "%.0f", peak }' "$1"
}

# run_pgfleet_backup ID RUN LABEL WORKERS SLOTS JAVA_OPT...
run_pgfleet_backup() {
  local id=$1 r=$2 label=$3 workers=$4 slots=$5; shift 5
  local repo="$WORK/$id.$r.repo" stats="$LOG/$id.$r.stats.json" out="$LOG/$id.$r.stdout"
  rm -rf "$repo"
  local sargs=(); [[ $HAS_STATS == 1 ]] && sargs=(--stats-json "$stats")
  measure "$id" "$r" "$label" "path:$repo" -- \
    pgfleet_exec "$out" "$LOG/$id.$r.rss" "$LOG/$id.$r.gc.log" "$@" -- \
      backup "$SRC_URL" --repo "$repo" --workers "$workers" --slots "$slots" "${sargs[@]}"
  local bid manifest
  bid=$(grep -E '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$' "$out" 2>/dev/null | tail -1 || true)
  manifest=
  if [[ -n "$bid" ]]; then manifest=$(find "$repo" -path "*/$bid/manifest.json" 2>/dev/null | head -1); fi
  if [[ -z "$manifest" ]]; then   # fall back to what `pgfleet list` shows
    bid=$(java -jar "$JAR" list --repo "$repo" 2>/dev/null | awk 'NR == 2 { print $1 }' || true)
    [[ -n "$bid" ]] && manifest=$(find "$repo" -path "*/$bid/manifest.json" 2>/dev/null | head -1)
  fi
  extra "$id" "$r" repo "$repo"
  if [[ -n "$manifest" ]]; then
    extra "$id" "$r" backup_id "$bid"
    extra "$id" "$r" manifest "$manifest"
    cp "$manifest" "$LOG/$id.$r.manifest.json"
    local tasks ms ttable rawmax rawall rtable
    IFS=$'\x1f' read -r tasks ms ttable rawmax rawall rtable <<<"$(manifest_summary "$manifest")" || true
    extra "$id" "$r" tables "${tasks:-}"
    extra "$id" "$r" largest_task_ms "${ms:-}"
    extra "$id" "$r" largest_task_table "${ttable:-}"
    extra "$id" "$r" largest_raw_bytes "${rawmax:-}"
    extra "$id" "$r" total_raw_bytes "${rawall:-}"
    extra "$id" "$r" largest_raw_table "${rtable:-}"
  else
    [[ "$(run_rc "$id" "$r")" != 0 ]] || note "$id" "$r" "no manifest found in the repository"
  fi
  if [[ -s "$stats" ]]; then
    local k
    for k in backupId wallSeconds runSeconds peakHeapBytes largestTaskSeconds largestTask tasks; do
      extra "$id" "$r" "stats_$k" "$(json_field "$stats" "$k")"
    done
  fi
  extra "$id" "$r" gc_peak_heap_mib "$(gc_peak_mib "$LOG/$id.$r.gc.log")"
  # pgfleet's own run time: the manifest's startedAt -> finishedAt (run accepted -> last task done);
  # start-up: command start -> first progress line (JVM, embedded broker, coordinator, workers, snapshot);
  # shutdown: the "complete" line -> process exit (RESTORE.md/manifest already written; broker and JVM stop)
  local t_first t_done sa fa
  t_first=$(awk '$2 == "backup" && $3 ~ /^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}:$/ { print $1; exit }' "$LOG/$id.$r.log" 2>/dev/null || true)
  t_done=$(awk '$2 == "pgfleet:" && $3 == "backup" && / complete: / { print $1; exit }' "$LOG/$id.$r.log" 2>/dev/null || true)
  [[ -n "$t_first" ]] && extra "$id" "$r" startup_s "$(awk -v a="$MEASURE_T0" -v b="$t_first" 'BEGIN { printf "%.1f", b - a }')"
  [[ -n "$t_done" ]] && extra "$id" "$r" shutdown_s "$(awk -v a="$t_done" -v b="$MEASURE_T1" 'BEGIN { printf "%.1f", b - a }')"
  if [[ -n "$manifest" ]]; then
    sa=$(json_field "$manifest" startedAt); fa=$(json_field "$manifest" finishedAt)
    if [[ -n "$sa" && -n "$fa" ]]; then
      sa=$(date -d "$sa" +%s.%N 2>/dev/null || true); fa=$(date -d "$fa" +%s.%N 2>/dev/null || true)
      [[ -n "$sa" && -n "$fa" ]] && extra "$id" "$r" self_s "$(awk -v a="$sa" -v b="$fa" 'BEGIN { printf "%.2f", b - a }')"
    fi
  fi
  [[ -s "$LOG/$id.$r.rss" ]] && extra "$id" "$r" max_rss_kb "$(sed -n 's/^maxrss_kb=//p' "$LOG/$id.$r.rss" | tail -1)"
  return 0
}

# ------------------------------------------------------------------ measurements
cleanup_path() { [[ $KEEP == 1 ]] || rm -rf "$@"; }

log "warm-up: one untimed read of every table"
copy_parallel "$LOG/warmup" >"$LOG/warmup.log" 2>&1 || fail "warm-up failed, see $LOG/warmup.log"
# One untimed pgfleet backup too: the launcher writes its class-data sharing archive on the first backup after a
# build (a few seconds once), which no measured run should pay.
log "warm-up: one untimed pgfleet backup (writes the launcher's class-data sharing archive)"
pgfleet_exec "$LOG/warmup-pgfleet.stdout" /dev/null "" "${JAVA_OPTS[@]}" -- backup "$(pg_url "$DB")" --repo "$OUT/warmup-repo" \
  >"$LOG/warmup-pgfleet.log" 2>&1 || fail "pgfleet warm-up backup failed, see $LOG/warmup-pgfleet.log"
rm -rf "$OUT/warmup-repo"

for ((r = 1; r <= REPEAT; r++)); do
  measure copy_lb "$r" "COPY floor: COPY … TO STDOUT > /dev/null, $JOBS sessions, one snapshot" none -- \
    copy_parallel "$LOG/copy_lb.$r"

  fd="$WORK/pgdump-fd.$r"; rm -rf "$fd"
  measure pgdump_fd "$r" "pg_dump -Fd -j$JOBS" "path:$fd" -- pg_dump -Fd -j "$JOBS" -f "$fd"

  fc="$WORK/pgdump.$r.custom"; rm -f "$fc"
  measure pgdump_fc "$r" "pg_dump -Fc" "path:$fc" -- pg_dump -Fc -f "$fc"
  cleanup_path "$fc"

  run_pgfleet_backup pgfleet_backup "$r" "pgfleet backup --workers $WORKERS" "$WORKERS" 1 "${JAVA_OPTS[@]}"
  run_pgfleet_backup pgfleet_mem "$r" "pgfleet backup --workers 1 --slots 4, -Xmx256m" 1 4 "${MEM_JAVA_OPTS[@]}"
  cleanup_path "$WORK/pgfleet_mem.$r.repo"

  if [[ "$(run_rc pgdump_fd "$r")" == 0 ]]; then
    fresh_db "$PGR_DB"
    measure pg_restore "$r" "pg_restore -j$JOBS (the -Fd dump, into a fresh database)" "db:$PGR_DB" -- \
      pg_restore -j "$JOBS" -d "$PGR_DB" "$fd"
    log "content check of $PGR_DB (untimed)"
    verify_target pg_restore "$r" "$PGR_DB"
    drop_target "$PGR_DB"
  else
    skipped pg_restore "$r" "pg_restore -j$JOBS (the -Fd dump, into a fresh database)" "pg_dump -Fd #$r failed"
  fi
  cleanup_path "$fd"

  bid=$(get_extra pgfleet_backup "$r" backup_id)
  if [[ "$(run_rc pgfleet_backup "$r")" == 0 && -n "$bid" ]]; then
    fresh_db "$PGF_DB"
    measure pgfleet_restore "$r" "pgfleet restore --jobs $JOBS (into a fresh database)" "db:$PGF_DB" -- \
      pgfleet_exec "$LOG/pgfleet_restore.$r.stdout" "$LOG/pgfleet_restore.$r.rss" "" "${JAVA_OPTS[@]}" -- \
        restore --repo "$WORK/pgfleet_backup.$r.repo" --backup "$bid" --target "$(pg_url "$PGF_DB")" --jobs "$JOBS"
    extra pgfleet_restore "$r" self_s "$(sed -n 's/^[0-9.]* pgfleet: restored .* in \([0-9.]*\) s$/\1/p' "$LOG/pgfleet_restore.$r.log" | tail -1)"
    log "content check of $PGF_DB (untimed)"
    verify_target pgfleet_restore "$r" "$PGF_DB"
    drop_target "$PGF_DB"
  else
    skipped pgfleet_restore "$r" "pgfleet restore --jobs $JOBS (into a fresh database)" "pgfleet backup #$r failed or left no backup"
  fi
  cleanup_path "$WORK/pgfleet_backup.$r.repo"
done
rm -f "$LOG/.s0" "$LOG/.s1"
[[ $KEEP == 1 ]] || rmdir "$WORK" 2>/dev/null || true

# ------------------------------------------------------------------ report
best() { # id -> "wall<TAB>run" of the fastest successful run
  awk -F'\t' -v id="$1" '$1 == id && $10 == 0 && (b == "" || $4 + 0 < b + 0) { b = $4; r = $2 } END { if (b != "") print b "\t" r }' "$RESULTS"
}
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf f "\n", a / b }'; }
IFS=$'\t' read -r REF_WALL REF_RUN <<<"$(best pgdump_fd)" || true
IFS=$'\t' read -r COPY_WALL COPY_RUN <<<"$(best copy_lb)" || true
IFS=$'\t' read -r FC_WALL FC_RUN <<<"$(best pgdump_fc)" || true
IFS=$'\t' read -r PGF_WALL PGF_RUN <<<"$(best pgfleet_backup)" || true
IFS=$'\t' read -r PGR_WALL PGR_RUN <<<"$(best pg_restore)" || true
IFS=$'\t' read -r PGFR_WALL PGFR_RUN <<<"$(best pgfleet_restore)" || true
bytes_of() { awk -F'\t' -v id="$1" -v r="$2" '$1 == id && $2 == r { print $5 }' "$RESULTS"; }

summary_lines() {
  local v
  echo "- pgfleet backup / pg_dump -Fd -j$JOBS = $(div "${PGF_WALL:-}" "${REF_WALL:-}") (target ≤ 0.5, aim 0.35)"
  echo "- pgfleet backup / COPY floor = $(div "${PGF_WALL:-}" "${COPY_WALL:-}") (target ≤ 1.5, aim 1.25)"
  echo "- pgfleet restore / pg_restore -j$JOBS = $(div "${PGFR_WALL:-}" "${PGR_WALL:-}") (target ≤ 0.8, aim 0.7)"
  local pb fb
  pb=${PGF_RUN:+$(bytes_of pgfleet_backup "$PGF_RUN")}; fb=${FC_RUN:+$(bytes_of pgdump_fc "$FC_RUN")}
  echo "- pgfleet bytes / pg_dump -Fc bytes = $(div "${pb:-}" "${fb:-}" %.3f) (target ≤ 1; $(div "${pb:-}" 1048576 %.1f) MiB vs $(div "${fb:-}" 1048576 %.1f) MiB)"
  # peak heap of the memory runs: --stats-json peakHeapBytes if the build has it, else the JVM's GC log
  local heap="" heapsrc="" r ok=0 failed="" src per=""
  for ((r = 1; r <= REPEAT; r++)); do
    [[ -n "$(run_rc pgfleet_mem "$r")" && "$(run_rc pgfleet_mem "$r")" != - ]] || continue
    if [[ "$(run_rc pgfleet_mem "$r")" == 0 ]]; then ok=$((ok + 1)); else failed+=" #$r (exit status $(run_rc pgfleet_mem "$r"))"; fi
    v=$(get_extra pgfleet_mem "$r" stats_peakHeapBytes); src="--stats-json"
    if [[ -n "$v" ]]; then v=$(div "$v" 1048576 %.0f); else v=$(get_extra pgfleet_mem "$r" gc_peak_heap_mib); src="GC log"; fi
    [[ -n "$v" && "$v" != n/a ]] || continue
    per+="${per:+, }#$r $v ($src)"
    if [[ -z "$heap" ]] || ((v > heap)); then heap=$v; heapsrc=$src; fi
  done
  local memstate="$ok/$REPEAT runs succeeded${failed:+; failed:$failed}"
  if [[ -n "$heap" ]]; then
    echo "- peak heap (workers 1 x slots 4, -Xmx256m) = $heap MiB (target ≤ 256; max over runs, from the $heapsrc; every run: $per; $memstate; GC log = max heap used before a GC or at exit; the JVM also runs the embedded Kafka broker and the coordinator, so this is an upper bound for the worker)"
  else
    echo "- peak heap (workers 1 x slots 4, -Xmx256m) = n/a (no --stats-json in this build and no GC log; $memstate)"
  fi
  local ms tbl wall src2=""
  if [[ -n "${PGF_RUN:-}" ]]; then
    ms=$(get_extra pgfleet_backup "$PGF_RUN" largest_task_ms); tbl=$(get_extra pgfleet_backup "$PGF_RUN" largest_task_table)
    [[ -n "$ms" ]] && src2="manifest data[].elapsedMillis"
    if [[ -z "$ms" ]]; then
      v=$(get_extra pgfleet_backup "$PGF_RUN" stats_largestTaskSeconds)
      [[ -n "$v" ]] && { ms=$(awk -v s="$v" 'BEGIN { printf "%.0f", s * 1000 }'); tbl=$(get_extra pgfleet_backup "$PGF_RUN" stats_largestTask); src2="--stats-json largestTaskSeconds"; }
    fi
  fi
  if [[ -n "${ms:-}" ]]; then
    echo "- largest task / backup wall = $(div "$ms" "$(awk -v w="$PGF_WALL" 'BEGIN { print w * 1000 }')") (target ≤ 1/3 = 0.33; $tbl: $(div "$ms" 1000) s of $PGF_WALL s, run #$PGF_RUN, from the $src2)"
  else
    echo "- largest task / backup wall = n/a (target ≤ 1/3; the manifest's data[] has no elapsedMillis and no --stats-json largestTaskSeconds in this build)"
  fi
}

report() {
  echo "# pgfleet vs. the standard tools on $DB (scale $SCALE)"
  echo
  echo '```'
  cat "$OUT/env.txt"
  echo '```'
  echo
  awk -F'\t' -v ref="${REF_WALL:-}" -v floor="${COPY_WALL:-}" -v jobs="$JOBS" '
    NR == 1 { next }
    { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1; label[$1] = $3 }
      txt = ($10 == "-") ? "skipped" : sprintf("%.2f", $4) (($10 == 0) ? "" : " (failed)")
      runs[$1] = (runs[$1] == "" ? "" : runs[$1] ", ") txt
      if ($10 == 0 && (best[$1] == "" || $4 + 0 < best[$1] + 0)) { best[$1] = $4; bytes[$1] = $5 }
      if ($11 != "") notes[$1] = (notes[$1] == "" ? "" : notes[$1] "; ") "#" $2 ": " $11 }
    END {
      printf "| Measurement | Wall s best | Every run | MB written | × pg_dump -Fd -j%s | × COPY floor | Notes |\n", jobs
      print "|---|---:|---|---:|---:|---:|---|"
      for (i = 1; i <= n; i++) {
        id = order[i]; l = label[id]; gsub(/\|/, "\\|", l); nt = notes[id]; gsub(/\|/, "\\|", nt)
        b = best[id]
        wall = b == "" ? "n/a" : sprintf("%.2f", b)
        mb = (b == "" || bytes[id] + 0 == 0) ? "-" : sprintf("%.1f", bytes[id] / 1048576)
        r1 = (b == "" || ref == "") ? "n/a" : sprintf("%.2f", b / ref)
        r2 = (b == "" || floor == "") ? "n/a" : sprintf("%.2f", b / floor)
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", l, wall, runs[id], mb, r1, r2, nt
      }
    }' "$RESULTS"
  echo
  echo "Ratios use the best (fastest successful) run of each row. MB = 2^20 bytes: dump or repository size on"
  echo "disk (du -sb) for backups, target database size (pg_database_size) for restores. pgfleet wall times"
  echo "include the JVM start and, for backups, the embedded Kafka broker; restore targets are created untimed."
  echo
  summary_lines
  echo
  echo "pgfleet details per run:"
  echo
  echo "| Run | Wall s | pgfleet's own time s | Start-up / shutdown s | Backup id | Tables | Largest table (raw COPY bytes) | Largest task time | stats: wall / run s | Peak heap MiB (stats / GC log) | Max RSS MiB |"
  echo "|---|---:|---:|---|---|---:|---|---:|---|---|---:|"
  local id r ms rss name wall lr lt
  for id in pgfleet_backup pgfleet_mem; do
    for ((r = 1; r <= REPEAT; r++)); do
      [[ $id == pgfleet_mem ]] && name='memory run (1 x 4, -Xmx256m)' || name="backup --workers $WORKERS"
      wall=$(run_wall "$id" "$r"); [[ "$(run_rc "$id" "$r")" == 0 ]] || wall+=" (failed)"
      lr=$(get_extra "$id" "$r" largest_raw_bytes)
      if [[ -n "$lr" ]]; then
        lr="$(get_extra "$id" "$r" largest_raw_table) $(div "$lr" 1048576 %.1f) MiB = $(div "$lr" "$(get_extra "$id" "$r" total_raw_bytes)" %.2f) of all"
      else lr=n/a; fi
      ms=$(get_extra "$id" "$r" largest_task_ms)
      if [[ -n "$ms" ]]; then lt="$(div "$ms" 1000) s $(get_extra "$id" "$r" largest_task_table)"; else lt="n/a (no elapsedMillis)"; fi
      rss=$(get_extra "$id" "$r" max_rss_kb)
      printf '| %s #%s | %s | %s | %s / %s | %s | %s | %s | %s | %s / %s | %s / %s | %s |\n' "$name" "$r" "$wall" \
        "$(v=$(get_extra "$id" "$r" self_s); echo "${v:-n/a}")" \
        "$(v=$(get_extra "$id" "$r" startup_s); echo "${v:-n/a}")" "$(v=$(get_extra "$id" "$r" shutdown_s); echo "${v:-n/a}")" \
        "$(v=$(get_extra "$id" "$r" backup_id); echo "${v:-n/a}")" "$(v=$(get_extra "$id" "$r" tables); echo "${v:-n/a}")" "$lr" "$lt" \
        "$(v=$(get_extra "$id" "$r" stats_wallSeconds); echo "${v:-n/a}")" "$(v=$(get_extra "$id" "$r" stats_runSeconds); echo "${v:-n/a}")" \
        "$(div "$(get_extra "$id" "$r" stats_peakHeapBytes)" 1048576 %.0f)" "$(v=$(get_extra "$id" "$r" gc_peak_heap_mib); echo "${v:-n/a}")" \
        "$(div "$rss" 1024 %.0f)"
    done
  done
  for ((r = 1; r <= REPEAT; r++)); do
    [[ -n "$(run_wall pgfleet_restore "$r")" && "$(run_rc pgfleet_restore "$r")" != - ]] || continue
    printf '| restore --jobs %s #%s | %s | %s | | | | | | | | %s |\n' "$JOBS" "$r" \
      "$(run_wall pgfleet_restore "$r")$([[ "$(run_rc pgfleet_restore "$r")" == 0 ]] || echo ' (failed)')" \
      "$(v=$(get_extra pgfleet_restore "$r" self_s); echo "${v:-n/a}")" \
      "$(div "$(sed -n 's/^maxrss_kb=//p' "$LOG/pgfleet_restore.$r.rss" 2>/dev/null | tail -1)" 1024 %.0f)"
  done
  echo
  echo "pgfleet's own time: backup = the manifest's startedAt → finishedAt (run accepted → last task done); restore = its"
  echo "closing \"restored … in S s\". Start-up = command start → first progress line (JVM, embedded Kafka broker,"
  echo "coordinator and workers, then the run's snapshot and plan, so it overlaps the start of pgfleet's own time);"
  echo "shutdown = \"complete\" line → process exit (broker and JVM stop)."
  echo "(pgfleet prints its first progress report at once and then every 5 s.) The tables and ratios above use wall times."
  if [[ $HAS_STATS != 1 ]]; then
    echo "Stats columns are n/a: this pgfleet build has no \`backup --stats-json\`."
  fi
  echo
  echo "Every run (client CPU: the measured command and its children, e.g. pg_dump workers, psql, java; server CPU:"
  echo "PostgreSQL backends; other CPU: everything else on the machine meanwhile = noise, out of $(nproc) cores × wall):"
  echo
  echo "| Measurement | Run | Wall s | MB | Client CPU s | Server CPU s | Other CPU s | Load at start | Exit |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' 'NR > 1 { l = $3; gsub(/\|/, "\\|", l); printf "| %s | %s | %s | %.1f | %s | %s | %s | %s | %s |\n", l, $2, $4, $5 / 1048576, $6, $7, $8, $9, $10 }' "$RESULTS"
  echo
  echo "Content check (make-dataset.sh --fingerprint-only, untimed, $(wc -l <"$LOG/source.fingerprint") entries: row count + row hash per table and matview, sequences, large objects):"
  for id in pg_restore pgfleet_restore; do
    for ((r = 1; r <= REPEAT; r++)); do
      local c; c=$(get_extra "$id" "$r" content)
      echo "- $id #$r: ${c:-not checked (restore not run)}$([[ "$c" == equal ]] && echo ' to the source')"
    done
  done
  local top
  top=$(for r in $(seq 1 "$REPEAT"); do
          [[ -f "$LOG/copy_lb.$r/tasks.tsv" ]] || continue
          w=$(run_wall copy_lb "$r")
          awk -F'\t' -v w="$w" -v r="$r" '{ d = $4 - $3; printf "%s\t%.2f\t%.0f\t%s\n", $2, d, 100 * d / w, r }' "$LOG/copy_lb.$r/tasks.tsv"
        done | sort -t$'\t' -k2,2 -gr | head -3 || true)
  if [[ -n "$top" ]]; then
    echo
    echo "Longest COPY floor tasks:"
    awk -F'\t' '{ printf "- %s: %s s (%s %% of COPY floor run #%s)\n", $1, $2, $3, $4 }' <<<"$top"
  fi
}
report >"$OUT/results.md"
log "results: $OUT/results.md (also results.tsv, pgfleet-details.tsv, env.txt, logs/)"
cat "$OUT/results.md"

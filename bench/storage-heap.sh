#!/usr/bin/env bash
# bench/storage-heap.sh — a ~2 GB table backed up to a GCS and an S3 repository with the worker JVM at -Xmx256m.
#
#   bench/storage-heap.sh [--port P] [--host H] [--user U] [--db NAME] [--rows N] [--out DIR]
#                         [--backends gcs,s3] [--plans chunked,single] [--slots N] [--xmx SIZE]
#                         [--no-restore] [--append-docs] [--keep]
#
#   --port/--host/--user  server (default $PGPORT, else 5433 if it answers, else 5432; $PGHOST or 127.0.0.1;
#                     $PGUSER or postgres)
#   --db NAME         database holding the table public.big (default pgfleet_heap); created, or reused when its
#                     table has the marker comment, --rows rows and at least 2 GiB
#   --rows N          rows of public.big (default 8000000: 2155 MiB on disk, 1959 MiB of COPY text)
#   --out DIR         results directory (default <repo>/bench/out/storage-heap-<UTC time>)
#   --backends LIST   gcs, s3 or both (default gcs,s3)
#   --plans LIST      chunked (default split: 16 ctid chunks), single (--split-threshold 100TB: one 2 GB stream),
#                     or both (default chunked,single)
#   --slots N         worker task slots (default 4); one worker (--workers 1)
#   --xmx SIZE        heap cap of the pgfleet JVMs (default 256m)
#   --no-restore      skip the restore check (by default: one restore per backend of its first backup)
#   --append-docs     append the results section to docs/BENCHMARKS.md
#   --keep            keep the restored databases
#
# Servers, each in its own JVM (never the measured one): GCS = FakeGcsServer from storage-gcs's test-jar
# (bench/storage-heap/FakeGcsMain.java; it keeps objects in its heap, $PGFLEET_FAKE_GCS_XMX, default 6g),
# S3 = Adobe S3Mock (cli/target/s3mock/s3mock-exec.jar; objects on disk under DIR/s3mock).
# Prints a Markdown table (also DIR/results.md, DIR/results.tsv, logs in DIR/logs).
set -euo pipefail

die() { echo "bench/storage-heap.sh: error: $*" >&2; exit 2; }
fail() { echo "bench/storage-heap.sh: error: $*" >&2; exit 1; }
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

((BASH_VERSINFO[0] >= 5)) || die "bash 5 is required (EPOCHREALTIME), this is $BASH_VERSION"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

PORT=${PGPORT:-}
HOST=${PGHOST:-127.0.0.1}
DBUSER=${PGUSER:-postgres}
DB=pgfleet_heap
ROWS=8000000
OUT=
BACKENDS=gcs,s3
PLANS=chunked,single
SLOTS=4
XMX=256m
RESTORE=1
APPEND_DOCS=0
KEEP=0
TIMEOUT=${PGFLEET_BENCH_TIMEOUT:-3600}
GCS_XMX=${PGFLEET_FAKE_GCS_XMX:-6g}
BUCKET=pgfleet-bench

need_value() { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port)     need_value "$@"; PORT=$2; shift 2 ;;
    --host)     need_value "$@"; HOST=$2; shift 2 ;;
    --user)     need_value "$@"; DBUSER=$2; shift 2 ;;
    --db)       need_value "$@"; DB=$2; shift 2 ;;
    --rows)     need_value "$@"; ROWS=$2; shift 2 ;;
    --out)      need_value "$@"; OUT=$2; shift 2 ;;
    --backends) need_value "$@"; BACKENDS=$2; shift 2 ;;
    --plans)    need_value "$@"; PLANS=$2; shift 2 ;;
    --slots)    need_value "$@"; SLOTS=$2; shift 2 ;;
    --xmx)      need_value "$@"; XMX=$2; shift 2 ;;
    --no-restore)  RESTORE=0; shift ;;
    --append-docs) APPEND_DOCS=1; shift ;;
    --keep)     KEEP=1; shift ;;
    -h|--help)  usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$ROWS" =~ ^[1-9][0-9]*$ ]] || die "--rows must be a positive integer, got '$ROWS'"
[[ "$SLOTS" =~ ^[1-9][0-9]*$ ]] || die "--slots must be a positive integer, got '$SLOTS'"
[[ "$XMX" =~ ^[1-9][0-9]*[kmgKMG]$ ]] || die "--xmx must look like 256m, got '$XMX'"
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "PGFLEET_BENCH_TIMEOUT must be a positive number of seconds"
[[ "$HOST" != /* ]] || die "--host must be a TCP host name or address, not a socket directory"
[[ "$DB" =~ ^[a-z_][a-z0-9_]{0,40}$ ]] || die "--db must be a plain lower-case identifier of at most 41 characters"
IFS=, read -r -a BACKEND_LIST <<<"$BACKENDS"
IFS=, read -r -a PLAN_LIST <<<"$PLANS"
for b in "${BACKEND_LIST[@]}"; do [[ "$b" == gcs || "$b" == s3 ]] || die "--backends: unknown backend '$b'"; done
for p in "${PLAN_LIST[@]}"; do [[ "$p" == chunked || "$p" == single ]] || die "--plans: unknown plan '$p'"; done

for tool in psql java awk timeout curl; do
  command -v "$tool" >/dev/null || fail "$tool not found on PATH"
done
command -v jq >/dev/null || fail "jq not found on PATH (reads --stats-json and the manifest)"

# ------------------------------------------------------------------ server
export PGHOST="$HOST" PGUSER="$DBUSER"
unset PGDATABASE PGOPTIONS PGSERVICE
PSQL=(psql -X -q --no-psqlrc -v ON_ERROR_STOP=1)
if [[ -z "$PORT" ]]; then
  for p in 5433 5432; do
    if PGPORT=$p "${PSQL[@]}" -At -d postgres -c 'select 1' >/dev/null 2>&1; then PORT=$p; break; fi
  done
  [[ -n "$PORT" ]] || fail "no server answers on $HOST:5433 or $HOST:5432 as $DBUSER; give --port"
fi
export PGPORT="$PORT"
q() { "${PSQL[@]}" -At "$@"; }
qa() { q -d postgres "$@"; }
qa -c 'select 1' >/dev/null 2>&1 || fail "cannot connect to $HOST:$PORT as $DBUSER (database postgres)"
HOST_IN_URL=$HOST; [[ "$HOST" == *:* ]] && HOST_IN_URL="[$HOST]"
pg_url() { printf 'postgresql://%s@%s:%s/%s' "$DBUSER" "$HOST_IN_URL" "$PORT" "$1"; }
db_exists() { [[ $(qa -v t="$1" <<<"SELECT count(*) FROM pg_database WHERE datname = :'t'") != 0 ]]; }
db_comment() { qa -v t="$1" <<<"SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = :'t'"; }

# ------------------------------------------------------------------ output
[[ -n "$OUT" ]] || OUT="$REPO/bench/out/storage-heap-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT" || fail "cannot create --out directory $OUT"
OUT=$(cd "$OUT" && pwd)
[[ ! -e "$OUT/results.tsv" ]] || die "$OUT already holds results; pick another --out"
LOG="$OUT/logs"
mkdir -p "$LOG"
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$OUT/progress.log" >&2; }

# ------------------------------------------------------------------ pgfleet and the servers' jars
JAR="$REPO/cli/target/pgfleet.jar"
GCS_TEST_JAR=$(ls "$REPO"/storage-gcs/target/pgfleet-storage-gcs-*-tests.jar 2>/dev/null | head -1 || true)
S3MOCK_JAR="$REPO/cli/target/s3mock/s3mock-exec.jar"
S3MOCK_VERSION=$(sed -n 's:.*<s3mock.version>\(.*\)</s3mock.version>.*:\1:p' "$REPO/pom.xml" | head -1)
if [[ ! -f "$JAR" || -z "$GCS_TEST_JAR" || ! -f "$S3MOCK_JAR" || -n "${PGFLEET_REBUILD:-}" ]]; then
  command -v mvn >/dev/null || fail "pgfleet is not built and Maven (mvn) is not installed to build it"
  log "building pgfleet, storage-gcs's test-jar and S3Mock's jar: mvn -B -q -ntp -DskipTests package (logs/build.log)"
  (cd "$REPO" && mvn -B -q -ntp -DskipTests package) >"$LOG/build.log" 2>&1 || fail "build failed; see $LOG/build.log"
  GCS_TEST_JAR=$(ls "$REPO"/storage-gcs/target/pgfleet-storage-gcs-*-tests.jar 2>/dev/null | head -1 || true)
fi
[[ -f "$JAR" && -n "$GCS_TEST_JAR" && -f "$S3MOCK_JAR" ]] || fail "after the build: $JAR, storage-gcs's test-jar or $S3MOCK_JAR is missing"
# The launcher's defaults (parallel collector), without its class-data sharing archive (one less variable).
PGFLEET_JVM=(java -XX:+UseParallelGC "-Xmx$XMX")
PGFLEET_VERSION=$(java -jar "$JAR" --version 2>&1 | head -1)

# ------------------------------------------------------------------ the table
TABLE_MARK="pgfleet storage-heap bench table (rows $ROWS)"
MIN_BYTES=$((2 * 1024 * 1024 * 1024))
table_state() { # -> "<comment>|<total relation size>" or empty
  db_exists "$DB" || return 0
  q -d "$DB" -c "SELECT coalesce(obj_description('public.big'::regclass, 'pg_class'), '') || '|' || pg_total_relation_size('public.big')
                 WHERE to_regclass('public.big') IS NOT NULL" 2>/dev/null || true
}
state=$(table_state)
if [[ "${state%|*}" == "$TABLE_MARK" && "${state#*|}" -ge $MIN_BYTES ]]; then
  log "reusing $DB.public.big ($TABLE_MARK, $((${state#*|} / 1048576)) MiB)"
  DATASET_NOTE="reused"
else
  if db_exists "$DB"; then
    if [[ -n "$state" && "${state%|*}" == "pgfleet storage-heap bench table"* ]] || [[ "$(db_comment "$DB")" == "pgfleet storage-heap bench"* ]]; then
      log "dropping $DB (an earlier storage-heap table of another size)"
      qa -v t="$DB" <<<'DROP DATABASE :"t" WITH (FORCE)'
    else
      fail "database $DB exists and does not hold this script's table; not touching it: choose another --db"
    fi
  fi
  log "creating $DB.public.big: $ROWS rows (logs/dataset.log)"
  t0=$EPOCHREALTIME
  qa -v t="$DB" <<<'CREATE DATABASE :"t"'
  qa -v t="$DB" <<<"COMMENT ON DATABASE :\"t\" IS 'pgfleet storage-heap bench database (disposable)'"
  # Seven distinct md5s a row: hex text that zstd shrinks only ~2x, so ~1 GiB goes to each repository.
  q -d "$DB" -v rows="$ROWS" -v mark="$TABLE_MARK" >"$LOG/dataset.log" 2>&1 <<'SQL' || fail "creating the table failed; see $LOG/dataset.log"
SET synchronous_commit = off;
CREATE TABLE public.big (id bigint NOT NULL, k text NOT NULL, v text NOT NULL, ts timestamptz NOT NULL);
INSERT INTO public.big
SELECT i, md5(i::text),
       md5((i * 7)::text) || md5((i * 11)::text) || md5((i * 13)::text) || md5((i * 17)::text) || md5((i * 19)::text) || md5((i * 23)::text),
       timestamptz '2026-01-01' + i * interval '1 second'
FROM generate_series(1, :rows) i;
VACUUM ANALYZE public.big;
COMMENT ON TABLE public.big IS :'mark';
SQL
  state=$(table_state)
  DATASET_NOTE="created by this run in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
  [[ "${state#*|}" -ge $MIN_BYTES ]] || log "warning: public.big is only $((${state#*|} / 1048576)) MiB; raise --rows for 2 GiB"
fi
TABLE_BYTES=${state#*|}
SRC_URL=$(pg_url "$DB")

# Row count, COPY text size and an order-independent checksum of the rows (untimed).
CHECK_SQL="SELECT count(*) || ' ' || sum(octet_length(id::text) + octet_length(k) + octet_length(v) + octet_length(ts::text) + 4)
                 || ' ' || sum(hashtextextended(id::text || '|' || k || '|' || v || '|' || ts::text, 0)::numeric)
           FROM public.big"
log "source row count, COPY text size and checksum (untimed)"
read -r SRC_ROWS COPY_BYTES SRC_SUM <<<"$(q -d "$DB" -c "SET TIME ZONE 'UTC'" -c "$CHECK_SQL")"
log "public.big: $SRC_ROWS rows, $((TABLE_BYTES / 1048576)) MiB on disk, $((COPY_BYTES / 1048576)) MiB of COPY text"

# ------------------------------------------------------------------ servers (own JVMs, own heaps)
SERVER_PIDS=()
cleanup() {
  local p
  for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$OUT/s3mock"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
  || echo $((20000 + RANDOM % 20000)); }

GCS_ENDPOINT= S3_ENDPOINT=
if [[ " ${BACKEND_LIST[*]} " == *" gcs "* ]]; then
  rm -f "$OUT/gcs.endpoint"
  java "-Xmx$GCS_XMX" -XX:+UseParallelGC -cp "$GCS_TEST_JAR:$REPO/cli/target/lib/*" "$HERE/storage-heap/FakeGcsMain.java" \
    "$OUT/gcs.endpoint" "$BUCKET" >"$LOG/fake-gcs.log" 2>&1 &
  SERVER_PIDS+=($!)
  for _ in $(seq 120); do [[ -s "$OUT/gcs.endpoint" ]] && break; kill -0 "${SERVER_PIDS[-1]}" 2>/dev/null || break; sleep 0.5; done
  [[ -s "$OUT/gcs.endpoint" ]] || fail "the fake GCS server did not start; see $LOG/fake-gcs.log"
  GCS_ENDPOINT=$(cat "$OUT/gcs.endpoint")
  log "fake GCS server (FakeGcsServer, own JVM -Xmx$GCS_XMX, objects in its heap) at $GCS_ENDPOINT"
fi
if [[ " ${BACKEND_LIST[*]} " == *" s3 "* ]]; then
  S3_PORT=$(free_port)
  mkdir -p "$OUT/s3mock"
  java -Xmx1g -XX:TieredStopAtLevel=1 -jar "$S3MOCK_JAR" --server.port=0 \
    "--com.adobe.testing.s3mock.httpPort=$S3_PORT" "--com.adobe.testing.s3mock.store.root=$OUT/s3mock" \
    "--com.adobe.testing.s3mock.store.initialBuckets=$BUCKET" --spring.main.banner-mode=off >"$LOG/s3mock.log" 2>&1 &
  SERVER_PIDS+=($!)
  S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
  for _ in $(seq 180); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/" 2>/dev/null || true) == 200 ]] && break
    kill -0 "${SERVER_PIDS[-1]}" 2>/dev/null || break; sleep 0.5
  done
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/" || true) == 200 ]] || fail "S3Mock did not start; see $LOG/s3mock.log"
  log "S3Mock $S3MOCK_VERSION (own JVM -Xmx1g, objects on disk) at $S3_ENDPOINT"
fi

backend_env() { # backend -> env assignments for pgfleet
  case "$1" in
    gcs) echo "STORAGE_EMULATOR_HOST=$GCS_ENDPOINT" ;;
    s3)  echo "PGFLEET_S3_ENDPOINT=$S3_ENDPOINT AWS_ACCESS_KEY_ID=pgfleet-bench AWS_SECRET_ACCESS_KEY=pgfleet-bench AWS_REGION=us-east-1" ;;
  esac
}
repo_url() { case "$1" in gcs) echo "gs://$BUCKET/$2" ;; s3) echo "s3://$BUCKET/$2" ;; esac; }

# pgfleet_run LOGPREFIX BACKEND -- args... : runs one pgfleet command under -Xmx, GC log, max RSS; sets RUN_WALL, RUN_RC
pgfleet_run() {
  local prefix=$1 backend=$2; shift 3
  local -a envs; read -r -a envs <<<"$(backend_env "$backend")"
  local t0=$EPOCHREALTIME
  RUN_RC=0
  timeout -k 30 "$TIMEOUT" env "${envs[@]}" /usr/bin/time -f 'maxrss_kb=%M' -o "$prefix.rss" \
    "${PGFLEET_JVM[@]}" "-Xlog:gc*:file=$prefix.gc.log" -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$prefix.hprof" \
    -jar "$JAR" "$@" >"$prefix.stdout" 2>"$prefix.stderr" || RUN_RC=$?
  RUN_WALL=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
}
# GC log -> "<max used before a collection> <max in use after one> <max live after a full collection, or -> <GCs>"
# in MiB. After a young collection the old generation still holds whatever died there since the last full one;
# only a full collection shows what is really reachable.
gc_figures() {
  awk '
    function mib(s,   n, u) { n = s + 0; u = substr(s, length(s)); return u == "K" ? n / 1024 : u == "G" ? n * 1024 : u == "B" ? n / 1048576 : n }
    /GC\([0-9]+\) Pause/ && match($0, /[0-9]+[KMGB]->[0-9]+[KMGB]\(/) {
      split(substr($0, RSTART, RLENGTH - 1), a, "->"); b = mib(a[1]); l = mib(a[2])
      if (b > before) before = b; if (l > live) live = l; n++
      if ($0 ~ /Pause Full/ && $0 !~ /Metadata GC Threshold/ && l > full) { full = l; nf++ } }
    END { printf "%.0f %.0f %s %d", before, live, nf ? sprintf("%.0f", full) : "-", n }' "$1" 2>/dev/null || echo "- - - 0"
}
rss_mib() { sed -n 's/^maxrss_kb=//p' "$1" 2>/dev/null | tail -1 | awk '{ printf "%.0f", $1 / 1024 }'; }

# ------------------------------------------------------------------ runs
printf 'backend\tplan\tstep\trc\twall_s\tpeak_heap_mib\tgc_before_mib\tgc_after_mib/gc_full_live_mib\tgcs\trss_mib\ttasks\tstored_bytes\trun_s\tnote\n' >"$OUT/results.tsv"
row() { local IFS=$'\t'; echo "$*" >>"$OUT/results.tsv"; }
RUN_TAG=$(date -u +%Y%m%dT%H%M%SZ)
declare -A FIRST_BACKUP
for backend in "${BACKEND_LIST[@]}"; do
  for plan in "${PLAN_LIST[@]}"; do
    id="$backend.$plan"
    repo=$(repo_url "$backend" "heap-$RUN_TAG/$plan")
    pargs=(); [[ $plan == single ]] && pargs=(--split-threshold 100TB)
    log "backup $id: pgfleet backup $SRC_URL --repo $repo --workers 1 --slots $SLOTS ${pargs[*]} (-Xmx$XMX)"
    pgfleet_run "$LOG/$id.backup" "$backend" -- backup "$SRC_URL" --repo "$repo" --workers 1 --slots "$SLOTS" \
      "${pargs[@]}" --stats-json "$LOG/$id.stats.json"
    bid=$(grep -E '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$' "$LOG/$id.backup.stdout" | tail -1 || true)
    read -r before live full ngc <<<"$(gc_figures "$LOG/$id.backup.gc.log")"
    peak=-; tasks=-; run_s=-; stored=-
    if [[ -s "$LOG/$id.stats.json" ]]; then
      peak=$(jq -r '.peakHeapBytes / 1048576 | floor' "$LOG/$id.stats.json")
      tasks=$(jq -r '.tasks' "$LOG/$id.stats.json"); run_s=$(jq -r '.runSeconds' "$LOG/$id.stats.json")
    fi
    note=""; [[ $RUN_RC == 0 ]] || note="FAILED (exit $RUN_RC): $(grep -m1 -iE 'error|exception' "$LOG/$id.backup.stderr" | cut -c1-200 || true)"
    if [[ -f "$LOG/$id.backup.hprof" ]]; then note="$note; OutOfMemoryError, heap dump logs/$id.backup.hprof"; fi
    # what was stored, from the closing line: "backup ID complete: 1 tables, N rows, 1.1 GiB stored in 0:42"
    stored=$(sed -n 's/^pgfleet: backup .* complete: .*, \([0-9.]* [KMGT]*i*B\) stored in .*/\1/p' "$LOG/$id.backup.stderr" | tail -1)
    stored=${stored:--}
    if [[ -n "$bid" ]]; then FIRST_BACKUP[$backend]=${FIRST_BACKUP[$backend]:-"$repo $bid"}; fi
    row "$backend" "$plan" backup "$RUN_RC" "$RUN_WALL" "$peak" "$before" "$live/$full" "$ngc" "$(rss_mib "$LOG/$id.backup.rss")" "$tasks" "$stored" "$run_s" "$note"
    log "backup $id: rc=$RUN_RC, ${RUN_WALL} s, peak heap $peak MiB (GC log: ≤ $before MiB before a collection, ≤ $live MiB after one, ≤ $full MiB live after a full one), id ${bid:-none}"
    if [[ -n "$bid" ]]; then
      log "verify $id"
      pgfleet_run "$LOG/$id.verify" "$backend" -- verify --repo "$repo" --backup "$bid"
      read -r before live full ngc <<<"$(gc_figures "$LOG/$id.verify.gc.log")"
      note=""; [[ $RUN_RC == 0 ]] || note="FAILED (exit $RUN_RC): $(tail -1 "$LOG/$id.verify.stderr" | cut -c1-200 || true)"
      row "$backend" "$plan" verify "$RUN_RC" "$RUN_WALL" - "$before" "$live/$full" "$ngc" "$(rss_mib "$LOG/$id.verify.rss")" - - - "$note"
      log "verify $id: rc=$RUN_RC, ${RUN_WALL} s"
    fi
  done
  if [[ $RESTORE == 1 && -n "${FIRST_BACKUP[$backend]:-}" ]]; then
    read -r repo bid <<<"${FIRST_BACKUP[$backend]}"
    target="${DB}_restore_$backend"
    if db_exists "$target"; then
      [[ "$(db_comment "$target")" == "pgfleet storage-heap restore target"* ]] || fail "database $target exists and is not a restore target of this script"
      qa -v t="$target" <<<'DROP DATABASE :"t" WITH (FORCE)'
    fi
    qa -v t="$target" <<<'CREATE DATABASE :"t"'
    qa -v t="$target" <<<"COMMENT ON DATABASE :\"t\" IS 'pgfleet storage-heap restore target (disposable)'"
    log "restore $backend: $bid from $repo into $target"
    pgfleet_run "$LOG/$backend.restore" "$backend" -- restore --repo "$repo" --backup "$bid" --target "$(pg_url "$target")" --jobs 2
    read -r before live full ngc <<<"$(gc_figures "$LOG/$backend.restore.gc.log")"
    rc=$RUN_RC wall=$RUN_WALL note=""
    if [[ $rc == 0 ]]; then
      read -r r_rows _ r_sum <<<"$(q -d "$target" -c "SET TIME ZONE 'UTC'" -c "$CHECK_SQL" 2>/dev/null || true)"
      if [[ "$r_rows" == "$SRC_ROWS" && "$r_sum" == "$SRC_SUM" ]]; then note="rows and checksum = source ($r_rows rows)"
      else note="CONTENT DIFFERS: rows $r_rows vs $SRC_ROWS, checksum $r_sum vs $SRC_SUM"; fi
    else
      note="FAILED (exit $rc): $(tail -1 "$LOG/$backend.restore.stderr" | cut -c1-200 || true)"
    fi
    row "$backend" "${repo##*/}" restore "$rc" "$wall" - "$before" "$live/$full" "$ngc" "$(rss_mib "$LOG/$backend.restore.rss")" - - - "$note"
    log "restore $backend: rc=$rc, $wall s, $note"
    [[ $KEEP == 1 ]] || qa -v t="$target" <<<'DROP DATABASE :"t" WITH (FORCE)'
  fi
done

# ------------------------------------------------------------------ report
report() {
  local when; when=$(date -u '+%Y-%m-%d %H:%M UTC')
  echo "### 2 GB table to GCS and S3, $when"
  echo
  echo "\`bench/storage-heap.sh --backends $BACKENDS --plans $PLANS --slots $SLOTS --xmx $XMX\` on $HOST:$PORT"
  echo "($(q -c 'select version()' | awk '{ print $1, $2 }')). Table \`$DB.public.big\` ($DATASET_NOTE): $SRC_ROWS rows,"
  echo "$((TABLE_BYTES / 1048576)) MiB on disk (pg_total_relation_size), $((COPY_BYTES / 1048576)) MiB of COPY text."
  echo "Machine: $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo),"
  echo "$(uname -sr), load at the end $(cut -d' ' -f1-3 /proc/loadavg); $(java -version 2>&1 | head -1); $PGFLEET_VERSION."
  echo "pgfleet JVM: \`java -XX:+UseParallelGC -Xmx$XMX -jar cli/target/pgfleet.jar backup … --workers 1 --slots $SLOTS\`"
  echo "(standalone: the same JVM also runs the embedded Kafka broker and the coordinator)."
  echo
  echo "| Backend | Plan | Step | Exit | Wall s | Run s | Tasks | Stored | MiB/s (COPY text / wall) | Peak heap MiB (--stats-json) | GC log, MiB: max before a GC / max after one / max live after a full GC | Max RSS MiB | Note |"
  echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"
  awk -F'\t' -v cb="$COPY_BYTES" 'NR > 1 {
      tp = ($3 == "backup" && $4 == 0 && $5 > 0) ? sprintf("%.0f", cb / 1048576 / $5) : ""
      split($8, lf, "/")
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s (%s GCs) | %s | %s |\n", $1, $2, $3, $4, $5, $13, $11, $12, tp, $6, $7, lf[1], lf[2], $9, $10, $14 }' "$OUT/results.tsv"
  echo
  echo "Servers, each in its own JVM (their memory is not in the figures above):"
  [[ -n "$GCS_ENDPOINT" ]] && echo "- GCS: \`FakeGcsServer\` from storage-gcs's test-jar (JSON API over HTTP, resumable uploads), run by \`bench/storage-heap/FakeGcsMain.java\` with \`-Xmx$GCS_XMX\`; it keeps every object in its own heap, so the repository is bounded by that JVM's memory, and it does not enforce GCS's 256 KiB chunk rule or any latency."
  [[ -n "$S3_ENDPOINT" ]] && echo "- S3: Adobe S3Mock $S3MOCK_VERSION ($(basename "$S3MOCK_JAR"), \`-Xmx1g\`), objects on local disk, path-style, no auth, no latency."
  echo "- Everything (PostgreSQL, pgfleet, both servers) shares the same $(nproc) cores and disk: wall times are upper bounds."
}
report >"$OUT/results.md"
if [[ $APPEND_DOCS == 1 ]]; then
  { echo; cat "$OUT/results.md"; } >>"$REPO/docs/BENCHMARKS.md"
  log "appended to docs/BENCHMARKS.md"
fi
log "results: $OUT/results.md (also results.tsv, logs/)"
cat "$OUT/results.md"

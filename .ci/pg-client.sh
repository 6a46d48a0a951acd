#!/usr/bin/env bash
# Builds PostgreSQL's client programs (pg_dump, pg_restore, psql and libpq) of a newer major than the system's,
# from Debian's source package, into a cache directory, and prints that build's bin directory on stdout.
#
# Why build: pg_dump refuses a server newer than itself, so the mixed-version tests need a pg_dump newer than the
# newest test server; Debian 12 ships 15, and the binary packages of newer majors need a newer glibc than it has.
# The build takes about 70 s on 2 cores; a cache whose bin/pg_dump runs is reused as it is.
#
# Environment:
#   PGFLEET_PG_CLIENT_MAJOR  major to build (default 18)
#   PGFLEET_PG_CLIENT_CACHE  install directory (default /var/cache/pgfleet/pg-client-<major>)
#   PGFLEET_PG_CLIENT_SUITE  Debian suite whose source package is used (default sid)
#   PGFLEET_DEBIAN_MIRROR    Debian archive URL (default: the one this machine's apt sources use)
set -euo pipefail

major=${PGFLEET_PG_CLIENT_MAJOR:-18}
cache=${PGFLEET_PG_CLIENT_CACHE:-/var/cache/pgfleet/pg-client-$major}
suite=${PGFLEET_PG_CLIENT_SUITE:-sid}

log() { printf '[pg-client] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

works() {
  local v
  v=$("$cache/bin/pg_dump" --version 2>/dev/null) || return 1
  "$cache/bin/pg_restore" --version >/dev/null 2>&1 || return 1
  "$cache/bin/psql" --version >/dev/null 2>&1 || return 1
  [[ $v == *"(PostgreSQL) $major."* ]]
}

if works; then
  log "reusing $("$cache/bin/pg_dump" --version) in $cache"
  echo "$cache/bin"
  exit 0
fi

# The build's own tools; gcc and make are usually there already, bison and flex usually not.
need=()
command -v gcc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v bison >/dev/null || need+=(bison)
command -v flex >/dev/null || need+=(flex)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev) # pg_dump -Fc compresses with zlib; without it, no compressed archives
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  as_root apt-get update -q >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2
fi

mirror=${PGFLEET_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # The Debian archive this machine already uses (deb822 .sources files or the one-line sources.list).
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n' \
             | grep -E '/debian/?$' | head -1 || true)
  [ -n "$mirror" ] || mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
             | awk '$1 == "deb" || $1 == "deb-src" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' \
             | grep -E '/debian/?$' | head -1 || true)
  [ -n "$mirror" ] || die "no Debian archive found in /etc/apt/sources*; set PGFLEET_DEBIAN_MIRROR"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pgfleet-pg-client.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src"

# A private apt configuration with only the suite's deb-src line: the machine's own sources are left alone.
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
signed=""
[ -r "$keyring" ] && signed="[signed-by=$keyring] "
echo "deb-src ${signed}$mirror $suite main" >"$work/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/none"
             -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root"
             -o "Acquire::Languages=none")
log "fetching the postgresql-$major source package from Debian $suite"
apt-get "${apt_private[@]}" -q update >&2 || die "apt-get update of the private $suite deb-src list failed"
(cd "$work/src" && apt-get "${apt_private[@]}" -q source --download-only "postgresql-$major" >&2) \
  || die "apt-get source --download-only postgresql-$major failed"
orig=$(ls "$work/src"/postgresql-"$major"_*.orig.tar.* 2>/dev/null | head -1)
[ -n "$orig" ] || die "no upstream tarball in the postgresql-$major source package"
log "building from $(basename "$orig")"
tar -xf "$orig" -C "$work/src"
srcdir=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-*' | head -1)

jobs=$(nproc 2>/dev/null || echo 2)
build_log="$work/build.log"
build() {
  cd "$srcdir"
  ./configure --prefix="$cache" --without-icu --without-readline
  make -j"$jobs" -C src/backend generated-headers
  # Installed into a staging root first, so the cache is never half-written.
  for dir in src/interfaces/libpq src/bin/pg_dump src/bin/psql; do
    make -j"$jobs" -C "$dir" install DESTDIR="$work/stage"
  done
}
if ! (build) >"$build_log" 2>&1; then
  tail -40 "$build_log" >&2
  die "building the PostgreSQL $major client failed (full log above, last 40 lines)"
fi

mkdir -p "$(dirname "$cache")" || die "cannot create $(dirname "$cache"); set PGFLEET_PG_CLIENT_CACHE"
rm -rf "$cache.old"
[ -e "$cache" ] && mv "$cache" "$cache.old"
mv "$work/stage$cache" "$cache"
rm -rf "$cache.old"
works || die "the build in $cache does not run: $("$cache/bin/pg_dump" --version 2>&1 | head -1)"
log "built $("$cache/bin/pg_dump" --version) in $cache"
echo "$cache/bin"

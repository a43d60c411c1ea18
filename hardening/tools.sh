#!/usr/bin/env bash
# Installs (once) what the several-processes suite runs, pinned:
# - HAProxy from Debian 12 (`haproxy`);
# - PgBouncer 1.24.1 built from Debian 13's source package (`pgbouncer`).
#   Debian 12 ships PgBouncer 1.18, which cannot carry protocol-level
#   prepared statements in transaction pooling mode (that came in 1.21,
#   `max_prepared_statements`), and sqlx, under sea-orm, prepares every
#   statement. The binary is built under target/ (`cargo clean` removes it),
#   from the source Debian 13 packages, checked against its SHA-256.
# Prints the PgBouncer binary's path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
HAPROXY_VERSION="2.6.12-1+deb12u4"
LIBEVENT_VERSION="2.1.12-stable-8+deb12u1"
PGBOUNCER_VERSION="1.24.1"
PGBOUNCER_DEBIAN="1.24.1-1+deb13u2"
PGBOUNCER_SHA256="da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0"

missing=()
command -v haproxy >/dev/null || missing+=("haproxy=$HAPROXY_VERSION")
dpkg -s libevent-dev >/dev/null 2>&1 || missing+=("libevent-dev=$LIBEVENT_VERSION")
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v cc >/dev/null || missing+=(gcc)
command -v make >/dev/null || missing+=(make)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "install as root: apt-get install ${missing[*]}" >&2; exit 1; }
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

prefix="$root/target/pgbouncer-$PGBOUNCER_VERSION"
if [ ! -x "$prefix/bin/pgbouncer" ]; then
  work="$(mktemp -d)"
  chmod 755 "$work"
  trap 'rm -rf "$work"' EXIT
  # Debian 13's source index in a state directory of its own: the
  # machine's package lists are left alone.
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    > "$work/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
            -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
  apt-get "${apt_opts[@]}" update -qq >&2
  (cd "$work" && apt-get "${apt_opts[@]}" source --download-only -qq "pgbouncer=$PGBOUNCER_DEBIAN" >&2)
  tarball="$work/pgbouncer_$PGBOUNCER_VERSION.orig.tar.gz"
  echo "$PGBOUNCER_SHA256  $tarball" | sha256sum -c --quiet - >&2
  tar -xzf "$tarball" -C "$work"
  (cd "$work/pgbouncer-$PGBOUNCER_VERSION" \
    && ./configure --prefix="$prefix" --without-cares --without-pam --without-systemd >/dev/null \
    && make -j2 >/dev/null 2>&1 && install -D -m 0755 pgbouncer "$prefix/bin/pgbouncer")
fi
echo "$prefix/bin/pgbouncer"

#!/bin/sh
# Installs the Debian packages the test suite drives as real programs, then checks them:
#   bubblewrap + util-linux (prlimit, setpriv)  the stdio-upstream sandbox
#   chromium + fonts-dejavu-core               the console's browser tests (playwright-core)
#   gdb                                        gcore, for the relay-memory (blindness) test
#   haproxy, pebble                            load balancer and ACME test CA for the cluster / hosted-agent tests
#   systemd                                    systemd-analyze, to verify the shipped service units
# Run as root (CI, a fresh container) it installs what is missing with apt-get; run as another user
# it prints the apt-get line to run. It is the first half of the README's test command and is what
# .ci/run calls; `npm test` itself never installs anything, it only checks (scripts/check-system-deps.sh).
#
# As root it also grants search permission (o+x, no listing) on the private parents of this checkout,
# because sandboxed upstreams run as an unprivileged user (65534) and must reach dist/ and
# node_modules/. It says which directories it changed.
#
#   sh scripts/install-system-deps.sh
set -u

need() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
missing=""
need bwrap || missing="$missing bubblewrap"
{ need prlimit && need setpriv; } || missing="$missing util-linux"
need "${AIRLOCK_CHROMIUM:-/usr/bin/chromium}" || missing="$missing chromium fonts-dejavu-core"
need gdb || missing="$missing gdb"
need haproxy || missing="$missing haproxy"
need pebble || missing="$missing pebble"
need systemd-analyze || missing="$missing systemd"

if [ -n "$missing" ]; then
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: missing$missing" >&2
    echo "  run as root: apt-get update && apt-get install -y --no-install-recommends$missing" >&2
    exit 1
  fi
  echo "install-system-deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends $missing >/dev/null; } ||
    { echo "install-system-deps: apt-get install$missing failed" >&2; exit 1; }
fi

if [ "$(id -u)" = "0" ]; then
  d="$(pwd)"
  while :; do
    if [ "$(( $(stat -c '%a' "$d" | sed 's/^.*\(.\)$/\1/') & 1 ))" = "0" ]; then
      chmod o+x "$d" && echo "install-system-deps: granted search (o+x) on $d so the sandbox user can reach this checkout"
    fi
    [ "$d" = "/" ] && break
    d="$(dirname "$d")"
  done
fi

exec sh "$(dirname "$0")/check-system-deps.sh"

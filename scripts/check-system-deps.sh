#!/bin/sh
# Checks, without installing anything, that the programs the test suite drives are present and that
# a bubblewrap sandbox can actually be created here. Exit status 0 when all is well; otherwise it
# names what is missing and the command that installs it (scripts/install-system-deps.sh as root).
#
#   sh scripts/check-system-deps.sh
set -u

fail=0
for p in bwrap prlimit setpriv gdb haproxy pebble systemd-analyze "${AIRLOCK_CHROMIUM:-/usr/bin/chromium}"; do
  if ! command -v "$p" >/dev/null 2>&1 && [ ! -x "$p" ]; then
    echo "check-system-deps: $p is missing" >&2
    fail=1
  fi
done
if [ "$fail" = "1" ]; then
  echo "  install the test programs as root with: sh scripts/install-system-deps.sh" >&2
  exit 1
fi

# Can a sandbox be made? (Fails where unprivileged user namespaces are disabled, e.g. some containers.)
prefix=""
if [ "$(id -u)" = "0" ]; then prefix="setpriv --reuid=65534 --regid=65534 --clear-groups --"; fi
# System directories as the connector binds them: symlinks stay symlinks (merged /usr), dirs are bound.
system=""
for d in /usr /bin /sbin /lib /lib32 /lib64 /libx32; do
  if [ -L "$d" ]; then system="$system --symlink $(readlink "$d") $d"
  elif [ -d "$d" ]; then system="$system --ro-bind $d $d"; fi
done
# shellcheck disable=SC2086
if ! $prefix bwrap --unshare-all --die-with-parent --new-session --cap-drop ALL $system \
  --proc /proc --dev /dev --tmpfs /tmp -- prlimit --nproc=64:64 -- true >/dev/null 2>&1; then
  echo "check-system-deps: bubblewrap is installed but cannot create namespaces here" >&2
  echo "  (check: sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, or the container's seccomp/AppArmor profile)" >&2
  exit 1
fi
echo "check-system-deps: ok ($(bwrap --version); $("${AIRLOCK_CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null | head -1))"

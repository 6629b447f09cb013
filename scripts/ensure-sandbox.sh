#!/bin/sh
# Makes sure the stdio-upstream sandbox can run here: bubblewrap (bwrap) and util-linux (prlimit,
# setpriv). Installs the Debian/Ubuntu packages when running as root with apt-get available;
# otherwise prints what to install. Then checks that a sandbox can actually be created (user
# namespaces allowed). Exit status: 0 when the sandbox works, 1 otherwise.
#
#   sh scripts/ensure-sandbox.sh
set -u

missing=""
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v prlimit >/dev/null 2>&1 || missing="$missing util-linux"
command -v setpriv >/dev/null 2>&1 || case "$missing" in *util-linux*) ;; *) missing="$missing util-linux" ;; esac

if [ -n "$missing" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-sandbox: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends $missing >/dev/null; } ||
      { echo "ensure-sandbox: apt-get install$missing failed" >&2; exit 1; }
  else
    echo "ensure-sandbox: missing$missing; install with: sudo apt-get install$missing" >&2
    exit 1
  fi
fi

# When the connector runs as root, upstreams are sandboxed as an unprivileged user (65534), and
# bubblewrap must reach this checkout's dist/ and node_modules/ as that user: grant search permission
# (x only: no listing) on private parent directories, and say so.
if [ "$(id -u)" = "0" ]; then
  d="$(pwd)"
  while :; do
    if [ "$(( $(stat -c '%a' "$d" | sed 's/^.*\(.\)$/\1/') & 1 ))" = "0" ]; then
      chmod o+x "$d" && echo "ensure-sandbox: granted search (o+x) on $d so the sandbox user can reach this checkout"
    fi
    [ "$d" = "/" ] && break
    d="$(dirname "$d")"
  done
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
if $prefix bwrap --unshare-all --die-with-parent --new-session --cap-drop ALL $system \
  --proc /proc --dev /dev --tmpfs /tmp -- prlimit --nproc=64:64 -- true >/dev/null 2>&1; then
  echo "ensure-sandbox: ok ($(bwrap --version))"
  exit 0
fi
echo "ensure-sandbox: bubblewrap is installed but cannot create namespaces here" >&2
echo "  (check: sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, or the container's seccomp/AppArmor profile)" >&2
exit 1

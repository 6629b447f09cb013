#!/bin/sh
# Makes sure a Chromium for the console's browser tests exists at /usr/bin/chromium (Debian's
# `chromium` package, driven by playwright-core). Installs it with apt-get when running as root;
# otherwise prints what to run. Override the path with AIRLOCK_CHROMIUM.
#
#   sh scripts/ensure-browser.sh
set -eu

CHROMIUM="${AIRLOCK_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
  echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is missing at $CHROMIUM. Install it as root:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
  echo "(or point AIRLOCK_CHROMIUM at an existing Chromium binary)" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing at $CHROMIUM and apt-get is not available: install Chromium with your package manager" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium fonts-dejavu-core
echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo installed)"

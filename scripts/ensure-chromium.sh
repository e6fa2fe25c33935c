#!/bin/sh
# Makes sure a headless-capable Chromium is at /usr/bin/chromium for the dashboard's browser tests (Debian's package).
set -eu

CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium by hand" >&2
  exit 1
fi

# Root installs directly; anyone else needs sudo without a password prompt (CI images).
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "ensure-chromium: need root (or sudo) to install chromium" >&2
    exit 1
  fi
fi

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation; } >"$LOG" 2>&1; then
  cat "$LOG" >&2
  echo "ensure-chromium: apt-get could not install chromium" >&2
  exit 1
fi
[ -x "$CHROMIUM" ] || { echo "ensure-chromium: installed, but $CHROMIUM is still missing" >&2; exit 1; }
echo "ensure-chromium: installed $($CHROMIUM --version 2>/dev/null || echo chromium)"

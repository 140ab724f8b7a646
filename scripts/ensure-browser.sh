#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests
# (tests/browser), and installs the tests' npm packages (playwright-core only:
# it drives the system Chromium and never downloads a browser of its own).
# Idempotent: skips the apt step when /usr/bin/chromium exists.
# Usage: ensure-browser.sh
set -euo pipefail

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-browser: /usr/bin/chromium is missing; run as root (or: sudo apt-get install chromium)" >&2
    exit 1
  fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null
fi
/usr/bin/chromium --version >/dev/null 2>&1 || {
  echo "ensure-browser: /usr/bin/chromium does not run" >&2
  exit 1
}

command -v node >/dev/null || {
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-browser: node is missing; install nodejs and npm" >&2
    exit 1
  fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
}

echo "browser ready: $(/usr/bin/chromium --version 2>/dev/null | head -n1)"

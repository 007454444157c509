#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser tests (driven by playwright-core).
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root to install.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -n "$0" "$@"
  fi
  echo "install-chromium.sh: /usr/bin/chromium is missing and this is not root; run: apt-get install -y chromium" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version

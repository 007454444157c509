#!/usr/bin/env bash
# Installs the Debian tools the test suite drives for real: kubectl (against the cluster
# simulator) and Chromium (the console's browser tests). Idempotent; needs root or sudo.
set -euo pipefail

missing=()
command -v kubectl >/dev/null 2>&1 || missing+=(kubectl)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "installing ${missing[*]} from Debian's packages"
"${as_root[@]}" apt-get update -qq
install() { DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$@"; }
if ! install "${missing[@]}"; then
  # Where no `kubectl` package is offered, Debian's own kubernetes-client provides it.
  install "${missing[@]/kubectl/kubernetes-client}"
fi

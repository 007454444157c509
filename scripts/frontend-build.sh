#!/usr/bin/env bash
# Builds the console into services/frontend/dist, doing only the work its inputs call for:
# node packages are reinstalled only when package-lock.json changed, and the bundle is
# rebuilt only when a source, a config file or the lock file changed. Each step keeps a
# stamp (the digest of its inputs) beside its output. Called by `just frontend-build`.
set -euo pipefail
cd "$(dirname "$0")/../services/frontend"

digest() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

lock_digest=$(digest package.json package-lock.json)
if [[ "$(cat node_modules/.lc-stamp 2>/dev/null)" != "$lock_digest" ]]; then
    npm ci --no-audit --no-fund
    echo "$lock_digest" > node_modules/.lc-stamp
fi

mapfile -t inputs < <(find src index.html vite.config.ts tsconfig.json package.json package-lock.json \
    -type f | LC_ALL=C sort)
build_digest=$(digest "${inputs[@]}")
if [[ "$(cat dist/.lc-stamp 2>/dev/null)" != "$build_digest" ]]; then
    npm run build
    echo "$build_digest" > dist/.lc-stamp
else
    echo "console is up to date (services/frontend/dist)"
fi

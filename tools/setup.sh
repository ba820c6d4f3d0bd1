#!/usr/bin/env bash
# Installs what Cohort needs on a fresh machine: npm dependencies (with Node 24 from the
# npm registry, see package.json) and Debian's nats-server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/ensure-nats-server.sh
# `npm install`, not `npm ci`: the lock file here is written without registry URLs and
# without other platforms' optional binaries (swc, nx), which `npm ci` refuses as out of sync.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi

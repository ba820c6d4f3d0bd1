#!/usr/bin/env bash
# Installs what Cohort needs on a fresh machine: npm dependencies (with Node 24 from the
# npm registry, see package.json) and Debian's nats-server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/ensure-nats-server.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

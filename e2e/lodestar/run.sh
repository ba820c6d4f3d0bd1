#!/usr/bin/env bash
# The Lodestar acceptance run (README "Acceptance on Lodestar"): installs Lodestar if needed,
# builds Cohort and runs e2e/lodestar/src/acceptance.ts (DV beside control, then a network reset).
# Flags: --seconds-per-slot N (default 3),
# --epochs N measured after first finality (default 4), --keep (keep the run directory and logs),
# --skip-reset (stop after the measured window).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/setup.sh
bash e2e/lodestar/install.sh
npm run build --silent
# The product's Node (24, from its own install), whatever `node` is first on PATH.
exec node_modules/.bin/node dist/e2e/lodestar/src/acceptance.js "$@"

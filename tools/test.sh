#!/usr/bin/env bash
# The whole test suite, as the README gives it: type check, unit + vector + adapter tests
# (vitest, real nats-servers on free ports), then the simnet end-to-end tests on their own.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/ensure-nats-server.sh
echo "== type check"
tsc -p tsconfig.json --noEmit
echo "== unit, vector and adapter tests"
vitest run
echo "== simnet end-to-end tests (4-node clusters on loopback)"
vitest run --config vitest.simnet.config.ts

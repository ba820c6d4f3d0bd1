#!/usr/bin/env bash
# Long whole-cluster scenarios, run by CI beside `npm test` (too long for the default run on
# 2 cores): every simnet test named "[long]" — a peer's links delayed by 200 ms, the 2 | 2
# partition and heal, a byzantine peer, a peer naming far-future duties, `explain` naming
# the reason of each injected fault, and `replay` of a recorded 2-epoch run (zero divergence;
# a tampered event named), and 7- and 10-node clusters. Same vitest set-up as the simnet stage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/ensure-nats-server.sh
echo "== long simnet scenarios (COHORT_SIMNET_LONG=1)"
COHORT_SIMNET_LONG=1 vitest run --config vitest.simnet.config.ts --testNamePattern '\[long\]' \
  apps/cli/src/simnet-faults.e2e.spec.ts apps/cli/src/explain.e2e.spec.ts apps/cli/src/replay.e2e.spec.ts \
  apps/cli/src/simnet-scale.e2e.spec.ts

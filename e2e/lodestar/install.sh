#!/usr/bin/env bash
# Installs Lodestar 1.5.1 (beacon node and validator client) for the acceptance run, apart from
# the product's dependencies, under $COHORT_LODESTAR_DIR (default ~/.cache/cohort/lodestar-1.5.1).
# 1.5.1 is the newest whose whole dependency set the npm registry here serves
# (../../../shared/real-clients/LODESTAR.md). It runs on the machine's Node (Debian's, 20): the
# product's Node 24 has no prebuilt native bindings for it, and those cannot be downloaded here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${COHORT_LODESTAR_DIR:-$HOME/.cache/cohort/lodestar-1.5.1}"
node_bin="${COHORT_LODESTAR_NODE:-/usr/bin/node}"
if [ -x "$dir/node_modules/.bin/lodestar" ] && cmp -s "$here/package.json" "$dir/package.json"; then
  exit 0
fi
echo "installing Lodestar 1.5.1 into $dir (2–3 minutes, ~330 MB)"
mkdir -p "$dir"
cp "$here/package.json" "$dir/package.json"
# Outside the product's tree, with the machine's Node first on PATH: npm must not build the
# native modules against the product's Node.
(cd "$dir" && env PATH="$(dirname "$node_bin"):/usr/bin:/bin" npm install --no-audit --no-fund --loglevel=error)
"$node_bin" "$dir/node_modules/.bin/lodestar" --version | head -2

#!/usr/bin/env bash
# Makes sure Debian's nats-server (with JetStream) is installed: the tests start their own
# servers on free ports with temporary store dirs, and `cohort simnet` one per node.
set -euo pipefail
if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then
  exit 0
fi
echo "nats-server not found: installing Debian's nats-server package" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server

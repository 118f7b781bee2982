#!/usr/bin/env bash
# The README's first command: set up what is missing (idempotent), then run a command in a
# fresh sandbox that shows it is isolated. The CLI starts shedd on demand.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node packages/cli/dist/main.js run --rm default -- \
  sh -c 'echo "hello from $(hostname)"; id; echo "processes I can see:"; ps'

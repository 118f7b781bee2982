#!/usr/bin/env bash
# npm run bench [-- suite… --quick]: builds the agent and the TypeScript, then runs the
# compiled benchmark entry (bench/main.ts). Needs root: suites start agents in pid namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (agents run in their own pid namespaces)" >&2; exit 1; }
make -s -C agent
npx tsc -b tsconfig.json
trap 'bash scripts/tidy-cgroups.sh' EXIT
node build/bench/main.js "$@"

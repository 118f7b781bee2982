#!/usr/bin/env bash
# npm run bench [-- suite… --quick]: builds the agent, the spawn helper and the TypeScript, then
# runs the compiled benchmark entry (bench/main.ts). Needs root: suites start agents in pid
# namespaces. Without the helper (packages/server/native) shedd starts mount, crun and cp by
# forking itself through Node's spawn, which blocks its event loop for milliseconds each:
# figures taken that way are not the daemon's.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (agents run in their own pid namespaces)" >&2; exit 1; }
make -s -C agent
make -s -C packages/server/native
npx tsc -b tsconfig.json
trap 'bash scripts/tidy-cgroups.sh' EXIT
node build/bench/main.js "$@"

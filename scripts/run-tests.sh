#!/usr/bin/env bash
# Runs compiled tests with node's test runner. Usage: run-tests.sh [unit|functional|all] [filter]
# unit: packages/*/src/**/*.test.ts (built into dist); functional: test/**/*.test.ts (built into build/test).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-all}
filter=${2:-}
files=()
if [ "$kind" = unit ] || [ "$kind" = all ]; then
  while IFS= read -r f; do files+=("$f"); done < <(find packages/*/dist -name '*.test.js' | sort)
fi
if [ "$kind" = functional ] || [ "$kind" = all ]; then
  while IFS= read -r f; do files+=("$f"); done < <(find build/test -name '*.test.js' 2>/dev/null | sort)
fi
if [ -n "$filter" ]; then
  sel=(); for f in "${files[@]}"; do case "$f" in *"$filter"*) sel+=("$f");; esac; done; files=("${sel[@]}")
fi
[ "${#files[@]}" -gt 0 ] || { echo "no test files found for '$kind' '$filter'" >&2; exit 1; }
# Functional tests share host resources (cgroups, runtimes): one file at a time.
# A file still running after 20 minutes (the slowest takes under 2) is failed by name rather
# than hanging the run: the spec reporter prints a file only once it ends.
exec node --test --test-concurrency=1 --test-timeout=1200000 --test-reporter=spec "${files[@]}"

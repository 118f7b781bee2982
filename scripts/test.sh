#!/usr/bin/env bash
# The whole test suite, from a fresh machine: set-up, lint, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'bash scripts/tidy-cgroups.sh' EXIT
bash scripts/setup.sh
echo "lint: eslint"
npx eslint .
bash scripts/run-tests.sh all

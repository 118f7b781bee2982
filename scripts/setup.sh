#!/usr/bin/env bash
# Idempotent set-up of everything shed needs on a Debian 12 host (run as root):
# apt packages, npm dependencies, the agent build and the TypeScript build.
# It installs only what is missing and says what it did.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || { echo "setup: run as root (shed manages namespaces, mounts and cgroups)" >&2; exit 1; }

APT_PACKAGES=(
  crun runc skopeo nftables iproute2 e2fsprogs busybox-static musl-tools qemu-system-x86
  docker-registry build-essential tmux util-linux uidmap criu debootstrap zstd attr xfsprogs
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing apt packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "apt packages present"
fi

# docker-registry's package starts a service we do not want listening; tests start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
  say "stopped the packaged docker-registry service (tests run their own on 127.0.0.1)"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
else
  say "npm dependencies present"
fi

say "building the agent (static, sanitized, and its decoder fuzzer)"
make -s -C agent all asan fuzz
say "building shed-spawn (the daemon's process starter)"
make -s -C packages/server/native
say "building TypeScript"
npx tsc -b tsconfig.json
# The entry points start with '#!/usr/bin/env node'; tsc writes them 0644.
chmod 755 packages/cli/dist/main.js packages/server/dist/daemon/main.js

bash scripts/host-report.sh

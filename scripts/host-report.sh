#!/usr/bin/env bash
# Reports the host quirks shed detects and handles at run time (see docs/ARCHITECTURE.md).
set -uo pipefail
say() { printf 'host: %s\n' "$*"; }

if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  say "cgroups: unified (v2)"
elif [ -d /sys/fs/cgroup/unified ]; then
  ctrls=$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)
  say "cgroups: hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified${ctrls:+, holding: $ctrls})"
else
  say "cgroups: v1"
fi
say "RLIMIT_NOFILE hard limit: $(ulimit -Hn)"
if [ -e /dev/kvm ]; then
  if grep -qi pvm /proc/cpuinfo /sys/module/kvm*/parameters/* 2>/dev/null || [ -d /sys/module/kvm_pvm ]; then
    say "/dev/kvm present but PVM-backed: the vm driver uses TCG"
  else
    say "/dev/kvm present"
  fi
else
  say "/dev/kvm absent: the vm driver uses TCG"
fi
if command -v criu >/dev/null 2>&1; then
  if criu check >/dev/null 2>&1; then say "criu check: passes"; else say "criu check: fails (memory snapshots of containers unavailable)"; fi
fi
exit 0

#!/usr/bin/env bash
# Removes the shared `shed` cgroup parent of each hierarchy when it is empty. Each shedd
# removes its own scope (`shed/d-<hash>`) once its last sandbox goes, but not the parent,
# which other daemons may be using; after a test or bench run nothing of shed should remain.
# rmdir refuses a cgroup that has children, so a parent a running shedd uses stays.
for d in /sys/fs/cgroup/shed /sys/fs/cgroup/*/shed; do
  if [ -d "$d" ]; then rmdir "$d" 2>/dev/null || true; fi
done

#!/usr/bin/env bash
# The README's first command: set up what is missing (idempotent), then run a command in a
# fresh sandbox on the built-in 'default' image, through the CLI, shedd, the container
# driver and the agent, showing that it is isolated. The CLI starts shedd on demand; that
# shedd keeps running afterwards, like any daemon, and says where it logs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "start: running a command in a new sandbox (image 'default'); the host is $(hostname)"
node packages/cli/dist/main.js run --rm default -- sh -c '
  echo "  hostname:  $(hostname)"
  echo "  id:        $(id)"
  set -- $(cat /proc/self/uid_map)
  echo "  uid map:   uid $1 here is uid $2 on the host ($3 ids): a user namespace"
  echo "  processes it can see (PID 1 is the shed agent):"
  ps -o pid,user,comm | sed "s/^/    /"'
cat <<MSG
start: done; the sandbox is deleted (--rm). To use the CLI from anywhere:
  ln -s "$PWD/packages/cli/dist/main.js" /usr/local/bin/shed
  shed run --rm default -- uname -a
MSG

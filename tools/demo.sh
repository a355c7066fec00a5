#!/usr/bin/env bash
# The main job: set up, build, and run unmodified programs on libsysv in the
# default namespace, with the daemon started automatically.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps
bazel build //compat:libsysv //daemon:sysvipcd //tools:sysvipc
sysvipc=bazel-bin/tools/sysvipc

echo "== util-linux ipcmk, unmodified, on libsysv"
made=$("$sysvipc" run -- ipcmk -M 65536 -p 0640)
echo "$made"
echo "== python3-sysv-ipc, unmodified, on libsysv (two processes)"
"$sysvipc" run -- /usr/bin/python3 tools/demo/shm_demo.py
echo "== python3-sysv-ipc semaphores, unmodified, on libsysv (two processes)"
"$sysvipc" run -- /usr/bin/python3 tools/demo/sem_demo.py
echo "== python3-sysv-ipc message queues, unmodified, on libsysv (two processes)"
"$sysvipc" run -- /usr/bin/python3 tools/demo/msg_demo.py
echo "== util-linux ipcmk -Q, unmodified, on libsysv"
queue=$("$sysvipc" run -- ipcmk -Q -p 0600)
echo "$queue"
echo "== the namespace, as util-linux's own ipcs shows it on libsysv (it reads /proc/sysvipc)"
"$sysvipc" run -- ipcs -m -q
"$sysvipc" daemon status
echo "== util-linux ipcrm, on libsysv"
"$sysvipc" ipcrm -m "${made##*: }" && echo "removed segment ${made##*: }"
"$sysvipc" ipcrm -q "${queue##*: }" && echo "removed queue ${queue##*: }"

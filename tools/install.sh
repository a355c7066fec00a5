#!/usr/bin/env bash
# Builds libsysv and installs it under PREFIX (default /usr/local).
set -euo pipefail
prefix=${1:-/usr/local}
cd "$(dirname "$0")/.."
bazel build //compat:libsysv //daemon:sysvipcd //tools:sysvipc
bin=$(bazel info bazel-bin 2>/dev/null)
bash tools/install_files.sh "$prefix" "$bin/tools/sysvipc" "$bin/daemon/sysvipcd" \
  "$bin/compat/libsysv.so" compat/include/sysv/sysv.h

#!/usr/bin/env bash
# A real consumer's check mode (tools/consumers/NAME.sh, NAME the first
# argument) on the libsysv built here. The packages come from
# .ci/install-deps; the script installs them when missing (as root).
set -euo pipefail
runfiles="${TEST_SRCDIR}/libsysv"
export SYSVIPC="$runfiles/tools/sysvipc"
export SYSVIPCD="$runfiles/daemon/sysvipcd"
export SYSVIPC_LIB="$runfiles/compat/libsysv.so"
source "$runfiles/tests/programs/preload_env.sh"
preload_sanitizer_runtime "$SYSVIPC_LIB"
exec bash "$runfiles/tools/consumers/$1.sh"

#!/usr/bin/env bash
# An installed libsysv works from its prefix alone: sysvipc finds libsysv.so
# and sysvipcd there, and runs an unmodified program on them.
set -euo pipefail
runfiles="${TEST_SRCDIR}/libsysv"
prefix="${TEST_TMPDIR}/prefix"
bash "$runfiles/tools/install_files.sh" "$prefix" "$runfiles/tools/sysvipc" \
  "$runfiles/daemon/sysvipcd" "$runfiles/compat/libsysv.so" "$runfiles/compat/include/sysv/sysv.h"
unset SYSVIPCD SYSVIPC_LIB
export SYSVIPC_DIR=$(mktemp -d /tmp/sysvipc-install-XXXXXX)
source "$runfiles/tests/programs/preload_env.sh"
preload_sanitizer_runtime "$prefix/lib/libsysv.so"
trap '"$prefix/bin/sysvipc" daemon stop >/dev/null 2>&1 || true; rm -rf "$SYSVIPC_DIR"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$prefix/bin/sysvipc" run -- ipcmk -M 4096) || fail "sysvipc run ipcmk: $out"
[[ "$out" =~ ^Shared\ memory\ id:\ ([0-9]+)$ ]] || fail "ipcmk said: $out"
"$prefix/bin/sysvipc" ipcs -m | grep -Eq "^0x[0-9a-f]{8} +${BASH_REMATCH[1]} " || fail "ipcs does not list it"
status=$("$prefix/bin/sysvipc" daemon status) || fail "no daemon: $status"
grep -q "serves $SYSVIPC_DIR" <<<"$status" || fail "status says: $status"
# The daemon that was started is the installed one.
pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$status")
[ "$(readlink "/proc/$pid/exe")" = "$prefix/sbin/sysvipcd" ] || fail "daemon is $(readlink /proc/$pid/exe)"
"$prefix/bin/sysvipc" daemon stop >/dev/null || fail "daemon stop"
if "$prefix/bin/sysvipc" daemon status >/dev/null; then fail "still running after stop"; fi
echo "install layout works"

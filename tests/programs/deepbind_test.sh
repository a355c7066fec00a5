#!/usr/bin/env bash
# Libraries that glibc binds to libc's SysV functions despite LD_PRELOAD
# (loaded with RTLD_DEEPBIND, as PHP loads its sysv extensions, or with
# dlmopen) still reach libsysv: their objects appear in libsysv's namespace
# and never in the kernel's (/proc/sysvipc). And libsysv's dlopen() wrapper
# leaves ordinary loads exactly as they were: a library found only through
# the calling program's RUNPATH still loads.
set -uo pipefail
runfiles="${TEST_SRCDIR}/libsysv"
sysvipc="$runfiles/tools/sysvipc"
export SYSVIPCD="$runfiles/daemon/sysvipcd"
export SYSVIPC_LIB="$runfiles/compat/libsysv.so"
export SYSVIPC_DIR=$(mktemp -d /tmp/sysvipc-deepbind-XXXXXX)
source "$runfiles/tests/programs/preload_env.sh"
preload_sanitizer_runtime "$SYSVIPC_LIB"
trap '"$sysvipc" daemon stop >/dev/null 2>&1 || true; rm -rf "$SYSVIPC_DIR"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

app="$TEST_TMPDIR/app"
mkdir -p "$app/lib"
cp "$runfiles/tests/programs/deepbind_main" "$app/"
cp "$runfiles/tests/programs/libdeepbind_probe.so" "$app/lib/"

in_kernel() {  # in_kernel KEY: is any kernel object keyed KEY?
  awk -v key="$1" 'FNR > 1 && $1 == key { found = 1 } END { exit !found }' /proc/sysvipc/shm /proc/sysvipc/sem /proc/sysvipc/msg
}
in_libsysv() {  # in_libsysv KIND KEY
  "$sysvipc" ipcs "-$1" | grep -qi "^$(printf '0x%08x' "$2") "
}
cleanup_keys() {  # objects a failed run may have left, kernel and libsysv
  for kind in m s q; do
    ipcrm "-$(tr msq MSQ <<<"$kind")" "$1" 2>/dev/null
    "$sysvipc" ipcrm "-$(tr msq MSQ <<<"$kind")" "$1" 2>/dev/null
  done
}

# expect_in_libsysv WHO KEY KIND...: objects KEY, KEY + 1, ... (of the
# `ipcs` kinds m, s, q in that order) are libsysv's, and none is the kernel's.
expect_in_libsysv() {
  local who=$1 key=$2 offset=0 kind
  shift 2
  for kind in "$@"; do
    if in_kernel $((key + offset)); then
      fail "$who: object $((key + offset)) landed in the kernel's namespace"
      cleanup_keys $((key + offset))
    fi
    in_libsysv "$kind" $((key + offset)) || fail "$who: object $((key + offset)) (ipcs -$kind) is not in libsysv's namespace"
    offset=$((offset + 1))
  done
}

base=$(( (($$ * 7919) % 100000) * 8 + 1000000 ))
"$app/deepbind_main" runpath 0 >/dev/null 2>&1 || true  # sanity: loads without libsysv
for mode in runpath deepbind dlmopen; do
  key=$base
  base=$((base + 3))
  "$sysvipc" run -- "$app/deepbind_main" "$mode" "$key"
  status=$?
  [ "$status" = 0 ] || fail "$mode: deepbind_main exited $status"
  expect_in_libsysv "$mode" "$key" m s q
done

# PHP's own sysv extensions (RTLD_DEEPBIND), when the PHP CLI is installed.
# grep reads all of php's list: with -q it may stop first, and php, writing
# into the closed pipe, exits 255, which pipefail would take for "missing".
if command -v php >/dev/null && php -m 2>/dev/null | grep sysvmsg >/dev/null; then
  key=$base
  "$sysvipc" run -- php -r "
    \$q = msg_get_queue($key, 0600); msg_send(\$q, 1, 'hi') or exit(1);
    \$s = sem_get($((key + 1))); sem_acquire(\$s) or exit(2); sem_release(\$s);
    \$m = shm_attach($((key + 2)), 4096); shm_put_var(\$m, 1, 'x') or exit(3);
    exit(msg_stat_queue(\$q)['msg_qnum'] == 1 ? 0 : 4);" || fail "php exited $?"
  expect_in_libsysv php "$key" q s m
else
  fail "php-cli with the sysvmsg extension is not installed (.ci/install-deps installs it)"
fi

[ "$failures" = 0 ] || exit 1
echo "every library reached libsysv"

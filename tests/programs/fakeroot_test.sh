#!/usr/bin/env bash
# fakeroot-sysv on libsysv: libfakeroot interposes the stat family (and
# chown, mknod, ...) and talks to faked over System V message queues from
# inside those wrappers, so every libc call libsysv makes while holding its
# own lock is a chance to deadlock (it hung on the first request, in the
# fstat that sizes a region). Run as a user who cannot really chown, so that
# the ownership seen comes from faked: chown, mknod and tar keep what
# fakeroot says, and faked's queues are libsysv's, never the kernel's.
set -uo pipefail
runfiles="${TEST_SRCDIR}/libsysv"
if [ "$(id -u)" != 0 ]; then
  [ "${SYSV_REQUIRE_ROOT:-0}" = 1 ] && { echo "FAIL: SYSV_REQUIRE_ROOT=1 but not root"; exit 1; }
  echo "SKIP: needs root to run as another user"; exit 0
fi
command -v fakeroot-sysv >/dev/null || { echo "FAIL: fakeroot is not installed (.ci/install-deps installs it)"; exit 1; }
user=2901
# Other users cannot read Bazel's output tree: copy what the user runs.
bin=$(mktemp -d /tmp/sysvipc-fakeroot-XXXXXX)
chmod 755 "$bin"
cp "$runfiles/tools/sysvipc" "$runfiles/daemon/sysvipcd" "$runfiles/compat/libsysv.so" "$bin/"
work="$bin/work"
ns="$bin/ns"
mkdir -m 700 "$work" "$ns"
chown "$user:$user" "$work" "$ns"
cleanup() {
  SYSVIPC_DIR="$ns" setpriv --reuid=$user --regid=$user --clear-groups "$bin/sysvipc" daemon stop >/dev/null 2>&1
  pkill -u $user faked-sysv 2>/dev/null
  rm -rf "$bin"
}
trap cleanup EXIT
source "$runfiles/tests/programs/preload_env.sh"
preload_sanitizer_runtime "$bin/libsysv.so"

as_user() {
  (cd "$work" && env SYSVIPC_DIR="$ns" SYSVIPCD="$bin/sysvipcd" SYSVIPC_LIB="$bin/libsysv.so" \
    timeout 60 setpriv --reuid=$user --regid=$user --clear-groups "$@")
}

out=$(as_user "$bin/sysvipc" run -- fakeroot-sysv sh -c '
  touch f && chown 12:34 f && ls -ln f
  mknod n c 1 3 && ls -ln n
  mkdir d && touch d/x && chown 56:78 d/x && tar -cf t.tar d && tar -tvf t.tar --numeric-owner
' 2>&1)
status=$?
echo "$out"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
[ "$status" = 0 ] || fail "fakeroot exited $status (124: it hung)"
grep -Eq '^-[rwx-]{9} +1 12 34 .* f$' <<<"$out" || fail "chown under fakeroot did not show 12:34"
grep -Eq '^c[rwx-]{9} +1 0 0 +1, +3 .* n$' <<<"$out" || fail "mknod under fakeroot did not make a character device"
grep -Eq '56/78 .* d/x$' <<<"$out" || fail "tar did not keep the ownership fakeroot gave d/x"
# The files are really the user's: what was seen came from faked.
[ "$(stat -c %u "$work/f")" = "$user" ] || fail "f is not owned by the test user outside fakeroot"
# faked's queues were libsysv's: the kernel never had a queue of this user.
if awk -v uid=$user 'FNR > 1 && $8 == uid { found = 1 } END { exit !found }' /proc/sysvipc/msg; then
  fail "faked made a queue in the kernel's namespace"
fi
[ "$failures" = 0 ] || exit 1
echo "fakeroot-sysv works on libsysv"

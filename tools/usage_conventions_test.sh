#!/usr/bin/env bash
# Our programs follow the Unix conventions for usage: --help (and -h) print
# usage on stdout and exit 0, a usage error (unknown flag, bad value, extra
# argument) prints a message on stderr and exits 2, and asking for help never
# does the work (`sysvipc daemon start --help` starts no daemon).
set -uo pipefail
sysvipc="$TEST_SRCDIR/$TEST_WORKSPACE/tools/sysvipc"
sysvipcd="$TEST_SRCDIR/$TEST_WORKSPACE/daemon/sysvipcd"
export SYSVIPC_DIR="$TEST_TMPDIR/ns"
export SYSVIPC_AUTOSTART=0
failures=0

expect() {  # expect STATUS STREAM COMMAND...: STREAM (out|err) must not be empty
  local want=$1 stream=$2
  shift 2
  "$@" >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: '${*##*/}' exited $got, expected $want"; cat "$TEST_TMPDIR/err"; failures=$((failures + 1))
  elif [ ! -s "$TEST_TMPDIR/$stream" ]; then
    echo "FAIL: '${*##*/}' printed nothing on std$stream"; failures=$((failures + 1))
  fi
}

for help in --help -h; do
  expect 0 out "$sysvipc" "$help"
  expect 0 out "$sysvipc" run "$help"
  expect 0 out "$sysvipc" daemon "$help"
  expect 0 out "$sysvipc" daemon start "$help"
done
expect 0 out "$sysvipc" bench --help
expect 0 out "$sysvipcd" --help
expect 2 err "$sysvipc"
expect 2 err "$sysvipc" frobnicate
expect 2 err "$sysvipc" daemon start extra
expect 2 err "$sysvipc" run
expect 2 err "$sysvipc" bench --no-such-flag
expect 2 err "$sysvipc" bench --repetitions=many
expect 2 err "$sysvipc" bench --repetitions
expect 2 err "$sysvipcd" --no-such-flag
expect 2 err "$sysvipcd" --raise_fd_limit=perhaps
expect 2 err "$sysvipcd" --noforeground=1
expect 2 err "$sysvipcd" positional
# Help did no work: no daemon, not even a namespace directory.
if [ -e "$SYSVIPC_DIR" ]; then
  echo "FAIL: asking for help created $SYSVIPC_DIR"; failures=$((failures + 1))
fi
if [ "$failures" -ne 0 ]; then
  echo "$failures usage convention(s) broken"
  exit 1
fi
echo "all usage conventions hold"

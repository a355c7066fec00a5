#!/usr/bin/env bash
# /proc/sysvipc/{shm,sem,msg} and /proc/sys/kernel/{shmmax, ...} as a process
# on libsysv reads them: the namespace's objects and limits in the kernel's
# format, so that util-linux's unmodified ipcs (which reads those files)
# lists exactly what `sysvipc ipcs` lists.
set -euo pipefail
runfiles="${TEST_SRCDIR}/libsysv"
sysvipc="$runfiles/tools/sysvipc"
opener="$runfiles/tests/programs/proc_open_probe"
export SYSVIPCD="$runfiles/daemon/sysvipcd"
export SYSVIPC_LIB="$runfiles/compat/libsysv.so"
export SYSVIPC_DIR=$(mktemp -d /tmp/sysvipc-procfs-XXXXXX)
source "$runfiles/tests/programs/preload_env.sh"
preload_sanitizer_runtime "$SYSVIPC_LIB"
trap '"$sysvipc" daemon stop >/dev/null 2>&1 || true; rm -rf "$SYSVIPC_DIR"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { "$sysvipc" run -- "$@"; }

# Objects of each kind, by util-linux ipcmk and by python3 sysv_ipc.
run ipcmk -M 8192 -p 0640 >/dev/null
run ipcmk -S 3 >/dev/null
run ipcmk -Q -p 0620 >/dev/null
run /usr/bin/python3 -c '
import sysv_ipc
m = sysv_ipc.SharedMemory(0x5157a001, sysv_ipc.IPC_CREX, size=4096, mode=0o600)
m.attach()
sysv_ipc.Semaphore(0x5157a002, sysv_ipc.IPC_CREX, initial_value=1)
q = sysv_ipc.MessageQueue(0x5157a003, sysv_ipc.IPC_CREX)
q.send(b"hello")
'

# Unmodified ipcs lists the namespace's objects and limits exactly as
# `sysvipc ipcs` does (both print times and names the same way).
for option in -m -s -q -l -a "-m -c" "-q -p" "-s -t" "-m -b"; do
  expected=$("$sysvipc" ipcs $option)
  actual=$(run ipcs $option)
  [ "$expected" = "$actual" ] || { diff <(echo "$expected") <(echo "$actual") || true; fail "ipcs $option differs from sysvipc ipcs $option"; }
done
run ipcs -m | grep -q "0x5157a001" || fail "ipcs -m does not list python's segment"
run ipcs -q | grep -Eq "0x5157a003 .* 5 +1 *$" || fail "ipcs -q does not show python's message"

# The files themselves: the kernel's header line, and each object line in
# the kernel's field layout (ipc/shm.c, sem.c, msg.c *_proc_show).
for kind in shm sem msg; do
  served=$(run cat /proc/sysvipc/$kind)
  [ "$(head -1 <<<"$served")" = "$(head -1 /proc/sysvipc/$kind)" ] || fail "/proc/sysvipc/$kind header differs from the kernel's"
  [ "$(tail -n +2 <<<"$served" | wc -l)" = 2 ] || { echo "$served"; fail "/proc/sysvipc/$kind does not hold the namespace's 2 objects"; }
done
d10='[ -][ 0-9-]{9}'
u5=' {0,4}[0-9]{1,5}'
u10=' {0,9}[0-9]{1,10}'
u21=' {0,20}[0-9]{1,21}'
run cat /proc/sysvipc/shm | tail -n +2 | grep -Evq "^ *-?[0-9]{1,10} +[0-9]{1,10}  [ 0-7]{3}[0-7] $u21 $u5 $u5  $u5 $u5 $u5 $u5 $u5 $u10 $u10 $u10 $u21 $u21\$" &&
  { run cat /proc/sysvipc/shm; fail "a /proc/sysvipc/shm line is not in the kernel's layout"; }
run cat /proc/sysvipc/sem | tail -n +2 | grep -Evq "^ *-?[0-9]{1,10} +[0-9]{1,10}  [ 0-7]{3}[0-7] $u10 $u5 $u5 $u5 $u5 $u10 $u10\$" &&
  { run cat /proc/sysvipc/sem; fail "a /proc/sysvipc/sem line is not in the kernel's layout"; }
run cat /proc/sysvipc/msg | tail -n +2 | grep -Evq "^ *-?[0-9]{1,10} +[0-9]{1,10}  [ 0-7]{3}[0-7]  $u10 $u10 $u5 $u5 $u5 $u5 $u5 $u5 $u10 $u10 $u10\$" &&
  { run cat /proc/sysvipc/msg; fail "a /proc/sysvipc/msg line is not in the kernel's layout"; }
# Fixed widths: every line is as long as the kernel's header says (a key
# of 11 characters, "-1478314855", pushes the line by one as printf does).
for kind in shm sem msg; do
  width=$(head -1 /proc/sysvipc/$kind | awk '{ print length($0) }')
  run cat /proc/sysvipc/$kind | awk -v w="$width" -v k="$kind" '
    { want = w + (length($1) > 10 ? length($1) - 10 : 0) }
    length($0) != want { print "FAIL: " k " line of " length($0) " columns, not " want ": " $0; bad = 1 }
    END { exit bad }' ||
    fail "/proc/sysvipc/$kind column widths"
done

# The limits, in the kernel's format; next ids read -1.
limits=$(run cat /proc/sys/kernel/shmmax /proc/sys/kernel/shmall /proc/sys/kernel/shmmni /proc/sys/kernel/sem \
  /proc/sys/kernel/msgmax /proc/sys/kernel/msgmnb /proc/sys/kernel/msgmni \
  /proc/sys/kernel/shm_next_id /proc/sys/kernel/sem_next_id /proc/sys/kernel/msg_next_id)
expected_limits=$(printf '%s\n' 18446744073692774399 18446744073692774399 4096 "$(printf '32000\t1024000000\t500\t32000')" \
  8192 16384 32000 -1 -1 -1)
[ "$limits" = "$expected_limits" ] || { diff <(echo "$expected_limits") <(echo "$limits") || true; fail "the sysctl files do not show the namespace's limits"; }

# Root writes the namespace's sysctls (a shell's redirection: open, dup2
# onto stdout, close, write), never the kernel's. Who else may is
# tests/security/sysctl_write_test's subject.
kernel_shmmni=$(cat /proc/sys/kernel/shmmni)
run sh -c 'echo 17 > /proc/sys/kernel/shmmni' || fail "root could not write the namespace's shmmni"
[ "$(run cat /proc/sys/kernel/shmmni)" = 17 ] || fail "the namespace's shmmni is not what root wrote"
[ "$(cat /proc/sys/kernel/shmmni)" = "$kernel_shmmni" ] || fail "the kernel's shmmni changed"
run sh -c 'echo 4096 > /proc/sys/kernel/shmmni' || fail "root could not put shmmni back"

# Every way to open: open, open64, openat, openat64, __open_2, __openat_2,
# fopen, fopen64; reads, seeks and fstat behave; O_CLOEXEC is kept.
expected_shm=$(run cat /proc/sysvipc/shm)
for how in open open64 openat openat64 open_2 openat_2 fopen fopen64; do
  actual=$(run "$opener" "$how" /proc/sysvipc/shm) || fail "$how /proc/sysvipc/shm"
  [ "$actual" = "$expected_shm" ] || { echo "$actual"; fail "$how /proc/sysvipc/shm reads other content"; }
done
run "$opener" check /proc/sysvipc/sem || fail "seek, fstat or O_CLOEXEC on /proc/sysvipc/sem"

# Unrelated /proc files (even those starting /proc/s) are the kernel's, untouched.
for file in /proc/self/status /proc/stat /proc/sys/kernel/ostype /proc/sys/kernel/hostname /proc/sysvipc; do
  [ -d "$file" ] && { run ls "$file" >/dev/null || fail "ls $file"; continue; }
  [ "$(run cat "$file" | head -1 | cut -c1-5)" = "$(head -1 "$file" | cut -c1-5)" ] || fail "$file is not the kernel's"
done
[ "$(run "$opener" open /proc/sys/kernel/ostype)" = "$(cat /proc/sys/kernel/ostype)" ] || fail "/proc/sys/kernel/ostype"
run "$opener" missing /proc/sysvipc/nothing || fail "a missing /proc file does not give ENOENT"

# Without libsysv (no `sysvipc run`), /proc/sysvipc is the kernel's own.
[ "$(cat /proc/sysvipc/shm)" = "$(env -u LD_PRELOAD cat /proc/sysvipc/shm)" ] || fail "kernel file"
echo PASS

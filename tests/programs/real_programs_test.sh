#!/usr/bin/env bash
# Real, unmodified programs on libsysv: util-linux ipcmk and python3-sysv-ipc
# under `sysvipc run`, with the daemon started automatically.
set -euo pipefail
runfiles="${TEST_SRCDIR}/libsysv"
sysvipc="$runfiles/tools/sysvipc"
export SYSVIPCD="$runfiles/daemon/sysvipcd"
export SYSVIPC_LIB="$runfiles/compat/libsysv.so"
export SYSVIPC_DIR=$(mktemp -d /tmp/sysvipc-programs-XXXXXX)
source "$runfiles/tests/programs/preload_env.sh"
preload_sanitizer_runtime "$SYSVIPC_LIB"
trap '"$sysvipc" daemon stop >/dev/null 2>&1 || true; rm -rf "$SYSVIPC_DIR"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# With autostart off and no daemon, a call fails clearly (ECONNREFUSED, one
# line on stderr) instead of starting one.
if out=$(SYSVIPC_AUTOSTART=0 "$sysvipc" run -- ipcmk -M 4096 2>&1); then fail "ipcmk succeeded without a daemon: $out"; fi
grep -q "SYSVIPC_AUTOSTART=0" <<<"$out" || fail "no clear message without a daemon: $out"
"$sysvipc" daemon status >/dev/null && fail "a daemon was started although SYSVIPC_AUTOSTART=0"

# ipcmk creates a segment in libsysv's namespace, not the kernel's.
out=$("$sysvipc" run -- ipcmk -M 8192 -p 0640)
[[ "$out" =~ ^Shared\ memory\ id:\ ([0-9]+)$ ]] || fail "ipcmk said: $out"
id=${BASH_REMATCH[1]}
"$sysvipc" daemon status >/dev/null || fail "the daemon was not started automatically"
listing=$("$sysvipc" ipcs -m)
echo "$listing"
grep -Eq "^0x[0-9a-f]{8} +$id +[a-z0-9]+ +640 +8192 +0" <<<"$listing" || fail "ipcs does not show segment $id"
if ipcs -m -i "$id" >/dev/null 2>&1 && [ "$(ipcs -m -i "$id" | grep -c "bytes=8192")" = 1 ]; then
  echo "note: the kernel has an unrelated segment $id too"
fi

# python3-sysv-ipc: two processes share data; the segment is removed after.
if /usr/bin/python3 -c 'import sysv_ipc' 2>/dev/null; then
  "$sysvipc" run -- /usr/bin/python3 "$runfiles/tools/demo/shm_demo.py" || fail "python3-sysv-ipc demo"
else
  fail "python3-sysv-ipc is not installed (.ci/install-deps installs it)"
fi

# python3-sysv-ipc semaphores: two processes hand a token both ways.
"$sysvipc" run -- /usr/bin/python3 "$runfiles/tools/demo/sem_demo.py" || fail "python3-sysv-ipc semaphore demo"

# util-linux ipcmk -S makes a set that sysvipc ipcs -s lists.
out=$("$sysvipc" run -- ipcmk -S 3)
[[ "$out" =~ ^Semaphore\ id:\ ([0-9]+)$ ]] || fail "ipcmk -S said: $out"
sem_id=${BASH_REMATCH[1]}
"$sysvipc" ipcs -s | grep -Eq "^0x[0-9a-f]{8} +$sem_id +[a-z0-9]+ +644 +3" || fail "ipcs -s does not show set $sem_id"
"$sysvipc" ipcrm -s "$sem_id" || fail "ipcrm -s $sem_id"

# python3-sysv-ipc message queues: requests and answers between two processes.
"$sysvipc" run -- /usr/bin/python3 "$runfiles/tools/demo/msg_demo.py" || fail "python3-sysv-ipc message demo"

# util-linux ipcmk -Q makes a queue that sysvipc ipcs -q lists; ipcrm -q removes it.
out=$("$sysvipc" run -- ipcmk -Q -p 0620)
[[ "$out" =~ ^Message\ queue\ id:\ ([0-9]+)$ ]] || fail "ipcmk -Q said: $out"
msg_id=${BASH_REMATCH[1]}
"$sysvipc" ipcs -q | grep -Eq "^0x[0-9a-f]{8} +$msg_id +[a-z0-9]+ +620 +0 +0" || fail "ipcs -q does not show queue $msg_id"
"$sysvipc" ipcrm -q "$msg_id" || fail "ipcrm -q $msg_id"

# Perl's IPC::Msg (core Perl): send, stat, receive, remove.
"$sysvipc" run -- perl -MIPC::SysV=IPC_PRIVATE,IPC_CREAT,S_IRUSR,S_IWUSR,IPC_NOWAIT -MIPC::Msg -e '
  my $q = IPC::Msg->new(IPC_PRIVATE, S_IRUSR | S_IWUSR | IPC_CREAT) or die "msgget: $!";
  $q->snd(4, "perl message") or die "snd: $!";
  my $stat = $q->stat or die "stat: $!";
  die "qnum " . $stat->qnum unless $stat->qnum == 1;
  my $buf;
  my $type = $q->rcv($buf, 100, 0, IPC_NOWAIT);
  die "rcv <$buf> type $type" unless defined $type && $type == 4 && $buf eq "perl message";
  $q->remove or die "remove: $!";
  print "perl IPC::Msg: ok\n";' || fail "perl IPC::Msg"

# Perl's IPC::SharedMem (core Perl): create, write, read back, remove.
"$sysvipc" run -- perl -MIPC::SysV=IPC_PRIVATE,IPC_CREAT,S_IRUSR,S_IWUSR -MIPC::SharedMem -e '
  my $shm = IPC::SharedMem->new(IPC_PRIVATE, 4096, S_IRUSR | S_IWUSR | IPC_CREAT) or die "shmget: $!";
  $shm->write("perl was here", 0, 13) or die "write: $!";
  my $back = $shm->read(0, 13);
  die "read back <$back>" unless $back eq "perl was here";
  my $stat = $shm->stat or die "stat: $!";
  die "segsz" unless $stat->segsz == 4096;
  $shm->remove or die "remove: $!";
  print "perl IPC::SharedMem: ok\n";' || fail "perl IPC::SharedMem"

# ipcrm removes it; a second removal fails as util-linux reports it.
"$sysvipc" ipcrm -m "$id" || fail "ipcrm -m $id"
if "$sysvipc" ipcrm -m "$id" 2>/dev/null; then fail "second ipcrm succeeded"; fi
echo "all real programs passed"

#!/usr/bin/env bash
# PostgreSQL (Debian `postgresql`) on libsysv, unmodified, with
# shared_memory_type = sysv: its whole shared memory (shared_buffers, lock
# tables, ...) is one System V segment, served by sysvipcd.
#
#   tools/consumers/postgres.sh            check (CI): about 15 s
#   tools/consumers/postgres.sh --bench    pgbench TPS, kernel vs libsysv
#
# Check mode runs the same sequence on the kernel and on libsysv, one after
# the other, each with its own cluster: initdb, start (all under `sysvipc
# run` for libsysv), the segment listed with nattch = the postmaster and its
# children, a second postmaster refused while the first runs, pgbench -i and
# a timed run with 8 clients (nattch checked during it), then the orphan
# case: a backend stopped with SIGSTOP, the postmaster killed with SIGKILL,
# a new postmaster refused because the old segment is still attached; once
# the orphan is killed, a new postmaster starts (removing the old segment)
# and stops cleanly, leaving no segment. The refusals must read as the
# kernel's (numbers and paths aside).
#
# Options: --bench, --rounds=N (5), --duration=S (30), --clients=N (8),
#   --scale=N (10), --select-only (pgbench -S); check mode: --duration (5).
# Environment: SYSVIPC, SYSVIPCD, SYSVIPC_LIB (default: bazel-bin of this
#   repository). Needs root (to install the package and run as postgres)
#   or a user who may run PostgreSQL with the package installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bench=0 rounds=5 duration="" clients=8 scale="" select_only=0
for arg in "$@"; do
  case $arg in
    --bench) bench=1 ;;
    --rounds=*) rounds=${arg#*=} ;;
    --duration=*) duration=${arg#*=} ;;
    --clients=*) clients=${arg#*=} ;;
    --scale=*) scale=${arg#*=} ;;
    --select-only) select_only=1 ;;
    *) echo "usage: $0 [--bench] [--rounds=N] [--duration=S] [--clients=N] [--scale=N] [--select-only]" >&2; exit 2 ;;
  esac
done
if ((bench)); then duration=${duration:-30} scale=${scale:-10}; else duration=${duration:-5} scale=${scale:-1}; fi

ensure_packages postgresql
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/postgres" ] || fail "no /usr/lib/postgresql/*/bin/postgres"
user=postgres
[ "$(id -u)" -eq 0 ] || user=$(id -un)
setup_consumer "$user"
note "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'), libsysv namespace $SYSVIPC_DIR, running as $user"

# A port per mode, unlikely to be in use; sockets live in the work directory.
# Below Linux's ephemeral range (32768-60999), where ab's own ports are.
port_base=$((20000 + ($$ % 3000) * 4))
declare -A port=([kernel]=$port_base [libsysv]=$((port_base + 1)))

datadir() { echo "$consumer_work/$1/data"; }
sockdir() { echo "$consumer_work/$1"; }

stop_all() {
  local mode id
  for mode in kernel libsysv; do
    [ -f "$(datadir "$mode")/postmaster.pid" ] || continue
    as_user kernel "$pgbin/pg_ctl" -D "$(datadir "$mode")" -m immediate -w stop >/dev/null 2>&1 || true
  done
  # Whatever the orphan test left behind.
  [ -n "${orphan:-}" ] && kill -KILL "$orphan" 2>/dev/null || true
  # A postmaster killed by a failed check leaves its kernel segment; the
  # libsysv namespace goes away with its directory.
  if [ -f "$(datadir kernel)/postmaster.pid" ]; then
    id=$(sed -n 7p "$(datadir kernel)/postmaster.pid" | awk '{print $2}')
    if [ -n "$id" ]; then
      sleep 0.5
      [ "$(nattch_of kernel "$id")" = 0 ] && ipcrm -m "$id" 2>/dev/null
    fi
  fi
  return 0
}
consumer_cleanup_hooks+=(stop_all)

ipcs_of() {  # ipcs_of MODE ARGS: ipcs of the mode's namespace
  local mode=$1
  shift
  if [ "$mode" = kernel ]; then ipcs "$@"; else "$sysvipc" ipcs "$@"; fi
}

# The segment's key and id as the postmaster recorded them (line 7 of
# postmaster.pid: "key id", decimal).
shm_key_id() { sed -n 7p "$(datadir "$1")/postmaster.pid" | awk '{print $1, $2}'; }
postmaster_pid() { sed -n 1p "$(datadir "$1")/postmaster.pid"; }
nattch_of() {  # nattch_of MODE ID: the segment's nattch, empty if absent
  ipcs_of "$1" -m | awk -v id="$2" '$2 == id {print $6}'
}
owner_of() { ipcs_of "$1" -m | awk -v id="$2" '$2 == id {print $3}'; }

# nattch must be 1 (the postmaster) + its children: every child of a
# non-EXEC_BACKEND postmaster inherits the attachment and keeps it. Children
# come and go, so the two readings are retried until they agree.
check_nattch() {
  local mode=$1 id=$2 what=$3 pm nattch procs try
  pm=$(postmaster_pid "$mode")
  for try in $(seq 1 20); do
    procs=$((1 + $(pgrep -c -P "$pm" || true)))
    nattch=$(nattch_of "$mode" "$id")
    [ "$nattch" = "$procs" ] && [ "$procs" = $((1 + $(pgrep -c -P "$pm" || true))) ] && break
    sleep 0.1
  done
  [ "$nattch" = "$procs" ] || fail "$mode, $what: segment $id has nattch '$nattch', the postmaster and its children are $procs"
  echo "$mode, $what: segment $id nattch $nattch = postmaster + $((procs - 1)) children"
}

# Keeps the FATAL and HINT lines, numbers and the mode's directory blanked.
refusal() {
  grep -E 'FATAL|HINT' | sed -E "s#^.*(FATAL|HINT)#\1#; s#$consumer_work/(kernel|libsysv)#WORK#g; s/[0-9]+/N/g"
}

init_cluster() {
  local mode=$1 data
  data=$(datadir "$mode")
  mkdir -p "$(sockdir "$mode")"
  chown "$user" "$(sockdir "$mode")" 2>/dev/null || true
  # initdb's bootstrap backend makes a small interlock segment too.
  as_user "$mode" "$pgbin/initdb" -D "$data" -A trust -U postgres --no-sync >"$consumer_work/$mode-initdb.log" 2>&1 \
    || { cat "$consumer_work/$mode-initdb.log"; fail "$mode: initdb"; }
  # fsync off on both sides: the figures are about memory and processes,
  # not this VM's disk.
  cat >>"$data/postgresql.conf" <<EOF
shared_memory_type = sysv
listen_addresses = ''
unix_socket_directories = '$(sockdir "$mode")'
port = ${port[$mode]}
fsync = off
synchronous_commit = off
max_connections = 100
EOF
}

# The postmaster runs in the background of this script, not daemonised by
# pg_ctl: once killed it is reaped at once (by runuser or by this shell),
# whatever this machine's init does, so that a new postmaster finds its pid
# dead as on any system.
start_server() {
  local mode=$1 try
  as_user "$mode" "$pgbin/postgres" -D "$(datadir "$mode")" >>"$(sockdir "$mode")/server.log" 2>&1 &
  local job=$!
  for try in $(seq 1 300); do
    as_user kernel "$pgbin/pg_isready" -q -h "$(sockdir "$mode")" -p "${port[$mode]}" && return 0
    kill -0 "$job" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$(sockdir "$mode")/server.log"
  fail "$mode: the postmaster did not start"
}

stop_server() {
  local mode=$1
  as_user kernel "$pgbin/pg_ctl" -D "$(datadir "$mode")" -m fast -w -t 30 stop >/dev/null \
    || { tail -n 20 "$(sockdir "$mode")/server.log"; fail "$mode: pg_ctl stop"; }
}

psql_run() {  # psql_run MODE SQL
  as_user kernel "$pgbin/psql" -X -q -A -t -h "$(sockdir "$1")" -p "${port[$1]}" -U postgres -d postgres -c "$2"
}

pgbench_run() {  # pgbench_run MODE ARGS: prints the TPS
  local mode=$1 out
  shift
  out=$(as_user kernel "$pgbin/pgbench" -h "$(sockdir "$mode")" -p "${port[$mode]}" -U postgres "$@" postgres 2>&1) \
    || { echo "$out"; fail "$mode: pgbench $*"; }
  grep -q "number of failed transactions: 0 " <<<"$out" || { echo "$out"; fail "$mode: pgbench $* had failed transactions"; }
  sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\)$/\1/p' <<<"$out"
}

pgbench_init() {
  local mode=$1 out
  out=$(as_user kernel "$pgbin/pgbench" -h "$(sockdir "$mode")" -p "${port[$mode]}" -U postgres -i -q -s "$scale" postgres 2>&1) \
    || { echo "$out"; fail "$mode: pgbench -i -s $scale"; }
}

declare -A lockfile_refusal orphan_refusal

check_mode() {
  local mode=$1 key id out tps
  note "$mode: initdb, start"
  init_cluster "$mode"
  start_server "$mode"
  read -r key id < <(shm_key_id "$mode")
  [ -n "$id" ] && [ "$id" != 0 ] || fail "$mode: postmaster.pid names no segment"
  [ "$(owner_of "$mode" "$id")" = "$user" ] || fail "$mode: segment $id not listed, or not owned by $user: $(ipcs_of "$mode" -m)"
  if [ "$mode" = libsysv ]; then
    "$sysvipc" ipcs -m
    # This segment must be libsysv's, not the kernel's.
    if ipcs -m | awk -v k="$(printf '0x%08x' "$key")" '$1 == k' | grep -q .; then
      fail "libsysv: the kernel has a segment with PostgreSQL's key $key: the preload did not take"
    fi
  fi
  check_nattch "$mode" "$id" "idle"

  note "$mode: a second postmaster while the first runs"
  if out=$(as_user "$mode" "$pgbin/postgres" -D "$(datadir "$mode")" -p "${port[$mode]}" 2>&1); then
    fail "$mode: a second postmaster started"
  fi
  echo "$out"
  lockfile_refusal[$mode]=$(refusal <<<"$out")

  note "$mode: pgbench -i -s $scale; pgbench -c $clients -j 2 -T $duration"
  pgbench_init "$mode"
  pgbench_run "$mode" -c "$clients" -j 2 -T "$duration" >"$consumer_work/$mode-tps" &
  local bench_pid=$!
  sleep $((duration / 2 + 1))
  check_nattch "$mode" "$id" "pgbench with $clients clients"
  wait "$bench_pid" || fail "$mode: pgbench"
  tps=$(cat "$consumer_work/$mode-tps")
  [ -n "$tps" ] || fail "$mode: pgbench printed no TPS"
  echo "$mode: pgbench tps = $tps"

  note "$mode: orphan backend (SIGSTOP), postmaster SIGKILL, new postmaster"
  as_user kernel "$pgbin/psql" -X -q -h "$(sockdir "$mode")" -p "${port[$mode]}" -U postgres -d postgres \
    -c "select pg_sleep(120)" >/dev/null 2>&1 &
  local client=$! try
  orphan=
  for try in $(seq 1 100); do
    orphan=$(psql_run "$mode" "select pid from pg_stat_activity where query = 'select pg_sleep(120)'")
    [ -n "$orphan" ] && break
    sleep 0.1
  done
  [ -n "$orphan" ] || fail "$mode: the sleeping backend did not appear"
  kill -STOP "$orphan"
  local pm
  pm=$(postmaster_pid "$mode")
  kill -KILL "$pm"
  # The other children see the postmaster die and exit; the orphan stays.
  for try in $(seq 1 100); do
    [ "$(nattch_of "$mode" "$id")" = 1 ] && break
    sleep 0.1
  done
  [ "$(nattch_of "$mode" "$id")" = 1 ] || fail "$mode: after the postmaster's SIGKILL, segment $id has nattch '$(nattch_of "$mode" "$id")', expected 1 (the stopped backend)"
  if out=$(as_user "$mode" "$pgbin/postgres" -D "$(datadir "$mode")" -p "${port[$mode]}" 2>&1); then
    fail "$mode: a postmaster started while an orphan backend is attached"
  fi
  echo "$out"
  grep -q "pre-existing shared memory block (key $key, ID $id) is still in use" <<<"$out" \
    || fail "$mode: the new postmaster was not refused for segment key $key id $id"
  orphan_refusal[$mode]=$(refusal <<<"$out")
  kill -KILL "$orphan"
  for try in $(seq 1 100); do
    [ -d "/proc/$orphan" ] && [ "$(awk '{print $3}' "/proc/$orphan/stat" 2>/dev/null)" != Z ] || break
    sleep 0.1
  done
  orphan=
  wait "$client" 2>/dev/null || true
  for try in $(seq 1 100); do
    [ "$(nattch_of "$mode" "$id")" = 0 ] && break
    sleep 0.1
  done
  [ "$(nattch_of "$mode" "$id")" = 0 ] || fail "$mode: the orphan is dead, segment $id still has nattch '$(nattch_of "$mode" "$id")'"

  note "$mode: restart on the stale segment, clean stop"
  start_server "$mode"
  local id2
  read -r _ id2 < <(shm_key_id "$mode")
  [ -z "$(nattch_of "$mode" "$id")" ] || [ "$id2" = "$id" ] || fail "$mode: the stale segment $id was not removed"
  [ "$(psql_run "$mode" "select count(*) from pgbench_branches")" = "$scale" ] || fail "$mode: pgbench_branches lost after the restart"
  check_nattch "$mode" "$id2" "after the restart"
  stop_server "$mode"
  [ -z "$(nattch_of "$mode" "$id2")" ] || fail "$mode: segment $id2 remains after a clean stop"
  if [ "$mode" = libsysv ] && "$sysvipc" ipcs -m | grep -q '^0x'; then
    fail "libsysv: segments remain in the namespace after a clean stop: $("$sysvipc" ipcs -m)"
  fi
  echo "$mode: stopped, segment $id2 removed"
}

if ((!bench)); then
  check_mode kernel
  check_mode libsysv
  note "refusals, kernel vs libsysv (numbers and paths blanked)"
  for case_ in lockfile orphan; do
    declare -n refusals="${case_}_refusal"
    echo "kernel:  ${refusals[kernel]}"
    echo "libsysv: ${refusals[libsysv]}"
    [ -n "${refusals[kernel]}" ] || fail "the kernel's $case_ refusal has no FATAL line"
    [ "${refusals[kernel]}" = "${refusals[libsysv]}" ] || fail "the $case_ refusal differs between the kernel and libsysv"
    unset -n refusals
  done
  echo "PASS: PostgreSQL on libsysv (pgbench tps kernel $(cat "$consumer_work/kernel-tps"), libsysv $(cat "$consumer_work/libsysv-tps"); one short run each, not a benchmark)"
  exit 0
fi

# Benchmark: both clusters up, pgbench alternating between them, kernel
# first in odd rounds, libsysv first in even ones, after one unrecorded
# warm-up run each.
bench_args=(-c "$clients" -j 2 -T "$duration")
((select_only)) && bench_args+=(-S)
for mode in kernel libsysv; do
  init_cluster "$mode"
  start_server "$mode"
  pgbench_init "$mode"
  pgbench_run "$mode" -c "$clients" -j 2 -T 5 >/dev/null
done
declare -A all=([kernel]="" [libsysv]="")
for round in $(seq 1 "$rounds"); do
  order=(kernel libsysv)
  ((round % 2)) || order=(libsysv kernel)
  for mode in "${order[@]}"; do
    tps=$(pgbench_run "$mode" "${bench_args[@]}")
    echo "round $round $mode: tps = $tps"
    all[$mode]+=" $tps"
  done
done
for mode in kernel libsysv; do stop_server "$mode"; done
k=$(median ${all[kernel]})
l=$(median ${all[libsysv]})
echo
echo "pgbench ${bench_args[*]} -s $scale, $rounds rounds, median tps (all runs)"
printf '%-8s %10s   %s\n' kernel "$k" "${all[kernel]# }" libsysv "$l" "${all[libsysv]# }"
awk -v k="$k" -v l="$l" 'BEGIN {printf "libsysv/kernel %.3f (target >= 0.97: %s)\n", l / k, (l / k >= 0.97) ? "met" : "missed"}'

#!/usr/bin/env bash
# Apache httpd (Debian `apache2`) on libsysv, unmodified, with
# `Mutex sysvsem default`: its accept mutex is a System V semaphore, taken
# and released (semop with SEM_UNDO) around every accept by every child.
#
#   tools/consumers/apache.sh                       check (CI): about 5 s
#   tools/consumers/apache.sh --bench [--mpm=worker] requests/s, kernel vs libsysv
#
# httpd uses its accept mutex only when it listens on more than one socket
# (on Linux, SINGLE_LISTEN_UNSERIALIZED_ACCEPT), so it listens on two
# loopback ports. Check mode, for the prefork and the worker MPM, on libsysv
# only: start under `sysvipc run` (as root, children as www-data: the
# set's owner is changed with IPC_SET, as httpd does), one set of one
# semaphore listed by `sysvipc ipcs -s`, ab with 8 clients on one port and
# 2 on the other at once, no failed or non-2xx request, then a graceful
# restart (the set survives it) and a stop that removes the set, with no
# error in httpd's log. Bench mode runs ab -c 8 for --duration seconds
# against the kernel and libsysv, alternating, after a warm-up each.
#
# Options: --bench, --mpm=prefork|worker (bench; default prefork),
#   --rounds=N (5), --duration=S (20), --clients=N (8), --requests=N (check: 4000).
# Environment: SYSVIPC, SYSVIPCD, SYSVIPC_LIB (default: bazel-bin of this
#   repository). Needs root to install the package (when missing).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bench=0 mpm=prefork rounds=5 duration=20 clients=8 requests=4000
for arg in "$@"; do
  case $arg in
    --bench) bench=1 ;;
    --mpm=*) mpm=${arg#*=} ;;
    --rounds=*) rounds=${arg#*=} ;;
    --duration=*) duration=${arg#*=} ;;
    --clients=*) clients=${arg#*=} ;;
    --requests=*) requests=${arg#*=} ;;
    *) echo "usage: $0 [--bench] [--mpm=prefork|worker] [--rounds=N] [--duration=S] [--clients=N] [--requests=N]" >&2; exit 2 ;;
  esac
done
case $mpm in prefork | worker) ;; *) fail "--mpm must be prefork or worker" ;; esac

ensure_packages apache2 apache2-utils
httpd=/usr/sbin/apache2
modules=/usr/lib/apache2/modules
[ -x "$httpd" ] && command -v ab >/dev/null || fail "apache2 or ab (apache2-utils) missing"
# httpd starts as this user; as root its children run as www-data.
setup_consumer "$(id -un)"
note "$("$httpd" -v | sed -n 's/^Server version: //p'), libsysv namespace $SYSVIPC_DIR"

# Below Linux's ephemeral range (32768-60999), where ab's own ports are.
port_base=$((20000 + ($$ % 3000) * 4))
declare -A port=([kernel]=$port_base [libsysv]=$((port_base + 2)))
declare -A job=()

server_dir() { echo "$consumer_work/$1-$2"; }  # MODE MPM

write_config() {
  local mode=$1 mpm=$2 dir
  dir=$(server_dir "$mode" "$mpm")
  mkdir -p "$dir/htdocs"
  head -c 1024 /dev/zero | tr '\0' 'x' >"$dir/htdocs/index.html"
  chmod -R a+rX "$dir"
  {
    echo "ServerRoot $dir"
    echo "ServerName 127.0.0.1"
    echo "DefaultRuntimeDir $dir"
    echo "PidFile $dir/httpd.pid"
    echo "ErrorLog $dir/error.log"
    echo "LogLevel info mpm_${mpm}:debug"
    echo "Listen 127.0.0.1:${port[$mode]}"
    echo "Listen 127.0.0.1:$((port[$mode] + 1))"
    echo "LoadModule mpm_${mpm}_module $modules/mod_mpm_${mpm}.so"
    echo "LoadModule authz_core_module $modules/mod_authz_core.so"
    echo "LoadModule mime_module $modules/mod_mime.so"
    echo "TypesConfig /etc/mime.types"
    echo "Mutex sysvsem default"
    if [ "$(id -u)" -eq 0 ]; then
      echo "User www-data"
      echo "Group www-data"
    fi
    if [ "$mpm" = prefork ]; then
      echo "StartServers 8"
      echo "MinSpareServers 8"
      echo "MaxSpareServers 16"
      echo "ServerLimit 32"
      echo "MaxRequestWorkers 32"
    else
      echo "StartServers 2"
      echo "ServerLimit 4"
      echo "ThreadsPerChild 16"
      echo "MaxRequestWorkers 64"
      echo "MinSpareThreads 16"
      echo "MaxSpareThreads 64"
    fi
    echo "MaxConnectionsPerChild 0"
    echo "KeepAlive Off"
    echo "DocumentRoot $dir/htdocs"
    echo "<Directory $dir/htdocs>"
    echo "  Require all granted"
    echo "</Directory>"
  } >"$dir/httpd.conf"
}

# httpd in the foreground, in this script's background, so that its exit
# is seen; in a session of its own, since httpd signals its whole process
# group (killpg(getpgrp(), ...)) on a restart or stop.
start_server() {
  local mode=$1 mpm=$2 dir try
  dir=$(server_dir "$mode" "$mpm")
  if [ "$mode" = libsysv ]; then
    setsid "$sysvipc" run -- "$httpd" -d "$dir" -f "$dir/httpd.conf" -DFOREGROUND >>"$dir/stderr.log" 2>&1 &
  else
    setsid env -u LD_PRELOAD "$httpd" -d "$dir" -f "$dir/httpd.conf" -DFOREGROUND >>"$dir/stderr.log" 2>&1 &
  fi
  job[$mode]=$!
  for try in $(seq 1 300); do
    curl_ok "$mode" && return 0
    kill -0 "${job[$mode]}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/stderr.log" "$dir/error.log" 2>/dev/null | tail -n 20
  fail "$mode $mpm: httpd did not start"
}

curl_ok() {  # one request on each port, with bash's /dev/tcp
  local mode=$1 p
  for p in "${port[$mode]}" $((port[$mode] + 1)); do
    { exec 3<>"/dev/tcp/127.0.0.1/$p"; } 2>/dev/null || return 1
    printf 'GET /index.html HTTP/1.0\r\n\r\n' >&3
    head -n 1 <&3 | grep -q '^HTTP/1.1 200' || { exec 3<&-; return 1; }
    exec 3<&-
  done
}

stop_server() {
  local mode=$1 mpm=$2 dir try
  dir=$(server_dir "$mode" "$mpm")
  [ -n "${job[$mode]:-}" ] || return 0
  kill -TERM "${job[$mode]}" 2>/dev/null || true
  for try in $(seq 1 200); do
    kill -0 "${job[$mode]}" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "${job[$mode]}" 2>/dev/null; then
    kill -KILL "${job[$mode]}" 2>/dev/null || true
    fail "$mode $mpm: httpd did not stop on SIGTERM within 20 s"
  fi
  wait "${job[$mode]}" 2>/dev/null || true
  job[$mode]=
}

stop_all() {
  local mode
  for mode in kernel libsysv; do
    [ -n "${job[$mode]:-}" ] || continue
    kill -TERM "${job[$mode]}" 2>/dev/null || true
    sleep 1
    kill -KILL "${job[$mode]}" 2>/dev/null || true
  done
}
consumer_cleanup_hooks+=(stop_all)

# ab_run MODE PORT ARGS: runs ab, checks it, prints requests per second.
ab_run() {
  local mode=$1 p=$2 out complete failed
  shift 2
  out=$(timeout 300 ab -q -r "$@" "http://127.0.0.1:$p/index.html" 2>&1) || { echo "$out"; fail "$mode: ab $*"; }
  complete=$(sed -nE 's/^Complete requests: +([0-9]+)$/\1/p' <<<"$out")
  failed=$(sed -nE 's/^Failed requests: +([0-9]+)$/\1/p' <<<"$out")
  [ -n "$complete" ] && ((complete > 0)) || { echo "$out"; fail "$mode: ab completed no request"; }
  [ "$failed" = 0 ] || { echo "$out"; fail "$mode: ab: $failed failed requests"; }
  ! grep -q '^Non-2xx responses' <<<"$out" || { echo "$out"; fail "$mode: ab: non-2xx responses"; }
  echo "$(sed -nE 's/^Requests per second: +([0-9.]+) .*/\1/p' <<<"$out") $complete"
}

check_log() {
  local mode=$1 mpm=$2 dir
  dir=$(server_dir "$mode" "$mpm")
  if grep -E '\[[a-z_]*:(emerg|alert|crit|error)\]' "$dir/error.log"; then
    fail "$mode $mpm: errors in httpd's error log (above)"
  fi
}

check_mpm() {
  local mpm=$1 mode=libsysv dir sets owner try
  dir=$(server_dir "$mode" "$mpm")
  note "libsysv $mpm: start with Mutex sysvsem default, two listeners"
  write_config "$mode" "$mpm"
  start_server "$mode" "$mpm"
  # The parent logs its accept mutex after it starts the children, which may
  # answer first on a loaded machine: give the line a few seconds.
  for try in $(seq 1 50); do
    grep -q "Accept mutex: sysvsem" "$dir/error.log" && break
    sleep 0.1
  done
  grep -q "Accept mutex: sysvsem" "$dir/error.log" || fail "libsysv $mpm: httpd does not log 'Accept mutex: sysvsem'"
  "$sysvipc" ipcs -s
  sets=$("$sysvipc" ipcs -s | awk '$1 ~ /^0x/')
  [ "$(wc -l <<<"$sets")" = 1 ] && [ "$(awk '{print $5}' <<<"$sets")" = 1 ] \
    || fail "libsysv $mpm: expected one set of one semaphore (httpd's accept mutex), ipcs -s lists: $sets"
  owner=www-data
  [ "$(id -u)" -eq 0 ] || owner=$(id -un)
  [ "$(awk '{print $3}' <<<"$sets")" = "$owner" ] || fail "libsysv $mpm: the accept mutex's owner is not $owner: $sets"

  note "libsysv $mpm: ab -n $requests -c $clients on one port, ab -n $((requests / 4)) -c 2 on the other"
  ab_run "$mode" "$((port[$mode] + 1))" -n "$((requests / 4))" -c 2 >"$dir/ab2" &
  local second=$!
  read -r rps complete < <(ab_run "$mode" "${port[$mode]}" -n "$requests" -c "$clients")
  wait "$second" || fail "libsysv $mpm: ab on the second port"
  [ "$complete" = "$requests" ] || fail "libsysv $mpm: $complete of $requests requests completed"
  echo "libsysv $mpm: $complete requests, 0 failed, $rps requests/s (second port: $(awk '{print $2 " requests, " $1 " requests/s"}' "$dir/ab2"))"

  note "libsysv $mpm: graceful restart, then stop"
  local pid
  pid=$(cat "$dir/httpd.pid")
  [[ "$pid" =~ ^[0-9]+$ ]] && ((pid > 1)) || fail "libsysv $mpm: httpd.pid holds '$pid'"
  kill -USR1 "$pid"
  sleep 1
  curl_ok "$mode" || fail "libsysv $mpm: httpd does not answer after a graceful restart"
  [ "$("$sysvipc" ipcs -s | awk '$1 ~ /^0x/' | wc -l)" = 1 ] || fail "libsysv $mpm: after a graceful restart: $("$sysvipc" ipcs -s)"
  read -r rps complete < <(ab_run "$mode" "${port[$mode]}" -n 500 -c "$clients")
  stop_server "$mode" "$mpm"
  check_log "$mode" "$mpm"
  [ -z "$("$sysvipc" ipcs -s | awk '$1 ~ /^0x/')" ] || fail "libsysv $mpm: the accept mutex remains after httpd stopped: $("$sysvipc" ipcs -s)"
  echo "libsysv $mpm: stopped, set removed, no error logged"
}

if ((!bench)); then
  check_mpm prefork
  check_mpm worker
  echo "PASS: Apache httpd on libsysv (prefork and worker, Mutex sysvsem default)"
  exit 0
fi

for mode in kernel libsysv; do
  write_config "$mode" "$mpm"
  start_server "$mode" "$mpm"
  ab_run "$mode" "${port[$mode]}" -t 5 -n 10000000 -c "$clients" >/dev/null
done
declare -A all=([kernel]="" [libsysv]="")
for round in $(seq 1 "$rounds"); do
  order=(kernel libsysv)
  ((round % 2)) || order=(libsysv kernel)
  for mode in "${order[@]}"; do
    read -r rps complete < <(ab_run "$mode" "${port[$mode]}" -t "$duration" -n 10000000 -c "$clients")
    echo "round $round $mode: $rps requests/s ($complete requests, 0 failed)"
    all[$mode]+=" $rps"
  done
done
for mode in kernel libsysv; do
  stop_server "$mode" "$mpm"
  check_log "$mode" "$mpm"
done
k=$(median ${all[kernel]})
l=$(median ${all[libsysv]})
echo
echo "httpd $mpm, Mutex sysvsem default, ab -c $clients -t $duration (1 KiB page, no keep-alive), $rounds rounds, median requests/s (all runs)"
printf '%-8s %10s   %s\n' kernel "$k" "${all[kernel]# }" libsysv "$l" "${all[libsysv]# }"
awk -v k="$k" -v l="$l" 'BEGIN {printf "libsysv/kernel %.3f\n", l / k}'

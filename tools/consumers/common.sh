# shellcheck shell=bash
# Sourced by tools/consumers/*.sh: what every real-consumer script needs.
#
# - which libsysv to run: $SYSVIPC (the sysvipc launcher), $SYSVIPCD and
#   $SYSVIPC_LIB, defaulting to the build beside the repository
#   (bazel-bin/tools/sysvipc and its siblings);
# - a fresh namespace ($SYSVIPC_DIR under /dev/shm) and a work directory
#   under /tmp, both removed at exit, with the daemon stopped;
# - the three binaries copied into the work directory in the installed
#   layout (bin/sysvipc, sbin/sysvipcd, lib/libsysv.so): the consumers run as
#   an unprivileged user (postgres, www-data) who cannot read a build under
#   /root;
# - Debian packages installed when missing.

consumer_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# runuser lives in /usr/sbin, which Bazel's test PATH lacks.
export PATH="$PATH:/usr/sbin:/sbin"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

note() { echo "== $*"; }

# Installs the Debian packages given that are not installed yet.
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  note "installing ${missing[*]}"
  local sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo -n)
  "${sudo_cmd[@]}" apt-get update -qq || fail "apt-get update (installing ${missing[*]})"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || fail "cannot install ${missing[*]}"
}

# Sets up $consumer_work, $SYSVIPC_DIR and $sysvipc (the copied launcher);
# registers the cleanup. Argument: the user the consumer runs as (it must be
# able to enter both directories).
setup_consumer() {
  local user=$1
  local src_sysvipc=${SYSVIPC:-$consumer_repo/bazel-bin/tools/sysvipc}
  local src_dir
  src_dir=$(dirname "$src_sysvipc")
  local src_daemon=${SYSVIPCD:-$src_dir/../daemon/sysvipcd}
  local src_lib=${SYSVIPC_LIB:-$src_dir/../compat/libsysv.so}
  local f
  for f in "$src_sysvipc" "$src_daemon" "$src_lib"; do
    [ -f "$f" ] || fail "$f not found: build //tools:sysvipc //compat:libsysv //daemon:sysvipcd, or set SYSVIPC, SYSVIPCD, SYSVIPC_LIB"
  done
  consumer_work=$(mktemp -d /tmp/sysvipc-consumer-XXXXXX)
  export SYSVIPC_DIR
  SYSVIPC_DIR=$(mktemp -d /dev/shm/sysvipc-consumer-XXXXXX)
  trap consumer_cleanup EXIT
  chmod 0755 "$consumer_work" "$SYSVIPC_DIR"
  # The consumer's user may not enter the caller's directory (Bazel's
  # runfiles under /root); its programs start here.
  cd "$consumer_work" || fail "cd $consumer_work"
  install -D -m 0755 "$src_sysvipc" "$consumer_work/prefix/bin/sysvipc"
  install -D -m 0755 "$src_daemon" "$consumer_work/prefix/sbin/sysvipcd"
  install -D -m 0755 "$src_lib" "$consumer_work/prefix/lib/libsysv.so"
  sysvipc=$consumer_work/prefix/bin/sysvipc
  export SYSVIPCD=$consumer_work/prefix/sbin/sysvipcd
  export SYSVIPC_LIB=$consumer_work/prefix/lib/libsysv.so
  # The daemon is started here, by the script's user, and serves the
  # consumer's processes (the socket is 0666, the directory 0755): as the
  # kernel serves every user.
  "$sysvipc" daemon start >/dev/null || fail "sysvipc daemon start in $SYSVIPC_DIR"
  consumer_user=$user
}

# Cleanup hooks of the consumer script run first (stop its servers).
consumer_cleanup_hooks=()
consumer_cleanup() {
  local status=$?
  local hook
  for hook in "${consumer_cleanup_hooks[@]}"; do "$hook" || true; done
  if [ -n "${sysvipc:-}" ] && [ -x "$sysvipc" ]; then
    "$sysvipc" daemon stop >/dev/null 2>&1 || true
  fi
  if ((status != 0)) && [ -f "${SYSVIPC_DIR:-}/sysvipcd.log" ]; then
    echo "--- last lines of sysvipcd.log:" >&2
    tail -n 20 "$SYSVIPC_DIR/sysvipcd.log" >&2
  fi
  [ -n "${SYSVIPC_DIR:-}" ] && rm -rf "$SYSVIPC_DIR"
  [ -n "${consumer_work:-}" ] && rm -rf "$consumer_work"
  return "$status"
}

# Runs a command as the consumer's user (itself when not root), with the
# libsysv variables kept. as_user kernel CMD... runs it without libsysv;
# as_user libsysv CMD... runs it under `sysvipc run`.
as_user() {
  local mode=$1
  shift
  local prefix=()
  if [ "$(id -u)" -eq 0 ] && [ "$consumer_user" != root ]; then
    prefix=(runuser -u "$consumer_user" --)
  fi
  if [ "$mode" = libsysv ]; then
    "${prefix[@]}" env SYSVIPC_DIR="$SYSVIPC_DIR" SYSVIPCD="$SYSVIPCD" SYSVIPC_LIB="$SYSVIPC_LIB" \
      "$sysvipc" run -- "$@"
  else
    "${prefix[@]}" env -u LD_PRELOAD "$@"
  fi
}

# median of the numbers given
median() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

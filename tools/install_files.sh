#!/usr/bin/env bash
# Copies built libsysv files into an install prefix:
#   PREFIX/bin/sysvipc  PREFIX/sbin/sysvipcd  PREFIX/lib/libsysv.so  PREFIX/include/sysv/sysv.h
# Usage: install_files.sh PREFIX SYSVIPC SYSVIPCD LIBSYSV_SO SYSV_H
# (tools/install.sh builds them and calls this.) sysvipc and libsysv.so find
# each other and the daemon in this layout without any environment variable.
set -euo pipefail
if [ $# -ne 5 ]; then
  echo "usage: $0 PREFIX SYSVIPC SYSVIPCD LIBSYSV_SO SYSV_H" >&2
  exit 2
fi
prefix=$1
install -D -m 0755 "$2" "$prefix/bin/sysvipc"
install -D -m 0755 "$3" "$prefix/sbin/sysvipcd"
install -D -m 0755 "$4" "$prefix/lib/libsysv.so"
install -D -m 0644 "$5" "$prefix/include/sysv/sysv.h"
echo "installed sysvipc, sysvipcd, libsysv.so and sysv/sysv.h under $prefix"

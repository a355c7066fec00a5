#!/usr/bin/env bash
# The core never includes an OS header (DESIGN.md, "Layers"): Bazel's
# visibility keeps backends out of core's deps, but cannot stop an #include.
# core/testing/ is exempt: its conformance suites fork and signal on purpose.
set -euo pipefail
cd "${TEST_SRCDIR}/libsysv"
forbidden='^[[:space:]]*#[[:space:]]*include[[:space:]]*<(sys/|linux/|asm/|unistd\.h|fcntl\.h|pthread\.h|signal\.h|dlfcn\.h|poll\.h|sched\.h|semaphore\.h|liburing|netinet/|arpa/|dirent\.h|spawn\.h|termios\.h|time\.h)'
files=$(find -L core -type f \( -name '*.h' -o -name '*.cc' \) ! -path 'core/testing/*' ! -name '*_test.cc' | sort)
[ -n "$files" ] || { echo "FAIL: no core sources found in runfiles"; exit 1; }
bad=$(grep -EnH "$forbidden" $files || true)
if [ -n "$bad" ]; then
  echo "FAIL: OS headers in core/:"
  echo "$bad"
  exit 1
fi
echo "checked $(wc -w <<<"$files") core files: no OS headers"

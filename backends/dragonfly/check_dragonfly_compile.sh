#!/bin/bash
# Compiles every file built for DragonFly (this backend, backends/common,
# core/, the daemon, the client library and the tools) against DragonFly
# BSD's own headers,
# with clang's DragonFly target and -fsyntax-only: it proves that every name,
# prototype and struct layout they use exists as written in DragonFly's
# headers, and evaluates every static_assert (dragonfly_abi_check.cc checks
# the byte layouts the portable code decodes). It links nothing and runs
# nothing: see README.md for what only a DragonFly machine can tell.
#
# Not part of CI and not run by Bazel: it needs DragonFly's source, which is
# not in this repository (and must never be committed to it).
#
# Usage:
#   backends/dragonfly/check_dragonfly_compile.sh DRAGONFLY_SOURCE [FILE...]
# where DRAGONFLY_SOURCE is a checkout of DragonFly's source tree, or a bare
# git directory of one (HEAD is used). Needs clang (14 tested) and libc++'s
# headers (Debian: libc++-14-dev), and Abseil's headers in /usr/include/absl.
#
# Exit status: 0 if every file compiled, 1 if one did not, 2 on bad usage or
# a missing tool.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 DRAGONFLY_SOURCE [FILE...] (a checkout, or a bare git directory)" >&2
  exit 2
fi
source_arg=$1
shift
only=("$@")
here=$(cd "$(dirname "$0")" && pwd)
workspace=$(cd "$here/../.." && pwd)
clangxx=${CLANGXX:-clang++}
libcxx=${LIBCXX_INCLUDE:-/usr/lib/llvm-14/include/c++/v1}
absl_include=${ABSL_INCLUDE:-/usr/include}

command -v "$clangxx" >/dev/null || { echo "no $clangxx" >&2; exit 2; }
[[ -f $libcxx/__config ]] || { echo "no libc++ headers in $libcxx" >&2; exit 2; }
[[ -d $absl_include/absl ]] || { echo "no Abseil in $absl_include" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
mkdir -p "$src"

# The header directories of DragonFly's tree that an installed system has
# under /usr/include (include/Makefile, "copies" target; lib/libm/Makefile
# installs libm's headers from contrib/openbsd_libm, and
# lib/libc/tre-regex/Makefile.inc installs regex.h).
wanted=(include sys/sys sys/net sys/netinet sys/netinet6 sys/vm
        sys/cpu/x86_64/include sys/platform/pc64/include
        contrib/openbsd_libm/include/global contrib/openbsd_libm/include/amd64
        lib/libc/tre-regex/regex.h)
if git --git-dir="$source_arg" rev-parse --verify -q HEAD >/dev/null 2>&1; then
  # File by file rather than `git archive`, which refuses a partial mirror
  # (one whose unrelated blobs are missing) as a whole.
  git --git-dir="$source_arg" ls-tree -r HEAD -- "${wanted[@]}" |
    while read -r mode type object path; do
      [[ $type == blob && $path == *.h ]] || continue
      mkdir -p "$src/$(dirname "$path")"
      git --git-dir="$source_arg" cat-file blob "$object" > "$src/$path"
    done
  revision=$(git --git-dir="$source_arg" rev-parse HEAD)
elif [[ -d $source_arg/sys/sys && -d $source_arg/include ]]; then
  for dir in "${wanted[@]}"; do
    mkdir -p "$src/$dir"
    cp -R "$source_arg/$dir/." "$src/$dir/"
  done
  revision="checkout $source_arg"
else
  echo "$source_arg is neither a DragonFly checkout nor a git directory of one" >&2
  exit 2
fi

# Lay the headers out as /usr/include is laid out.
root=$tmp/usr/include
mkdir -p "$root"
cp -R "$src/include/." "$root/"
for dir in sys net netinet netinet6 vm; do
  mkdir -p "$root/$dir"
  cp "$src/sys/$dir"/*.h "$root/$dir/"
done
mkdir -p "$root/cpu" "$root/machine"
cp "$src/sys/cpu/x86_64/include"/*.h "$root/cpu/"
cp "$src/sys/cpu/x86_64/include"/*.h "$root/machine/"
cp "$src/sys/platform/pc64/include"/*.h "$root/machine/"
cp "$src/contrib/openbsd_libm/include/global"/{complex,fenv,math,tgmath}.h "$root/"
cp "$src/contrib/openbsd_libm/include/amd64"/{fenv,ieee}.h "$root/machine/"
cp "$src/lib/libc/tre-regex/regex.h" "$root/"
for header in aio.h errno.h fcntl.h linker_set.h poll.h sched.h syslog.h ucontext.h; do
  [[ -f $root/sys/$header ]] && cp "$root/sys/$header" "$root/$header"
done
# osreldate.h is generated at build time from sys/sys/param.h.
version=$(sed -n 's/^#define[[:space:]]*__DragonFly_version[[:space:]]*\([0-9]*\).*/\1/p' \
            "$root/sys/param.h" | head -n 1)
printf '#undef __DragonFly_version\n#define __DragonFly_version %s\n' "$version" \
  > "$root/osreldate.h"
# Abseil and GoogleTest, without the rest of this machine's /usr/include.
mkdir -p "$tmp/absl"
ln -s "$absl_include/absl" "$tmp/absl/absl"
for lib in gtest gmock; do
  [[ -d $absl_include/$lib ]] && ln -s "$absl_include/$lib" "$tmp/absl/$lib"
done

resource=$("$clangxx" -print-resource-dir)
flags=(
  --target=x86_64-unknown-dragonfly5.8 -std=c++20 -fsyntax-only
  -nostdinc -nostdinc++
  # libc++ 14 names no thread API for DragonFly (its __config lists the
  # other BSDs); DragonFly's threads are POSIX threads (libthread_xu).
  -D_LIBCPP_HAS_THREAD_API_PTHREAD
  # Nor a ctype mask table for it (__locale): use libc++'s own. It matters
  # only to <locale>, which no file here uses; Abseil pulls it in.
  -D_LIBCPP_PROVIDES_DEFAULT_RUNE_TABLE
  # ... and does not include <xlocale.h>, where DragonFly declares the *_l
  # functions (strtoll_l, ...) that <locale> calls.
  -include xlocale.h
  -isystem "$libcxx" -isystem "$resource/include" -isystem "$root"
  -isystem "$tmp/absl" -I "$workspace" -I "$workspace/compat/include"
  -Wall -Wextra -Werror -Wno-missing-field-initializers
)

# Every source built for DragonFly but the tests and the Linux doubles: the
# backend's DragonFly-only files (BUILD: target_compatible_with DRAGONFLY)
# and its portable ones; backends/common and core/, which it links; the
# daemon, the client library and the tools (sysvipc and what it links);
# then the sources of the *_dragonfly_test targets in BUILD, the tests meant
# to run on DragonFly. FILE... on the command line checks only those.
not_test() { grep -v '_test\.cc$' | grep -v '_linux_double\.cc$' | grep -v '_benchmark\.cc$' | grep -v '/testing/'; }
mapfile -t files < <(cd "$workspace" && ls backends/dragonfly/*.cc | not_test)
mapfile -t -O "${#files[@]}" files < <(cd "$workspace" && ls backends/common/*.cc | not_test)
mapfile -t -O "${#files[@]}" files < <(cd "$workspace" && find core -name '*.cc' | sort | not_test)
mapfile -t -O "${#files[@]}" files < <(cd "$workspace" && ls daemon/*.cc compat/*.cc | not_test)
mapfile -t -O "${#files[@]}" files < <(cd "$workspace" && ls tools/*.cc tools/bench/*.cc | not_test |
                                        grep -v 'ipc_test_support\.cc$')
if [[ -d $absl_include/gtest ]]; then
  mapfile -t tests < <(awk '
    /name = "[a-z_]*_dragonfly_test"/ { in_test = 1 }
    in_test && /"[a-z_]*\.cc"/ { match($0, /"[a-z_]*\.cc"/); print substr($0, RSTART + 1, RLENGTH - 2) }
    in_test && /^\)/ { in_test = 0 }
  ' "$here/BUILD" | sort -u)
  for test in "${tests[@]}"; do files+=("backends/dragonfly/$test"); done
else
  echo "no GoogleTest in $absl_include: the DragonFly tests are not checked"
fi

# Files that BUILD builds for Linux only, because DragonFly has no
# counterpart of what they serve: dropped here by rule, each with its reason.
declare -A linux_only=(
  [compat/dlopen_hooks.cc]="dlopen(RTLD_DEEPBIND) and dlmopen(), which DragonFly's rtld does not have (include/dlfcn.h): compat/BUILD selects it for Linux only"
  [compat/proc_files.cc]="glibc's open/fopen interposers for the kernel files its ABI names (backends/linux/kernel_files.h; DragonFly has none, its ipcs reads kern.ipc sysctls): compat/BUILD selects it for glibc only; its mechanism, platform::OpenContentFile and ForEachOpenDescriptor, is checked in content_file.cc"
  [compat/proc_content.cc]="the text of Linux's kernel files, for proc_files.cc: compat/BUILD selects it for glibc only"
)
kept=()
for file in "${files[@]}"; do
  if [[ -n ${linux_only[$file]:-} ]]; then
    echo "skipped $file: ${linux_only[$file]}"
  else
    kept+=("$file")
  fi
done
files=("${kept[@]}")

if [[ ${#only[@]} -gt 0 ]]; then files=("${only[@]}"); fi

echo "DragonFly headers: $revision (__DragonFly_version $version)"
echo "compiler: $("$clangxx" --version | head -n 1), target x86_64-unknown-dragonfly"
failed=0
passed=0
for file in "${files[@]}"; do
  if (cd "$workspace" && "$clangxx" "${flags[@]}" "$file" 2> "$tmp/err"); then
    echo "ok      $file"
    passed=$((passed + 1))
  else
    echo "FAILED  $file"
    # The first lines of the diagnostics (a pipe into head would end the
    # script with SIGPIPE under pipefail).
    sed -n "1,${ERROR_LINES:-40}s/^/        /p" "$tmp/err"
    failed=$((failed + 1))
  fi
done
echo "$passed of ${#files[@]} files compiled, $failed failed"

# The DragonFly kernel module (driver/): C against the kernel's headers with
# -D_KERNEL, in a script of its own; skipped when FILE... names files.
check_kernel_module() {
  [[ ${#only[@]} -gt 0 ]] && return 0
  "$here/driver/check_kmod_compile.sh" "$source_arg"
}
module_failed=0
check_kernel_module || module_failed=1
[[ $failed -eq 0 && $module_failed -eq 0 ]]

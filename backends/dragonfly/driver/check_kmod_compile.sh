#!/bin/bash
# Compiles the DragonFly kernel module (this folder, and the shared C in
# backends/common/driver/ it builds) against DragonFly BSD's own kernel
# headers, as bsd.kmod.mk would: C, -D_KERNEL -DKLD_MODULE, -nostdinc with
# the kernel's include layout (@, machine, machine_base, cpu, cpu_base
# links), clang's DragonFly target, -fsyntax-only. It proves every kernel
# name, prototype, struct member and constant the module uses exists as
# written and evaluates the ABI header's size asserts; it links, loads and
# runs nothing (README.md, "What only a DragonFly machine can tell").
#
# Called by ../check_dragonfly_compile.sh; runs on its own too:
#   backends/dragonfly/driver/check_kmod_compile.sh DRAGONFLY_SOURCE
# DRAGONFLY_SOURCE is a checkout of DragonFly's source or a bare git
# directory of one (HEAD). Never commit DragonFly's code here.
#
# Exit status: 0 if every file compiled, 1 if one did not, 2 on bad usage.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DRAGONFLY_SOURCE (a checkout, or a bare git directory)" >&2
  exit 2
fi
source_arg=$1
here=$(cd "$(dirname "$0")" && pwd)
workspace=$(cd "$here/../../.." && pwd)
clang=${CLANG:-clang}
command -v "$clang" >/dev/null || { echo "no $clang" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
mkdir -p "$src"

# The kernel's headers: everything under sys/ that is a header, and the
# top-level include/ that bsd.kmod.mk adds as @/../include.
if git --git-dir="$source_arg" rev-parse --verify -q HEAD >/dev/null 2>&1; then
  # One `git cat-file --batch` for every header (a process per file takes
  # minutes); file by file rather than `git archive`, which refuses a
  # partial mirror as a whole.
  git --git-dir="$source_arg" ls-tree -r HEAD -- sys include |
    awk '$2 == "blob" && $4 ~ /\.h$/ { print $3 " " $4 }' > "$tmp/headers"
  cut -d' ' -f1 "$tmp/headers" |
    git --git-dir="$source_arg" cat-file --batch |
    python3 -c '
import os, sys
paths = [line.split(" ", 1)[1].rstrip("\n") for line in open(sys.argv[1])]
out = sys.stdin.buffer
for path in paths:
    size = int(out.readline().split()[2])
    data = out.read(size)
    out.read(1)
    target = os.path.join(sys.argv[2], path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    open(target, "wb").write(data)
' "$tmp/headers" "$src"
  revision=$(git --git-dir="$source_arg" rev-parse HEAD)
elif [[ -d $source_arg/sys/sys && -d $source_arg/include ]]; then
  cp -R "$source_arg/sys" "$source_arg/include" "$src/"
  revision="checkout $source_arg"
else
  echo "$source_arg is neither a DragonFly checkout nor a git directory of one" >&2
  exit 2
fi

# The links bsd.kmod.mk makes in the module's object directory (_ILINKS).
obj=$tmp/obj
mkdir -p "$obj"
ln -s "$src/sys" "$obj/@"
ln -s "$src/sys/platform/pc64/include" "$obj/machine"
ln -s "$src/sys/platform/pc64" "$obj/machine_base"
ln -s "$src/sys/cpu/x86_64/include" "$obj/cpu"
ln -s "$src/sys/cpu/x86_64" "$obj/cpu_base"
# kern.fwd.mk's forwarding headers: <machine/X.h> for each <cpu/X.h> the
# platform does not have itself.
fwd=$tmp/forwarder/include
mkdir -p "$fwd/machine"
for header in "$src"/sys/cpu/x86_64/include/*.h; do
  name=$(basename "$header")
  printf '#include <cpu/%s>\n' "$name" > "$fwd/machine/$name"
done

flags=(
  -x c --target=x86_64-unknown-dragonfly5.8 -std=gnu99 -fsyntax-only
  -D_KERNEL -DKLD_MODULE -nostdinc -ffreestanding
  -I "$obj" -I "$obj/@" -I "$fwd" -I "$src/include"
  -I "$workspace"
  -Wall -Wextra -Werror
  # DragonFly's own headers trip these under clang 14 (unused static
  # inlines' parameters, K&R-era prototypes); the module's code does not
  # depend on them being off.
  -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers
)
files=(
  backends/dragonfly/driver/sysvipc_main.c
  backends/common/driver/attach_accounting.c
  backends/common/driver/ioctl_dispatch.c
)

version=$(sed -n 's/^#define[[:space:]]*__DragonFly_version[[:space:]]*\([0-9]*\).*/\1/p' \
            "$src/sys/sys/param.h" | head -n 1)
echo "DragonFly kernel headers: $revision (__DragonFly_version $version)"
echo "compiler: $("$clang" --version | head -n 1), -D_KERNEL -DKLD_MODULE"
failed=0
for file in "${files[@]}"; do
  if (cd "$workspace" && "$clang" "${flags[@]}" "$file" 2> "$tmp/err"); then
    echo "ok      $file"
  else
    echo "FAILED  $file"
    sed -n "1,${ERROR_LINES:-40}s/^/        /p" "$tmp/err"
    failed=$((failed + 1))
  fi
done
echo "kernel module: $(( ${#files[@]} - failed )) of ${#files[@]} files compiled, $failed failed"
[[ $failed -eq 0 ]]

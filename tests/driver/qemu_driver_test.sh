#!/usr/bin/env bash
# Builds sysvipc.ko against Debian's packaged 6.1 headers (W=1, no warning
# allowed), packs an initramfs with busybox-static, the module and the
# statically linked guest programs, boots the matching packaged kernel under
# QEMU/TCG with slub_debug, and reads the guest's results from the serial
# log (qemu exits 0 on poweroff whatever happened).
#
# The ABI is taken from the installed headers, never from `uname -r` (the
# mirror carries only the current 6.1.y ABI; ../shared/notes/kmod-qemu.md).
# Without the packages or the kernel image the test skips with a reason,
# unless SYSV_REQUIRE_QEMU is set (CI sets it): then it fails.
set -uo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() {
  if [ -n "${SYSV_REQUIRE_QEMU:-}" ]; then fail "$* (SYSV_REQUIRE_QEMU is set)"; fi
  echo "SKIP: $*"
  exit 0
}

start=$(date +%s)
runfiles="${TEST_SRCDIR:?}/${TEST_WORKSPACE:?}"
work="${TEST_TMPDIR:-$(mktemp -d)}/qemu"
rm -rf "$work" && mkdir -p "$work"

headers=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -1)
[ -n "$headers" ] && [ -f "$headers/Module.symvers" ] || skip "no linux-headers-*-amd64 (apt-get install linux-headers-amd64)"
abi=${headers##*/linux-headers-}
kernel=/boot/vmlinuz-$abi
[ -r "$kernel" ] || skip "no $kernel (.ci/install-deps extracts it from linux-image-$abi)"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64 (qemu-system-x86)"
command -v cpio >/dev/null || skip "no cpio"
command -v make >/dev/null || skip "no make"
busybox=/bin/busybox
[ -x "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
  ldd "$busybox" 2>&1 | grep -q 'not a dynamic' || skip "no static $busybox (busybox-static)"

# 1. The module, from a copy of its sources (Kbuild writes next to them).
src="$work/src"
mkdir -p "$src/backends/linux" "$src/backends/common"
cp -rL "$runfiles/backends/linux/driver" "$src/backends/linux/" || fail "copy module sources"
cp -rL "$runfiles/backends/common/driver" "$src/backends/common/" || fail "copy shared sources"
chmod -R u+w "$src"
build_log="$work/build.log"
make -C "$src/backends/linux/driver" KDIR="$headers" W=1 >"$build_log" 2>&1 ||
  { cat "$build_log"; fail "module build failed"; }
if grep -E 'warning:|error:' "$build_log"; then fail "module build has warnings (W=1)"; fi
ko="$src/backends/linux/driver/sysvipc.ko"
[ -f "$ko" ] || fail "no sysvipc.ko"
echo "built sysvipc.ko against $abi with W=1, no warnings ($(($(date +%s) - start)) s)"

# 2. The initramfs.
root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,run}
cp "$busybox" "$root/bin/busybox"
cp "$ko" "$root/sysvipc.ko"
cp "$runfiles/tests/driver/driver_guest_test" "$runfiles/tests/driver/libsysv_guest_test" "$root/bin/" ||
  fail "no guest test programs"
cp "$runfiles/daemon/sysvipcd_static" "$root/bin/sysvipcd" || fail "no sysvipcd_static"
chmod 0755 "$root/bin/"*
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
passed=0 failed=0
check() {  # check NAME COMMAND...: one line per check, as the programs print
  name=$1; shift
  if "$@"; then echo "ok - $name"; passed=$((passed + 1));
  else echo "not ok - $name"; failed=$((failed + 1)); fi
}
echo "GUEST-BEGIN $(uname -r)"
check "insmod sysvipc.ko" insmod /sysvipc.ko
check "/dev/sysvipc is a 0600 root character device" \
  sh -c '[ -c /dev/sysvipc ] && [ "$(stat -c %a:%u /dev/sysvipc)" = 600:0 ]'
/bin/driver_guest_test
check "driver_guest_test exits 0" [ $? -eq 0 ]
/bin/libsysv_guest_test on /run/sysv-on /bin/sysvipcd
check "libsysv_guest_test on exits 0" [ $? -eq 0 ]
/bin/libsysv_guest_test off /run/sysv-off /bin/sysvipcd
check "libsysv_guest_test off exits 0" [ $? -eq 0 ]
check "rmmod sysvipc once every object is gone (nothing leaked)" rmmod sysvipc
check "sysvipcd --driver=on without the module refuses to start" \
  sh -c '! /bin/sysvipcd --dir=/run/sysv-none --driver=on 2>/tmp/err && grep -q "driver=on" /tmp/err'
if dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace|general protection|Poison overwritten|Object corrupt|Redzone|list_add corruption|list_del corruption'; then
  check "dmesg free of BUG/WARNING/Oops/Call Trace" false
else
  check "dmesg free of BUG/WARNING/Oops/Call Trace" true
fi
echo "GUEST-TALLY init: $passed passed, $failed failed"
echo "GUEST-DONE"
poweroff -f
INIT
chmod 0755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz" || fail "cpio"

# 3. Boot. TCG only: /dev/kvm here cannot boot a stock kernel. The guest
# powers off in 50-100 s on a loaded 2-CPU machine; the timeout only ends a
# hung guest.
serial="$work/serial.log"
boot_start=$(date +%s)
timeout 300 qemu-system-x86_64 -accel tcg -cpu max -m 512 -smp 1 \
  -nodefaults -no-user-config -display none -monitor none -serial stdio -no-reboot \
  -kernel "$kernel" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 panic=-1 quiet slub_debug=FZPU page_poison=1" \
  </dev/null >"$serial" 2>&1
qemu_status=$?
boot_secs=$(($(date +%s) - boot_start))
tr -d '\r' <"$serial" | grep -E '^(ok|not ok|info|GUEST-)' | sed 's/^/guest: /'
[ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ] && cp "$serial" "$TEST_UNDECLARED_OUTPUTS_DIR/serial.log"

log=$(tr -d '\r' <"$serial")
grep -q '^GUEST-DONE' <<<"$log" || { tail -40 "$serial"; fail "guest did not finish (qemu status $qemu_status)"; }
tallies=$(grep -c '^GUEST-TALLY' <<<"$log")
[ "$tallies" -ge 2 ] || fail "expected a tally from the program and from init, got $tallies"
if grep -E '^GUEST-TALLY .*, [1-9][0-9]* failed' <<<"$log" >/dev/null; then fail "guest checks failed"; fi
checks=$(grep -cE '^(ok|not ok) ' <<<"$log")
nattch_cases=$(grep -cE '^ok - nattch differential.*: nattch after' <<<"$log")
echo "qemu_driver_test: $checks guest checks passed ($nattch_cases nattch cases compared with the guest kernel), boot+run ${boot_secs} s, total $(($(date +%s) - start)) s"

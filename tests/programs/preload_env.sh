# Sourced by the tests that run programs with libsysv.so preloaded.
#
# Under --config=asan or --config=tsan, libsysv.so needs a sanitizer runtime
# that the programs it is preloaded into (ipcmk, python3, perl) were not
# built with: preload that runtime first and let it load after them.
# Usage: preload_sanitizer_runtime PATH_TO_LIBSYSV_SO
preload_sanitizer_runtime() {
  export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0"
  local runtime
  for runtime in libasan libtsan; do
    if readelf -d "$1" 2>/dev/null | grep -q "$runtime"; then
      export LD_PRELOAD=$(gcc -print-file-name=$runtime.so)
    fi
  done
}

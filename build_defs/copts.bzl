"""Compiler flags shared by every libsysv target."""

SYSV_DEFAULT_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-missing-field-initializers",
    # Thread-locals in the initial-exec model. In a shared library a
    # thread_local is otherwise reached through __tls_get_addr(), a call per
    # access, which profiling showed at about 15% of a 64-byte msgsnd in
    # libsysv.so; initial-exec makes it one load from the thread pointer.
    # The price: the library's whole TLS block must sit in the static TLS
    # area, which a library loaded at start-up (LD_PRELOAD, linked) always
    # gets, and one dlopen()ed later gets from a small reserve (glibc: 512
    # bytes, tunable glibc.rtld.optional_static_tls). So per-thread buffers
    # of any size live on the heap (the semaphore redo scratch does), and
    # //tests/programs:dlopen_test keeps libsysv.so loadable by dlopen(). Executables
    # are unaffected.
    "-ftls-model=initial-exec",
]

# GoogleTest macros trip -Wsign-compare on mixed comparisons that are fine in
# tests; everything else stays an error.
SYSV_TEST_COPTS = SYSV_DEFAULT_COPTS + [
    "-Wno-sign-compare",
]

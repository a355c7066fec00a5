// SYSV_HOT_TLS marks a thread_local read on every msgsnd, msgrcv or semop.
//
// libsysv is a shared library, and a shared library's thread_local is
// reached through __tls_get_addr() (the general-dynamic model): a call per
// access, which profiling showed at about 15% of a 64-byte msgsnd. The
// initial-exec model turns the access into one load from the thread
// pointer. It needs the variable in the static TLS block, which holds it
// when the library is loaded at start-up (LD_PRELOAD, or linked); a dlopen()
// later uses the small reserve glibc keeps for such libraries, so only small
// variables get the mark (the semaphore redo log, for one, does not).
#ifndef SYSV_CORE_HOT_TLS_H_
#define SYSV_CORE_HOT_TLS_H_

#define SYSV_HOT_TLS __attribute__((tls_model("initial-exec")))

#endif  // SYSV_CORE_HOT_TLS_H_

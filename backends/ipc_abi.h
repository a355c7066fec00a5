// The System V IPC ABI of the C library a program was compiled against, as
// compat/ and tools/ see it: the *ctl command numbers translated to the
// core's (one table per C library), the flag bits that library's kernel
// reads, its key_t, and its structs filled. Every C library's ipc_abi.h
// puts the same names under `sysv::abi`.
//
// Chosen by the C library's own headers, not by //backends:platform's
// backend: the ABI is the callers', and a build's callers are programs
// compiled for the OS it runs on. So --config=dragonfly_doubles, which runs
// the DragonFly backend on Linux under glibc's programs, presents glibc's
// ABI; a build for DragonFly presents DragonFly's. //backends:ipc_abi links
// the matching header.
#ifndef SYSV_BACKENDS_IPC_ABI_H_
#define SYSV_BACKENDS_IPC_ABI_H_

#if defined(__DragonFly__)
#include "backends/dragonfly/ipc_abi.h"
#elif defined(__linux__)
#include "backends/linux/ipc_abi.h"
#else
#error "libsysv has no System V IPC ABI for this C library"
#endif

#endif  // SYSV_BACKENDS_IPC_ABI_H_

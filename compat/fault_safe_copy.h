// Copying to and from a caller's buffer, where the kernel would answer
// EFAULT for a NULL, unmapped or read-only pointer and a library must not
// crash, without a system call for every good pointer (fast paths copy on
// every semop, msgsnd and IPC_STAT).
//
// How: a SIGSEGV/SIGBUS handler, installed once, returns control to the copy
// through a per-thread recovery point when the fault happened inside it;
// any other fault goes to the handler that was there before (or the default
// action), as if ours did not exist. A program that replaces the handler
// later turns bad pointers back into crashes, nothing worse.
#ifndef SYSV_COMPAT_FAULT_SAFE_COPY_H_
#define SYSV_COMPAT_FAULT_SAFE_COPY_H_

#include <cstddef>

namespace sysv::compat {

// Copies `size` bytes between the caller's memory and ours: `src` or `dst`
// is the caller's and may be bad. Returns false (and copies an unspecified
// part) when an access faults, or at once for a null pointer (the fault
// would be caught all the same, but memcpy with a null pointer is undefined
// behaviour and stops UBSan builds). A zero size copies nothing and
// succeeds.
bool FaultSafeCopy(void* dst, const void* src, size_t size);

// Runs `body(context)`, which reads or writes the caller's memory, inside
// one recovery window: returns false when one of its accesses faults, and
// `body` is then left at that access (through siglongjmp). For copies made
// in many pieces (a queue message's chain of blocks, under the queue's
// lock): one window instead of one per piece. `body` must be able to stop
// at any access: it takes no lock, allocates nothing and holds nothing that
// a jump out of it would leak (its caller may hold locks: they are released
// after the return, as after any other result).
bool FaultSafeRun(void (*body)(void* context), void* context);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_FAULT_SAFE_COPY_H_

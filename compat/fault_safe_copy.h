// Copying from a caller's buffer on a fast path, where the kernel would
// answer EFAULT for a bad pointer and a library must not crash, but also
// must not pay a system call for every good pointer (compat/user_memory.h
// does, for the slow paths).
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

// Copies `size` bytes from `src`, which the caller supplied and may be bad.
// Returns false (and copies an unspecified part) when reading it faults.
bool FaultSafeCopy(void* dst, const void* src, size_t size);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_FAULT_SAFE_COPY_H_

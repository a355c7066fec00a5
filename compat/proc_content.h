// What the kernel's System V IPC files read (Linux's /proc/sysvipc/* and
// SysV sysctls: backends/linux/kernel_files.h), for libsysv's namespace:
// built from the public API (the *_INFO max index and *_STAT_ANY of each
// index, as util-linux's ipcs walks them; the limits from IPC_INFO).
// compat/proc_files.cc serves them to open().
#ifndef SYSV_COMPAT_PROC_CONTENT_H_
#define SYSV_COMPAT_PROC_CONTENT_H_

#include <cstddef>
#include <string>

#include "backends/ipc_abi.h"

namespace sysv::compat {

// The file, as the C library's ABI names it (backends/ipc_abi.h:
// KernelFileOf()).
using ProcFile = abi::KernelFile;

// The file's content now; false with errno set (as the failing *ctl call
// set it) when the namespace cannot be read.
bool ProcFileContent(ProcFile file, std::string* content);

// The permission check of an open of sysctl `file` for writing, made by the
// daemon from the caller's credentials: true with the content, or false
// with errno (EACCES as the kernel's open() gives it).
bool OpenSysctlForWrite(ProcFile file, std::string* content);

// One write(2) of `size` bytes to sysctl `file` at offset 0: the bytes the
// namespace's handler took (core/ipc/sysctl.h), or -1 with errno (EINVAL,
// ERANGE, EACCES; E2BIG beyond wire::kSysctlMaxText bytes, where the
// kernel would read on).
long WriteSysctl(ProcFile file, const void* data, size_t size);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_PROC_CONTENT_H_

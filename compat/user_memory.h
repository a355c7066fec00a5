// Copies to and from caller-supplied buffers that may be bad pointers.
//
// The kernel answers EFAULT for a NULL, unmapped or read-only buffer; a
// library that dereferenced it would crash instead. These copies go through
// process_vm_readv/writev on our own process, which the kernel checks like
// any user access. They cost a system call, so only calls that already pay a
// daemon round trip use them; fast paths never do.
#ifndef SYSV_COMPAT_USER_MEMORY_H_
#define SYSV_COMPAT_USER_MEMORY_H_

#include <cstddef>

namespace sysv::compat {

// Return true on success, false when the kernel would report EFAULT.
bool CopyFromUser(void* dst, const void* user_src, size_t size);
bool CopyToUser(void* user_dst, const void* src, size_t size);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_USER_MEMORY_H_

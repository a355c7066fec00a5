// Object files no descriptor holder can resize: memfds sealed against
// growing and shrinking (DESIGN.md "Trust model", rule 3). tmpfs files cannot
// be sealed (F_ADD_SEALS answers EPERM), so a writer holding a region file's
// descriptor can cut it short, and every other process touching the cut part
// dies of SIGBUS until the daemon repairs it; a sealed memfd refuses the cut.
#ifndef SYSV_BACKENDS_LINUX_SEALED_REGION_H_
#define SYSV_BACKENDS_LINUX_SEALED_REGION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

// A new anonymous shared-memory file of `size` bytes of zeros (sparse, as
// shmget(2) promises), named `name` in /proc/<pid>/fd ("memfd:<name>"),
// mode 0600 (so that no other user reopens a read-only descriptor of it
// read-write through /proc/self/fd), open read-write and close-on-exec, sealed with F_SEAL_GROW |
// F_SEAL_SHRINK | F_SEAL_SEAL: ftruncate, fallocate past the end, writes
// past the end and further seals all fail with EPERM for every holder, the
// daemon included. Still allowed, as on a writable attach in the kernel:
// stores, writes inside the size, and punching holes (which read as zeros
// again; MADV_REMOVE does the same to a kernel segment). Results: the
// descriptor; the errno of memfd_create (ENOSYS before Linux 3.17, EMFILE,
// ENFILE, ENOMEM), of ftruncate (EFBIG, EINVAL) or of fcntl (EINVAL: the
// kernel cannot seal).
absl::StatusOr<sysv::backend::UniqueFd> CreateSealedRegion(const char* name, uint64_t size);

// Whether `fd` is a region made by CreateSealedRegion (its seals are there).
bool IsSealedRegion(int fd);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_SEALED_REGION_H_

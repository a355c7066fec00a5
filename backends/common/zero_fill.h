// Allocating a new file's blocks where posix_fallocate(3) does not exist
// (DragonFly): the daemon formats region files through shared mappings, and
// a store to a page the file system cannot allocate is SIGBUS; allocating
// first turns a full file system into an errno (daemon/sem_store.cc).
#ifndef SYSV_BACKENDS_COMMON_ZERO_FILL_H_
#define SYSV_BACKENDS_COMMON_ZERO_FILL_H_

#include <sys/types.h>

namespace sysv::backend {

// Writes zeros over bytes [0, size) of `fd`, which makes the file system
// allocate them, as posix_fallocate(fd, 0, size) would. REQUIRES: those
// bytes are zeros already or unused (a file just created or extended):
// they are overwritten. Results as posix_fallocate: 0, or an errno (ENOSPC
// on a full file system, the errno of pwrite otherwise); errno is kept.
int ZeroFill(int fd, off_t size);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_ZERO_FILL_H_

// Allocating a new file's blocks where posix_fallocate(3) does not exist
// (DragonFly): the daemon formats region files through shared mappings, and
// a store to a page the file system cannot allocate is SIGBUS; allocating
// first turns a full file system into an errno (daemon/sem_store.cc).
#ifndef SYSV_BACKENDS_COMMON_ZERO_FILL_H_
#define SYSV_BACKENDS_COMMON_ZERO_FILL_H_

#include <sys/types.h>

namespace sysv::backend {

// Writes zeros over bytes [from, size) of `fd`, which makes the file system
// allocate them, as posix_fallocate(fd, from, size - from) would.
// REQUIRES: those bytes are zeros already or unused (a file just created,
// or the part a grow adds): they are overwritten, so a caller growing a
// file whose start holds data passes the old size as `from`. Results as
// posix_fallocate: 0, or an errno (ENOSPC on a full file system, the errno
// of pwrite otherwise); errno is kept.
int ZeroFill(int fd, off_t size, off_t from = 0);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_ZERO_FILL_H_

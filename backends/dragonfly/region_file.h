// Region files on DragonFly: the POSIX implementation in
// backends/common/posix_region_file.h, under this backend's names, so that
// code written against backends/linux/region_file.h finds the same
// functions here (CreateRegionFile, OpenRegionFile, UnlinkRegionFile,
// FileSize, MappedRegion).
//
// One difference: there is no ReopenReadOnly(fd). Linux reopens a
// descriptor read-only through /proc/self/fd/N; DragonFly has no such path
// (its /dev/fd/N dup()s the descriptor with its write access,
// sys/kern/kern_descrip.c:dupfdopen()), and no O_EMPTYPATH or fhopen() an
// unprivileged daemon could use. ReopenReadOnlyAt(dir_fd, name, fd) opens
// the name instead and checks it is still the same file (ESTALE otherwise),
// so the daemon makes an object's read-only descriptor while its name
// exists, when it creates or opens the object.
//
// Everything here is portable POSIX and is tested on Linux
// (backends/common/posix_region_file_test.cc, region_file_test.cc).
#ifndef SYSV_BACKENDS_DRAGONFLY_REGION_FILE_H_
#define SYSV_BACKENDS_DRAGONFLY_REGION_FILE_H_

#include "backends/common/posix_region_file.h"

namespace sysv::dragonfly_backend {

using ::sysv::backend::CreateRegionFile;
using ::sysv::backend::FileSize;
using ::sysv::backend::MappedRegion;
using ::sysv::backend::OpenRegionFile;
using ::sysv::backend::ReopenReadOnlyAt;
using ::sysv::backend::UnlinkRegionFile;

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_REGION_FILE_H_

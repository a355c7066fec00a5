// The paths of Linux's System V IPC files that libsysv serves (part of
// glibc's ABI, backends/linux/ipc_abi.h): util-linux's ipcs, LTP and
// administrators' scripts read /proc/sysvipc/{shm,sem,msg} and the SysV
// sysctls in /proc/sys/kernel rather than calling *ctl.
#ifndef SYSV_BACKENDS_LINUX_KERNEL_FILES_H_
#define SYSV_BACKENDS_LINUX_KERNEL_FILES_H_

#include <cstring>

#include "backends/common/kernel_file.h"

namespace sysv::abi {

using backend::IsListing;
using backend::KernelFile;

// The one test every open() pays: every served path starts "/proc/s".
inline bool MaybeKernelFile(const char* path) {
  return path != nullptr && path[0] == '/' && path[1] == 'p' && path[2] == 'r' && path[3] == 'o' &&
         path[4] == 'c' && path[5] == '/' && path[6] == 's';
}

// The file `path` names, exactly as written (no "..", "//" or symbolic
// links resolved), or kNone.
inline KernelFile KernelFileOf(const char* path) {
  struct Entry {
    const char* path;
    KernelFile file;
  };
  static constexpr Entry kEntries[] = {
      {"/proc/sysvipc/shm", KernelFile::kSysvShm},
      {"/proc/sysvipc/sem", KernelFile::kSysvSem},
      {"/proc/sysvipc/msg", KernelFile::kSysvMsg},
      {"/proc/sys/kernel/shmmax", KernelFile::kShmmax},
      {"/proc/sys/kernel/shmall", KernelFile::kShmall},
      {"/proc/sys/kernel/shmmni", KernelFile::kShmmni},
      {"/proc/sys/kernel/sem", KernelFile::kSem},
      {"/proc/sys/kernel/msgmax", KernelFile::kMsgmax},
      {"/proc/sys/kernel/msgmnb", KernelFile::kMsgmnb},
      {"/proc/sys/kernel/msgmni", KernelFile::kMsgmni},
      {"/proc/sys/kernel/shm_next_id", KernelFile::kShmNextId},
      {"/proc/sys/kernel/sem_next_id", KernelFile::kSemNextId},
      {"/proc/sys/kernel/msg_next_id", KernelFile::kMsgNextId},
  };
  if (!MaybeKernelFile(path)) return KernelFile::kNone;
  for (const Entry& entry : kEntries) {
    if (std::strcmp(path, entry.path) == 0) return entry.file;
  }
  return KernelFile::kNone;
}

}  // namespace sysv::abi

#endif  // SYSV_BACKENDS_LINUX_KERNEL_FILES_H_

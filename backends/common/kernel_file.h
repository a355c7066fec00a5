// The kernel files about System V IPC that libsysv can stand in for
// (compat/proc_files.cc serves them from the namespace), by what they
// hold. Which path names which is the C library's ABI's business:
// backends/*/ipc_abi.h's KernelFileOf().
#ifndef SYSV_BACKENDS_COMMON_KERNEL_FILE_H_
#define SYSV_BACKENDS_COMMON_KERNEL_FILE_H_

namespace sysv::backend {

// The listings of each kind's objects, then the sysctls in core::Sysctl's
// order (compat/proc_content.cc relies on it).
enum class KernelFile {
  kNone,
  kSysvShm,
  kSysvSem,
  kSysvMsg,
  kShmmax,
  kShmall,
  kShmmni,
  kSem,
  kMsgmax,
  kMsgmnb,
  kMsgmni,
  kShmNextId,
  kSemNextId,
  kMsgNextId,
};

// True for the object listings; the others are sysctls (writable by root
// on the kernel).
inline bool IsListing(KernelFile file) {
  return file == KernelFile::kSysvShm || file == KernelFile::kSysvSem || file == KernelFile::kSysvMsg;
}

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_KERNEL_FILE_H_

// The kernel's own System V IPC limits and the machine's load, for the
// benchmark's kernel side (tools/bench): the role of
// backends/linux/kernel_ipc_tuning.h.
//
// DragonFly's kern.ipc.shmmni, semmni and msgmni are boot-time tunables
// (TUNABLE_INT, read-only sysctls: sys/kern/sysv_{shm,sem,msg}.c), so a
// running system cannot raise them; nor has it IPC namespaces, so the
// benchmark never asks (platform::EnterPrivateIpcNamespace says ENOSYS).
// The load is getloadavg(3).
#ifndef SYSV_BACKENDS_DRAGONFLY_KERNEL_IPC_TUNING_H_
#define SYSV_BACKENDS_DRAGONFLY_KERNEL_IPC_TUNING_H_

#include <stdlib.h>

#include <array>
#include <cerrno>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {

// EPERM: the sysctl is read-only (set kern.ipc.* in /boot/loader.conf).
inline absl::Status SetKernelShmmni(int /*value*/) {
  return core::ErrnoStatus(EPERM, "kern.ipc.shmmni is a boot-time tunable");
}
inline absl::Status SetKernelSemmni(int /*value*/) {
  return core::ErrnoStatus(EPERM, "kern.ipc.semmni is a boot-time tunable");
}
inline absl::Status SetKernelMsgmni(int /*value*/) {
  return core::ErrnoStatus(EPERM, "kern.ipc.msgmni is a boot-time tunable");
}

// The 1-, 5- and 15-minute load averages, getloadavg(3) (sysctl vm.loadavg).
// Errors: EIO when it reports fewer than three.
inline absl::StatusOr<std::array<double, 3>> LoadAverages() {
  std::array<double, 3> loads{};
  if (getloadavg(loads.data(), 3) != 3) return core::ErrnoStatus(EIO, "getloadavg");
  return loads;
}

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_KERNEL_IPC_TUNING_H_

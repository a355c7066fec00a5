// The kernel's own System V IPC limits and the machine's load, for the
// benchmark's kernel side (tools/bench): the sysctls under /proc/sys/kernel
// (those of the caller's IPC namespace) and /proc/loadavg.
#ifndef SYSV_BACKENDS_LINUX_KERNEL_IPC_TUNING_H_
#define SYSV_BACKENDS_LINUX_KERNEL_IPC_TUNING_H_

#include <array>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sysv::linux_backend {

// Sets the kernel's shmmni, semmni (the fourth field of kernel.sem, the
// others kept) or msgmni in the caller's IPC namespace. Results: OK; the
// errno of the failing open, read or write (EACCES without root).
absl::Status SetKernelShmmni(int value);
absl::Status SetKernelSemmni(int value);
absl::Status SetKernelMsgmni(int value);

// The 1-, 5- and 15-minute load averages. Errors: the errno of the open;
// EIO when the text does not parse.
absl::StatusOr<std::array<double, 3>> LoadAverages();

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_KERNEL_IPC_TUNING_H_

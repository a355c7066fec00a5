#include "tools/bench/kernel_namespace.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"

namespace sysv::bench {

KernelNamespace EnterPrivateKernelNamespace(int shmmni) {
  KernelNamespace result;
  // DragonFly has none (ENOSYS): the kernel side then runs among the
  // host's objects, and the report says so.
  if (absl::Status entered = platform::EnterPrivateIpcNamespace(); !entered.ok()) {
    result.note = absl::StrCat("host IPC namespace (", entered.message(), ")");
    return result;
  }
  result.is_private = true;
  // The kernel's IPC sysctls are those of the namespace of the process
  // that writes them.
  if (absl::Status raised = platform::SetKernelShmmni(shmmni); !raised.ok()) {
    result.note =
        absl::StrCat("private IPC namespace, shmmni not raised (", std::strerror(core::ErrnoOf(raised)), ")");
  }
  return result;
}

std::string RaiseKernelObjectLimits(int count) {
  std::string failed;
  if (!platform::SetKernelSemmni(count).ok()) failed += " semmni";
  if (!platform::SetKernelMsgmni(count).ok()) failed += " msgmni";
  return failed;
}

}  // namespace sysv::bench

#include "tools/bench/kernel_namespace.h"

#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sysv::bench {

KernelNamespace EnterPrivateKernelNamespace(int shmmni) {
  KernelNamespace result;
  if (unshare(CLONE_NEWIPC) != 0) {
    result.note = absl::StrCat("host IPC namespace (unshare(CLONE_NEWIPC): ", std::strerror(errno), ")");
    return result;
  }
  result.is_private = true;
  // The IPC sysctls under /proc/sys/kernel are those of the namespace of
  // the process that writes them.
  std::FILE* file = std::fopen("/proc/sys/kernel/shmmni", "w");
  const bool written = file != nullptr && std::fprintf(file, "%d\n", shmmni) > 0;
  const bool closed = file != nullptr && std::fclose(file) == 0;
  if (!written || !closed) {
    result.note = absl::StrCat("private IPC namespace, shmmni not raised (", std::strerror(errno), ")");
  }
  return result;
}

}  // namespace sysv::bench

#include "tools/bench/kernel_namespace.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "backends/platform.h"

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

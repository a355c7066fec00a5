#include "backends/common/namespace_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"

namespace sysv::backend {

std::string ResolveNamespaceDir() {
  if (const char* dir = std::getenv(kDirEnv); dir != nullptr && *dir != '\0') return dir;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime != nullptr && *runtime != '\0') {
    return absl::StrCat(runtime, "/sysvipc");
  }
  struct stat st;
  const char* base = (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)) ? "/dev/shm" : "/tmp";
  return absl::StrCat(base, "/sysvipc-", geteuid());
}

}  // namespace sysv::backend

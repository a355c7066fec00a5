#include "backends/common/environment.h"

#include <unistd.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif

#include <cstdlib>

namespace sysv::backend {

bool SecureExecution() {
#if defined(__linux__)
  return getauxval(AT_SECURE) != 0;
#else
  return issetugid() != 0;  // the BSDs' name for the same condition
#endif
}

const char* OurVariable(const char* name) {
#if defined(__linux__)
  const char* value = secure_getenv(name);
#else
  const char* value = SecureExecution() ? nullptr : std::getenv(name);
#endif
  return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace sysv::backend

#include "tests/testing/process_state.h"

#include <cstdio>
#include <cstring>

namespace sysv::testing {

char ProcessState(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  FILE* file = std::fopen(path, "r");
  if (file == nullptr) return 0;
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, file);
  std::fclose(file);
  // The command name (in parentheses) may hold spaces: the state follows
  // the last ')'.
  const char* close = std::strrchr(buf, ')');
  if (n == 0 || close == nullptr || close[1] == 0) return 0;
  return close[2];
}

std::string WaitChannel(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/wchan", static_cast<int>(pid));
  FILE* file = std::fopen(path, "r");
  if (file == nullptr) return "";
  char buf[128] = {};
  (void)!std::fread(buf, 1, sizeof(buf) - 1, file);
  std::fclose(file);
  return buf;
}

bool AsleepInIpcWait(pid_t pid) {
  const char state = ProcessState(pid);
  if (state == 0 || state == 'Z') return true;
  if (state != 'S') return false;
  const std::string wchan = WaitChannel(pid);
  return wchan.find("msg") != std::string::npos || wchan.find("sem") != std::string::npos ||
         wchan.find("futex") != std::string::npos;
}

}  // namespace sysv::testing

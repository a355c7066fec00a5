// kinfo_sys.h over DragonFly's sysctl(3) and lwp_gettid(2). DragonFly only (BUILD:
// target_compatible_with //build_defs:dragonfly_os).
//
// sysctl's prototype is in sys/sys/sysctl.h (`int sysctl(const int *, u_int,
// void *, size_t *, const void *, size_t)`); struct kinfo_proc is in
// sys/sys/kinfo.h, which must be reached through sys/user.h. The layout the
// portable decoder assumes is checked in dragonfly_abi_check.cc.
#include <sys/types.h>
#include <sys/param.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#include <sys/lwp.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

#include "backends/dragonfly/kinfo_sys.h"

namespace sysv::dragonfly_backend {

size_t KinfoProcSize() { return sizeof(struct kinfo_proc); }

int ReadKinfoProc(pid_t pid, void* buffer, size_t* length) {
  const int name[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, static_cast<int>(pid)};
  return sysctl(name, 4, buffer, length, nullptr, 0);
}

int ReadKinfoLwps(pid_t pid, void* buffer, size_t* length) {
  const int name[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID | KERN_PROC_FLAG_LWP,
                       static_cast<int>(pid)};
  return sysctl(name, 4, buffer, length, nullptr, 0);
}

int32_t CurrentLwpId() { return lwp_gettid(); }

ssize_t ReadProcfsRlimit(pid_t pid, char* buffer, size_t size) {
  const std::string path = "/proc/" + std::to_string(pid) + "/rlimit";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t got;
  do {
    got = read(fd, buffer, size);
  } while (got < 0 && errno == EINTR);
  const int err = errno;
  close(fd);
  errno = err;
  return got;
}

ssize_t ReadOwnExecutablePath(char* buffer, size_t size) {
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PATHNAME, -1};
  size_t length = size;
  if (sysctl(mib, 4, buffer, &length, nullptr, 0) != 0) return -1;
  // The length counts the NUL the kernel stored.
  return length > 0 ? static_cast<ssize_t>(length - 1) : 0;
}

int InJail() {
  int jailed = 0;
  size_t length = sizeof(jailed);
  if (sysctlbyname("jail.jailed", &jailed, &length, nullptr, 0) != 0) return -1;
  return jailed != 0 ? 1 : 0;
}

}  // namespace sysv::dragonfly_backend

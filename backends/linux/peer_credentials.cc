#include "backends/linux/peer_credentials.h"

#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "backends/common/raw_syscalls.h"
#include "core/ipc/credentials.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::core::Credentials;
using ::sysv::core::ErrnoStatus;

static_assert(sizeof(uid_t) == sizeof(uint32_t));
static_assert(sizeof(gid_t) == sizeof(uint32_t));
static_assert(sizeof(pid_t) == sizeof(int32_t));

// Most processes have few supplementary groups; start small and grow.
constexpr size_t kInitialGroups = 32;

// Narrows the capabilities Credentials::ForIds() gives root to those in an
// effective set (bit n: capability n): root may run without some (a
// container that drops CAP_SYS_RESOURCE). Only narrows: a capability is
// never granted to a caller that is not root.
void NarrowToCapabilities(uint64_t effective, Credentials& creds) {
  auto has = [effective](int capability) { return ((effective >> capability) & 1) != 0; };
  creds.cap_ipc_lock = creds.cap_ipc_lock && has(14);           // CAP_IPC_LOCK
  creds.cap_ipc_owner = creds.cap_ipc_owner && has(15);         // CAP_IPC_OWNER
  creds.cap_sys_admin = creds.cap_sys_admin && has(21);         // CAP_SYS_ADMIN
  creds.cap_sys_resource = creds.cap_sys_resource && has(24);  // CAP_SYS_RESOURCE
  creds.cap_checkpoint_restore = creds.cap_checkpoint_restore && has(40);  // CAP_CHECKPOINT_RESTORE
}

// A peer's effective set, from /proc/<pid>/status ("CapEff:"). The file
// describes the thread group leader, and the caller may be another thread
// with credentials of its own: hence narrowing only. When the file cannot
// be read (the process is gone), the default stays.
void NarrowToPeerCapabilities(pid_t pid, Credentials& creds) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(pid));
  FILE* file = std::fopen(path, "re");
  if (file == nullptr) return;
  char line[256];
  unsigned long long effective = 0;
  bool found = false;
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    if (std::sscanf(line, "CapEff: %llx", &effective) == 1) {
      found = true;
      break;
    }
  }
  std::fclose(file);
  if (found) NarrowToCapabilities(effective, creds);
}

// The calling thread's own effective set: capget(2), one cheap system call
// (clients compare their credentials on every call to the daemon).
void NarrowToOwnCapabilities(Credentials& creds) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return;
  NarrowToCapabilities(uint64_t{data[0].effective} | (uint64_t{data[1].effective} << 32), creds);
}

}  // namespace

absl::StatusOr<Credentials> PeerCredentials(int fd) {
  struct ucred cred;
  socklen_t length = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
    return ErrnoStatus(errno, "getsockopt(SO_PEERCRED)");
  }
  // A socket that was never connected answers SO_PEERCRED with pid 0 and the
  // overflow ids rather than failing; SO_PEERGROUPS below then fails with
  // ENODATA, which is what the caller sees.
  if (length != sizeof(cred)) {
    return ErrnoStatus(EIO, "getsockopt(SO_PEERCRED): short answer");
  }

  std::vector<gid_t> groups(kInitialGroups);
  for (;;) {
    socklen_t size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size) == 0) {
      groups.resize(size / sizeof(gid_t));
      break;
    }
    // ERANGE: the buffer is too small and `size` now holds the size needed.
    if (errno != ERANGE || size <= groups.size() * sizeof(gid_t)) {
      return ErrnoStatus(errno, "getsockopt(SO_PEERGROUPS)");
    }
    groups.resize(size / sizeof(gid_t));
  }
  Credentials creds = Credentials::ForIds(cred.pid, cred.uid, cred.gid,
                                         std::vector<uint32_t>(groups.begin(), groups.end()));
  NarrowToPeerCapabilities(cred.pid, creds);
  return creds;
}

absl::StatusOr<Credentials> CurrentCredentials() { return CurrentCredentials(backend::RawGetpid()); }

absl::StatusOr<Credentials> CurrentCredentials(int32_t pid) {
  // Clients read these on every call to the daemon, so the common case is
  // one getgroups into a stack buffer (most processes have a handful of
  // groups); only a longer list takes the sizing call and the heap.
  constexpr int kStackGroups = 64;
  gid_t stack_groups[kStackGroups];
  std::vector<uint32_t> groups;
  // Raw: the kernel's identity, not an interposer's (raw_syscalls.h).
  const int got = backend::RawGetgroups(kStackGroups, stack_groups);
  if (got >= 0) {
    groups.assign(stack_groups, stack_groups + got);
  } else if (errno != EINVAL) {
    return ErrnoStatus(errno, "getgroups");
  } else {
    std::vector<gid_t> all;
    for (;;) {
      const int count = backend::RawGetgroups(0, nullptr);
      if (count < 0) return ErrnoStatus(errno, "getgroups");
      all.resize(static_cast<size_t>(count));
      const int listed = backend::RawGetgroups(count, all.data());
      if (listed >= 0) {
        all.resize(static_cast<size_t>(listed));
        break;
      }
      // EINVAL: another thread added groups between the two calls; ask again.
      if (errno != EINVAL) return ErrnoStatus(errno, "getgroups");
    }
    groups.assign(all.begin(), all.end());
  }
  Credentials creds = Credentials::ForIds(pid, backend::RawGeteuid(), backend::RawGetegid(), std::move(groups));
  NarrowToOwnCapabilities(creds);
  return creds;
}

}  // namespace sysv::linux_backend

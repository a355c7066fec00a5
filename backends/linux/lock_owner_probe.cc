#include "backends/linux/lock_owner_probe.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string_view>

#include "backends/common/raw_syscalls.h"
#include "backends/linux/proc_stat.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::core::LockOwner;
using ::sysv::core::OwnerLiveness;

// PIDFD_THREAD (Linux 6.9) is O_EXCL; older headers lack the name.
constexpr unsigned kPidfdThread = O_EXCL;

// What this process knows of its /proc and its PID namespace, once.
struct ProcessView {
  uint32_t namespace_hash = 0;  // the tag's upper bits, see TagOf
  bool proc_is_ours = false;    // /proc shows our PID namespace
  bool proc_shows_all = false;  // no hidepid= hides others from us
};

// Reads /proc/<tid>/stat (or `path`) into `buffer`; the length, or -1 with
// errno set.
ssize_t ReadSmallFile(const char* path, char* buffer, size_t size) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n;
  do {
    n = read(fd, buffer, size);
  } while (n < 0 && errno == EINTR);
  const int saved = errno;
  close(fd);
  errno = saved;
  return n;
}

std::optional<ProcStatLine> ReadThreadStat(const char* path) {
  char buffer[1024];
  const ssize_t n = ReadSmallFile(path, buffer, sizeof(buffer));
  if (n <= 0) return std::nullopt;
  return ParseProcStatLine(std::string_view(buffer, static_cast<size_t>(n)));
}

uint32_t NamespaceHash(uint64_t inode) {
  // Fibonacci hashing: the top bits of the product mix every bit of the inode.
  return static_cast<uint32_t>((inode * 0x9e37'79b9'7f4a'7c15ULL) >> (64 - (32 - LockOwnerProbe::kStartBits)));
}

const ProcessView& View() {
  static const ProcessView view = [] {
    ProcessView v;
    struct stat ns;
    // Raw: it may run while a region lock is held (backends/common/raw_syscalls.h).
    if (backend::RawFstatAt(AT_FDCWD, "/proc/self/ns/pid", &ns, 0) == 0) v.namespace_hash = NamespaceHash(ns.st_ino);
    const std::optional<ProcStatLine> self = ReadThreadStat("/proc/self/stat");
    v.proc_is_ours = self.has_value() && self->tid == static_cast<uint32_t>(getpid());
    v.proc_shows_all = access("/proc/1/stat", F_OK) == 0;
    return v;
  }();
  return view;
}

struct CachedSelf {
  bool valid;
  LockOwner owner;
};
constinit thread_local CachedSelf cached_self{};

void InvalidateInForkedChild() { cached_self.valid = false; }

LockOwner ComputeSelf() {
  static const bool atfork_registered = [] {
    return pthread_atfork(nullptr, nullptr, &InvalidateInForkedChild) == 0;
  }();
  (void)atfork_registered;  // without it a child recomputes nothing: see below
  const ProcessView& view = View();
  const uint32_t tid = static_cast<uint32_t>(gettid());
  uint64_t start = 0;
  if (view.proc_is_ours) {
    const std::optional<ProcStatLine> stat = ReadThreadStat("/proc/thread-self/stat");
    if (stat.has_value() && stat->tid == tid) start = stat->start_ticks;
  }
  const LockOwner owner{tid, (view.namespace_hash << LockOwnerProbe::kStartBits) |
                                 static_cast<uint32_t>(start & LockOwnerProbe::kStartMask)};
  // Cached only if a forked child will drop the cache; otherwise the child
  // would lock under its parent's TID. Without the handler (pthread_atfork
  // failed: out of memory) every Lock recomputes: slow, never wrong.
  if (atfork_registered) cached_self = CachedSelf{true, owner};
  return owner;
}

// /proc has no entry for `tid`; see the header for how this decides.
OwnerLiveness ConfirmGone(uint32_t tid) {
  if (View().proc_shows_all) return OwnerLiveness::kDead;
  const long fd = syscall(SYS_pidfd_open, static_cast<pid_t>(tid), kPidfdThread);
  if (fd >= 0) {
    close(static_cast<int>(fd));
    return OwnerLiveness::kUnknown;  // alive, hidden from our /proc
  }
  return errno == ESRCH ? OwnerLiveness::kDead : OwnerLiveness::kUnknown;
}

}  // namespace

uint32_t LockOwnerProbe::TagOf(uint64_t start_ticks, uint64_t pid_namespace_inode) {
  return (NamespaceHash(pid_namespace_inode) << kStartBits) |
         static_cast<uint32_t>(start_ticks & kStartMask);
}

LockOwner LockOwnerProbe::Self() {
  if (cached_self.valid) [[likely]] return cached_self.owner;
  return ComputeSelf();
}

OwnerLiveness LockOwnerProbe::Probe(LockOwner owner) {
  const ProcessView& view = View();
  if (!view.proc_is_ours || (owner.tag >> kStartBits) != view.namespace_hash) {
    return OwnerLiveness::kUnknown;
  }
  const int saved = errno;
  char path[32];
  std::snprintf(path, sizeof(path), "/proc/%u/stat", owner.tid);
  char buffer[1024];
  const ssize_t n = ReadSmallFile(path, buffer, sizeof(buffer));
  OwnerLiveness liveness = OwnerLiveness::kUnknown;
  if (n < 0) {
    // ESRCH: the thread was reaped between open and read.
    if (errno == ENOENT || errno == ESRCH) liveness = ConfirmGone(owner.tid);
  } else if (const std::optional<ProcStatLine> stat =
                 ParseProcStatLine(std::string_view(buffer, static_cast<size_t>(n)));
             stat.has_value() && stat->tid == owner.tid) {
    const bool zombie = stat->state == 'Z' || stat->state == 'X';
    const bool reused = (stat->start_ticks & kStartMask) != (owner.tag & kStartMask);
    liveness = zombie || reused ? OwnerLiveness::kDead : OwnerLiveness::kAlive;
  }
  errno = saved;
  return liveness;
}

}  // namespace sysv::linux_backend

// The set of client processes whose exits the daemon watches: an epoll set of
// their pidfds.
//
// Why a set of its own and not one event-loop watch per pidfd: the kernel
// detaches a dead process's segments before its parent can reap it, so a
// parent that calls shmctl(IPC_STAT) right after waitpid() sees the child's
// attachments gone. The daemon matches that by draining this set (one
// non-blocking epoll_wait) before it answers any request; the set's own
// descriptor is readable whenever a member has exited, so the event loop
// watches just that one descriptor for the idle case.
#ifndef SYSV_BACKENDS_LINUX_EXIT_WATCH_H_
#define SYSV_BACKENDS_LINUX_EXIT_WATCH_H_

#include <sys/types.h>

#include <vector>

#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

class ExitWatch {
 public:
  static absl::StatusOr<ExitWatch> Create();

  // Watches `pidfd` (owned by the caller, kept open until Remove) for the
  // exit of `pid`.
  absl::Status Add(pid_t pid, int pidfd);
  void Remove(int pidfd);

  // Readable while some watched process has exited and was not removed.
  int fd() const { return epoll_.get(); }

  // The pids among the watched that have exited, without blocking. They stay
  // watched (and reported) until removed.
  std::vector<pid_t> Exited();

 private:
  explicit ExitWatch(backend::UniqueFd epoll) : epoll_(std::move(epoll)) {}
  backend::UniqueFd epoll_;
};

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_EXIT_WATCH_H_

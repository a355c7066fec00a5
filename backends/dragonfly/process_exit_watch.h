// ExitWatch as the daemon uses it (backends/<os>/platform.h): processes
// are added with their process descriptor (process_handle.h) and removed by
// it, as on Linux, where the watch polls the pidfds themselves. Here the
// descriptor is only the key: ExitWatch (exit_watch.h) watches the pid
// with its own EVFILT_PROC note, in one kqueue for all, so collecting the
// exits costs one kevent() call however many processes are watched.
#ifndef SYSV_BACKENDS_DRAGONFLY_PROCESS_EXIT_WATCH_H_
#define SYSV_BACKENDS_DRAGONFLY_PROCESS_EXIT_WATCH_H_

#include <sys/types.h>

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/dragonfly/exit_watch.h"

namespace sysv::dragonfly_backend {

class ProcessExitWatch {
 public:
  // Results: as ExitWatch::Create.
  static absl::StatusOr<ProcessExitWatch> Create() {
    absl::StatusOr<ExitWatch> watch = ExitWatch::Create();
    if (!watch.ok()) return watch.status();
    return ProcessExitWatch(*std::move(watch));
  }

  // Watches `pid`, whose process descriptor is `process_fd` (kept open by
  // the caller until Remove). Results: as ExitWatch::Add.
  absl::Status Add(pid_t pid, int process_fd) {
    if (absl::Status status = watch_.Add(pid); !status.ok()) return status;
    pid_of_[process_fd] = pid;
    return absl::OkStatus();
  }

  // Stops watching the process of `process_fd`; a no-op if not watched.
  void Remove(int process_fd) {
    auto it = pid_of_.find(process_fd);
    if (it == pid_of_.end()) return;
    watch_.Remove(it->second);
    pid_of_.erase(it);
  }

  // Readable while some exit has not been collected by Exited().
  int fd() const { return watch_.fd(); }

  // The watched pids that have exited, reported until removed.
  std::vector<pid_t> Exited() { return watch_.Exited(); }

 private:
  explicit ProcessExitWatch(ExitWatch watch) : watch_(std::move(watch)) {}
  ExitWatch watch_;
  absl::flat_hash_map<int, pid_t> pid_of_;
};

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_PROCESS_EXIT_WATCH_H_

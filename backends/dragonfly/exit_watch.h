// The set of client processes whose exits the daemon watches: a kqueue of
// EVFILT_PROC / NOTE_EXIT registrations, one per pid (DESIGN.md, decision 5).
//
// The role of backends/linux/exit_watch.h, over DragonFly's mechanism. Why a
// set of its own and not event-loop watches: the daemon drains it (one
// kevent() that does not wait) before answering any request, so that a
// parent that calls shmctl(IPC_STAT) right after waitpid() sees its dead
// child's attachments gone, as with the kernel. The set's own descriptor is
// readable whenever an exit is waiting to be collected, so the event loop
// watches just that one descriptor for the idle case.
//
// Differences from the Linux class, both from the mechanism:
//   - Processes are named by pid alone: DragonFly has no process
//     descriptors. The kernel attaches the note to the process itself
//     (filt_procattach()), so it fires for the process that had the pid at
//     Add(), never for a later one; but once collected, a pid says nothing
//     about which process it was (the old one may have been reaped and its
//     pid reused meanwhile): callers tell processes apart by start time
//     (process_watch.h), as with Linux pids. Add() of a pid whose process
//     has already been reaped fails with ESRCH.
//   - Exit notes are one-shot (filt_proc() sets EV_ONESHOT at exit), so an
//     exit leaves the kqueue once collected. Exited() remembers it and keeps
//     returning the pid until Remove(), as the Linux class does, but fd() is
//     readable only while some exit has not been collected yet.
//
// Portable: only kqueue_sys.h is called, so it is tested on Linux against the
// epoll/pidfd double.
#ifndef SYSV_BACKENDS_DRAGONFLY_EXIT_WATCH_H_
#define SYSV_BACKENDS_DRAGONFLY_EXIT_WATCH_H_

#include <sys/types.h>

#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sysv::dragonfly_backend {

class ExitWatch {
 public:
  // Creates the kqueue. Results: the watch; or the errno of kqueue()
  // (EMFILE, ENFILE, ENOMEM) as an ErrnoStatus.
  static absl::StatusOr<ExitWatch> Create();

  ExitWatch(ExitWatch&& other) noexcept;
  ExitWatch& operator=(ExitWatch&& other) noexcept;
  ExitWatch(const ExitWatch&) = delete;
  ExitWatch& operator=(const ExitWatch&) = delete;
  ~ExitWatch();

  // Watches `pid` for its exit. A zombie (exited, not yet reaped) is
  // accepted and reported by the next Exited(). Adding a pid already watched
  // is OK and changes nothing; adding one that was reported but not removed
  // watches it afresh. Results:
  //   OK;
  //   ESRCH   no such process: it does not exist or has been reaped;
  //   EACCES  the process is in another jail;
  //   ENOMEM  out of kernel memory for the note.
  absl::Status Add(pid_t pid);

  // Stops watching `pid` and forgets a reported exit; a no-op for a pid not
  // watched. After it returns, Exited() never reports `pid` again unless it
  // is added again.
  void Remove(pid_t pid);

  // Readable while some exit has not been collected by Exited() (see the
  // file comment).
  int fd() const { return kq_; }

  // The watched pids that have exited, without blocking: those collected now
  // and those collected earlier but not removed, in ascending order. Exits
  // of pids removed meanwhile are dropped.
  std::vector<pid_t> Exited();

 private:
  explicit ExitWatch(int kq) : kq_(kq) {}

  int kq_ = -1;  // owned; closed through KqueueClose()
  absl::flat_hash_set<pid_t> watched_;  // added, exit not yet collected
  absl::flat_hash_set<pid_t> exited_;   // exit collected, not yet removed
};

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_EXIT_WATCH_H_

// Object lifecycles: creating and removing many objects of each kind (the
// rows at 100, 1,000 and 10,000 objects show how the cost per object grows
// with the number of objects alive), and many short-lived client processes
// (for libsysv, each one registers with the daemon and is reaped by it).
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/ipc/errno_status.h"
#include "tools/bench/scenario.h"
#include "tools/bench/scenario_support.h"

namespace sysv::bench {
namespace {

// Creates `count` IPC_PRIVATE objects of `kind` (one-page segments,
// one-semaphore sets, queues), then removes them all: objects per second,
// one object being a create and a remove. Objects are removed in creation
// order, which for both sides is the order of their ids.
absl::StatusOr<Sample> CreateRemove(const BenchApi& api, ScopedObject::Kind kind, long count) {
  std::vector<ScopedObject> objects;
  objects.reserve(static_cast<size_t>(count));
  Stopwatch watch;
  for (long i = 0; i < count; ++i) {
    absl::StatusOr<ScopedObject> object =
        ScopedObject::Create(api, kind, kind == ScopedObject::kShm ? 4096 : 1);
    if (!object.ok()) return object.status();  // `objects` removes the rest.
    objects.push_back(*std::move(object));
  }
  for (ScopedObject& object : objects) {
    if (absl::Status removed = RemoveObject(api, kind, object.id()); !removed.ok()) return removed;
    object.Release();
  }
  return Sample{static_cast<double>(count), watch.Seconds()};
}

// Forks `count` processes at once; each makes one call (IPC_STAT of an
// existing segment) and exits. Processes per second, fork to last reap.
absl::StatusOr<Sample> Clients(const BenchApi& api, long count) {
  absl::StatusOr<ScopedObject> segment = ScopedObject::Create(api, ScopedObject::kShm, 4096);
  if (!segment.ok()) return segment.status();
  const int id = segment->id();
  const pid_t parent = getpid();
  std::vector<pid_t> children;
  children.reserve(static_cast<size_t>(count));
  absl::Status failure = absl::OkStatus();
  Stopwatch watch;
  for (long i = 0; i < count; ++i) {
    const pid_t pid = fork();
    if (pid < 0) {
      failure = core::ErrnoStatus(errno, absl::StrCat("fork: ", std::strerror(errno)));
      break;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(ECHILD);
      struct shmid_ds ds;
      _exit(api.shmctl(id, IPC_STAT, &ds) == 0 ? 0 : errno);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (const int err = WorkerErrno(status); err != 0 && failure.ok()) {
      failure = core::ErrnoStatus(err, absl::StrCat("client process: ", std::strerror(err)));
    }
  }
  const double seconds = watch.Seconds();
  if (!failure.ok()) return failure;
  return Sample{static_cast<double>(count), seconds};
}

}  // namespace

void AddLifecycleScenarios(std::vector<Scenario>& out, const RunSize& size) {
  struct Kind {
    ScopedObject::Kind kind;
    const char* name;
    const char* what;
  };
  const std::vector<long> counts =
      size.quick ? std::vector<long>{10, 100, 1000} : std::vector<long>{100, 1000, 10000};
  for (const Kind& kind : {Kind{ScopedObject::kShm, "shm", "one-page segments"},
                           Kind{ScopedObject::kSem, "sem", "one-semaphore sets"},
                           Kind{ScopedObject::kMsg, "msg", "message queues"}}) {
    for (long count : counts) {
      out.push_back({absl::StrCat("objects/", kind.name, "/", count),
                     absl::StrCat("create ", count, " ", kind.what, ", then remove them all"), "object",
                     Figure::kTimePerOp, std::nullopt, count >= 1000,
                     [kind = kind.kind, count](const BenchApi& api, const RunSize&) {
                       return CreateRemove(api, kind, count);
                     }});
    }
  }
  const long clients = size.Count(200, 20);
  out.push_back({absl::StrCat("clients/", clients),
                 absl::StrCat(clients, " processes forked at once, one IPC_STAT each, exit"), "process",
                 Figure::kRate, std::nullopt, false,
                 [clients](const BenchApi& api, const RunSize&) { return Clients(api, clients); }});
}

}  // namespace sysv::bench

// Object lifecycles: creating and removing many objects of each kind (the
// rows at 100, 1,000 and 10,000 objects show how the cost per object grows
// with the number of objects alive), and many short-lived client processes
// (for libsysv, each one registers with the daemon and is reaped by it).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/platform.h"
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

// *get of `key` in `kind` (IPC_CREAT with `flags`), as each API spells it.
int GetKey(const BenchApi& api, ScopedObject::Kind kind, key_t key, int flags) {
  switch (kind) {
    case ScopedObject::kShm:
      return api.shmget(key, 4096, flags);
    case ScopedObject::kSem:
      return api.semget(key, 1, flags);
    case ScopedObject::kMsg:
      return api.msgget(key, flags);
  }
  return -1;
}

// Creates kLookupObjects objects of `kind` with keys, then looks the keys
// up again, round after round (shmget/semget/msgget of an existing key
// without IPC_CREAT, as a program that attaches to a server's objects by
// key does): lookups per second. Then removes them.
absl::StatusOr<Sample> Lookup(const BenchApi& api, ScopedObject::Kind kind, long count) {
  constexpr long kLookupObjects = 100;
  constexpr key_t kBaseKey = 0x5b140000;
  std::vector<ScopedObject> objects;
  std::vector<int> ids;
  for (long i = 0; i < kLookupObjects; ++i) {
    const int id = GetKey(api, kind, kBaseKey + static_cast<key_t>(i), IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) return CallFailed(api, "get with IPC_CREAT|IPC_EXCL");
    ids.push_back(id);
    objects.push_back(ScopedObject::Adopt(api, kind, id));
  }
  Stopwatch watch;
  for (long i = 0; i < count; ++i) {
    const long which = i % kLookupObjects;
    if (GetKey(api, kind, kBaseKey + static_cast<key_t>(which), 0600) != ids[static_cast<size_t>(which)]) {
      return CallFailed(api, "get of an existing key");
    }
  }
  return Sample{static_cast<double>(count), watch.Seconds()};
}

// Has a child process create `count` objects of `kind` with keys, then gets
// each key once (no IPC_CREAT), as a program finding a server's objects by
// key does: the first get of a key in this process, which no earlier call
// of this process could have answered. Lookups per second. Then removes
// them.
absl::StatusOr<Sample> FirstLookup(const BenchApi& api, ScopedObject::Kind kind, long count) {
  constexpr key_t kBaseKey = 0x5b150000;
  const pid_t parent = getpid();
  const pid_t creator = fork();
  if (creator < 0) return core::ErrnoStatus(errno, absl::StrCat("fork: ", std::strerror(errno)));
  if (creator == 0) {
    if (!platform::DieWithParent(parent, SIGKILL)) _exit(127);
    for (long i = 0; i < count; ++i) {
      if (GetKey(api, kind, kBaseKey + static_cast<key_t>(i), IPC_CREAT | IPC_EXCL | 0600) < 0) _exit(errno);
    }
    _exit(0);
  }
  int status = 0;
  while (waitpid(creator, &status, 0) < 0 && errno == EINTR) {
  }
  std::vector<ScopedObject> objects;
  objects.reserve(static_cast<size_t>(count));
  // Whatever the child made is removed, even when it failed part way.
  const auto adopt_rest = [&](long from) {
    for (long i = from; i < count; ++i) {
      const int id = GetKey(api, kind, kBaseKey + static_cast<key_t>(i), 0600);
      if (id >= 0) objects.push_back(ScopedObject::Adopt(api, kind, id));
    }
  };
  if (const int err = WorkerErrno(status); err != 0) {
    adopt_rest(0);
    return core::ErrnoStatus(err, absl::StrCat("creating process: ", std::strerror(err)));
  }
  Stopwatch watch;
  for (long i = 0; i < count; ++i) {
    const int id = GetKey(api, kind, kBaseKey + static_cast<key_t>(i), 0600);
    if (id < 0) {
      absl::Status failed = CallFailed(api, "first get of an existing key");
      adopt_rest(i + 1);
      return failed;
    }
    objects.push_back(ScopedObject::Adopt(api, kind, id));
  }
  return Sample{static_cast<double>(count), watch.Seconds()};
}

// semget of a key nobody made, without IPC_CREAT, `count` times: ENOENT.
// libsysv answers no absent key from the mapped tables (only the daemon
// may say ENOENT), so each call is one daemon round trip doing almost no
// work: the floor under every call the daemon must answer, creation and
// IPC_RMID included (issue #14).
absl::StatusOr<Sample> AbsentKey(const BenchApi& api, long count) {
  constexpr key_t kAbsentKey = 0x5b16fff0;
  Stopwatch watch;
  for (long i = 0; i < count; ++i) {
    if (api.semget(kAbsentKey, 1, 0600) >= 0 || errno != ENOENT) return CallFailed(api, "semget of an absent key");
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
      if (!platform::DieWithParent(parent, SIGKILL)) _exit(ECHILD);
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
    // Issue #14's targets: a create and a remove are two daemon round trips
    // against the kernel's two system calls.
    const double target = kind.kind == ScopedObject::kShm ? 0.5 : 0.25;
    for (long count : counts) {
      out.push_back({absl::StrCat("objects/", kind.name, "/", count),
                     absl::StrCat("create ", count, " ", kind.what, ", then remove them all"), "object",
                     Figure::kTimePerOp, target, count >= 1000,
                     [kind = kind.kind, count](const BenchApi& api, const RunSize&) {
                       return CreateRemove(api, kind, count);
                     }});
    }
  }
  for (const Kind& kind : {Kind{ScopedObject::kShm, "shm", "segments"}, Kind{ScopedObject::kSem, "sem", "sets"},
                           Kind{ScopedObject::kMsg, "msg", "queues"}}) {
    const long lookups = size.Count(100000, 1000);
    out.push_back({absl::StrCat("objects/", kind.name, "/lookup"),
                   absl::StrCat("get by key (no IPC_CREAT) of 100 existing ", kind.what), "lookup",
                   Figure::kTimePerOp, 1.0, false, [kind = kind.kind, lookups](const BenchApi& api, const RunSize&) {
                     return Lookup(api, kind, lookups);
                   }});
  }
  for (const Kind& kind : {Kind{ScopedObject::kShm, "shm", "segments"}, Kind{ScopedObject::kSem, "sem", "sets"},
                           Kind{ScopedObject::kMsg, "msg", "queues"}}) {
    const long keys = size.Count(1000, 100);
    out.push_back({absl::StrCat("objects/", kind.name, "/first-lookup"),
                   absl::StrCat("first get by key (no IPC_CREAT) in this process of ", keys, " ", kind.what,
                                " another process made"),
                   "lookup", Figure::kTimePerOp, 1.0, false,
                   [kind = kind.kind, keys](const BenchApi& api, const RunSize&) {
                     return FirstLookup(api, kind, keys);
                   }});
  }
  const long absent = size.Count(20000, 100);
  out.push_back({"objects/absent-key", "semget of a key nobody made (ENOENT): one daemon round trip doing no work",
                 "get", Figure::kTimePerOp, std::nullopt, false,
                 [absent](const BenchApi& api, const RunSize&) { return AbsentKey(api, absent); }});
  const long clients = size.Count(200, 20);
  out.push_back({absl::StrCat("clients/", clients),
                 absl::StrCat(clients, " processes forked at once, one IPC_STAT each, exit"), "process",
                 Figure::kRate, std::nullopt, false,
                 [clients](const BenchApi& api, const RunSize&) { return Clients(api, clients); }});
}

}  // namespace sysv::bench

// Semaphores: the fast path alone, a hand-over between two processes, and a
// semaphore used as a mutex by 2, 4 and 8 processes, without and with
// SEM_UNDO.
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "tools/bench/scenario.h"
#include "tools/bench/scenario_support.h"

namespace sysv::bench {
namespace {

// V then P on one semaphore, one process: neither ever waits.
absl::StatusOr<Sample> Uncontended(const BenchApi& api, const RunSize& size) {
  absl::StatusOr<ScopedObject> set = ScopedObject::Create(api, ScopedObject::kSem, 1);
  if (!set.ok()) return set.status();
  const long pairs = size.Count(200000, 2000);
  struct sembuf v = {0, 1, 0};
  struct sembuf p = {0, -1, 0};
  Stopwatch watch;
  for (long i = 0; i < pairs; ++i) {
    if (api.semop(set->id(), &v, 1) != 0 || api.semop(set->id(), &p, 1) != 0) {
      return CallFailed(api, "semop");
    }
  }
  return Sample{2.0 * static_cast<double>(pairs), watch.Seconds()};
}

// Two processes pass a token through semaphores 0 and 1, so every operation
// wakes the other side: round trips per second.
absl::StatusOr<Sample> PingPong(const BenchApi& api, const RunSize& size, Placement placement) {
  absl::StatusOr<ScopedObject> set = ScopedObject::Create(api, ScopedObject::kSem, 2);
  if (!set.ok()) return set.status();
  const int id = set->id();
  const long rounds = size.Count(20000, 200);
  WorkerGroup workers;
  const absl::StatusOr<int> own_cpu = PlacePartner(placement);
  if (!own_cpu.ok()) return own_cpu.status();
  absl::Status spawned = workers.Spawn([&api, id, rounds]() {
    struct sembuf take = {1, -1, 0};
    struct sembuf give = {0, 1, 0};
    for (long i = 0; i < rounds; ++i) {
      if (api.semop(id, &take, 1) != 0 || api.semop(id, &give, 1) != 0) return errno;
    }
    return 0;
  });
  if (!spawned.ok()) return spawned;
  if (absl::Status placed = PlaceSelf(*own_cpu); !placed.ok()) return placed;
  if (absl::Status started = workers.Start(); !started.ok()) return started;
  struct sembuf give = {1, 1, 0};
  struct sembuf take = {0, -1, 0};
  Stopwatch watch;
  for (long i = 0; i < rounds; ++i) {
    if (api.semop(id, &give, 1) != 0 || api.semop(id, &take, 1) != 0) return CallFailed(api, "semop");
  }
  const double seconds = watch.Seconds();
  if (absl::Status done = workers.Wait(); !done.ok()) return done;
  return Sample{static_cast<double>(rounds), seconds};
}

// `processes` processes take and release one semaphore (initially 1) with
// an empty critical section: acquisitions per second, all processes together.
// `flags` go with both operations (SEM_UNDO: Apache's `Mutex sysvsem`).
absl::StatusOr<Sample> Mutex(const BenchApi& api, const RunSize& size, int processes, short flags) {
  absl::StatusOr<ScopedObject> set = ScopedObject::Create(api, ScopedObject::kSem, 1);
  if (!set.ok()) return set.status();
  const int id = set->id();
  SemArg one;
  one.val = 1;
  if (api.semctl(id, 0, SETVAL, one) != 0) return CallFailed(api, "semctl SETVAL");
  const long per_process = size.Count(40000, 400) / processes;
  WorkerGroup workers;
  for (int w = 0; w < processes; ++w) {
    absl::Status spawned = workers.Spawn([&api, id, per_process, flags]() {
      struct sembuf lock = {0, -1, flags};
      struct sembuf unlock = {0, 1, flags};
      for (long i = 0; i < per_process; ++i) {
        if (api.semop(id, &lock, 1) != 0 || api.semop(id, &unlock, 1) != 0) return errno;
      }
      return 0;
    });
    if (!spawned.ok()) return spawned;
  }
  if (absl::Status started = workers.Start(); !started.ok()) return started;
  Stopwatch watch;
  if (absl::Status done = workers.Wait(); !done.ok()) return done;
  return Sample{static_cast<double>(per_process * processes), watch.Seconds()};
}

}  // namespace

void AddSemScenarios(std::vector<Scenario>& out) {
  out.push_back({"sem/uncontended", "semop V then P on one semaphore, one process", "semop",
                 Figure::kTimePerOp, 10.0, false, Uncontended});
  AddPingPongs(out, "sem/pingpong", "two processes hand a token over through two semaphores", 2.0, PingPong);
  for (int processes : {2, 4, 8}) {
    out.push_back({absl::StrCat("sem/mutex/", processes),
                   absl::StrCat("one semaphore as a mutex, ", processes, " processes"), "acquisition",
                   Figure::kRate, 1.0, false, [processes](const BenchApi& api, const RunSize& size) {
                     return Mutex(api, size, processes, 0);
                   }});
  }
  for (int processes : {2, 4, 8}) {
    out.push_back({absl::StrCat("sem/mutex/", processes, "/undo"),
                   absl::StrCat("one semaphore as a mutex with SEM_UNDO, ", processes, " processes"),
                   "acquisition", Figure::kRate, 1.0, false, [processes](const BenchApi& api, const RunSize& size) {
                     return Mutex(api, size, processes, SEM_UNDO);
                   }});
  }
}

}  // namespace sysv::bench

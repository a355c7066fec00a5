// Helpers the scenario files share: errors that keep their errno, a
// stopwatch, objects removed on every path, and processes that start their
// measured work together.
#ifndef SYSV_TOOLS_BENCH_SCENARIO_SUPPORT_H_
#define SYSV_TOOLS_BENCH_SCENARIO_SUPPORT_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tools/bench/bench_api.h"
#include "tools/bench/scenario.h"

namespace sysv::bench {

// The failure of `call` just made through `api`, with the errno it set.
// Read errno before anything else may change it.
absl::Status CallFailed(const BenchApi& api, absl::string_view call);

// semctl's fourth argument (the caller defines it, says semctl(2)).
union SemArg {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
  struct seminfo* info;  // IPC_INFO, SEM_INFO
};

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// An IPC object created through an API table and removed (IPC_RMID) when the
// guard goes, whatever path leaves the scenario. Forked workers leave through
// _exit and so never remove what their parent owns.
class ScopedObject {
 public:
  enum Kind { kShm, kSem, kMsg };

  // IPC_PRIVATE objects, mode 0600: a semaphore set of `count` semaphores,
  // a segment of `count` bytes, or a message queue (`count` unused).
  static absl::StatusOr<ScopedObject> Create(const BenchApi& api, Kind kind, long count);
  // Takes charge of removing object `id`, made by the caller.
  static ScopedObject Adopt(const BenchApi& api, Kind kind, int id) { return ScopedObject(api, kind, id); }

  ScopedObject(ScopedObject&& other) noexcept;
  ScopedObject& operator=(ScopedObject&&) = delete;
  ~ScopedObject();

  int id() const { return id_; }
  // Gives up the removal: the caller has removed the object itself.
  int Release() { return std::exchange(id_, -1); }

 private:
  ScopedObject(const BenchApi& api, Kind kind, int id) : api_(&api), kind_(kind), id_(id) {}
  const BenchApi* api_;
  Kind kind_;
  int id_;
};

// Removes one object; returns the failure of IPC_RMID, if any.
absl::Status RemoveObject(const BenchApi& api, ScopedObject::Kind kind, int id);

// The CPUs this process may run on, lowest first.
std::vector<int> AllowedCpus();

// Pins the calling process to `cpu`.
absl::Status PinToCpu(int cpu);

// For a ping-pong under `placement`: pins this process to the CPU its
// partner must run on, so that a worker forked next inherits it, and
// returns the CPU this process moves to once that worker is forked (-1:
// none, for kScheduler). Then PlaceSelf() with that CPU.
absl::StatusOr<int> PlacePartner(Placement placement);
absl::Status PlaceSelf(int cpu);

// Worker processes that start their measured work at the same instant, after
// every one of them has forked and is ready, so that fork is not measured.
//
// A worker's body returns 0 or the errno of its failing call; the worker exits
// with that value, which Wait() turns back into a status. Workers die with
// the process that made them (PR_SET_PDEATHSIG), so a benchmark killed
// mid-run leaves no worker blocked on a semaphore forever; a group destroyed
// before Wait() kills and reaps its workers (the error paths).
class WorkerGroup {
 public:
  WorkerGroup();
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;
  ~WorkerGroup();

  // Forks a worker that runs `prepare` (if any; 0 or an errno) before it
  // says it is ready, and `body` once let go.
  absl::Status Spawn(std::function<int()> body, std::function<int()> prepare = nullptr);
  // Returns once every worker is ready and all have been let go.
  absl::Status Start();
  // Reaps every worker; the first failure, if any.
  absl::Status Wait();

 private:
  int ready_[2] = {-1, -1};
  int go_[2] = {-1, -1};
  std::vector<pid_t> pids_;
};

// The errno a worker's exit status stands for: 0 for exit 0, the exit code
// otherwise (bodies exit with an errno), ECHILD for a worker killed by a signal.
int WorkerErrno(int wait_status);

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_SCENARIO_SUPPORT_H_

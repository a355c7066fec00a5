// Shared memory: a segment's whole life in one cycle, and attaching a
// segment the process already knows.
#include <unistd.h>

#include "tools/bench/scenario.h"
#include "tools/bench/scenario_support.h"

namespace sysv::bench {
namespace {

constexpr size_t kSegmentBytes = 64 * 1024;

// shmget + shmat + a write to every page + shmdt + IPC_RMID of a 64 KiB
// IPC_PRIVATE segment: cycles per second.
absl::StatusOr<Sample> Cycle(const BenchApi& api, const RunSize& size) {
  const long cycles = size.Count(5000, 20);
  const long page = sysconf(_SC_PAGESIZE);
  Stopwatch watch;
  for (long i = 0; i < cycles; ++i) {
    const int id = api.shmget(IPC_PRIVATE, kSegmentBytes, IPC_CREAT | 0600);
    if (id < 0) return CallFailed(api, "shmget");
    void* address = api.shmat(id, nullptr, 0);
    if (address == reinterpret_cast<void*>(-1)) {
      absl::Status failed = CallFailed(api, "shmat");
      (void)RemoveObject(api, ScopedObject::kShm, id);
      return failed;
    }
    for (size_t offset = 0; offset < kSegmentBytes; offset += static_cast<size_t>(page)) {
      static_cast<volatile char*>(address)[offset] = 1;
    }
    if (api.shmdt(address) != 0) {
      absl::Status failed = CallFailed(api, "shmdt");
      (void)RemoveObject(api, ScopedObject::kShm, id);
      return failed;
    }
    if (absl::Status removed = RemoveObject(api, ScopedObject::kShm, id); !removed.ok()) return removed;
  }
  return Sample{static_cast<double>(cycles), watch.Seconds()};
}

// shmat + shmdt of a 64 KiB segment this process has attached before (the
// first attach, untimed, is what makes it known).
absl::StatusOr<Sample> AttachDetach(const BenchApi& api, const RunSize& size) {
  absl::StatusOr<ScopedObject> segment = ScopedObject::Create(api, ScopedObject::kShm, kSegmentBytes);
  if (!segment.ok()) return segment.status();
  const long pairs = size.Count(100000, 500);
  void* first = api.shmat(segment->id(), nullptr, 0);
  if (first == reinterpret_cast<void*>(-1)) return CallFailed(api, "shmat");
  if (api.shmdt(first) != 0) return CallFailed(api, "shmdt");
  Stopwatch watch;
  for (long i = 0; i < pairs; ++i) {
    void* address = api.shmat(segment->id(), nullptr, 0);
    if (address == reinterpret_cast<void*>(-1)) return CallFailed(api, "shmat");
    if (api.shmdt(address) != 0) return CallFailed(api, "shmdt");
  }
  return Sample{static_cast<double>(pairs), watch.Seconds()};
}

}  // namespace

void AddShmScenarios(std::vector<Scenario>& out) {
  out.push_back({"shm/cycle", "shmget + shmat + touch 16 pages + shmdt + IPC_RMID, 64 KiB", "cycle",
                 Figure::kTimePerOp, 1.0, false, Cycle});
  out.push_back({"shm/attach", "shmat + shmdt of a segment attached before, 64 KiB", "attach+detach",
                 Figure::kTimePerOp, 1.5, false, AttachDetach});
}

}  // namespace sysv::bench

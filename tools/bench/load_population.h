// The load benchmark's objects: many keyed objects of each kind, grown in
// steps through one API table (the kernel's or libsysv's), with the latency
// of the calls that find and inspect them measured as they grow.
//
// Keys, not IPC_PRIVATE, so that a get by key can be measured: the objects
// of kind k have keys key_base + k * kKeyStride + i. Both sides run in
// namespaces of their own (a private kernel IPC namespace, a fresh daemon),
// so the keys are free; IPC_EXCL makes a clash an error rather than a
// silent reuse.
#ifndef SYSV_TOOLS_BENCH_LOAD_POPULATION_H_
#define SYSV_TOOLS_BENCH_LOAD_POPULATION_H_

#include <sys/types.h>

#include <array>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/bench/bench_api.h"

namespace sysv::bench {

enum class LoadKind { kShm = 0, kSem = 1, kMsg = 2 };
inline constexpr std::array<LoadKind, 3> kLoadKinds = {LoadKind::kShm, LoadKind::kSem, LoadKind::kMsg};
const char* LoadKindName(LoadKind kind);  // "shm", "sem", "msg"

inline constexpr key_t kKeyStride = 0x100000;

// Percentiles of a set of call durations, in nanoseconds.
struct Latency {
  double p50_ns = 0;
  double p99_ns = 0;
  long samples = 0;
};
Latency Percentiles(std::vector<double> durations_ns);

class Population {
 public:
  Population(const BenchApi& api, key_t key_base) : api_(api), key_base_(key_base) {}
  Population(const Population&) = delete;
  Population& operator=(const Population&) = delete;
  // Removes every object still alive (failures ignored: see RemoveAll).
  ~Population();

  // Creates objects of `kind` (one-page segments, one-semaphore sets,
  // queues; IPC_CREAT | IPC_EXCL | 0600) until there are `count`. Returns
  // the latency of those creates (samples 0 when there was nothing to do).
  absl::StatusOr<Latency> GrowTo(LoadKind kind, long count);
  // The latency of a get by key (flags 0) of `samples` objects picked at
  // random; each must return the object's id.
  absl::StatusOr<Latency> MeasureGet(LoadKind kind, long samples, std::mt19937& rng);
  // The latency of IPC_STAT of `samples` objects picked at random, after an
  // untimed IPC_STAT of each (libsysv opens a set or a queue on first use:
  // what is measured is the steady state, not the first contact).
  absl::StatusOr<Latency> MeasureStat(LoadKind kind, long samples, std::mt19937& rng);
  // IPC_STAT of every object: each must answer with its key.
  absl::Status CheckAll(LoadKind kind);
  // Removes every object (IPC_RMID); the first failure, after trying all.
  absl::Status RemoveAll();

  long size(LoadKind kind) const { return static_cast<long>(ids_[static_cast<int>(kind)].size()); }
  key_t KeyOf(LoadKind kind, long i) const {
    return key_base_ + static_cast<key_t>(static_cast<int>(kind)) * kKeyStride + static_cast<key_t>(i);
  }

 private:
  // One IPC_STAT; fills *key with the object's key.
  absl::Status Stat(LoadKind kind, int id, key_t* key);

  const BenchApi& api_;
  const key_t key_base_;
  std::array<std::vector<int>, 3> ids_;
};

// How many objects of `kind` exist in the namespace `api` reaches, as ipcs
// counts them (SHM_INFO used_ids, SEM_INFO semusz, MSG_INFO msgpool).
absl::StatusOr<long> CountInUse(const BenchApi& api, LoadKind kind);

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_LOAD_POPULATION_H_

// What a benchmark scenario is: one small unit of work, run against an API
// table (kernel or libsysv) and timed by the scenario itself, because only
// the scenario knows which part of a multi-process run is the measured part.
#ifndef SYSV_TOOLS_BENCH_SCENARIO_H_
#define SYSV_TOOLS_BENCH_SCENARIO_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/bench/bench_api.h"

namespace sysv::bench {

// One timed run: `operations` units of work took `seconds`.
struct Sample {
  double operations = 0;
  double seconds = 0;
  double Rate() const { return seconds > 0 ? operations / seconds : 0; }
};

// How the table shows a figure. Both are the same rate underneath; a time
// per operation reads better for single-process calls, a rate for work that
// several processes share.
enum class Figure { kTimePerOp, kRate };

// How big a run is. `quick` is the CI size: enough work to exercise every
// path once, far too little to mean anything as a figure.
struct RunSize {
  bool quick = false;
  // Picks the full or the quick count.
  long Count(long full, long quick_count) const { return quick ? quick_count : full; }
};

struct Scenario {
  std::string name;         // "sem/pingpong": family, then the case
  std::string description;  // one line for the table's readers
  std::string unit;         // what one operation is: "semop", "round trip" ...
  Figure figure = Figure::kTimePerOp;
  // The least acceptable libsysv/kernel ratio of medians (issue #5), if any.
  std::optional<double> target;
  // Creating thousands of objects takes seconds a run: fewer repetitions and
  // no warm-up run.
  bool heavy = false;
  // One run against `api`. A failure carries the errno of the failing call
  // (core::ErrnoStatus), so that ENOSYS can be told apart from real errors.
  // Objects it creates are removed before it returns, on every path.
  std::function<absl::StatusOr<Sample>(const BenchApi& api, const RunSize& size)> run;
};

// Where the two processes of a ping-pong run. Left to the scheduler, they
// share a CPU in some runs and not in others, and the two cases go opposite
// ways: on one CPU the kernel's wake-up is a direct switch (about 10x faster
// than across CPUs on the 2-CPU VM of the README), while libsysv's waiter
// spins before it sleeps, which pays only when the other process runs
// meanwhile (about 100x slower on one CPU than on two there). The pinned
// variants show each case apart.
enum class Placement { kScheduler, kSameCpu, kTwoCpus };

// A ping-pong three times: placed by the scheduler (target `target`), then
// both processes on one CPU (target 1x), then on two CPUs (where the
// process may use two; target 3x); see Placement.
void AddPingPongs(std::vector<Scenario>& out, const std::string& name, const std::string& description,
                  double target, absl::StatusOr<Sample> (*run)(const BenchApi&, const RunSize&, Placement));

// The families, one file each.
void AddSemScenarios(std::vector<Scenario>& out);
void AddMsgScenarios(std::vector<Scenario>& out);
void AddShmScenarios(std::vector<Scenario>& out);
void AddStatScenarios(std::vector<Scenario>& out);
void AddLifecycleScenarios(std::vector<Scenario>& out, const RunSize& size);

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_SCENARIO_H_

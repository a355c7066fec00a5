// Runs scenarios against the kernel and libsysv, alternating, and sums them
// up as min/median/max of each side and the ratio of the medians.
//
// Why not Google Benchmark's runner: it runs a benchmark's repetitions back
// to back, while a fair comparison on a shared, noisy machine interleaves the
// two sides (kernel, libsysv, libsysv, kernel, ...) so that a burst of load
// from elsewhere hits both; and most scenarios orchestrate several processes
// and time only part of what they do, which a scenario does best itself.
#ifndef SYSV_TOOLS_BENCH_RUNNER_H_
#define SYSV_TOOLS_BENCH_RUNNER_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tools/bench/scenario.h"

namespace sysv::bench {

// Rates (operations per second) of the recorded runs of one side.
struct Stats {
  std::vector<double> rates;  // in run order
  double min = 0;
  double median = 0;
  double max = 0;
};

// Fills min, median (the mean of the middle two for an even count) and max.
Stats Summarize(std::vector<double> rates);

enum class Outcome {
  kOk,
  kNotImplemented,  // libsysv answered ENOSYS: the kernel side alone is shown
  kError,           // a call failed; `error` says which
};

struct ScenarioResult {
  const Scenario* scenario = nullptr;
  Outcome outcome = Outcome::kOk;
  std::string error;
  std::optional<Stats> kernel;
  std::optional<Stats> libsysv;
  // libsysv's median rate over the kernel's: above 1, libsysv is faster.
  std::optional<double> ratio;
  // Whether the ratio reaches the scenario's target (when both exist).
  std::optional<bool> target_met;
};

struct RunOptions {
  int repetitions = 5;
  RunSize size;
  // Scenario names are kept if they contain any of these (all if empty).
  std::vector<std::string> filters;
  // A run that takes longer is killed and its scenario fails: a hung
  // worker must not hang CI.
  int watchdog_seconds = 300;
  // Called after each scenario, e.g. to show progress.
  std::function<void(const ScenarioResult&)> progress;
};

bool Selected(const std::string& name, const std::vector<std::string>& filters);

std::vector<ScenarioResult> RunScenarios(const std::vector<Scenario>& scenarios, const RunOptions& options);

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_RUNNER_H_

#include "tools/bench/bench_command.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/bench/bench_namespace.h"
#include "tools/bench/bench_program.h"
#include "tools/bench/kernel_namespace.h"
#include "tools/bench/report.h"
#include "tools/bench/runner.h"
#include "tools/bench/scenario.h"

ABSL_FLAG(bool, json, false, "Print one JSON document instead of the table.");
ABSL_FLAG(int, repetitions, 5, "Recorded runs of each side of each scenario (at most 3 for the heavy ones).");
ABSL_FLAG(
    std::string, scenarios, "",
    "Comma-separated substrings; run only the scenarios whose names contain one (e.g. sem/,shm/cycle).");
ABSL_FLAG(bool, quick, false, "CI size: tiny counts and one repetition; the figures mean nothing.");
ABSL_FLAG(bool, list, false, "List the scenarios and exit.");

namespace sysv::bench {
namespace {

// Both sides get the same room: 10,000 segments exceed Linux's default
// shmmni (4096), in the kernel's private namespace and in the daemon alike.
constexpr int kShmmni = 32768;

std::vector<Scenario> AllScenarios(const RunSize& size) {
  std::vector<Scenario> scenarios;
  AddSemScenarios(scenarios);
  AddMsgScenarios(scenarios);
  AddShmScenarios(scenarios);
  AddStatScenarios(scenarios);
  AddLifecycleScenarios(scenarios, size);
  return scenarios;
}

}  // namespace

int RunBench(int argc, char** argv) {
  if (std::optional<int> exit = ParseBenchCommandLine(
          argc, argv, "sysvipc bench", "tools/bench/",
          "sysvipc bench [--json] [--repetitions=N] [--scenarios=a,b] [--quick] [--list]\n"
          "Runs each scenario against the kernel and against libsysv (a private daemon), alternating.");
      exit.has_value()) {
    return *exit;
  }
  const bool quick = absl::GetFlag(FLAGS_quick);
  RunOptions options;
  options.size.quick = quick;
  options.repetitions = absl::GetFlag(FLAGS_repetitions);
  if (quick) options.repetitions = 1;
  if (options.repetitions < 1) {
    std::fprintf(stderr, "sysvipc bench: --repetitions must be at least 1\n");
    return 2;
  }
  options.watchdog_seconds = quick ? 60 : 300;
  options.filters = absl::StrSplit(absl::GetFlag(FLAGS_scenarios), ',', absl::SkipWhitespace());

  const std::vector<Scenario> scenarios = AllScenarios(options.size);
  size_t selected = 0;
  for (const Scenario& scenario : scenarios) {
    if (!Selected(scenario.name, options.filters)) continue;
    ++selected;
    if (absl::GetFlag(FLAGS_list))
      std::printf("%-20s %s\n", scenario.name.c_str(), scenario.description.c_str());
  }
  if (absl::GetFlag(FLAGS_list)) return 0;
  if (selected == 0) {
    std::fprintf(stderr, "sysvipc bench: no scenario matches --scenarios=%s (see --list)\n",
                 absl::GetFlag(FLAGS_scenarios).c_str());
    return 2;
  }

  // Both before anything forks or makes an object.
  const KernelNamespace kernel_ns = EnterPrivateKernelNamespace(kShmmni);
  absl::StatusOr<std::unique_ptr<BenchNamespace>> ns =
      BenchNamespace::Create({absl::StrCat("--limit=shmmni=", kShmmni),
                              // Logging is not what is measured.
                              "--log_level=warning"});
  if (!ns.ok()) {
    std::fprintf(stderr, "sysvipc bench: %s\n", std::string(ns.status().message()).c_str());
    return 1;
  }

  ReportContext context;
  context.machine = MachineDescription();
  context.kernel_namespace = kernel_ns.note.empty() ? "private IPC namespace" : kernel_ns.note;
  context.date = UtcTimestamp();
  context.namespace_dir = (*ns)->dir();
  context.repetitions = options.repetitions;
  context.quick = quick;

  size_t done = 0;
  options.progress = [&done, selected](const ScenarioResult& result) {
    ++done;
    std::fprintf(stderr, "[%zu/%zu] %s%s\n", done, selected, result.scenario->name.c_str(),
                 result.outcome == Outcome::kError ? absl::StrCat(": ", result.error).c_str() : "");
  };
  const std::vector<ScenarioResult> results = RunScenarios(scenarios, options);

  const std::string report =
      absl::GetFlag(FLAGS_json) ? FormatJson(results, context) : FormatTable(results, context);
  std::fputs(report.c_str(), stdout);
  std::fflush(stdout);
  bool failed = false;
  for (const ScenarioResult& result : results) failed |= result.outcome == Outcome::kError;
  return failed ? 1 : 0;
}

}  // namespace sysv::bench

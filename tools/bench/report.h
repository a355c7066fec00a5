// The benchmark's output: one table for people (Markdown, so the README can
// quote it as printed) or one JSON document for machines.
#ifndef SYSV_TOOLS_BENCH_REPORT_H_
#define SYSV_TOOLS_BENCH_REPORT_H_

#include <string>
#include <vector>

#include "tools/bench/runner.h"

namespace sysv::bench {

struct ReportContext {
  std::string machine;           // "Linux 6.18.44 x86_64, 2 CPUs"
  std::string kernel_namespace;  // "private IPC namespace" or why not
  std::string date;              // UTC, ISO 8601
  std::string namespace_dir;     // libsysv's, removed at exit (the smoke test checks)
  int repetitions = 0;
  bool quick = false;
};

// "291 ns (285 - 300)" or "24.2k/s (23.9 - 25.0)": the median, then the
// range of the runs, lowest first; the median alone for one run.
std::string FormatStats(Figure figure, const Stats& stats);

std::string FormatTable(const std::vector<ScenarioResult>& results, const ReportContext& context);

// One object: "context", then "scenarios", each with its name, unit,
// figure, target, status ("ok", "not_implemented", "error"), "kernel" and
// "libsysv" (null when absent) with rates in operations per second (min,
// median, max, samples), "ratio" and "target_met" (null when absent), and
// "error" for a failed row.
std::string FormatJson(const std::vector<ScenarioResult>& results, const ReportContext& context);

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_REPORT_H_

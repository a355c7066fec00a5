// The load benchmark's output: Markdown tables for people, or one JSON
// document for machines.
#ifndef SYSV_TOOLS_BENCH_LOAD_REPORT_H_
#define SYSV_TOOLS_BENCH_LOAD_REPORT_H_

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "tools/bench/load_clients.h"
#include "tools/bench/load_population.h"
#include "tools/bench/load_probe.h"

namespace sysv::bench {

struct OpLatencies {
  Latency create;  // the creates that grew the population to this step
  Latency get;     // get by key, flags 0
  Latency stat;    // IPC_STAT, steady state
};

// One step: `objects` of each kind alive on both sides.
struct LoadStep {
  long objects = 0;
  ProcessFigures daemon;       // after the step's objects were made and measured
  double grow_seconds = 0;     // libsysv: making this step's objects, all kinds
  std::array<OpLatencies, 3> libsysv;                 // by LoadKind
  std::array<std::optional<OpLatencies>, 3> kernel;   // nullopt: not measured
};

struct LoadClients {
  ClientRun libsysv;
  std::optional<ClientRun> kernel;
  ProcessFigures daemon_alive;  // every client connected and done working
  ProcessFigures daemon_after;  // every client reaped by the daemon
};

struct LoadContext {
  std::string machine;
  std::string date;
  std::string kernel_namespace;  // "private IPC namespace", or why not
  std::string namespace_dir;
  long samples = 0;              // get and stat calls per kind and step
  ProcessFigures daemon_start;   // the daemon before any object
  std::string notes;             // anything the run wants said (limits skipped ...)
};

std::string FormatLoadTable(const LoadContext& context, const std::vector<LoadStep>& steps,
                            const std::optional<LoadClients>& clients);

// One object: "context", "daemon_start", "steps" (objects, daemon figures,
// per kind the libsysv and kernel p50/p99 in ns of create, get and stat;
// kernel null when not measured), "clients" (null when not run).
std::string FormatLoadJson(const LoadContext& context, const std::vector<LoadStep>& steps,
                           const std::optional<LoadClients>& clients);

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_LOAD_REPORT_H_

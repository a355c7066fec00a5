// load_bench: libsysv under load (issue #6, "Load"). Up to 32,000 objects of
// each kind, made in steps, with the daemon's memory, mappings and
// descriptors and the latency of create, get and IPC_STAT recorded at each
// step, beside the kernel's at the same counts; then 1,000 client processes
// at once, each registering and working on all three kinds. A benchmark,
// run on demand:
//
//   bazel run -c opt //tools/bench:load_bench              # the table
//   bazel run -c opt //tools/bench:load_bench -- --json
//   bazel run //tools/bench:load_bench -- --steps=100,1000 --clients=50
//
// Like `sysvipc bench`, it runs its own sysvipcd in a fresh directory (gone
// at exit, killed or not) and the kernel in a private IPC namespace when it
// may, with the limits of both raised to 32768 objects of each kind.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tools/bench/bench_api.h"
#include "tools/bench/bench_namespace.h"
#include "tools/bench/bench_program.h"
#include "tools/bench/kernel_namespace.h"
#include "tools/bench/load_clients.h"
#include "tools/bench/load_population.h"
#include "tools/bench/load_probe.h"
#include "tools/bench/load_report.h"
#include "tools/bench/scenario_support.h"

ABSL_FLAG(std::string, steps, "1000,2000,4000,8000,16000,32000",
          "Comma-separated object counts (of each kind) at which to measure, increasing.");
ABSL_FLAG(int, clients, 1000, "Client processes forked at once after the last step (0: none).");
ABSL_FLAG(int, samples, 1000, "Get and IPC_STAT calls measured per kind and step.");
ABSL_FLAG(bool, kernel, true, "Measure the kernel too, side by side.");
ABSL_FLAG(bool, json, false, "Print one JSON document instead of the tables.");
ABSL_FLAG(int, seed, 1, "Seed of the random choice of objects to measure.");

namespace sysv::bench {
namespace {

// The most objects of a kind either side holds (Linux's IPCMNI): both are
// raised to it, so that the default steps (32,000) and the clients' three
// shared objects fit on both sides.
constexpr int kMaxObjects = 32768;
constexpr key_t kPopulationKeys = 0x10000000;
constexpr key_t kClientKeys = 0x20000000;

// 1,000 clients each hold a connection here and, in the daemon, a
// connection, a pidfd and an attach ledger: a soft RLIMIT_NOFILE of 1024
// would turn the run into a test of that limit. The daemon inherits ours.
std::string RaiseDescriptorLimit() {
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) != 0) return "RLIMIT_NOFILE unknown";
  nofile.rlim_cur = nofile.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &nofile) != 0) return "RLIMIT_NOFILE not raised";
  return absl::StrCat("RLIMIT_NOFILE ", nofile.rlim_cur);
}

absl::StatusOr<std::vector<long>> ParseSteps(const std::string& text) {
  std::vector<long> steps;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    long count = 0;
    if (!absl::SimpleAtoi(part, &count) || count < 1 || count > kMaxObjects - 3 ||
        (!steps.empty() && count <= steps.back())) {
      return absl::InvalidArgumentError(
          absl::StrCat("--steps: '", part, "' (increasing counts from 1 to ", kMaxObjects - 3, ")"));
    }
    steps.push_back(count);
  }
  if (steps.empty()) return absl::InvalidArgumentError("--steps is empty");
  return steps;
}

// The get and stat latencies of every kind at the population's size.
absl::Status MeasureStep(Population& population, long samples, std::mt19937& rng,
                         std::array<OpLatencies, 3>& out) {
  for (LoadKind kind : kLoadKinds) {
    OpLatencies& ops = out[static_cast<int>(kind)];
    absl::StatusOr<Latency> get = population.MeasureGet(kind, samples, rng);
    if (!get.ok()) return get.status();
    ops.get = *get;
    absl::StatusOr<Latency> stat = population.MeasureStat(kind, samples, rng);
    if (!stat.ok()) return stat.status();
    ops.stat = *stat;
  }
  return absl::OkStatus();
}

// ipcs's count of the objects of `kind` (CountInUse()) is `expected`; an
// error naming both otherwise, `when` (" after the clients") after "in use".
absl::Status CheckInUse(const BenchApi& api, LoadKind kind, long expected, absl::string_view when) {
  absl::StatusOr<long> in_use = CountInUse(api, kind);
  if (!in_use.ok()) return in_use.status();
  if (*in_use != expected) {
    return absl::InternalError(absl::StrCat(api.name, ": ", *in_use, " ", LoadKindName(kind), " objects in use",
                                            when, ", not ", expected));
  }
  return absl::OkStatus();
}

// Grows every kind to `count`, then measures; libsysv's counts in ipcs's
// terms must be exact.
absl::Status RunStep(const BenchApi& api, Population& population, long count, long samples, std::mt19937& rng,
                     std::array<OpLatencies, 3>& out) {
  for (LoadKind kind : kLoadKinds) {
    absl::StatusOr<Latency> create = population.GrowTo(kind, count);
    if (!create.ok()) return create.status();
    out[static_cast<int>(kind)].create = *create;
  }
  if (absl::Status status = MeasureStep(population, samples, rng, out); !status.ok()) return status;
  for (LoadKind kind : kLoadKinds) {
    if (absl::Status status = CheckInUse(api, kind, count, ""); !status.ok()) return status;
  }
  return absl::OkStatus();
}

// Waits (up to 10 s) until the daemon holds no more descriptors than
// `baseline`: it has reaped every client. The figures then.
ProcessFigures AfterReap(pid_t daemon, int64_t baseline) {
  ProcessFigures figures;
  for (int waited = 0; waited < 10000; waited += 20) {
    absl::StatusOr<ProcessFigures> now = ProbeProcess(daemon);
    if (now.ok()) figures = *now;
    if (!now.ok() || figures.fds <= baseline) break;
    usleep(20 * 1000);
  }
  return figures;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "load_bench: %s\n", std::string(status.message()).c_str());
  return 1;
}

int Main(int argc, char** argv) {
  if (std::optional<int> exit = ParseBenchCommandLine(
          argc, argv, "load_bench", "tools/bench/load_",
          "load_bench [--steps=1000,...,32000] [--clients=1000] [--samples=1000] [--kernel] [--json]\n"
          "The daemon's memory and request latency as objects and clients grow, beside the kernel.");
      exit.has_value()) {
    return *exit;
  }
  absl::StatusOr<std::vector<long>> steps = ParseSteps(absl::GetFlag(FLAGS_steps));
  if (!steps.ok()) return Fail(steps.status());
  const long samples = std::max(1, absl::GetFlag(FLAGS_samples));
  const long clients = std::max(0, absl::GetFlag(FLAGS_clients));
  const bool with_kernel = absl::GetFlag(FLAGS_kernel);

  LoadContext context;
  context.machine = MachineDescription();
  context.date = UtcTimestamp();
  context.samples = samples;
  context.notes = absl::StrCat(RaiseDescriptorLimit(), "; load average at start ", LoadAverage());
  // Both before anything forks or makes an object.
  if (with_kernel) {
    const KernelNamespace kernel_ns = EnterPrivateKernelNamespace(kMaxObjects);
    context.kernel_namespace = kernel_ns.note.empty() ? "private IPC namespace" : kernel_ns.note;
    if (kernel_ns.is_private) {
      if (const std::string failed = RaiseKernelObjectLimits(kMaxObjects); !failed.empty()) {
        absl::StrAppend(&context.notes, "; kernel limits not raised:", failed);
      }
    }
  } else {
    context.kernel_namespace = "not measured (--nokernel)";
  }
  const std::string limit = absl::StrCat("--limit=shmmni=", kMaxObjects, ",semmni=", kMaxObjects,
                                         ",msgmni=", kMaxObjects);
  absl::StatusOr<std::unique_ptr<BenchNamespace>> ns = BenchNamespace::Create({limit, "--log_level=warning"});
  if (!ns.ok()) return Fail(ns.status());
  context.namespace_dir = (*ns)->dir();
  absl::StatusOr<pid_t> daemon = DaemonPid((*ns)->dir());
  if (!daemon.ok()) return Fail(daemon.status());
  absl::StatusOr<ProcessFigures> start = ProbeProcess(*daemon);
  if (!start.ok()) return Fail(start.status());
  context.daemon_start = *start;

  std::mt19937 rng(static_cast<uint32_t>(absl::GetFlag(FLAGS_seed)));
  Population libsysv(LibsysvApi(), kPopulationKeys);
  std::optional<Population> kernel;
  if (with_kernel) kernel.emplace(KernelApi(), kPopulationKeys);
  bool kernel_ok = with_kernel;
  std::vector<LoadStep> results;
  for (long count : *steps) {
    LoadStep step;
    step.objects = count;
    if (kernel_ok) {
      std::array<OpLatencies, 3> ops;
      if (absl::Status status = RunStep(KernelApi(), *kernel, count, samples, rng, ops); status.ok()) {
        for (int k = 0; k < 3; ++k) step.kernel[k] = ops[k];
      } else {
        // The kernel's limits (host namespace): the rest is libsysv alone.
        absl::StrAppend(&context.notes, "; kernel stopped at ", count, ": ", status.message());
        kernel_ok = false;
      }
    }
    Stopwatch grow;
    if (absl::Status status = RunStep(LibsysvApi(), libsysv, count, samples, rng, step.libsysv); !status.ok()) {
      return Fail(status);
    }
    step.grow_seconds = grow.Seconds();
    absl::StatusOr<ProcessFigures> figures = ProbeProcess(*daemon);
    if (!figures.ok()) return Fail(figures.status());
    step.daemon = *figures;
    std::fprintf(stderr, "[%ld objects of each kind] daemon %lld KiB resident, %lld maps, %lld fds\n", count,
                 static_cast<long long>(step.daemon.rss_kib), static_cast<long long>(step.daemon.maps),
                 static_cast<long long>(step.daemon.fds));
    results.push_back(step);
  }

  std::optional<LoadClients> crowd;
  if (clients > 0) {
    LoadClients run;
    absl::StatusOr<ProcessFigures> before = ProbeProcess(*daemon);
    if (!before.ok()) return Fail(before.status());
    absl::StatusOr<ClientRun> lib = RunClients(LibsysvApi(), clients, kClientKeys, [&] {
      if (absl::StatusOr<ProcessFigures> alive = ProbeProcess(*daemon); alive.ok()) run.daemon_alive = *alive;
    });
    if (!lib.ok()) return Fail(lib.status());
    run.libsysv = *lib;
    run.daemon_after = AfterReap(*daemon, before->fds);
    std::fprintf(stderr, "[%ld clients] libsysv %.3f s\n", clients, lib->work_seconds);
    if (kernel_ok) {
      absl::StatusOr<ClientRun> kern = RunClients(KernelApi(), clients, kClientKeys, nullptr);
      if (!kern.ok()) return Fail(kern.status());
      run.kernel = *kern;
    }
    crowd = run;
  }
  // The daemon must still answer, and hold exactly what we made.
  for (LoadKind kind : kLoadKinds) {
    if (absl::Status status = CheckInUse(LibsysvApi(), kind, libsysv.size(kind), " after the clients");
        !status.ok()) {
      return Fail(status);
    }
  }
  if (absl::Status removed = libsysv.RemoveAll(); !removed.ok()) return Fail(removed);
  if (kernel) (void)kernel->RemoveAll();

  absl::StrAppend(&context.notes, "; at end ", LoadAverage());
  const std::string report = absl::GetFlag(FLAGS_json) ? FormatLoadJson(context, results, crowd)
                                                       : FormatLoadTable(context, results, crowd);
  std::fputs(report.c_str(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace sysv::bench

int main(int argc, char** argv) { return sysv::bench::Main(argc, argv); }

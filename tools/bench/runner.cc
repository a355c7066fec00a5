#include "tools/bench/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "tools/bench/scenario_support.h"

namespace sysv::bench {
namespace {

// What a run process sends back to the harness.
struct RunReport {
  int err = 0;  // 0: `sample` holds the run
  Sample sample;
  char message[512] = {};
};

// Makes the calling process a client before anything is timed: for libsysv
// the first call registers with the daemon, a cost that clients/ measures
// and the other scenarios should not.
// IPC_INFO is Linux's (and libsysv's); a C library without it (DragonFly's)
// gets there with a set made and removed at once.
void BecomeClient(const BenchApi& api) {
#ifdef IPC_INFO
  struct seminfo info;
  SemArg arg;
  arg.buf = reinterpret_cast<struct semid_ds*>(&info);
  (void)api.semctl(0, 0, IPC_INFO, arg);
#else
  const int id = api.semget(IPC_PRIVATE, 1, 0600);
  if (id >= 0) (void)api.semctl(id, 0, IPC_RMID);
#endif
}

// Reads a whole report unless the writer goes or `deadline` passes.
bool ReadReport(int fd, RunReport* report, absl::Time deadline) {
  char* out = reinterpret_cast<char*>(report);
  size_t got = 0;
  while (got < sizeof(*report)) {
    const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) return false;
    struct pollfd pfd = {fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left_ms, 1 << 30)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = read(fd, out + got, sizeof(*report) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

// One run, in a process of its own: each run starts as a fresh client (as
// a program would), a run that wrecks its process's libsysv state or hangs
// cannot take the rest of the benchmark with it, and a run that exceeds the
// watchdog is killed, with its workers (they die with their parent).
absl::StatusOr<Sample> RunOnce(const Scenario& scenario, const BenchApi& api, const RunOptions& options) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return core::ErrnoStatus(errno, absl::StrCat("pipe: ", std::strerror(errno)));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(fds[0]);
    close(fds[1]);
    return core::ErrnoStatus(err, absl::StrCat("fork: ", std::strerror(err)));
  }
  if (pid == 0) {
    close(fds[0]);
    if (!platform::DieWithParent(parent, SIGKILL)) _exit(ECHILD);
    BecomeClient(api);
    const absl::StatusOr<Sample> sample = scenario.run(api, options.size);
    RunReport report;
    if (sample.ok()) {
      report.sample = *sample;
    } else {
      report.err = core::ErrnoOf(sample.status());
      const std::string message(sample.status().message());
      std::strncpy(report.message, message.c_str(), sizeof(report.message) - 1);
    }
    _exit(write(fds[1], &report, sizeof(report)) == static_cast<ssize_t>(sizeof(report)) ? 0 : 1);
  }
  close(fds[1]);
  RunReport report;
  const bool got = ReadReport(fds[0], &report, absl::Now() + absl::Seconds(options.watchdog_seconds));
  close(fds[0]);
  if (!got) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!got) {
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
      return core::ErrnoStatus(ECHILD, absl::StrCat(api.name, ": run killed by signal ", WTERMSIG(status)));
    }
    if (WIFEXITED(status)) {
      return core::ErrnoStatus(
          ECHILD, absl::StrCat(api.name, ": run exited ", WEXITSTATUS(status), " with no result"));
    }
    return core::ErrnoStatus(
        ETIMEDOUT, absl::StrCat(api.name, ": no result within ", options.watchdog_seconds, " s; killed"));
  }
  if (report.err != 0) return core::ErrnoStatus(report.err, report.message);
  if (!(report.sample.seconds > 0 && report.sample.operations > 0)) {
    return core::ErrnoStatus(EINVAL, absl::StrCat(api.name, ": empty sample"));
  }
  return report.sample;
}

ScenarioResult RunOne(const Scenario& scenario, const RunOptions& options) {
  ScenarioResult result;
  result.scenario = &scenario;
  const BenchApi& kernel = KernelApi();
  const BenchApi& libsysv = LibsysvApi();
  std::vector<double> kernel_rates;
  std::vector<double> libsysv_rates;
  bool libsysv_missing = false;
  bool failed = false;
  // Returns false when the scenario cannot go on.
  auto record = [&](const BenchApi& api, std::vector<double>* rates) {
    absl::StatusOr<Sample> sample = RunOnce(scenario, api, options);
    if (sample.ok()) {
      if (rates != nullptr) rates->push_back(sample->Rate());
      return true;
    }
    if (&api == &libsysv && core::ErrnoOf(sample.status()) == ENOSYS) {
      libsysv_missing = true;
      return true;
    }
    result.error = std::string(sample.status().message());
    failed = true;
    return false;
  };

  const bool warm_up = !options.size.quick && !scenario.heavy;
  const int repetitions = scenario.heavy ? std::min(options.repetitions, 3) : options.repetitions;
  // An unrecorded first run of each side: first-touch costs (the daemon's
  // cold tables and state files, the page cache) are not what the table is
  // about.
  if (warm_up && record(kernel, nullptr)) record(libsysv, nullptr);
  // Alternate which side goes first, so that neither always follows the
  // other's leftovers (page cache, a busy daemon, a warm CPU).
  for (int r = 0; r < repetitions && !failed; ++r) {
    const bool kernel_first = r % 2 == 0;
    for (int side = 0; side < 2 && !failed; ++side) {
      const bool is_kernel = (side == 0) == kernel_first;
      if (is_kernel) {
        record(kernel, &kernel_rates);
      } else if (!libsysv_missing) {
        record(libsysv, &libsysv_rates);
      }
    }
  }

  if (!kernel_rates.empty()) result.kernel = Summarize(kernel_rates);
  if (!libsysv_rates.empty() && !libsysv_missing) result.libsysv = Summarize(libsysv_rates);
  if (failed) {
    result.outcome = Outcome::kError;
  } else if (libsysv_missing) {
    result.outcome = Outcome::kNotImplemented;
  }
  if (result.outcome == Outcome::kOk && result.kernel && result.libsysv && result.kernel->median > 0) {
    result.ratio = result.libsysv->median / result.kernel->median;
    if (scenario.target) result.target_met = *result.ratio >= *scenario.target;
  }
  return result;
}

}  // namespace

Stats Summarize(std::vector<double> rates) {
  Stats stats;
  stats.rates = rates;
  if (rates.empty()) return stats;
  std::sort(rates.begin(), rates.end());
  const size_t n = rates.size();
  stats.min = rates.front();
  stats.max = rates.back();
  stats.median = n % 2 == 1 ? rates[n / 2] : (rates[n / 2 - 1] + rates[n / 2]) / 2;
  return stats;
}

bool Selected(const std::string& name, const std::vector<std::string>& filters) {
  if (filters.empty()) return true;
  return std::any_of(filters.begin(), filters.end(),
                     [&name](const std::string& filter) { return absl::StrContains(name, filter); });
}

std::vector<ScenarioResult> RunScenarios(const std::vector<Scenario>& scenarios, const RunOptions& options) {
  std::vector<ScenarioResult> results;
  for (const Scenario& scenario : scenarios) {
    if (!Selected(scenario.name, options.filters)) continue;
    results.push_back(RunOne(scenario, options));
    if (options.progress) options.progress(results.back());
  }
  return results;
}

}  // namespace sysv::bench

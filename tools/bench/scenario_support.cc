#include "tools/bench/scenario_support.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"

namespace sysv::bench {

absl::Status CallFailed(const BenchApi& api, absl::string_view call) {
  const int err = errno;
  return core::ErrnoStatus(err, absl::StrCat(api.name, " ", call, ": ", std::strerror(err)));
}

absl::StatusOr<ScopedObject> ScopedObject::Create(const BenchApi& api, Kind kind, long count) {
  int id = -1;
  const char* call = "";
  switch (kind) {
    case kShm:
      id = api.shmget(IPC_PRIVATE, static_cast<size_t>(count), IPC_CREAT | 0600);
      call = "shmget";
      break;
    case kSem:
      id = api.semget(IPC_PRIVATE, static_cast<int>(count), IPC_CREAT | 0600);
      call = "semget";
      break;
    case kMsg:
      id = api.msgget(IPC_PRIVATE, IPC_CREAT | 0600);
      call = "msgget";
      break;
  }
  if (id < 0) return CallFailed(api, call);
  return ScopedObject(api, kind, id);
}

ScopedObject::ScopedObject(ScopedObject&& other) noexcept
    : api_(other.api_), kind_(other.kind_), id_(std::exchange(other.id_, -1)) {}

ScopedObject::~ScopedObject() {
  if (id_ >= 0) (void)RemoveObject(*api_, kind_, id_);
}

absl::Status RemoveObject(const BenchApi& api, ScopedObject::Kind kind, int id) {
  int rc = 0;
  switch (kind) {
    case ScopedObject::kShm:
      rc = api.shmctl(id, IPC_RMID, nullptr);
      break;
    case ScopedObject::kSem:
      rc = api.semctl(id, 0, IPC_RMID);
      break;
    case ScopedObject::kMsg:
      rc = api.msgctl(id, IPC_RMID, nullptr);
      break;
  }
  return rc == 0 ? absl::OkStatus() : CallFailed(api, "IPC_RMID");
}

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

absl::Status PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    return core::ErrnoStatus(errno, absl::StrCat("sched_setaffinity(", cpu, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

namespace {

// The two CPUs of a placement: the partner's, then ours.
absl::StatusOr<std::pair<int, int>> PlacementCpus(Placement placement) {
  const std::vector<int> cpus = AllowedCpus();
  if (cpus.empty()) return core::ErrnoStatus(EINVAL, "no CPU allowed");
  if (placement == Placement::kSameCpu) return std::make_pair(cpus[0], cpus[0]);
  if (cpus.size() < 2) return core::ErrnoStatus(EINVAL, "two CPUs wanted, one allowed");
  return std::make_pair(cpus[0], cpus[1]);
}

}  // namespace

absl::StatusOr<int> PlacePartner(Placement placement) {
  if (placement == Placement::kScheduler) return -1;
  // Both CPUs are chosen before the first pin narrows what is allowed.
  absl::StatusOr<std::pair<int, int>> cpus = PlacementCpus(placement);
  if (!cpus.ok()) return cpus.status();
  if (absl::Status pinned = PinToCpu(cpus->first); !pinned.ok()) return pinned;
  return cpus->second;
}

absl::Status PlaceSelf(int cpu) { return cpu < 0 ? absl::OkStatus() : PinToCpu(cpu); }

void AddPingPongs(std::vector<Scenario>& out, const std::string& name, const std::string& description,
                  double target, absl::StatusOr<Sample> (*run)(const BenchApi&, const RunSize&, Placement)) {
  struct Variant {
    Placement placement;
    const char* suffix;
    const char* where;
  };
  for (const Variant& variant :
       {Variant{Placement::kScheduler, "", ""}, Variant{Placement::kSameCpu, "/1cpu", ", both on one CPU"},
        Variant{Placement::kTwoCpus, "/2cpus", ", on two CPUs"}}) {
    if (variant.placement == Placement::kTwoCpus && AllowedCpus().size() < 2) continue;
    // Issue #14: pinned processes are how latency-sensitive code deploys.
    std::optional<double> wanted = target;
    if (variant.placement == Placement::kSameCpu) wanted = 1.0;
    if (variant.placement == Placement::kTwoCpus) wanted = 3.0;
    const Placement placement = variant.placement;
    out.push_back({absl::StrCat(name, variant.suffix), absl::StrCat(description, variant.where), "round trip",
                   Figure::kRate, wanted, false, [run, placement](const BenchApi& api, const RunSize& size) {
                     return run(api, size, placement);
                   }});
  }
}

int WorkerErrno(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  return ECHILD;
}

WorkerGroup::WorkerGroup() {
  // A failed pipe2 leaves -1, which Spawn() reports.
  if (pipe2(ready_, O_CLOEXEC) != 0) ready_[0] = ready_[1] = -1;
  if (pipe2(go_, O_CLOEXEC) != 0) go_[0] = go_[1] = -1;
}

WorkerGroup::~WorkerGroup() {
  for (pid_t pid : pids_) kill(pid, SIGKILL);
  for (pid_t pid : pids_) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  for (int fd : {ready_[0], ready_[1], go_[0], go_[1]}) {
    if (fd >= 0) close(fd);
  }
}

absl::Status WorkerGroup::Spawn(std::function<int()> body, std::function<int()> prepare) {
  if (ready_[0] < 0 || go_[0] < 0 || go_[1] < 0) {
    return core::ErrnoStatus(EMFILE, "worker group: no pipes");
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return core::ErrnoStatus(errno, absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    // If the benchmark dies, so do we; it may have died already.
    if (!platform::DieWithParent(parent, SIGKILL)) _exit(ECHILD);
    close(ready_[0]);
    close(go_[1]);
    if (prepare) {
      if (const int err = prepare(); err != 0) _exit(err);
    }
    const char ready = 'r';
    if (write(ready_[1], &ready, 1) != 1) _exit(EPIPE);
    close(ready_[1]);
    // Blocks until the parent closes its end: every worker is let go at once.
    char go;
    while (read(go_[0], &go, 1) < 0 && errno == EINTR) {
    }
    close(go_[0]);
    // _exit: no atexit handlers or destructors of the parent's objects.
    _exit(body());
  }
  pids_.push_back(pid);
  return absl::OkStatus();
}

absl::Status WorkerGroup::Start() {
  if (ready_[1] >= 0) {
    close(ready_[1]);
    ready_[1] = -1;
  }
  for (size_t ready = 0; ready < pids_.size();) {
    char byte;
    const ssize_t n = read(ready_[0], &byte, 1);
    if (n == 1) {
      ++ready;
    } else if (n == 0) {
      // Every write end is closed yet some worker never said ready: it
      // died, or its preparation failed; report that one's errno.
      for (auto it = pids_.begin(); it != pids_.end(); ++it) {
        int status = 0;
        if (waitpid(*it, &status, WNOHANG) != *it) continue;
        pids_.erase(it);
        const int err = WorkerErrno(status);
        return core::ErrnoStatus(err, absl::StrCat("a worker failed before it was ready: ", std::strerror(err)));
      }
      return core::ErrnoStatus(ECHILD, "a worker died before it was ready");
    } else if (errno != EINTR) {
      return core::ErrnoStatus(errno, absl::StrCat("read: ", std::strerror(errno)));
    }
  }
  close(go_[1]);
  go_[1] = -1;
  return absl::OkStatus();
}

absl::Status WorkerGroup::Wait() {
  absl::Status first = absl::OkStatus();
  for (pid_t pid : pids_) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) {
        status = 0;
        break;
      }
    }
    const int err = WorkerErrno(status);
    if (err != 0 && first.ok()) {
      first = core::ErrnoStatus(err, WIFEXITED(status)
                                         ? absl::StrCat("worker: ", std::strerror(err))
                                         : absl::StrCat("worker killed by signal ", WTERMSIG(status)));
    }
  }
  pids_.clear();
  return first;
}

}  // namespace sysv::bench

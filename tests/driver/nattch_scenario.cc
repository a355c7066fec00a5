#include "tests/driver/nattch_scenario.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "tests/driver/guest_check.h"

namespace sysv::guest {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kPages = 4;

// A forked child that holds the parent's mappings (or execs, dropping them)
// until killed; the parent waits for its "ready" byte.
pid_t StartHolder(bool exec, const std::string& self_exe) {
  int ready[2];
  if (pipe(ready) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    if (exec) {
      const std::string fd = std::to_string(ready[1]);
      execl(self_exe.c_str(), self_exe.c_str(), "hold", fd.c_str(), nullptr);
      _exit(127);
    }
    _exit(HoldMain(ready[1]));
  }
  close(ready[1]);
  char byte;
  if (pid < 0 || read(ready[0], &byte, 1) != 1) {
    close(ready[0]);
    if (pid > 0) kill(pid, SIGKILL);
    return -1;
  }
  close(ready[0]);
  return pid;
}

void Reap(pid_t pid, int sig) {
  if (pid <= 0) return;
  if (sig) kill(pid, sig);
  int status;
  waitpid(pid, &status, 0);
}

}  // namespace

CallsSide::CallsSide(const ShmCalls& calls)
    : calls_(calls), id_(calls.get(IPC_PRIVATE, kPages * kPage, IPC_CREAT | 0600)) {}

CallsSide::~CallsSide() { calls_.ctl(id_, IPC_RMID, nullptr); }

char* CallsSide::Attach() {
  void* p = calls_.at(id_, nullptr, 0);
  return p == reinterpret_cast<void*>(-1) ? nullptr : static_cast<char*>(p);
}

int64_t CallsSide::Nattch() {
  shmid_ds ds{};
  return calls_.ctl(id_, IPC_STAT, &ds) == 0 ? static_cast<int64_t>(ds.shm_nattch) : -1;
}

int64_t CallsSide::Lpid() {
  shmid_ds ds{};
  return calls_.ctl(id_, IPC_STAT, &ds) == 0 ? ds.shm_lpid : -1;
}

int HoldMain(int fd) {
  const char byte = 'r';
  if (write(fd, &byte, 1) != 1) return 1;
  close(fd);
  for (;;) pause();
}

std::vector<Step> RunNattchScenario(ShmSide& side, const std::string& self_exe) {
  std::vector<Step> trace;
  pid_t child = 0;
  auto record = [&](const std::string& what) {
    const int64_t lpid = side.Lpid();
    std::string who = std::to_string(lpid);
    if (lpid == getpid()) who = "self";
    if (child > 0 && lpid == child) who = "child";
    trace.push_back(Step{what, side.Nattch(), who});
  };

  char* a = side.Attach();
  if (a == nullptr) {
    Check(false, side.Name() + " attach", "failed");
    return trace;
  }
  a[0] = 1;
  record("attach");
  mprotect(a + kPage, kPage, PROT_READ);  // [0][1][2-3]
  record("mprotect splits one page out");
  munmap(a + 3 * kPage, kPage);  // [0][1][2]: split, then the piece goes
  record("munmap of a mapping's tail");
  munmap(a + 2 * kPage, kPage);  // [0][1]
  record("munmap of a whole piece");

  child = StartHolder(false, self_exe);
  record("fork, child holds");
  Reap(child, SIGKILL);
  record("child killed by SIGKILL");

  child = StartHolder(true, self_exe);
  record("fork and exec");
  Reap(child, SIGKILL);
  record("exec'd child killed");

  child = fork();
  if (child == 0) _exit(0);  // exits still mapped
  Reap(child, 0);
  record("fork, child exits mapped");

  char* b = side.Attach();
  record("second attach");
  munmap(a, 2 * kPage);  // both pieces of the first
  record("munmap of two pieces at once");
  if (b != nullptr) munmap(b, kPages * kPage);
  record("last detach");
  return trace;
}

void CompareTraces(const std::vector<Step>& want, const std::vector<Step>& got,
                   const std::string& label) {
  CheckEq(got.size(), want.size(), label + ": steps");
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    CheckEq(got[i].nattch, want[i].nattch, label + ": nattch after " + want[i].what);
    Check(got[i].lpid == want[i].lpid, label + ": lpid after " + want[i].what,
          "got " + got[i].lpid + ", want " + want[i].lpid);
  }
}

}  // namespace sysv::guest

// Workers under SEM_UNDO, killed with SIGKILL at random moments (holding the
// semaphore, sleeping for it, or inside semop itself), against the kernel
// and against libsysv: the set must end as the kernel leaves it.
#include <signal.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/testing/differential.h"
#include "tests/testing/sem_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::SemApi;
using testing::TraceWriter;

// Semaphore 0 is a mutex (starts at 1), semaphore 1 counts entries (no
// undo: it only grows), semaphore 2 is a gate the workers wait to be zero.
void Worker(const SemApi& api, int id) {
  for (;;) {
    struct sembuf lock[] = {{2, 0, 0}, {0, -1, SEM_UNDO}};
    if (api.semop(id, lock, 2) != 0) _exit(1);
    struct sembuf count = {1, 1, 0};
    if (api.semop(id, &count, 1) != 0) _exit(2);
    struct sembuf unlock = {0, 1, SEM_UNDO};
    if (api.semop(id, &unlock, 1) != 0) _exit(3);
  }
}

void Chaos(const SemApi& api, uint32_t seed, TraceWriter& out) {
  const int id = api.semget(IPC_PRIVATE, 3, 0600);
  if (id < 0) {
    out.Line(0, "semget failed");
    return;
  }
  api.semctl(id, 0, SETVAL, 1);
  std::mt19937 rng(seed);
  std::vector<pid_t> workers;
  auto spawn = [&] {
    const pid_t pid = fork();
    if (pid == 0) Worker(api, id);
    workers.push_back(pid);
  };
  for (int i = 0; i < 4; ++i) spawn();
  int kills = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::microseconds(200 + rng() % 3000));
    const size_t victim = rng() % workers.size();
    kill(workers[victim], SIGKILL);
    waitpid(workers[victim], nullptr, 0);
    workers.erase(workers.begin() + static_cast<long>(victim));
    ++kills;
    spawn();
  }
  // Close the gate, so that survivors end up asleep on it, then kill them.
  api.semctl(id, 2, SETVAL, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (pid_t pid : workers) kill(pid, SIGKILL);
  for (pid_t pid : workers) waitpid(pid, nullptr, 0);
  // libsysv learns of deaths asynchronously; any call that reaches the
  // daemon (IPC_STAT) is answered only after it has applied them.
  struct semid_ds ds;
  api.semctl(id, 0, IPC_STAT, &ds);
  std::vector<std::string> state;
  for (int n = 0; n < 3; ++n) {
    if (n == 1) continue;  // the entry count depends on timing
    state.push_back(absl::StrCat("sem", n, " val=", api.semctl(id, n, GETVAL), " ncnt=", api.semctl(id, n, GETNCNT),
                                 " zcnt=", api.semctl(id, n, GETZCNT)));
  }
  out.Line(1, absl::StrJoin(state, "; "));
  out.Line(2, absl::StrCat("entries counted: ", api.semctl(id, 1, GETVAL) > 0 ? "yes" : "no",
                           ", kills: ", kills > 10 ? "many" : "few"));
  api.semctl(id, 0, IPC_RMID);
}

TEST(SemKillTest, WorkersKilledAtRandomLeaveTheSetAsTheKernelDoes) {
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    const bool fresh = testing::CanUseFreshKernelNamespace();
    const std::vector<std::string> kernel = testing::TraceInChild(
        "kernel", [&] { return !fresh || testing::EnterFreshKernelNamespace(); },
        [&](TraceWriter& out) { Chaos(testing::KernelSem(), seed, out); });
    testing::TestDaemon daemon(testing::FreshNamespaceDir("semkill"));
    daemon.Start();
    const std::vector<std::string> libsysv = testing::TraceInChild(
        "libsysv", [] { return true; }, [&](TraceWriter& out) { Chaos(testing::LibsysvSem(), seed, out); });
    ASSERT_EQ(kernel.size(), 2u) << absl::StrJoin(kernel, "\n");
    EXPECT_EQ(kernel, libsysv) << "seed " << seed;
    // The kernel's answer, spelled out: the mutex back at 1, nobody asleep.
    EXPECT_EQ(kernel[0], "1: sem0 val=1 ncnt=0 zcnt=0; sem2 val=1 ncnt=0 zcnt=0");
  }
}

}  // namespace
}  // namespace sysv

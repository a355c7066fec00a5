// A signal handler interrupts a sleeping semop with EINTR, never restarted,
// whenever it runs once the operation is queued, including in the instant
// before the sleeper's futex sleep (its spin, its last check). One signal is
// sent per round, as soon as GETNCNT shows the sleeper queued: the kernel
// always answers EINTR, and so must libsysv (a lost signal would leave the
// child asleep and the test would hang). Handlers are installed with
// sigaction(SA_RESTART), sigaction() without it, and signal(), through the
// wrappers of compat/signal_hooks.cc.
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
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

constexpr int kRounds = 200;

struct Shared {
  std::atomic<int> rounds_done;
  std::atomic<int> handled;
  int result[3][kRounds];  // errno of each round's semop (0: success)
};

Shared* g_shared = nullptr;

void Handler(int) { g_shared->handled.fetch_add(1); }
void InfoHandler(int, siginfo_t*, void*) { g_shared->handled.fetch_add(1); }

void Install(int variant) {
  if (variant == 2) {
    signal(SIGUSR1, &Handler);
    return;
  }
  struct sigaction action {};
  sigemptyset(&action.sa_mask);
  if (variant == 0) {
    action.sa_handler = &Handler;
    action.sa_flags = SA_RESTART;  // semop is never restarted, whatever the flag
  } else {
    action.sa_sigaction = &InfoHandler;
    action.sa_flags = SA_SIGINFO;
  }
  sigaction(SIGUSR1, &action, nullptr);
}

void Interrupt(const SemApi& api, TraceWriter& out) {
  g_shared = static_cast<Shared*>(
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  const int id = api.semget(IPC_PRIVATE, 1, 0600);
  if (g_shared == MAP_FAILED || id < 0) {
    out.Line(0, "setup failed");
    return;
  }
  for (int variant = 0; variant < 3; ++variant) {
    g_shared->rounds_done.store(0);
    g_shared->handled.store(0);
    const pid_t child = fork();
    if (child == 0) {
      Install(variant);
      for (int round = 0; round < kRounds; ++round) {
        struct sembuf take = {0, -1, 0};
        const int rc = api.semop(id, &take, 1);
        g_shared->result[variant][round] = rc == 0 ? 0 : errno;
        g_shared->rounds_done.store(round + 1);
      }
      _exit(0);
    }
    for (int round = 0; round < kRounds; ++round) {
      // Queued (inside semop, possibly still spinning): one signal.
      while (api.semctl(id, 0, GETNCNT) != 1) sched_yield();
      kill(child, SIGUSR1);
      while (g_shared->rounds_done.load() <= round) sched_yield();
    }
    int status = -1;
    waitpid(child, &status, 0);
    int eintr = 0;
    std::vector<std::string> others;
    for (int round = 0; round < kRounds; ++round) {
      if (g_shared->result[variant][round] == EINTR) {
        ++eintr;
      } else {
        others.push_back(absl::StrCat(round, ":", g_shared->result[variant][round]));
      }
    }
    out.Line(variant, absl::StrCat("variant ", variant, ": EINTR ", eintr, "/", kRounds, ", handlers ",
                                   g_shared->handled.load(), ", other results [", absl::StrJoin(others, " "),
                                   "], exit ", WIFEXITED(status) ? WEXITSTATUS(status) : -1, ", val ",
                                   api.semctl(id, 0, GETVAL), ", ncnt ", api.semctl(id, 0, GETNCNT)));
  }
  api.semctl(id, 0, IPC_RMID);
}

TEST(SemEintrTest, EveryHandlerAfterTheSleeperQueuedInterruptsIt) {
  const bool fresh = testing::CanUseFreshKernelNamespace();
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [&] { return !fresh || testing::EnterFreshKernelNamespace(); },
      [&](TraceWriter& out) { Interrupt(testing::KernelSem(), out); });
  testing::TestDaemon daemon(testing::FreshNamespaceDir("semeintr"));
  daemon.Start();
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; }, [&](TraceWriter& out) { Interrupt(testing::LibsysvSem(), out); });
  ASSERT_EQ(kernel.size(), 3u) << absl::StrJoin(kernel, "\n");
  EXPECT_EQ(kernel[0], absl::StrCat("0: variant 0: EINTR ", kRounds, "/", kRounds, ", handlers ", kRounds,
                                    ", other results [], exit 0, val 0, ncnt 0"));
  EXPECT_EQ(kernel, libsysv);
}

}  // namespace
}  // namespace sysv

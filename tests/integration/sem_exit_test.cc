// SEM_UNDO at exit is applied inside the exit, as the kernel does: a parent
// that reaps a child and at once reads the set sees the undone values, not
// the daemon's later view. Every way a process normally ends that libsysv
// sees (exit(), _exit(), _Exit()) is run many times, against the kernel and
// against libsysv, and the values read right after waitpid() must be equal.
#include <stdlib.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

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

constexpr int kRounds = 150;

[[noreturn]] void End(int how, int status) {
  switch (how % 3) {
    case 0:
      exit(status);
    case 1:
      _exit(status);
    default:
      _Exit(status);
  }
}

void ReapAndRead(const SemApi& api, TraceWriter& out) {
  const int id = api.semget(IPC_PRIVATE, 2, 0600);
  if (id < 0) {
    out.Line(0, "semget failed");
    return;
  }
  for (int round = 0; round < kRounds; ++round) {
    api.semctl(id, 0, SETVAL, 5);
    api.semctl(id, 1, SETVAL, 0);
    const pid_t child = fork();
    if (child == 0) {
      // Undone at exit: -2 on sem 0 and +3 on sem 1 (whose undo, -3, then
      // leaves it at 1 - 3 -> clamped to 0 after the -2 without undo); the
      // -1 without undo on sem 0 stays.
      struct sembuf ops[] = {{0, -2, SEM_UNDO}, {1, 3, SEM_UNDO}};
      if (api.semop(id, ops, 2) != 0) _exit(10);
      struct sembuf plain[] = {{0, -1, 0}, {1, -2, 0}};
      if (api.semop(id, plain, 2) != 0) _exit(11);
      if (round % 2 == 1) {
        // A simple op with SEM_UNDO alone (the one-sop path).
        struct sembuf one = {0, 1, SEM_UNDO};
        if (api.semop(id, &one, 1) != 0) _exit(12);
      }
      End(round, 0);
    }
    int status = -1;
    waitpid(child, &status, 0);
    // Straight after the reap: no call in between that would let the daemon
    // catch up.
    const int sem0 = api.semctl(id, 0, GETVAL);
    const int sem1 = api.semctl(id, 1, GETVAL);
    out.Line(round, absl::StrCat("exit ", WIFEXITED(status) ? WEXITSTATUS(status) : -1, " sem0=", sem0,
                                 " sem1=", sem1));
  }
  api.semctl(id, 0, IPC_RMID);
}

TEST(SemExitTest, UndoIsAppliedBeforeTheParentCanReap) {
  const bool fresh = testing::CanUseFreshKernelNamespace();
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [&] { return !fresh || testing::EnterFreshKernelNamespace(); },
      [&](TraceWriter& out) { ReapAndRead(testing::KernelSem(), out); });
  testing::TestDaemon daemon(testing::FreshNamespaceDir("semexit"));
  daemon.Start();
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; }, [&](TraceWriter& out) { ReapAndRead(testing::LibsysvSem(), out); });
  ASSERT_EQ(kernel.size(), static_cast<size_t>(kRounds)) << absl::StrJoin(kernel, "\n");
  // The kernel's answer, spelled out: 5 - 1 on sem 0 (the undone -2 and
  // +1 come back), 0 on sem 1.
  EXPECT_EQ(kernel[0], "0: exit 0 sem0=4 sem1=0");
  EXPECT_EQ(kernel[1], "1: exit 0 sem0=4 sem1=0");
  for (size_t i = 0; i < kernel.size() && i < libsysv.size(); ++i) {
    EXPECT_EQ(kernel[i], libsysv[i]);
  }
  EXPECT_EQ(kernel.size(), libsysv.size());
}

}  // namespace
}  // namespace sysv

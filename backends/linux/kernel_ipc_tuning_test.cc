#include "backends/linux/kernel_ipc_tuning.h"

#include <sched.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::linux_backend {
namespace {

// In a child of its own IPC namespace (root only), so that the host's
// limits never change: each setter's value is what the kernel then reports
// through IPC_INFO, and semmni leaves kernel.sem's other fields alone.
// Exit codes name the first check that failed.
int SetLimitsInPrivateNamespace() {
  if (unshare(CLONE_NEWIPC) != 0) return 10;
  struct seminfo before {};
  if (semctl(0, 0, IPC_INFO, &before) < 0) return 11;
  if (!SetKernelShmmni(1234).ok() || !SetKernelSemmni(77).ok() || !SetKernelMsgmni(55).ok()) return 12;
  struct shminfo shm {};
  if (shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&shm)) < 0 || shm.shmmni != 1234) return 13;
  struct seminfo sem {};
  if (semctl(0, 0, IPC_INFO, &sem) < 0 || sem.semmni != 77) return 14;
  if (sem.semmsl != before.semmsl || sem.semmns != before.semmns || sem.semopm != before.semopm) return 15;
  struct msginfo msg {};
  if (msgctl(0, IPC_INFO, reinterpret_cast<struct msqid_ds*>(&msg)) < 0 || msg.msgmni != 55) return 16;
  return 0;
}

TEST(KernelIpcTuningTest, SettersChangeWhatTheKernelReports) {
  if (geteuid() != 0) {
    if (std::getenv("SYSV_REQUIRE_ROOT") != nullptr) FAIL() << "needs root (unshare CLONE_NEWIPC)";
    GTEST_SKIP() << "needs root (unshare CLONE_NEWIPC)";
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(SetLimitsInPrivateNamespace());
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// /proc/loadavg's first three fields, as uptime(1) shows them.
TEST(KernelIpcTuningTest, LoadAveragesParse) { EXPECT_TRUE(LoadAverages().ok()); }

}  // namespace
}  // namespace sysv::linux_backend

// A process that creates, uses and removes objects one after another must
// not keep a descriptor (or a mapping) for each object it ever used.
#include <dirent.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <memory>

#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

int OpenDescriptors() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (readdir(dir) != nullptr) ++count;
  closedir(dir);
  return count;
}

class GrantSweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<testing::TestDaemon>(testing::FreshNamespaceDir("sweep"));
    daemon_->Start();
    // Register and map the tables before counting.
    ASSERT_GE(sysv_msgctl(0, IPC_INFO, reinterpret_cast<msqid_ds*>(&info_)), 0);
  }
  std::unique_ptr<testing::TestDaemon> daemon_;
  msginfo info_{};
};

constexpr int kObjects = 500;

TEST_F(GrantSweepTest, SegmentsAttachedAndRemovedLeaveNoDescriptors) {
  const int before = OpenDescriptors();
  for (int i = 0; i < kObjects; ++i) {
    const int id = sysv_shmget(IPC_PRIVATE, 4096, 0600);
    ASSERT_GE(id, 0);
    void* addr = sysv_shmat(id, nullptr, 0);
    ASSERT_NE(addr, reinterpret_cast<void*>(-1));
    static_cast<char*>(addr)[0] = 1;
    ASSERT_EQ(sysv_shmdt(addr), 0);
    ASSERT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
  }
  EXPECT_LT(OpenDescriptors() - before, 40);
}

TEST_F(GrantSweepTest, SetsUsedAndRemovedLeaveNoDescriptors) {
  const int before = OpenDescriptors();
  for (int i = 0; i < kObjects; ++i) {
    const int id = sysv_semget(IPC_PRIVATE, 1, 0600);
    ASSERT_GE(id, 0);
    sembuf op{0, 1, 0};
    ASSERT_EQ(sysv_semop(id, &op, 1), 0);
    ASSERT_EQ(sysv_semctl(id, 0, IPC_RMID), 0);
  }
  EXPECT_LT(OpenDescriptors() - before, 40);
}

TEST_F(GrantSweepTest, QueuesUsedAndRemovedLeaveNoDescriptors) {
  const int before = OpenDescriptors();
  for (int i = 0; i < kObjects; ++i) {
    const int id = sysv_msgget(IPC_PRIVATE, 0600);
    ASSERT_GE(id, 0);
    struct {
      long mtype;
      char mtext[8];
    } message{1, "x"};
    ASSERT_EQ(sysv_msgsnd(id, &message, 1, 0), 0);
    ASSERT_EQ(sysv_msgrcv(id, &message, 8, 0, 0), 1);
    ASSERT_EQ(sysv_msgctl(id, IPC_RMID, nullptr), 0);
  }
  EXPECT_LT(OpenDescriptors() - before, 40);
}

}  // namespace
}  // namespace sysv

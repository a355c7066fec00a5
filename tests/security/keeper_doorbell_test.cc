// The fd keeper with a doorbell (issue #14, backends/linux/fd_keeper.h):
// the daemon's Puts and Drops wait in the keeper's socket, unserved, until
// the doorbell rings (half a window of requests, a wait for answers, the
// drop of a large region) or FdKeeper::kDrainEvery passes. What users were
// promised must hold all the same:
//   - a user's objects made while the keeper has not served them survive a
//     daemon killed (kill -9) right then: the kernel holds the descriptors
//     in the keeper's socket, and the keeper serves them before the next
//     daemon's requests;
//   - the memory of a large removed segment is given back at once, not
//     kept by the keeper's copy until its next drain.
//
// Each actor is a forked child running as its own user (RunAs) and reports
// through its exit status: 0 when every check held, the number of the
// failed check otherwise.
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/security/backend_guarantees.h"
#include "tests/security/keeper_probe.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::RunAs;
using testing::User;

// Ids 5000-5049 are this suite's.
const testing::Identity kCreator = User("doorbell-creator", 5001, 5001);
const testing::Identity kRemover = User("doorbell-remover", 5002, 5002);

// Fewer than half a window (FdKeeper::kMaxUnanswered / 2): no ring.
constexpr int kSets = 5;
constexpr key_t kBaseKey = 0x14d50000;
constexpr size_t kLargeSegment = 8 << 20;

class KeeperDoorbellTest : public testing::SharedNamespaceTest {
 protected:
  KeeperDoorbellTest() : SharedNamespaceTest("keeper-doorbell") {}

  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    SharedNamespaceTest::SetUp();
  }

  std::string KeeperPath() const { return dir_ + "/sysvipcd.keeper"; }
};

// As the creator: set i (key kBaseKey + i) holds i + 1. 0, or 1 + the set
// that failed.
int CreateSets() {
  for (int i = 0; i < kSets; ++i) {
    const int set = sysv_semget(kBaseKey + i, 1, IPC_CREAT | IPC_EXCL | 0600);
    if (set < 0 || sysv_semctl(set, 0, SETVAL, i + 1) != 0) return 1 + i;
  }
  return 0;
}

// As the creator, after the restart: 0, 1 + i (set i gone) or 20 + i (its
// value lost).
int SetsStillHold() {
  for (int i = 0; i < kSets; ++i) {
    const int set = sysv_semget(kBaseKey + i, 1, 0600);
    if (set < 0) return 1 + i;
    if (sysv_semctl(set, 0, GETVAL) != i + 1) return 20 + i;
  }
  return 0;
}

TEST_F(KeeperDoorbellTest, ObjectsTheKeeperHasNotServedSurviveADaemonKill) {
  SYSV_SKIP_UNLESS_BACKEND_GIVES(testing::RegionsCanBeSealed());
  const pid_t keeper = testing::KeeperPid(KeeperPath());
  ASSERT_GT(keeper, 0) << "no fd keeper";
  ASSERT_EQ(RunAs(kCreator, CreateSets), 0) << "1 + i: set i could not be made";
  // Not asserted (the keeper's kDrainEvery may pass on a loaded machine),
  // but says which path this run took: 0 means every Put was still queued.
  std::printf("the keeper had served %zu of the %d Puts before the kill\n", testing::RegionsHeldBy(keeper), kSets);
  daemon_->Kill();
  daemon_->Start();
  EXPECT_EQ(RunAs(kCreator, SetsStillHold), 0) << "1 + i: set i lost; 20 + i: its value lost";
  EXPECT_EQ(testing::KeeperPid(KeeperPath()), keeper) << "the keeper did not outlive the daemon";
}

// As the remover: makes a large segment, writes every page, and keeps it
// (its id in the exit status is not needed: the key names it). 0 or the
// failed step.
int MakeLargeSegment() {
  const int segment = sysv_shmget(kBaseKey + 100, kLargeSegment, IPC_CREAT | IPC_EXCL | 0600);
  if (segment < 0) return 1;
  void* at = sysv_shmat(segment, nullptr, 0);
  if (at == reinterpret_cast<void*>(-1)) return 2;
  std::memset(at, 0x5a, kLargeSegment);
  return sysv_shmdt(at) == 0 ? 0 : 3;
}

int RemoveLargeSegment() {
  const int segment = sysv_shmget(kBaseKey + 100, 0, 0600);
  if (segment < 0) return 1;
  return sysv_shmctl(segment, IPC_RMID, nullptr) == 0 ? 0 : 2;
}

TEST_F(KeeperDoorbellTest, LargeRemovedSegmentIsReleasedByTheKeeperAtOnce) {
  SYSV_SKIP_UNLESS_BACKEND_GIVES(testing::RegionsCanBeSealed());
  const pid_t keeper = testing::KeeperPid(KeeperPath());
  ASSERT_GT(keeper, 0) << "no fd keeper";
  ASSERT_EQ(RunAs(kRemover, MakeLargeSegment), 0);
  // Its Put is served at the keeper's next drain (kDrainEvery at most).
  bool held = false;
  for (int i = 0; i < 800 && !held; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    held = testing::RegionsHeldBy(keeper) >= 1;
  }
  ASSERT_TRUE(held) << "the keeper never took the segment";
  ASSERT_EQ(RunAs(kRemover, RemoveLargeSegment), 0);
  // Its pages live while the keeper's copy does: that must go now, not at
  // the next drain (up to kDrainEvery later).
  size_t still_held = 1;
  for (int i = 0; i < 100 && still_held > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    still_held = testing::RegionsHeldBy(keeper);
  }
  EXPECT_EQ(still_held, 0u) << "the keeper still holds the removed 8 MiB segment 1 s later";
}

}  // namespace
}  // namespace sysv

// Issue #14's creation path under a daemon kill: sysvipcd no longer waits
// for the fd keeper's answer when it hands it a new sealed set or segment
// (backends/linux/fd_keeper.h), so a user's semget/shmget can return while
// the keeper has not yet taken the object from its socket. A user's
// objects must still survive the daemon being killed right then: the
// request is queued in the keeper's socket before the create is answered,
// and a keeper serves what a dead daemon queued before it takes the next
// daemon's connection.
//
// The attack: the keeper is stopped (SIGSTOP: a keeper that lags behind, as
// on a loaded machine), C (uid 4101) creates sets and segments and writes
// values into them, the daemon is killed (kill -9) and a new one started,
// which connects to the keeper while the dead one's requests still wait;
// then the keeper runs again. Before the asynchronous Put, C's first create
// waited for the stopped keeper (C is killed by its alarm, status 128 + 14).
//
// Each actor is a forked child running as its own user (RunAs) and reports
// through its exit status: 0 when every check held, the number of the
// failed check otherwise.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <chrono>
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

// Ids 4100-4149 are this suite's.
const testing::Identity kCreatorC = User("create-restart-c", 4101, 4101);

constexpr int kObjects = 8;
constexpr key_t kBaseKey = 0x14c40000;

class CreateRestartAttackTest : public testing::SharedNamespaceTest {
 protected:
  CreateRestartAttackTest() : SharedNamespaceTest("create-restart") {}

  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    SharedNamespaceTest::SetUp();
  }
};

// As C: set i (key kBaseKey + i) holds i + 1 in semaphore 0, segment i
// holds i + 1 in its first byte. 0, or 1 + the object that failed; C's
// alarm ends a create that waits (for a stopped keeper) with SIGALRM.
int CreateObjects() {
  alarm(5);
  for (int i = 0; i < kObjects; ++i) {
    const int set = sysv_semget(kBaseKey + i, 1, IPC_CREAT | IPC_EXCL | 0600);
    if (set < 0 || sysv_semctl(set, 0, SETVAL, i + 1) != 0) return 1 + i;
    const int segment = sysv_shmget(kBaseKey + i, 4096, IPC_CREAT | IPC_EXCL | 0600);
    if (segment < 0) return 1 + i;
    void* at = sysv_shmat(segment, nullptr, 0);
    if (at == reinterpret_cast<void*>(-1)) return 1 + i;
    *static_cast<volatile char*>(at) = static_cast<char>(i + 1);
    if (sysv_shmdt(at) != 0) return 1 + i;
  }
  return 0;
}

// As C, after the restart: 0 when every object is there with its value;
// 1 + i: set i is gone, 20 + i: its value is not; 40 + i, 60 + i: the same
// for segment i.
int ObjectsStillHold() {
  for (int i = 0; i < kObjects; ++i) {
    const int set = sysv_semget(kBaseKey + i, 1, 0600);
    if (set < 0) return 1 + i;
    if (sysv_semctl(set, 0, GETVAL) != i + 1) return 20 + i;
    const int segment = sysv_shmget(kBaseKey + i, 4096, 0600);
    if (segment < 0) return 40 + i;
    void* at = sysv_shmat(segment, nullptr, SHM_RDONLY);
    if (at == reinterpret_cast<void*>(-1)) return 40 + i;
    const char value = *static_cast<volatile char*>(at);
    (void)sysv_shmdt(at);
    if (value != i + 1) return 60 + i;
  }
  return 0;
}

TEST_F(CreateRestartAttackTest, ObjectsMadeWhileTheKeeperLagsSurviveADaemonKill) {
  // Sealed regions and their fd keeper exist only where the backend has
  // memfd seals (Linux); DragonFly's region files have neither.
  SYSV_SKIP_UNLESS_BACKEND_GIVES(testing::RegionsCanBeSealed());
  const pid_t keeper = testing::KeeperPid(dir_ + "/sysvipcd.keeper");
  ASSERT_GT(keeper, 0) << "no fd keeper";
  ASSERT_EQ(kill(keeper, SIGSTOP), 0);
  const int made = RunAs(kCreatorC, CreateObjects);
  daemon_->Kill();
  // The new daemon connects while the keeper is stopped (its List waits);
  // the keeper then sees the new connection and the dead daemon's queue at
  // once.
  std::thread resume([keeper] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    (void)kill(keeper, SIGCONT);
  });
  daemon_->Start();
  resume.join();
  ASSERT_EQ(made, 0) << "C's creates: 1 + i: object i failed; 142: a create waited for the stopped keeper";
  EXPECT_EQ(RunAs(kCreatorC, ObjectsStillHold), 0)
      << "1 + i / 20 + i: set i or its value lost; 40 + i / 60 + i: segment i or its value lost";
}

}  // namespace
}  // namespace sysv

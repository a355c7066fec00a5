// Issue #14's cheaper create and IPC_RMID, attacked: the daemon no longer
// maps a new queue (its header is written to the region), leaves a removed
// object's region to be closed and dropped from the fd keeper after the
// reply, and maps a queue only when someone uses it. None of that may let
// a removed object's holder reach the object made next, which usually
// takes the removed one's slot in the table (index) with the next seq.
//
// B (uid 4851) makes a 0666 queue or set, uses it through libsysv (so he
// holds its region: a descriptor for a queue, a mapping for a set), removes
// it, and keeps what he holds. A (uid 4850) then makes a 0600 object of the
// same kind. B scribbles 0xff over everything his stale region lets him
// write, and tries A's object through libsysv. A's object must be untouched
// (an empty queue that still carries A's messages; a set whose values are
// 0 and still work), and B's calls on it must fail with EACCES as in the
// kernel.
//
// Each actor is a forked child running as its own user (RunAs) and reports
// through its exit status: 0 when every check held, the number of the
// failed check otherwise, 128 + N when signal N killed it.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/ipc_identities.h"
#include "tests/security/victim_fixture.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::RunAs;
using testing::User;

// Ids 4850-4899 are this suite's.
const testing::Identity kCreatorA = User("removed-creator-a", 4850, 4850);
const testing::Identity kRemoverB = User("removed-remover-b", 4851, 4851);

struct Message {
  long mtype;
  char mtext[32];
};

class RemovedRegionAttackTest : public testing::VictimFixture {
 protected:
  RemovedRegionAttackTest() : VictimFixture("removed-region") {}

  // Runs B (in a thread, StartVictim): `make_and_remove` makes, uses and
  // removes B's object, leaving B holding its region, and returns 0 or a
  // check's number; then B waits for A's object's id on a pipe and runs
  // `attack` on it. A's object is made by `make_victim` once B is in place.
  // Returns B's status; `*victim` is A's id.
  int RunAttack(const std::function<int()>& make_and_remove, const std::function<int()>& make_victim,
                const std::function<int(int victim)>& attack, int* victim) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return -1;
    int status = -1;
    std::thread b = StartVictim(
        kRemoverB,
        [&](const std::function<bool()>& ready) {
          close(pipe_fds[1]);
          if (const int made = make_and_remove(); made != 0) return made;
          if (!ready()) return 90;
          int id = -1;
          if (read(pipe_fds[0], &id, sizeof(id)) != static_cast<ssize_t>(sizeof(id)) || id < 0) return 91;
          return attack(id);
        },
        &status);
    *victim = make_victim();
    const int sent = *victim;
    (void)!write(pipe_fds[1], &sent, sizeof(sent));
    close(pipe_fds[1]);
    close(pipe_fds[0]);
    b.join();
    return status;
  }
};

// A queue: B keeps the descriptor libsysv was given for his removed queue.
TEST_F(RemovedRegionAttackTest, RemovedQueueHolderCannotReachTheNextQueue) {
  // Set in B's process (the child), used there only.
  int stale_fd = -1;
  int victim = -1;
  const int attack = RunAttack(
      [&] {
        const int id = sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0666);
        if (id < 0) return 1;
        Message message{1, "b's"};
        if (sysv_msgsnd(id, &message, sizeof(message.mtext), 0) != 0) return 2;
        stale_fd = testing::HeldRegionFd("msg", id);
        if (stale_fd < 0) return 3;
        if (sysv_msgctl(id, IPC_RMID, nullptr) != 0) return 4;
        return 0;
      },
      [] {
        return testing::RunAsForValue(kCreatorA, [] {
          const int id = sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0600);
          if (id < 0) return id;
          Message message{7, "a's"};
          return sysv_msgsnd(id, &message, sizeof(message.mtext), 0) == 0 ? id : -1;
        });
      },
      [&](int victim) {
        struct stat st {};
        if (fstat(stale_fd, &st) != 0) return 10;
        // Everything the stale region lets B write, header included.
        std::string junk(static_cast<size_t>(st.st_size), '\xff');
        (void)!pwrite(stale_fd, junk.data(), junk.size(), 0);
        Message message{1, "forged"};
        if (sysv_msgsnd(victim, &message, sizeof(message.mtext), IPC_NOWAIT) == 0 || errno != EACCES) return 11;
        if (sysv_msgrcv(victim, &message, sizeof(message.mtext), 0, IPC_NOWAIT) >= 0 || errno != EACCES) return 12;
        if (testing::HeldRegionFd("msg", victim) >= 0) return 13;
        return 0;
      },
      &victim);
  ASSERT_GE(victim, 0) << "A's msgget";
  EXPECT_EQ(attack, 0) << "1-4: B's own queue; 11/12: B reached A's queue; 13: B holds A's region";
  const int owner = RunAs(kCreatorA, [victim] {
    struct msqid_ds ds {};
    if (sysv_msgctl(victim, IPC_STAT, &ds) != 0) return 1;
    if (ds.msg_qnum != 1) return 2;
    Message message{};
    if (sysv_msgrcv(victim, &message, sizeof(message.mtext), 0, IPC_NOWAIT) != sizeof(message.mtext)) return 3;
    if (message.mtype != 7 || std::strcmp(message.mtext, "a's") != 0) return 4;
    return sysv_msgctl(victim, IPC_RMID, nullptr) == 0 ? 0 : 5;
  });
  EXPECT_EQ(owner, 0) << "2: A's queue holds another count of messages; 3/4: A's message is not A's";
}

// A set: B keeps libsysv's writable mapping of his removed set.
TEST_F(RemovedRegionAttackTest, RemovedSetHolderCannotReachTheNextSet) {
  int victim = -1;
  const int attack = RunAttack(
      [] {
        const int id = sysv_semget(IPC_PRIVATE, 4, IPC_CREAT | 0666);
        if (id < 0) return 1;
        struct sembuf up {0, 1, 0};
        if (sysv_semop(id, &up, 1) != 0) return 2;
        void* stale = testing::HeldWritableMapping("sem", id);
        if (stale == nullptr) return 3;
        if (sysv_semctl(id, 0, IPC_RMID) != 0) return 4;
        // The first page of the stale region: its header and slots.
        std::memset(stale, 0xff, 4096);
        return 0;
      },
      [] {
        return testing::RunAsForValue(kCreatorA, [] { return sysv_semget(IPC_PRIVATE, 4, IPC_CREAT | 0600); });
      },
      [](int id) {
        struct sembuf up {0, 1, IPC_NOWAIT};
        if (sysv_semop(id, &up, 1) == 0 || errno != EACCES) return 11;
        if (sysv_semctl(id, 0, GETVAL) >= 0 || errno != EACCES) return 12;
        if (testing::HeldWritableMapping("sem", id) != nullptr) return 13;
        return 0;
      },
      &victim);
  ASSERT_GE(victim, 0) << "A's semget";
  EXPECT_EQ(attack, 0) << "1-4: B's own set; 11/12: B reached A's set; 13: B maps A's region";
  const int owner = RunAs(kCreatorA, [victim] {
    for (int i = 0; i < 4; ++i) {
      if (sysv_semctl(victim, i, GETVAL) != 0) return 1;
    }
    struct sembuf ops[2] = {{0, 2, 0}, {0, -1, 0}};
    if (sysv_semop(victim, ops, 2) != 0) return 2;
    if (sysv_semctl(victim, 0, GETVAL) != 1) return 3;
    return sysv_semctl(victim, 0, IPC_RMID) == 0 ? 0 : 4;
  });
  EXPECT_EQ(owner, 0) << "1: A's new set is not zeros; 2/3: A's set does not work as a set";
}

}  // namespace
}  // namespace sysv

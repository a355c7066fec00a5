// Per-user quotas (user_objects, user_bytes; core/ipc/user_quota.h) with a
// real daemon and real users, and the namespace-wide limits of each kind
// reached: the calls beyond them fail with ENOSPC (EPERM for msg_qbytes),
// the daemon keeps answering, and other users and their objects are not
// affected.
//
// The users are children that switch to other uids (as_user.h): the test
// needs root, and skips, naming why, without it (a failure under
// SYSV_REQUIRE_ROOT=1).
#include <signal.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/sem/sem_set.h"
#include "core/shm/attach_ledger.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::Identity;
using testing::RunAs;
using testing::User;

// Each user's process holds its attach ledger, charged to user_bytes while
// it lives (core/ipc/user_quota.h): a page, and a page of entries more once
// it attaches a segment among the first 128 indexes.
constexpr uint64_t kLedgerPage = core::AttachLedgerHeader::kSize;

const Identity kAlice = User("alice", 2001, 3001);
const Identity kBob = User("bob", 2002, 3002);
const Identity kCarol = User("carol", 2003, 3003);

// In a child: checks one call's outcome, printing what went wrong.
// `expected_errno` 0 means success (a result >= 0).
class Checks {
 public:
  explicit Checks(const char* who) : who_(who) {}
  // Returns the call's result, for ids.
  long Expect(const char* what, long result, int expected_errno) {
    const int error = result < 0 ? errno : 0;
    if (error != expected_errno) {
      std::fprintf(stderr, "%s: %s returned %ld (%s), expected %s\n", who_, what, result,
                   error != 0 ? strerrorname_np(error) : "success",
                   expected_errno != 0 ? strerrorname_np(expected_errno) : "success");
      ++failures_;
    }
    return result;
  }
  int status() const { return failures_ == 0 ? 0 : 1; }

 private:
  const char* who_;
  int failures_ = 0;
};

// Runs `body` as `who` in a child (RunAs()), with the Checks it records
// into, named after the user: the child's exit status, 0 when every check
// held.
int AsUser(const Identity& who, const std::function<void(Checks&)>& body) {
  return RunAs(who, [&who, &body] {
    Checks checks(who.name.c_str());
    body(checks);
    return checks.status();
  });
}

// The kinds' creating calls. Sizes and keys are the caller's.
long NewSegment(key_t key, size_t size) { return sysv_shmget(key, size, IPC_CREAT | IPC_EXCL | 0666); }
long NewSet(key_t key) { return sysv_semget(key, 2, IPC_CREAT | IPC_EXCL | 0666); }
long NewQueue(key_t key) { return sysv_msgget(key, IPC_CREAT | IPC_EXCL | 0666); }

void RemoveEverything() {
  for (int index = 0; index < 64; ++index) {
    shmid_ds shm{};
    if (const int id = sysv_shmctl(index, SHM_STAT_ANY, &shm); id >= 0) sysv_shmctl(id, IPC_RMID, nullptr);
    semid_ds sem{};
    if (const int id = sysv_semctl(index, 0, SEM_STAT_ANY, &sem); id >= 0) sysv_semctl(id, 0, IPC_RMID);
    msqid_ds msg{};
    if (const int id = sysv_msgctl(index, MSG_STAT_ANY, &msg); id >= 0) sysv_msgctl(id, IPC_RMID, nullptr);
  }
}

// Gives the object of `kind` with `key` to `uid` (IPC_SET of the owner).
int GiveAway(char kind, key_t key, uid_t uid) {
  if (kind == 'm') {
    const int id = sysv_shmget(key, 0, 0);
    shmid_ds ds{};
    if (id < 0 || sysv_shmctl(id, IPC_STAT, &ds) != 0) return -1;
    ds.shm_perm.uid = uid;
    return sysv_shmctl(id, IPC_SET, &ds);
  }
  if (kind == 's') {
    const int id = sysv_semget(key, 0, 0);
    semid_ds ds{};
    if (id < 0 || sysv_semctl(id, 0, IPC_STAT, &ds) != 0) return -1;
    ds.sem_perm.uid = uid;
    return sysv_semctl(id, 0, IPC_SET, &ds);
  }
  const int id = sysv_msgget(key, 0);
  msqid_ds ds{};
  if (id < 0 || sysv_msgctl(id, IPC_STAT, &ds) != 0) return -1;
  ds.msg_perm.uid = uid;
  return sysv_msgctl(id, IPC_SET, &ds);
}

int SetQbytes(key_t key, unsigned long qbytes) {
  const int id = sysv_msgget(key, 0);
  msqid_ds ds{};
  if (id < 0 || sysv_msgctl(id, IPC_STAT, &ds) != 0) return -1;
  ds.msg_qbytes = qbytes;
  return sysv_msgctl(id, IPC_SET, &ds);
}

class UserQuotaTest : public ::testing::Test {
 protected:
  void StartDaemon(const std::string& limits) {
    daemon_ = std::make_unique<testing::TestDaemon>(testing::FreshNamespaceDir("quota"),
                                                    std::vector<std::string>{"--limit=" + limits});
    daemon_->Start();
    ASSERT_EQ(chmod(daemon_->dir().c_str(), 0755), 0);  // other users reach the socket
  }
  void TearDown() override {
    if (daemon_ != nullptr) {
      RemoveEverything();
      daemon_->Stop();
    }
  }

  // The daemon is the process we started, and answers (a question that
  // creates nothing: root may be at its quota).
  void ExpectDaemonAnswers() {
    ASSERT_EQ(kill(daemon_->pid(), 0), 0) << "the daemon is gone";
    seminfo info{};
    EXPECT_GE(sysv_semctl(0, 0, IPC_INFO, &info), 0) << strerror(errno);
    EXPECT_GT(info.semmni, 0);
  }

  std::unique_ptr<testing::TestDaemon> daemon_;
};

// Four objects of any kinds per user: the fifth of any kind is ENOSPC for
// that user alone; finding an existing object still works; removing one
// makes room again.
TEST_F(UserQuotaTest, ObjectsOfAllKindsCountTogetherPerUser) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  StartDaemon("user_objects=4");
  EXPECT_EQ(AsUser(kAlice, [](Checks& c) {
              c.Expect("shmget", NewSegment(0xa1, 4096), 0);
              c.Expect("semget", NewSet(0xa2), 0);
              c.Expect("msgget", NewQueue(0xa3), 0);
              c.Expect("shmget", NewSegment(0xa4, 4096), 0);
              c.Expect("semget 5th", NewSet(0xa5), ENOSPC);
              c.Expect("msgget 5th", NewQueue(0xa5), ENOSPC);
              c.Expect("shmget 5th", NewSegment(0xa5, 4096), ENOSPC);
              c.Expect("msgget IPC_PRIVATE 5th", sysv_msgget(IPC_PRIVATE, 0600), ENOSPC);
              c.Expect("msgget existing", sysv_msgget(0xa3, 0), 0);
              c.Expect("semget IPC_CREAT existing", sysv_semget(0xa2, 2, IPC_CREAT | 0666), 0);
            }),
            0);
  EXPECT_EQ(AsUser(kBob, [](Checks& c) {
              for (key_t key = 0xb1; key <= 0xb4; ++key) c.Expect("semget", NewSet(key), 0);
              c.Expect("msgget 5th", NewQueue(0xb5), ENOSPC);
            }),
            0);
  // Root is subject to the quota too (user_quota.h).
  for (key_t key = 0xc1; key <= 0xc4; ++key) ASSERT_GE(NewQueue(key), 0) << strerror(errno);
  EXPECT_EQ(NewQueue(0xc5), -1);
  EXPECT_EQ(errno, ENOSPC);
  EXPECT_EQ(AsUser(kAlice, [](Checks& c) {
              c.Expect("msgctl IPC_RMID", sysv_msgctl(sysv_msgget(0xa3, 0), IPC_RMID, nullptr), 0);
              c.Expect("semget after a removal", NewSet(0xa5), 0);
              c.Expect("semget 5th again", NewSet(0xa6), ENOSPC);
            }),
            0);
  ExpectDaemonAnswers();
}

// user_bytes counts segment sizes and queue capacities together (sets too:
// SemaphoreSetsAreChargedTheirRegions); raising msg_qbytes beyond the
// quota is EPERM.
TEST_F(UserQuotaTest, BytesOfSegmentsAndQueuesCountTogether) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  StartDaemon(absl::StrCat("user_bytes=", 65536 + kLedgerPage, ",msgmnb=16384"));
  EXPECT_EQ(AsUser(kAlice, [](Checks& c) {
              c.Expect("shmget 40000", NewSegment(0xa1, 40000), 0);
              c.Expect("msgget (16384)", NewQueue(0xa2), 0);
              c.Expect("shmget 9153", NewSegment(0xa3, 9153), ENOSPC);  // one byte over
              c.Expect("shmget 9152", NewSegment(0xa3, 9152), 0);       // exactly the quota
              c.Expect("msgget beyond", NewQueue(0xa4), ENOSPC);
              c.Expect("lower msg_qbytes", SetQbytes(0xa2, 1024), 0);               // 50176
              c.Expect("shmget 10000 in the room made", NewSegment(0xa6, 10000), 0);  // 60176
              c.Expect("raise msg_qbytes past the quota", SetQbytes(0xa2, 16384), EPERM);
              c.Expect("raise msg_qbytes to the quota", SetQbytes(0xa2, 1024 + 5360), 0);  // 65536
              c.Expect("shmget 1 after the raise", NewSegment(0xa7, 1), ENOSPC);
            }),
            0);
  EXPECT_EQ(AsUser(kBob, [](Checks& c) {
              // Room for his ledger's page of entries when he attaches it.
              c.Expect("shmget 61440", NewSegment(0xb1, 61440), 0);
              c.Expect("shmget 4097", NewSegment(0xb2, 4097), ENOSPC);
            }),
            0);
  // A segment removed while attached is charged until its last detach, as
  // the kernel's SHMALL counts it until it is destroyed.
  EXPECT_EQ(AsUser(kBob, [](Checks& c) {
              const int id = sysv_shmget(0xb1, 0, 0);
              void* at = sysv_shmat(id, nullptr, 0);
              c.Expect("shmat", at == reinterpret_cast<void*>(-1) ? -1 : 0, 0);
              c.Expect("IPC_RMID", sysv_shmctl(id, IPC_RMID, nullptr), 0);
              c.Expect("shmget while attached", NewSegment(0xb2, 4096), ENOSPC);
              c.Expect("shmdt", sysv_shmdt(at), 0);
              c.Expect("shmget after the last detach", NewSegment(0xb2, 4096), 0);
            }),
            0);
  ExpectDaemonAnswers();
}

// IPC_SET of the owner moves no charge: the creator pays for what it made,
// whoever owns it; the new owner can remove it, which frees the creator's
// quota.
TEST_F(UserQuotaTest, TheChargeFollowsTheCreator) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  StartDaemon("user_objects=3");
  EXPECT_EQ(AsUser(kAlice, [](Checks& c) {
              c.Expect("shmget", NewSegment(0xa1, 4096), 0);
              c.Expect("semget", NewSet(0xa2), 0);
              c.Expect("msgget", NewQueue(0xa3), 0);
              c.Expect("give the segment to bob", GiveAway('m', 0xa1, 2002), 0);
              c.Expect("give the set to bob", GiveAway('s', 0xa2, 2002), 0);
              c.Expect("give the queue to bob", GiveAway('q', 0xa3, 2002), 0);
              c.Expect("semget, after giving all away", NewSet(0xa4), ENOSPC);
            }),
            0);
  EXPECT_EQ(AsUser(kBob, [](Checks& c) {
              for (key_t key = 0xb1; key <= 0xb3; ++key) c.Expect("msgget", NewQueue(key), 0);
              c.Expect("msgget 4th", NewQueue(0xb4), ENOSPC);
              // As the owner, bob may remove alice's queue.
              c.Expect("IPC_RMID of the queue given", sysv_msgctl(sysv_msgget(0xa3, 0), IPC_RMID, nullptr), 0);
              c.Expect("msgget 4th, after removing alice's", NewQueue(0xb4), ENOSPC);
            }),
            0);
  EXPECT_EQ(AsUser(kAlice, [](Checks& c) {
              c.Expect("semget, after bob removed one", NewSet(0xa4), 0);
            }),
            0);
}

// A set takes its region's bytes of the state file system, and its creator
// is charged them: sets cannot fill it past user_bytes either.
TEST_F(UserQuotaTest, SemaphoreSetsAreChargedTheirRegions) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  StartDaemon(absl::StrCat("user_bytes=", 3 * core::SemSet::RegionSize(2) + kLedgerPage));
  EXPECT_EQ(AsUser(kAlice, [](Checks& c) {
              for (key_t key = 0xa1; key <= 0xa3; ++key) c.Expect("semget", NewSet(key), 0);
              c.Expect("semget past the bytes", NewSet(0xa4), ENOSPC);
              c.Expect("IPC_RMID", sysv_semctl(sysv_semget(0xa2, 0, 0), 0, IPC_RMID), 0);
              c.Expect("semget in the room made", NewSet(0xa4), 0);
            }),
            0);
  ExpectDaemonAnswers();
}

// The usage is rebuilt from the object tables at start: after a stop and
// after a SIGKILL the user is at the same place.
TEST_F(UserQuotaTest, AccountingSurvivesRestarts) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  // Room for 20000 bytes of segments and one set of two.
  StartDaemon(absl::StrCat("user_objects=3,user_bytes=", 20000 + core::SemSet::RegionSize(2) + kLedgerPage));
  EXPECT_EQ(AsUser(kAlice, [](Checks& c) {
              c.Expect("shmget", NewSegment(0xa1, 10000), 0);
              c.Expect("semget", NewSet(0xa2), 0);
            }),
            0);
  daemon_->Stop();
  daemon_->Start();
  EXPECT_EQ(AsUser(kAlice, [](Checks& c) {
              c.Expect("shmget past the bytes", NewSegment(0xa3, 10001), ENOSPC);
              c.Expect("shmget", NewSegment(0xa3, 10000), 0);
            }),
            0);
  daemon_->Kill();
  daemon_->Start();
  EXPECT_EQ(AsUser(kAlice, [](Checks& c) {
              c.Expect("semget past the objects", NewSet(0xa4), ENOSPC);
              c.Expect("IPC_RMID", sysv_semctl(sysv_semget(0xa2, 0, 0), 0, IPC_RMID), 0);
              c.Expect("semget", NewSet(0xa4), 0);
              c.Expect("semget past the objects", NewSet(0xa5), ENOSPC);
            }),
            0);
  ExpectDaemonAnswers();
}

// The namespace-wide limits of each kind (SHMMNI, SHMALL, SEMMNI, SEMMNS,
// MSGMNI), reached by one user: ENOSPC, as the kernel answers; the daemon
// answers; another user's objects made before keep working.
TEST_F(UserQuotaTest, NamespaceLimitsOfEachKindFailCleanly) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  StartDaemon("shmmni=3,shmall=6,semmni=3,semmns=5,msgmni=3");
  EXPECT_EQ(AsUser(kBob, [](Checks& c) {
              c.Expect("shmget", NewSegment(0xb1, 4096), 0);
              c.Expect("semget", NewSet(0xb2), 0);
              c.Expect("msgget", NewQueue(0xb3), 0);
            }),
            0);
  EXPECT_EQ(AsUser(kAlice, [](Checks& c) {
              c.Expect("shmget 3 pages", NewSegment(0xa1, 3 * 4096), 0);
              c.Expect("shmget past SHMALL", NewSegment(0xa2, 2 * 4096 + 1), ENOSPC);  // 4 + 3 pages
              c.Expect("shmget", NewSegment(0xa2, 1), 0);                            // 5 pages
              c.Expect("shmget past SHMMNI", NewSegment(0xa3, 1), ENOSPC);           // 6 pages would fit
              c.Expect("semget 2", NewSet(0xa4), 0);  // 4 semaphores
              c.Expect("semget past SEMMNS", NewSet(0xa5), ENOSPC);
              c.Expect("semget 1", sysv_semget(0xa5, 1, IPC_CREAT | 0600), 0);
              c.Expect("semget past SEMMNI and SEMMNS", sysv_semget(0xa6, 1, IPC_CREAT | 0600), ENOSPC);
              c.Expect("msgget", NewQueue(0xa7), 0);
              c.Expect("msgget", NewQueue(0xa8), 0);
              c.Expect("msgget past MSGMNI", NewQueue(0xa9), ENOSPC);
              for (int i = 0; i < 100; ++i) {
                c.Expect("msgget IPC_PRIVATE past MSGMNI", sysv_msgget(IPC_PRIVATE, 0600), ENOSPC);
                c.Expect("semget IPC_PRIVATE past SEMMNI", sysv_semget(IPC_PRIVATE, 1, 0600), ENOSPC);
                c.Expect("shmget IPC_PRIVATE past SHMMNI", sysv_shmget(IPC_PRIVATE, 1, 0600), ENOSPC);
              }
            }),
            0);
  ExpectDaemonAnswers();
  EXPECT_EQ(AsUser(kBob, [](Checks& c) {
              const int shm = sysv_shmget(0xb1, 0, 0);
              void* at = sysv_shmat(shm, nullptr, 0);
              c.Expect("shmat", at == reinterpret_cast<void*>(-1) ? -1 : 0, 0);
              if (at != reinterpret_cast<void*>(-1)) {
                std::strcpy(static_cast<char*>(at), "bob");
                c.Expect("shmdt", sysv_shmdt(at), 0);
              }
              const int sem = sysv_semget(0xb2, 0, 0);
              sembuf up{1, 2, SEM_UNDO};
              c.Expect("semop", sysv_semop(sem, &up, 1), 0);
              c.Expect("GETVAL", sysv_semctl(sem, 1, GETVAL) == 2 ? 0 : -1, 0);
              const int msg = sysv_msgget(0xb3, 0);
              struct {
                long mtype;
                char text[8];
              } m = {1, "bob"}, got{};
              c.Expect("msgsnd", sysv_msgsnd(msg, &m, sizeof(m.text), 0), 0);
              const long n = c.Expect("msgrcv", sysv_msgrcv(msg, &got, sizeof(got.text), 0, IPC_NOWAIT), 0);
              c.Expect("the message's length", n == static_cast<long>(sizeof(got.text)) ? 0 : -1, 0);
              c.Expect("the message", std::strcmp(got.text, "bob") == 0 ? 0 : -1, 0);
            }),
            0);
  // Room again after a removal, for anyone.
  EXPECT_EQ(AsUser(kCarol, [](Checks& c) {
              c.Expect("msgget past MSGMNI", NewQueue(0xc1), ENOSPC);
            }),
            0);
  EXPECT_EQ(sysv_msgctl(sysv_msgget(0xa7, 0), IPC_RMID, nullptr), 0);
  EXPECT_EQ(AsUser(kCarol, [](Checks& c) {
              c.Expect("msgget after a removal", NewQueue(0xc1), 0);
            }),
            0);
  ExpectDaemonAnswers();
}

}  // namespace
}  // namespace sysv

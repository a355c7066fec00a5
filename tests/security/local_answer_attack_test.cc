// Local answers (issue #14; DESIGN.md "Trust model", rule 2): shmget,
// semget and msgget of an existing key are answered by the client from the
// mapped object table (core/ipc/key_index.h, core/ipc/local_get.h), without
// the daemon. mallory (uid 4250) uses that path on alice's (uid 4251)
// objects to learn or get what the daemon would refuse him.
//
// The daemon is stopped (SIGSTOP) while mallory asks, so every answer he gets
// is the local one (a call that asked the daemon would hang until his
// watchdog kills him). He has made one call before, so his tables are
// mapped; he has never got alice's keys. Each answer must be the kernel's:
//   - alice's 0600 object, asked for read or write: EACCES; asked for no
//     access: the id (ipcperms() with no bits asked grants, as the kernel's
//     does); IPC_CREAT|IPC_EXCL: EEXIST; a larger size: EINVAL (shm).
//   - alice's 0644 object after alice's IPC_SET to 0600 (permission taken
//     away after mallory's first, allowed, get): EACCES for read.
//   - SHM_STAT, SEM_STAT, MSG_STAT of the index of alice's 0600 object:
//     EACCES (no field of hers reaches his buffer); of an unused index:
//     EINVAL. (The _ANY forms, which need no permission, answer him the
//     fields once the daemon runs again: only it reads her region.)
#include <signal.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::RunAs;
using testing::RunAsForValue;
using testing::User;

constexpr uid_t kMallory = 4250;
constexpr uid_t kAlice = 4251;
constexpr key_t kPrivateKey = 0x4250600;
constexpr key_t kRevokedKey = 0x4250644;
constexpr key_t kMalloryKey = 0x4250001;
// A liveness bound, not a measurement: a local answer takes microseconds.
constexpr unsigned kWatchdogSeconds = 5;

// One kind's get and IPC_SET of the mode, through libsysv.
struct Kind {
  const char* name;
  std::function<int(key_t, int size, int flags)> get;
  std::function<int(int id, int mode)> set_mode;
  // The kind's *_STAT (any = false) or *_STAT_ANY of `index` into `buf`
  // (a struct of the kind's *id_ds), as the caller's buffer.
  std::function<int(int index, bool any, void* buf)> stat_index;
};

void PrintTo(const Kind& kind, std::ostream* os) { *os << kind.name; }

Kind Shm() {
  return {"shm", [](key_t k, int size, int flags) { return sysv_shmget(k, static_cast<size_t>(size), flags); },
          [](int id, int mode) {
            shmid_ds ds{};
            if (sysv_shmctl(id, IPC_STAT, &ds) != 0) return -1;
            ds.shm_perm.mode = static_cast<unsigned short>(mode);
            return sysv_shmctl(id, IPC_SET, &ds);
          },
          [](int index, bool any, void* buf) {
            return sysv_shmctl(index, any ? SHM_STAT_ANY : SHM_STAT, static_cast<shmid_ds*>(buf));
          }};
}

Kind Sem() {
  return {"sem", [](key_t k, int nsems, int flags) { return sysv_semget(k, nsems, flags); },
          [](int id, int mode) {
            semid_ds ds{};
            if (sysv_semctl(id, 0, IPC_STAT, &ds) != 0) return -1;
            ds.sem_perm.mode = static_cast<unsigned short>(mode);
            return sysv_semctl(id, 0, IPC_SET, &ds);
          },
          [](int index, bool any, void* buf) { return sysv_semctl(index, 0, any ? SEM_STAT_ANY : SEM_STAT, buf); }};
}

Kind Msg() {
  return {"msg", [](key_t k, int, int flags) { return sysv_msgget(k, flags); },
          [](int id, int mode) {
            msqid_ds ds{};
            if (sysv_msgctl(id, IPC_STAT, &ds) != 0) return -1;
            ds.msg_perm.mode = static_cast<unsigned short>(mode);
            return sysv_msgctl(id, IPC_SET, &ds);
          },
          [](int index, bool any, void* buf) {
            return sysv_msgctl(index, any ? MSG_STAT_ANY : MSG_STAT, static_cast<msqid_ds*>(buf));
          }};
}

struct Pipe {
  Pipe() {
    if (pipe(fds) != 0) fds[0] = fds[1] = -1;
  }
  ~Pipe() {
    close(fds[0]);
    close(fds[1]);
  }
  void Signal() const { (void)!write(fds[1], "x", 1); }
  bool Wait() const {
    char c;
    return read(fds[0], &c, 1) == 1;
  }
  int fds[2];
};

class LocalAnswerAttackTest : public testing::SharedNamespaceTest, public ::testing::WithParamInterface<Kind> {
 protected:
  LocalAnswerAttackTest() : SharedNamespaceTest("local-answer") {}

  // alice's new object of the test's kind with `key` and `mode`: its id.
  int AliceMakes(key_t key, int mode) {
    const Kind kind = GetParam();
    return RunAsForValue(User("alice", kAlice, kAlice),
                         [&] { return kind.get(key, 4096, IPC_CREAT | IPC_EXCL | mode); });
  }

  // Runs `attack` as mallory with the daemon stopped: he first makes a call
  // of his own (his tables get mapped), then the daemon is stopped, then he
  // attacks under a watchdog. Returns his exit status: 0 if every answer was
  // the kernel's, 128 + SIGALRM if a call waited for the daemon.
  int AttackWithDaemonStopped(const std::function<int()>& attack) {
    Pipe ready;
    Pipe go;
    int status = -1;
    const Kind kind = GetParam();
    std::thread mallory([&] {
      status = RunAs(User("mallory", kMallory, kMallory), [&] {
        if (kind.get(kMalloryKey, 4096, IPC_CREAT | 0600) < 0) return 2;
        ready.Signal();
        if (!go.Wait()) return 3;
        alarm(kWatchdogSeconds);
        return attack();
      });
      ready.Signal();  // whatever happened, the test goes on
    });
    ready.Wait();
    EXPECT_EQ(kill(daemon_->pid(), SIGSTOP), 0);
    go.Signal();
    mallory.join();
    EXPECT_EQ(kill(daemon_->pid(), SIGCONT), 0);
    return status;
  }
};

// Why mallory's attack failed, from his exit status.
std::string Why(int status) {
  return status == 128 + SIGALRM ? "a call waited for the stopped daemon" : "an answer differed from the kernel's";
}

// Fails with a line naming what differs from the kernel's answer.
int Expect(const char* what, int result, int expected_result, int expected_errno) {
  const int err = errno;
  if (result == expected_result && (expected_result != -1 || err == expected_errno)) return 0;
  ADD_FAILURE() << what << ": got " << result << " (" << std::strerror(err) << "), expected " << expected_result
                << (expected_result == -1 ? absl::StrCat(" (", std::strerror(expected_errno), ")") : "");
  return 1;
}

TEST_P(LocalAnswerAttackTest, AnotherUsersPrivateKeyIsRefusedLocallyAsTheKernelWould) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const Kind kind = GetParam();
  const int id = AliceMakes(kPrivateKey, 0600);
  ASSERT_GE(id, 0);
  const int status = AttackWithDaemonStopped([&] {
    int failures = 0;
    errno = 0;
    failures += Expect("get for read", kind.get(kPrivateKey, 4096, 0400), -1, EACCES);
    failures += Expect("get for write", kind.get(kPrivateKey, 4096, 0200), -1, EACCES);
    failures += Expect("get asking no access", kind.get(kPrivateKey, 4096, 0), id, 0);
    failures += Expect("IPC_CREAT|IPC_EXCL", kind.get(kPrivateKey, 4096, IPC_CREAT | IPC_EXCL | 0666), -1, EEXIST);
    failures += Expect("IPC_CREAT for read", kind.get(kPrivateKey, 4096, IPC_CREAT | 0400), -1, EACCES);
    if (std::string(kind.name) == "shm") failures += Expect("larger size", kind.get(kPrivateKey, 8192, 0), -1, EINVAL);
    return failures == 0 ? 0 : 1;
  });
  EXPECT_EQ(status, 0) << Why(status);
}

TEST_P(LocalAnswerAttackTest, PermissionTakenAwayByIpcSetIsRefusedLocally) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const Kind kind = GetParam();
  const int id = AliceMakes(kRevokedKey, 0644);
  ASSERT_GE(id, 0);
  // Allowed while the object is 0644.
  EXPECT_EQ(RunAsForValue(User("mallory", kMallory, kMallory), [&] { return kind.get(kRevokedKey, 4096, 0400); }), id);
  EXPECT_EQ(RunAs(User("alice", kAlice, kAlice), [&] { return kind.set_mode(id, 0600) == 0 ? 0 : 1; }), 0);
  const int status = AttackWithDaemonStopped([&] {
    errno = 0;
    return Expect("get for read after IPC_SET 0600", kind.get(kRevokedKey, 4096, 0400), -1, EACCES);
  });
  EXPECT_EQ(status, 0) << Why(status);
}

TEST_P(LocalAnswerAttackTest, StatByIndexOfAnotherUsersPrivateObjectIsRefusedLocally) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const Kind kind = GetParam();
  const int id = AliceMakes(kPrivateKey, 0600);
  ASSERT_GE(id, 0);
  const int index = id & 0x7fff;
  const int status = AttackWithDaemonStopped([&] {
    // Big enough for any kind's *id_ds; poisoned so that a write shows.
    unsigned char buf[256];
    std::memset(buf, 0xa5, sizeof(buf));
    errno = 0;
    int failures = Expect("*_STAT of her index", kind.stat_index(index, false, buf), -1, EACCES);
    for (unsigned char byte : buf) {
      if (byte != 0xa5) {
        ADD_FAILURE() << "*_STAT wrote into his buffer";
        ++failures;
        break;
      }
    }
    errno = 0;
    failures += Expect("*_STAT of an unused index", kind.stat_index(index + 100, false, buf), -1, EINVAL);
    errno = 0;
    failures += Expect("*_STAT_ANY of an unused index", kind.stat_index(index + 100, true, buf), -1, EINVAL);
    return failures == 0 ? 0 : 1;
  });
  EXPECT_EQ(status, 0) << Why(status);
  // *_STAT_ANY needs no permission (the kernel's ipcs reads every object so).
  EXPECT_EQ(RunAsForValue(User("mallory", kMallory, kMallory),
                          [&] {
                            unsigned char buf[256];
                            return kind.stat_index(index, true, buf);
                          }),
            id);
}

INSTANTIATE_TEST_SUITE_P(Kinds, LocalAnswerAttackTest, ::testing::Values(Shm(), Sem(), Msg()),
                         [](const ::testing::TestParamInfo<Kind>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sysv

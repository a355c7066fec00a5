// A raw credential drop (issue #14, the per-call credential read): libsysv
// reads its caller's credentials on every call to the daemon, and reconnects
// when they changed, because the daemon learns who a client is only when it
// connects (SO_PEERCRED, SO_PEERGROUPS and the capabilities of
// /proc/<pid>/status). A program that drops privileges with raw system
// calls, past libsysv's set*id hooks, must be judged by the daemon as what
// it has become, as the kernel would judge it.
//
// The attack: a root process opens its channel (one call the daemon
// answers), then drops every effective capability with a raw capset(2),
// keeping euid 0, and removes a segment of another user (uid 4800, mode
// 0600). The kernel refuses that with EPERM: IPC_RMID needs the owner, the
// creator or CAP_SYS_ADMIN. A channel kept from before the drop would let
// the daemon remove it with the capabilities root no longer has. The same
// with a raw setresuid to uid 4801.
#include <linux/capability.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/statusor.h"
#include "core/ipc/credentials.h"

#include "backends/platform.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

// Ids 4800-4849 are this suite's.
constexpr uid_t kVictimUid = 4800;
constexpr gid_t kVictimGid = 4800;
constexpr uid_t kOtherUid = 4801;
constexpr key_t kAbsentKey = 0x48000001;

class RawCredentialDropTest : public testing::SharedNamespaceTest {
 protected:
  RawCredentialDropTest() : SharedNamespaceTest("raw-cred-drop") {}

  // A 0600 segment of the victim's.
  int VictimSegment() {
    return testing::RunAsForValue(Victim(), [] { return sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600); });
  }
  // The victim's view of it: 0 while it exists, else the errno of IPC_STAT.
  // The victim then removes it (the test's own cleanup).
  int VictimStatsAndRemoves(int id) {
    return testing::RunAs(Victim(), [id] {
      struct shmid_ds ds;
      const int err = sysv_shmctl(id, IPC_STAT, &ds) == 0 ? 0 : errno;
      (void)sysv_shmctl(id, IPC_RMID, nullptr);
      return err;
    });
  }
  static testing::Identity Victim() { return testing::User("victim", kVictimUid, kVictimGid); }
};

int WaitExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// What the attacking child reports.
enum Outcome : int {
  kRefused = 0,       // EPERM, as the kernel answers
  kRemoved = 1,       // the daemon removed the victim's segment
  kOtherError = 2,    // refused with another errno
  kNoChannel = 3,     // the first call did not reach the daemon
  kCannotDrop = 4,    // the raw drop itself failed
  kNoCapabilities = 5,  // the backend gives root every power whatever its capabilities
};

// Forks a root child that opens its channel, runs `drop` (raw syscalls
// only), then tries IPC_RMID of `id`.
template <typename Drop>
int AttackAfterRawDrop(int id, Drop drop) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    // A get of a key nobody made: answered by the daemon, ENOENT.
    if (sysv_shmget(kAbsentKey, 4096, 0600) != -1 || errno != ENOENT) _exit(kNoChannel);
    if (!drop()) _exit(kCannotDrop);
    // DragonFly (and its Linux doubles) has no capabilities: root may do
    // everything there, so the removal is that backend's promise.
    absl::StatusOr<core::Credentials> now = platform::CurrentCredentials();
    if (now.ok() && now->uid == 0 && now->cap_sys_admin) _exit(kNoCapabilities);
    if (sysv_shmctl(id, IPC_RMID, nullptr) == 0) _exit(kRemoved);
    _exit(errno == EPERM ? kRefused : kOtherError);
  }
  return WaitExit(pid);
}

TEST_F(RawCredentialDropTest, RawCapsetDropIsSeenByTheDaemon) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int id = VictimSegment();
  ASSERT_GE(id, 0);
  const int outcome = AttackAfterRawDrop(id, [] {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (syscall(SYS_capget, &header, data) != 0) return false;
    for (auto& word : data) word.effective = 0;  // permitted kept: only the effective set counts
    return syscall(SYS_capset, &header, data) == 0;
  });
  if (outcome == kNoCapabilities) {
    (void)VictimStatsAndRemoves(id);
    GTEST_SKIP() << "this backend gives root every power whatever its capabilities";
  }
  EXPECT_EQ(outcome, kRefused) << "1: root without CAP_SYS_ADMIN removed uid " << kVictimUid
                               << "'s segment through a channel opened before the drop";
  const int stat = VictimStatsAndRemoves(id);
  EXPECT_EQ(stat, 0) << "the victim's segment is gone: " << std::strerror(stat);
}

TEST_F(RawCredentialDropTest, RawSetresuidDropIsSeenByTheDaemon) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int id = VictimSegment();
  ASSERT_GE(id, 0);
  const int outcome = AttackAfterRawDrop(id, [] {
    return syscall(SYS_setgroups, 0, nullptr) == 0 && syscall(SYS_setresgid, kOtherUid, kOtherUid, kOtherUid) == 0 &&
           syscall(SYS_setresuid, kOtherUid, kOtherUid, kOtherUid) == 0;
  });
  EXPECT_EQ(outcome, kRefused) << "1: uid " << kOtherUid << " removed uid " << kVictimUid
                               << "'s segment through root's channel";
  const int stat = VictimStatsAndRemoves(id);
  EXPECT_EQ(stat, 0) << "the victim's segment is gone: " << std::strerror(stat);
}

}  // namespace
}  // namespace sysv

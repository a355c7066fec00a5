// A process never obtains a descriptor for an object it has no permission
// on, and never a more powerful one than its permission allows: checked at
// the protocol level, with raw requests from processes of other users, so
// that no client-side check can hide a daemon that hands out too much.
//
// Each scenario runs in a child switched to another user and reports
// through its exit status (0: all held); the parent names the failed check
// from the status.
//
// Message queues: ask for a queue's region (kMsgOpen) beside each kSemOpen
// when queues exist.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::RawClient;
using testing::RawReply;
using testing::RunAs;
using testing::User;

// A descriptor that must stay read-only: it is, it cannot be mapped
// writable and shared, reopened for writing through /proc, or truncated.
// Returns 0 or the number of the failed check (base + 1..4).
int CheckCannotWrite(int fd, int base) {
  if ((fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY) return base + 1;
  void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p != MAP_FAILED) return base + 2;
  const std::string self = absl::StrCat("/proc/self/fd/", fd);
  const int reopened = open(self.c_str(), O_RDWR | O_CLOEXEC);
  if (reopened >= 0) return base + 3;
  if (ftruncate(fd, 0) == 0) return base + 4;
  return 0;
}

class DescriptorGrantTest : public testing::SharedNamespaceTest {
 protected:
  DescriptorGrantTest() : SharedNamespaceTest("grant") {}
};

TEST_F(DescriptorGrantTest, NoPermissionMeansNoDescriptor) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int shm_id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  const int sem_id = sysv_semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  ASSERT_GE(shm_id, 0);
  ASSERT_GE(sem_id, 0);
  const int status = RunAs(User("stranger", 2006, 3011), [&] {
    RawClient client(dir_);
    if (!client.ok() || client.Register() != 0) return 1;
    for (int flags : {0, SHM_RDONLY, SHM_EXEC, SHM_RDONLY | SHM_EXEC}) {
      const RawReply reply = client.Call<wire::Op::kShmAttach>(wire::ShmAttachRequest{shm_id, flags});
      if (reply.Status() != EACCES) return 2;
      if (!reply.fds.empty()) return 3;
    }
    const RawReply open = client.Call<wire::Op::kSemOpen>(wire::SemOpenRequest{sem_id, 0});
    if (open.Status() != EACCES) return 4;
    if (!open.fds.empty()) return 5;
    // Nor may it remove or take over what it does not own.
    const RawReply rm = client.Call<wire::Op::kShmCtl>(wire::ShmCtlRequest{shm_id, IPC_RMID});
    if (rm.Status() != EPERM) return 6;
    wire::SemCtlRequest set{};
    set.id = sem_id;
    set.cmd = IPC_SET;
    set.uid = 2006;
    set.gid = 3011;
    set.mode = 0666;
    if (client.Call<wire::Op::kSemCtl>(set).Status() != EPERM) return 7;
    // And the state directory is closed to it (the daemon's alone).
    const std::string segment_dir = absl::StrCat(dir_, "/state/shm");
    if (access(segment_dir.c_str(), R_OK) == 0 || errno != EACCES) return 8;
    return 0;
  });
  EXPECT_EQ(status, 0) << "check " << status << " failed";
  shmid_ds ds{};
  EXPECT_EQ(sysv_shmctl(shm_id, IPC_STAT, &ds), 0) << "the segment was removed";
  EXPECT_EQ(ds.shm_perm.mode & 0777, 0600u);
  EXPECT_EQ(sysv_shmctl(shm_id, IPC_RMID, nullptr), 0);
  EXPECT_EQ(sysv_semctl(sem_id, 0, IPC_RMID), 0);
}

TEST_F(DescriptorGrantTest, ReadPermissionGivesOnlyReadOnlyDescriptors) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int shm_id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0644);
  const int sem_id = sysv_semget(IPC_PRIVATE, 1, IPC_CREAT | 0644);
  ASSERT_GE(shm_id, 0);
  ASSERT_GE(sem_id, 0);
  char* p = static_cast<char*>(sysv_shmat(shm_id, nullptr, 0));
  ASSERT_NE(p, reinterpret_cast<char*>(-1));
  std::strcpy(p, "owner's data");
  const int status = RunAs(User("reader", 2006, 3011), [&] {
    RawClient client(dir_);
    if (!client.ok() || client.Register() != 0) return 1;
    // Read-write is refused outright.
    const RawReply rw = client.Call<wire::Op::kShmAttach>(wire::ShmAttachRequest{shm_id, 0});
    if (rw.Status() != EACCES || !rw.fds.empty()) return 2;
    const RawReply ro = client.Call<wire::Op::kShmAttach>(wire::ShmAttachRequest{shm_id, SHM_RDONLY});
    if (ro.Status() != 0 || ro.fds.size() != 1) return 3;
    if (int failed = CheckCannotWrite(ro.fds[0], 10); failed != 0) return failed;
    // It reads what the owner wrote.
    void* view = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, ro.fds[0], 0);
    if (view == MAP_FAILED || std::strcmp(static_cast<char*>(view), "owner's data") != 0) return 4;
    const RawReply sem = client.Call<wire::Op::kSemOpen>(wire::SemOpenRequest{sem_id, 0});
    if (sem.Status() != 0 || sem.fds.size() != 1) return 5;
    auto decoded = testing::DecodeRawReply<wire::Op::kSemOpen>(sem, client.last_request_id());
    if (!decoded || decoded->may_alter != 0) return 6;
    if (int failed = CheckCannotWrite(sem.fds[0], 20); failed != 0) return failed;
    return 0;
  });
  EXPECT_EQ(status, 0) << "check " << status << " failed";
  EXPECT_STREQ(p, "owner's data");
  EXPECT_EQ(sysv_shmdt(p), 0);
  EXPECT_EQ(sysv_shmctl(shm_id, IPC_RMID, nullptr), 0);
  EXPECT_EQ(sysv_semctl(sem_id, 0, IPC_RMID), 0);
}

TEST_F(DescriptorGrantTest, RegistrationGivesReadOnlyTablesAndOnlyTheCallersLedger) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int status = RunAs(User("someone", 2006, 3011), [&] {
    RawClient client(dir_);
    if (!client.ok()) return 1;
    const RawReply reply =
        client.Call<wire::Op::kRegister>(wire::RegisterRequest{wire::kRegisterFreshImage, 0});
    // The object tables and this process's ledger (wire.h, RegisterReply):
    // the largest reply there is.
    if (reply.Status() != 0 || reply.fds.size() != static_cast<size_t>(wire::kMaxFds)) return 2;
    // [0] the shm table, [2] the sem table (and the tables of later kinds):
    // read-only for everyone.
    for (size_t i = 0; i < reply.fds.size(); ++i) {
      if (i == 1) continue;
      if (int failed = CheckCannotWrite(reply.fds[i], 10 * static_cast<int>(i + 1)); failed != 0) return failed;
    }
    // [1] this process's own attach ledger, named by its pid.
    const std::string ledger =
        std::filesystem::read_symlink(absl::StrCat("/proc/self/fd/", reply.fds[1])).string();
    if (!absl::StrContains(ledger, absl::StrCat("/ledgers/", getpid(), "."))) return 3;
    return 0;
  });
  EXPECT_EQ(status, 0) << "check " << status << " failed";
}

}  // namespace
}  // namespace sysv

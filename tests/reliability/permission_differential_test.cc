// Every ipc_perm rule, side by side with the kernel: the same scenario runs
// in a private kernel IPC namespace and against a fresh sysvipcd, with the
// same users (made up here: root switches forked children to them with
// setgroups/setresgid/setresuid), and every result and errno is compared.
//
// The scenario: for each permission mode, a creator makes a segment and a
// semaphore set and hands them (IPC_SET) to another owner and group, so that
// owner, creator, group (by egid or by a supplementary group), creator's
// group and other are all distinct. Then each identity, in a child of its
// own, tries everything that checks permission: *get with requested modes
// (and the checks the kernel makes before permission: size/nsems, EEXIST),
// IPC_STAT, *_STAT, *_STAT_ANY, shmat read-write, SHM_RDONLY and SHM_EXEC,
// IPC_SET, SHM_LOCK/SHM_UNLOCK, the value commands GETVAL..GETZCNT,
// SETVAL/SETALL, semop altering and waiting for zero, with and without
// SEM_UNDO. IPC_RMID runs last, once per identity on objects of its own.
//
// Descriptors: at the end of each identity's child, libsysv's side lists
// the access mode of any descriptor it holds for the two objects, and the
// kernel's side writes what that may be at most according to the kernel's
// own results (read-write only where a read-write shmat or an altering
// semop succeeded, read-only where only reading succeeded, none where
// nothing did). A process that obtained a descriptor it has no permission
// for makes the traces differ.
//
// Message queues: add their operations to Probe() and a queue to each mode
// when they exist.
#include <fcntl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/ipc_identities.h"
#include "tests/testing/differential.h"
#include "tests/testing/sem_api.h"
#include "tests/testing/shm_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::HeldAccess;
using testing::Identities;
using testing::Identity;
using testing::kCreator;
using testing::kCreatorGroup;
using testing::kModes;
using testing::kObjectGroup;
using testing::kOwner;
using testing::RelativePid;
using testing::SemApi;
using testing::ShmApi;
using testing::TraceWriter;
using testing::User;

union SemArg {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
  struct seminfo* info;
};

std::string Result(int rc) { return rc == -1 ? std::string(strerrorname_np(errno)) : "0"; }

class Scenario {
 public:
  Scenario(const ShmApi& shm, const SemApi& sem, bool is_kernel, TraceWriter& out)
      : shm_(shm), sem_(sem), is_kernel_(is_kernel), out_(out) {}

  void Run() {
    for (size_t m = 0; m < std::size(kModes); ++m) {
      const int mode = kModes[m];
      const key_t shm_key = 0x7100 + static_cast<key_t>(m);
      const key_t sem_key = 0x7200 + static_cast<key_t>(m);
      if (!Create(shm_key, sem_key, mode, absl::StrFormat("mode=%04o", mode))) continue;
      for (const Identity& who : Identities()) {
        const int status = testing::RunAs(who, [&] {
          Probe(mode, shm_key, sem_key, absl::StrFormat("mode=%04o who=%s", mode, who.name));
          return 0;
        });
        if (status != 0) Line(absl::StrFormat("mode=%04o who=%s child status %d", mode, who.name, status));
      }
      RemoveAsRoot(shm_key, sem_key);
    }
    // IPC_RMID: who may remove depends on ownership only; objects of their
    // own for each identity, since a removal that succeeds ends them.
    for (size_t i = 0; i < Identities().size(); ++i) {
      const Identity& who = Identities()[i];
      const key_t shm_key = 0x7300 + static_cast<key_t>(i);
      const key_t sem_key = 0x7400 + static_cast<key_t>(i);
      const std::string where = absl::StrCat("rmid who=", who.name);
      if (!Create(shm_key, sem_key, 0600, where)) continue;
      testing::RunAs(who, [&] {
        const int shm_id = shm_.shmget(shm_key, 0, 0);
        const int sem_id = sem_.semget(sem_key, 0, 0);
        Line(absl::StrCat(where, " shmctl(IPC_RMID) -> ", Result(shm_.shmctl(shm_id, IPC_RMID, nullptr))));
        Line(absl::StrCat(where, " semctl(IPC_RMID) -> ", Result(sem_.semctl(sem_id, 0, IPC_RMID))));
        return 0;
      });
      // Gone exactly when the removal succeeded.
      Line(absl::StrCat(where, " shm still there: ", shm_.shmget(shm_key, 0, 0) >= 0));
      Line(absl::StrCat(where, " sem still there: ", sem_.semget(sem_key, 0, 0) >= 0));
      RemoveAsRoot(shm_key, sem_key);
    }
  }

 private:
  void Line(const std::string& text) { out_.Line(step_++, text); }

  // As the creator: a segment and a set of 2 (values 0 and 1), handed to
  // kOwner and kObjectGroup with `mode`.
  bool Create(key_t shm_key, key_t sem_key, int mode, const std::string& where) {
    const int status = testing::RunAs(User("creator", kCreator, kCreatorGroup), [&] {
      const int shm_id = shm_.shmget(shm_key, 4096, IPC_CREAT | IPC_EXCL | 0600);
      const int sem_id = sem_.semget(sem_key, 2, IPC_CREAT | IPC_EXCL | 0600);
      if (shm_id < 0 || sem_id < 0) return 1;
      SemArg one{.val = 1};
      if (sem_.semctl(sem_id, 1, SETVAL, one) != 0) return 2;
      shmid_ds sds{};
      sds.shm_perm.uid = kOwner;
      sds.shm_perm.gid = kObjectGroup;
      sds.shm_perm.mode = static_cast<unsigned short>(mode);
      semid_ds mds{};
      mds.sem_perm.uid = kOwner;
      mds.sem_perm.gid = kObjectGroup;
      mds.sem_perm.mode = static_cast<unsigned short>(mode);
      SemArg arg{.buf = &mds};
      if (shm_.shmctl(shm_id, IPC_SET, &sds) != 0 || sem_.semctl(sem_id, 0, IPC_SET, arg) != 0) return 3;
      return 0;
    });
    Line(absl::StrCat(where, " create: ", status));
    return status == 0;
  }

  void RemoveAsRoot(key_t shm_key, key_t sem_key) {
    const int shm_id = shm_.shmget(shm_key, 0, 0);
    const int sem_id = sem_.semget(sem_key, 0, 0);
    if (shm_id >= 0) shm_.shmctl(shm_id, IPC_RMID, nullptr);
    if (sem_id >= 0) sem_.semctl(sem_id, 0, IPC_RMID);
  }

  std::string Perm(const ipc_perm& perm) {
    return absl::StrFormat("uid=%u gid=%u cuid=%u cgid=%u mode=%04o", perm.uid, perm.gid, perm.cuid, perm.cgid,
                           perm.mode);
  }

  void Probe(int mode, key_t shm_key, key_t sem_key, const std::string& where) {
    auto line = [&](const std::string& what, const std::string& result) {
      Line(absl::StrCat(where, " ", what, " -> ", result));
    };
    // --- shared memory
    const int shm_id = shm_.shmget(shm_key, 0, 0);
    line("shmget(0)", Result(shm_id));
    for (int flag : {0400, 0200, 0600, 0100, 0004, 0040}) {
      line(absl::StrFormat("shmget(%04o)", flag), Result(shm_.shmget(shm_key, 0, flag) < 0 ? -1 : 0));
    }
    // Size beyond the segment's, and IPC_EXCL: the kernel checks these
    // before permission.
    line("shmget(8192, 0400)", Result(shm_.shmget(shm_key, 8192, 0400) < 0 ? -1 : 0));
    line("shmget(IPC_CREAT|IPC_EXCL)", Result(shm_.shmget(shm_key, 4096, IPC_CREAT | IPC_EXCL | 0600) < 0 ? -1 : 0));
    shmid_ds sds{};
    const int stat = shm_.shmctl(shm_id, IPC_STAT, &sds);
    line("shmctl(IPC_STAT)", stat == 0 ? Perm(sds.shm_perm) : Result(stat));
    const int index = shm_id & 0x7fff;
    for (auto [cmd, name] : {std::pair{SHM_STAT, "SHM_STAT"}, std::pair{SHM_STAT_ANY, "SHM_STAT_ANY"}}) {
      const int rc = shm_.shmctl(index, cmd, &sds);
      line(absl::StrCat("shmctl(", name, ")"), rc < 0 ? Result(rc) : (rc == shm_id ? "the id" : "another id"));
    }
    bool attached_rw = false;
    bool attached_any = false;
    for (auto [flag, name] : {std::pair{0, "0"}, std::pair{SHM_RDONLY, "SHM_RDONLY"},
                              std::pair{SHM_EXEC, "SHM_EXEC"}, std::pair{SHM_EXEC | SHM_RDONLY, "SHM_EXEC|SHM_RDONLY"}}) {
      void* p = shm_.shmat(shm_id, nullptr, flag);
      const bool ok = p != reinterpret_cast<void*>(-1);
      line(absl::StrCat("shmat(", name, ")"), ok ? "0" : Result(-1));
      if (ok) {
        attached_any = true;
        if (!(flag & SHM_RDONLY)) attached_rw = true;
        shm_.shmdt(p);
      }
    }
    shmid_ds set{};
    set.shm_perm.uid = kOwner;
    set.shm_perm.gid = kObjectGroup;
    set.shm_perm.mode = static_cast<unsigned short>(mode);  // what it is: IPC_SET changes nothing
    line("shmctl(IPC_SET)", Result(shm_.shmctl(shm_id, IPC_SET, &set)));
    line("shmctl(SHM_LOCK)", Result(shm_.shmctl(shm_id, SHM_LOCK, nullptr)));
    line("shmctl(SHM_UNLOCK)", Result(shm_.shmctl(shm_id, SHM_UNLOCK, nullptr)));

    // --- semaphores
    const int sem_id = sem_.semget(sem_key, 0, 0);
    line("semget(0)", Result(sem_id));
    for (int flag : {0400, 0200, 0600, 0004, 0040}) {
      line(absl::StrFormat("semget(%04o)", flag), Result(sem_.semget(sem_key, 0, flag) < 0 ? -1 : 0));
    }
    line("semget(nsems 3, 0400)", Result(sem_.semget(sem_key, 3, 0400) < 0 ? -1 : 0));
    line("semget(IPC_CREAT|IPC_EXCL)", Result(sem_.semget(sem_key, 2, IPC_CREAT | IPC_EXCL | 0600) < 0 ? -1 : 0));
    semid_ds mds{};
    SemArg buf{.buf = &mds};
    const int sem_stat = sem_.semctl(sem_id, 0, IPC_STAT, buf);
    line("semctl(IPC_STAT)", sem_stat == 0 ? Perm(mds.sem_perm) : Result(sem_stat));
    for (auto [cmd, name] : {std::pair{SEM_STAT, "SEM_STAT"}, std::pair{SEM_STAT_ANY, "SEM_STAT_ANY"}}) {
      const int rc = sem_.semctl(sem_id & 0x7fff, 0, cmd, buf);
      line(absl::StrCat("semctl(", name, ")"), rc < 0 ? Result(rc) : (rc == sem_id ? "the id" : "another id"));
    }
    bool read_ok = false;
    const int val = sem_.semctl(sem_id, 1, GETVAL);
    read_ok |= val >= 0;
    line("semctl(GETVAL)", val < 0 ? Result(val) : absl::StrCat(val));
    unsigned short values[2] = {9, 9};
    SemArg all{.array = values};
    const int got_all = sem_.semctl(sem_id, 0, GETALL, all);
    read_ok |= got_all == 0;
    line("semctl(GETALL)", got_all < 0 ? Result(got_all) : absl::StrCat(values[0], ",", values[1]));
    for (auto [cmd, name] : {std::pair{GETNCNT, "GETNCNT"}, std::pair{GETZCNT, "GETZCNT"}}) {
      const int rc = sem_.semctl(sem_id, 0, cmd);
      line(absl::StrCat("semctl(", name, ")"), rc < 0 ? Result(rc) : absl::StrCat(rc));
    }
    const int pid = sem_.semctl(sem_id, 1, GETPID);
    line("semctl(GETPID)", pid < 0 ? Result(pid) : RelativePid(pid, getpid()));
    bool alter_ok = false;
    SemArg zero{.val = 0};
    const int setval = sem_.semctl(sem_id, 0, SETVAL, zero);
    alter_ok |= setval == 0;
    line("semctl(SETVAL)", Result(setval));
    unsigned short same[2] = {0, 1};
    SemArg set_all{.array = same};
    const int setall = sem_.semctl(sem_id, 0, SETALL, set_all);
    alter_ok |= setall == 0;
    line("semctl(SETALL)", Result(setall));
    for (short flags : {short{IPC_NOWAIT}, short{IPC_NOWAIT | SEM_UNDO}}) {
      const char* undo = (flags & SEM_UNDO) ? " SEM_UNDO" : "";
      sembuf up{0, 1, flags};
      const int rc = sem_.semop(sem_id, &up, 1);
      alter_ok |= rc == 0;
      line(absl::StrCat("semop(+1", undo, ")"), Result(rc));
      if (rc == 0) {
        sembuf down{0, -1, flags};
        line(absl::StrCat("semop(-1", undo, ")"), Result(sem_.semop(sem_id, &down, 1)));
      }
    }
    // Waiting for zero reads: semaphore 0 is 0 (done at once), 1 is 1
    // (would wait: EAGAIN under IPC_NOWAIT).
    sembuf zero0{0, 0, IPC_NOWAIT};
    const int z0 = sem_.semop(sem_id, &zero0, 1);
    read_ok |= z0 == 0;
    line("semop(wait-for-zero, done)", Result(z0));
    sembuf zero1{1, 0, IPC_NOWAIT};
    line("semop(wait-for-zero, would wait)", Result(sem_.semop(sem_id, &zero1, 1)));
    semid_ds mset{};
    mset.sem_perm.uid = kOwner;
    mset.sem_perm.gid = kObjectGroup;
    mset.sem_perm.mode = static_cast<unsigned short>(mode);
    SemArg set_arg{.buf = &mset};
    line("semctl(IPC_SET)", Result(sem_.semctl(sem_id, 0, IPC_SET, set_arg)));

    // --- descriptors: what libsysv holds, against what the kernel's own
    // answers allow at most.
    std::string shm_access, sem_access;
    if (is_kernel_) {
      shm_access = attached_rw ? "rw" : attached_any ? "ro" : "none";
      sem_access = alter_ok ? "rw" : read_ok ? "ro" : "none";
    } else {
      shm_access = HeldAccess("shm", shm_id);
      sem_access = HeldAccess("sem", sem_id);
    }
    line("descriptors held", absl::StrCat("shm ", shm_access, ", sem ", sem_access));
  }

  const ShmApi& shm_;
  const SemApi& sem_;
  bool is_kernel_;
  TraceWriter& out_;
  int step_ = 0;
};

TEST(PermissionDifferentialTest, EveryIpcPermRuleMatchesTheKernel) {
  SYSV_SKIP_UNLESS_PERMISSIONS_CAN_BE_COMPARED();
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [] { return testing::EnterFreshKernelNamespace(); },
      [&](TraceWriter& out) { Scenario(testing::KernelShm(), testing::KernelSem(), true, out).Run(); });

  testing::TestDaemon daemon(testing::FreshNamespaceDir("perm"));
  // Other users must reach the socket: mkdtemp made the directory 0700.
  ASSERT_EQ(chmod(daemon.dir().c_str(), 0755), 0);
  daemon.Start();
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; },
      [&](TraceWriter& out) { Scenario(testing::LibsysvShm(), testing::LibsysvSem(), false, out).Run(); });
  // The scenario must exercise both refusals and grants, or matching the
  // kernel would prove nothing (for instance if no child changed its ids).
  auto count = [&](const std::string& text) { return testing::CountLines(kernel, text); };
  EXPECT_GT(count("-> EACCES"), 500);
  EXPECT_GT(count("-> EPERM"), 100);
  EXPECT_GT(count("-> 0"), 500);
  EXPECT_GT(count("descriptors held -> shm none, sem none"), 10);
  EXPECT_GT(count("descriptors held -> shm ro, sem ro"), 10);
  EXPECT_GT(count("descriptors held -> shm rw, sem rw"), 10);
  std::printf("kernel trace: %ld EACCES, %ld EPERM, %ld successes\n", static_cast<long>(count("-> EACCES")),
              static_cast<long>(count("-> EPERM")), static_cast<long>(count("-> 0")));
  testing::ExpectSameTraces(kernel, libsysv, "permissions");
}

}  // namespace
}  // namespace sysv

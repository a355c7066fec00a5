// Issue #14: shmctl's *_STAT is answered in the client from the mapped shm
// object table and the caller's own attach ledger (core/shm/shm_stat.h),
// and *get of a known key from the mapped tables (core/ipc/local_get.h),
// which makes the tables part of every stat's and lookup's trust base. The attacker, user
// B (uid 3202), registers by hand and receives the same tables every
// client gets. He must not be able to write them, resize them, or reopen
// them writable, however he tries; and nothing he can write (his own
// ledger, forged to claim a thousand attachments of the victim's segment)
// may change what the victim's stat returns, locally or from the daemon.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/ipc/ipc_id.h"
#include "core/protocol/wire.h"
#include "core/shm/attach_ledger.h"
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

// Ids 3200-3299 are this suite's.
const testing::Identity kAttackerB = User("table-attacker", 3202, 3202);

std::string Describe(const shmid_ds& ds) {
  return absl::StrFormat("mode=%#o uid=%u segsz=%u nattch=%u cpid=%d lpid=%d atime=%d dtime=%d ctime=%d",
                         ds.shm_perm.mode, ds.shm_perm.uid, ds.shm_segsz, ds.shm_nattch, ds.shm_cpid,
                         ds.shm_lpid, static_cast<int>(ds.shm_atime), static_cast<int>(ds.shm_dtime),
                         static_cast<int>(ds.shm_ctime));
}

// Every way a holder of a read-only table descriptor might get write access
// or change its size; returns what succeeded (empty: nothing did).
std::string AttackTable(int fd, const char* name) {
  std::string won;
  auto note = [&](const char* what) { absl::StrAppend(&won, name, ": ", what, " succeeded; "); };
  struct stat before;
  if (fstat(fd, &before) != 0) return absl::StrCat(name, ": fstat failed; ");
  if ((fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY) note("a descriptor not O_RDONLY");
  char byte = 'x';
  if (pwrite(fd, &byte, 1, 0) >= 0) note("pwrite");
  if (ftruncate(fd, 0) == 0) note("ftruncate to 0");
  if (ftruncate(fd, before.st_size * 2) == 0) note("ftruncate larger");
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0) note("fallocate punch");
  if (fchmod(fd, 0666) == 0) note("fchmod");
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0) note("F_ADD_SEALS");
  void* shared = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (shared != MAP_FAILED) {
    note("a writable shared mapping");
    munmap(shared, 4096);
  }
  void* mapped = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  if (mapped != MAP_FAILED) {
    if (mprotect(mapped, 4096, PROT_READ | PROT_WRITE) == 0) note("mprotect to writable");
    munmap(mapped, 4096);
  }
  // The magic link opens the file itself, past the descriptor's mode: only
  // the file's own permissions stand in the way.
  const std::string link = absl::StrCat("/proc/self/fd/", fd);
  for (int flags : {O_RDWR, O_WRONLY, O_WRONLY | O_TRUNC}) {
    const int reopened = open(link.c_str(), flags);
    if (reopened >= 0) {
      note("reopening through /proc/self/fd for writing");
      close(reopened);
    }
  }
  struct stat after;
  if (fstat(fd, &after) != 0 || after.st_size != before.st_size) note("a change of size");
  return won;
}

class TableMappingTest : public testing::SharedNamespaceTest {
 protected:
  TableMappingTest() : SharedNamespaceTest("tables") {}
};

// A one-way pipe.
struct Pipe {
  Pipe() {
    if (pipe2(fds, O_CLOEXEC) != 0) fds[0] = fds[1] = -1;
  }
  ~Pipe() {
    close(fds[0]);
    close(fds[1]);
  }
  void CloseRead() {
    close(fds[0]);
    fds[0] = -1;
  }
  void CloseWrite() {
    close(fds[1]);
    fds[1] = -1;
  }
  // One line (the writer's copies may outlive it in RunAs's parent, so no
  // end of file is awaited).
  std::string ReadLine() {
    std::string text;
    char c;
    while (read(fds[0], &c, 1) == 1 && c != '\n') text.push_back(c);
    return text;
  }
  int fds[2];
};

// B's side: register by hand, attack the three tables, forge his own ledger
// for segment `id`, try the library's calls on it. Returns what got through.
std::string Attack(const std::string& dir, int id) {
  std::string report;
  RawClient client(dir);
  if (!client.ok()) return absl::StrCat("cannot connect: ", std::strerror(client.connect_error()));
  RawReply reply = client.Call<wire::Op::kRegister>(wire::RegisterRequest{0, 0});
  auto decoded = testing::DecodeRawReply<wire::Op::kRegister>(reply, client.last_request_id());
  if (!decoded || decoded->status.error != 0 || reply.fds.size() != 4) return "registration failed";
  absl::StrAppend(&report, AttackTable(reply.fds[0], "shm table"), AttackTable(reply.fds[2], "sem table"),
                  AttackTable(reply.fds[3], "msg table"));
  // His own ledger is his to write: claim a thousand attachments of the
  // victim's segment, the latest far in the future, and a detach.
  const size_t ledger_size = core::AttachLedgerSize(decoded->ledger_capacity);
  void* ledger_map = mmap(nullptr, ledger_size, PROT_READ | PROT_WRITE, MAP_SHARED, reply.fds[1], 0);
  if (ledger_map == MAP_FAILED) return absl::StrCat(report, "cannot map own ledger: ", std::strerror(errno));
  auto ledger = core::AttachLedger::Open(ledger_map, ledger_size);
  if (!ledger.ok()) return absl::StrCat(report, "cannot open own ledger");
  const int32_t index = core::IpcIdIndex(id);
  const uint32_t seq = core::IpcIdSeq(id);
  constexpr int64_t kFuture = int64_t{4'000'000'000} * 1'000'000'000;
  for (int i = 0; i < 1000; ++i) ledger->RecordAttach(index, seq, kFuture);
  ledger->RecordDetach(index, seq, kFuture + 1);
  // And through the library, as any program would: he may stat it, not
  // attach it, change it or remove it.
  shmid_ds seen{};
  if (sysv_shmctl(id, IPC_STAT, &seen) != 0) absl::StrAppend(&report, "his IPC_STAT failed; ");
  if (seen.shm_nattch != 1) absl::StrAppend(&report, "his IPC_STAT saw nattch ", seen.shm_nattch, "; ");
  if (sysv_shmat(id, nullptr, 0) != reinterpret_cast<void*>(-1) || errno != EACCES) {
    absl::StrAppend(&report, "his shmat was not EACCES; ");
  }
  shmid_ds set = seen;
  set.shm_perm.mode = 0666;
  if (sysv_shmctl(id, IPC_SET, &set) != -1 || errno != EPERM) absl::StrAppend(&report, "IPC_SET not EPERM; ");
  if (sysv_shmctl(id, IPC_RMID, nullptr) != -1 || errno != EPERM) absl::StrAppend(&report, "RMID not EPERM; ");
  return report;
}

TEST_F(TableMappingTest, TablesCannotBeWrittenAndForgedLedgersDoNotChangeStats) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  // B is forked before the victim makes any call, so he inherits no
  // attachment and no descriptor of the victim's.
  Pipe go, report, release;
  const std::string dir = dir_;
  const pid_t attacker = fork();
  if (attacker == 0) {
    go.CloseWrite();
    report.CloseRead();
    release.CloseWrite();
    _exit(RunAs(kAttackerB, [&]() -> int {
      int id = -1;
      if (read(go.fds[0], &id, sizeof(id)) != sizeof(id)) return 1;
      const std::string won = Attack(dir, id) + "\n";
      (void)!write(report.fds[1], won.data(), won.size());
      report.CloseWrite();
      // Stay registered, his forged ledger live, until the victim has looked.
      char byte;
      (void)!read(release.fds[0], &byte, 1);
      return 0;
    }));
  }
  ASSERT_GT(attacker, 0);
  go.CloseRead();
  report.CloseWrite();
  release.CloseRead();

  // The victim (this process, root): a segment of his own, attached, with
  // a key, readable by all (so B may stat it, not attach it).
  const int id = sysv_shmget(0x5d1401, 4096, IPC_CREAT | 0644);
  ASSERT_GE(id, 0) << std::strerror(errno);
  void* addr = sysv_shmat(id, nullptr, 0);
  ASSERT_NE(addr, reinterpret_cast<void*>(-1)) << std::strerror(errno);
  shmid_ds before{};
  ASSERT_EQ(sysv_shmctl(id, IPC_STAT, &before), 0) << std::strerror(errno);
  // A lookup by key, answered from the table once the key is known.
  ASSERT_EQ(sysv_shmget(0x5d1401, 4096, 0600), id) << std::strerror(errno);
  ASSERT_EQ(before.shm_nattch, 1u);
  ASSERT_EQ(before.shm_lpid, getpid());

  ASSERT_EQ(write(go.fds[1], &id, sizeof(id)), static_cast<ssize_t>(sizeof(id)));
  EXPECT_EQ(report.ReadLine(), "") << "the attacker got through";

  // The victim's view with B's forged ledger live: B was never granted the
  // segment, so the victim is still its only holder and answers locally;
  // by index too. Exactly as before the attack.
  shmid_ds after{};
  ASSERT_EQ(sysv_shmctl(id, IPC_STAT, &after), 0) << std::strerror(errno);
  EXPECT_EQ(Describe(after), Describe(before));
  shmid_ds by_index{};
  ASSERT_EQ(sysv_shmctl(core::IpcIdIndex(id), SHM_STAT_ANY, &by_index), id) << std::strerror(errno);
  EXPECT_EQ(Describe(by_index), Describe(before));
  EXPECT_EQ(sysv_shmget(0x5d1401, 4096, 0600), id) << std::strerror(errno);
  EXPECT_EQ(sysv_shmget(0x5d1401, 8192, 0600), -1);
  EXPECT_EQ(errno, EINVAL);
  release.CloseWrite();
  int status = 0;
  ASSERT_EQ(waitpid(attacker, &status, 0), attacker);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  ASSERT_EQ(sysv_shmdt(addr), 0);
  ASSERT_EQ(sysv_shmctl(id, IPC_STAT, &after), 0);
  EXPECT_EQ(after.shm_nattch, 0u);
  EXPECT_EQ(after.shm_lpid, getpid());
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

}  // namespace
}  // namespace sysv

// Issue #13 item 4 (DESIGN.md "Trust model", rule 3): an attach ledger
// takes no storage beyond what its process can use, and its process cannot
// make it take more.
//
// A ledger holds one entry per shm table index, but a process only ever
// writes the entries of segments the daemon granted it (the census ignores
// the rest, attach_count_test). So the daemon gives a new process a ledger
// of one page (the header) and grows it, by whole pages of entries, when it
// grants a segment whose entry lies past its end; nothing is allocated
// eagerly. B, a real user, registers, is granted segments of A's (one at a
// low index, one past the first page of entries), and attacks the ledger
// descriptor the daemon hands him: his ledger's size and blocks stay what
// his grants need, and after growing it every way the daemon takes it back
// to that size, not to the 1 MiB of a full ledger. B's libsysv then attaches
// the far segment through the grown ledger, and A sees the attachment.
//
// Each actor is a forked child running as its own user (RunAs) and reports
// through its exit status: 0 when every check held, the number of the
// failed check otherwise, 128 + N when signal N killed it.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/ipc/ipc_id.h"
#include "core/protocol/wire.h"
#include "core/shm/attach_ledger.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/raw_client.h"
#include "tests/security/backend_guarantees.h"
#include "tests/security/resize_attacks.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::RawClient;
using testing::RunAs;
using testing::User;

// Ids 4450-4499 are this suite's (other suites use other ranges).
const testing::Identity kOwnerA = User("ledger-a", 4451, 4451);
const testing::Identity kAttackerB = User("ledger-b", 4452, 4452);

constexpr off_t kPage = 4096;
constexpr off_t kAttackBytes = off_t{64} << 20;
constexpr int32_t kEntriesPerPage = kPage / sizeof(core::AttachLedgerEntry);

// The ledger size that holds the entry of segment index `index`: the
// header and whole pages of entries up to it.
off_t LedgerSizeFor(int32_t index) {
  const int32_t entries = (index / kEntriesPerPage + 1) * kEntriesPerPage;
  return static_cast<off_t>(core::AttachLedgerSize(static_cast<uint32_t>(entries)));
}

// Whether file `fd` is `size` bytes with no more than `size` bytes of
// blocks, within two seconds (the daemon's repair).
bool HoldsAtMost(int fd, off_t size) { return testing::SettlesTo(fd, size, size); }

class LedgerStorageAttackTest : public testing::SharedNamespaceTest {
 protected:
  explicit LedgerStorageAttackTest(std::vector<std::string> flags = {})
      : SharedNamespaceTest("ledger-storage", std::move(flags)) {}
  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    SharedNamespaceTest::SetUp();
  }

  // A's 0666 segments, created until one has an index past the first page
  // of ledger entries; the ids in order (the last is the far one).
  static std::vector<int> CreateSegmentsPastOnePage(size_t size = kPage) {
    int ids_pipe[2];
    if (pipe(ids_pipe) != 0) return {};
    // A creates them in one child and writes their ids to the pipe.
    const int status = RunAs(kOwnerA, [&] {
      for (int i = 0; i < 2 * kEntriesPerPage; ++i) {
        const int id = sysv_shmget(IPC_PRIVATE, size, IPC_CREAT | 0666);
        if (id < 0) return 1;
        if (write(ids_pipe[1], &id, sizeof(id)) != sizeof(id)) return 2;
        if (core::IpcIdIndex(id) >= kEntriesPerPage) return 0;
      }
      return 3;
    });
    close(ids_pipe[1]);
    std::vector<int> ids;
    int id = 0;
    while (status == 0 && read(ids_pipe[0], &id, sizeof(id)) == sizeof(id)) ids.push_back(id);
    close(ids_pipe[0]);
    return ids;
  }

  // The id of a segment of A's whose index lies past one page of ledger
  // entries (made with others before it), or -1.
  static int FarSegment(size_t size = kPage) {
    const std::vector<int> ids = CreateSegmentsPastOnePage(size);
    return !ids.empty() && core::IpcIdIndex(ids.back()) >= kEntriesPerPage ? ids.back() : -1;
  }
};

// A fresh process's ledger is its header page, allocated or not: no more.
TEST_F(LedgerStorageAttackTest, NewLedgerTakesOnePage) {
  const int attack = RunAs(kAttackerB, [&] {
    RawClient client(dir_);
    if (!client.ok()) return 1;
    testing::RawReply registered = client.Call<wire::Op::kRegister>(wire::RegisterRequest{0, 0});
    if (registered.Status() != 0 || registered.fds.size() < 2) return 2;
    return HoldsAtMost(registered.fds[1], kPage) ? 0 : 3;
  });
  EXPECT_EQ(attack, 0) << "3: a new ledger takes more than one page";
}

// B's ledger grows with his grants only, by the pages that hold their
// entries, and B's own growing of it is taken back to that size.
TEST_F(LedgerStorageAttackTest, LedgerGrowsOnlyWithGrantsAndIsTakenBackToThem) {
  const std::vector<int> ids = CreateSegmentsPastOnePage();
  ASSERT_FALSE(ids.empty());
  ASSERT_GE(core::IpcIdIndex(ids.back()), kEntriesPerPage) << "no segment index past one page of entries";
  const int near = ids.front();
  const int far = ids.back();
  const int attack = RunAs(kAttackerB, [&] {
    RawClient client(dir_);
    if (!client.ok()) return 1;
    testing::RawReply registered = client.Call<wire::Op::kRegister>(wire::RegisterRequest{0, 0});
    if (registered.Status() != 0 || registered.fds.size() < 2) return 2;
    const int ledger = registered.fds[1];
    if (client.Call<wire::Op::kShmAttach>(wire::ShmAttachRequest{near, 0}).Status() != 0) return 3;
    if (!HoldsAtMost(ledger, LedgerSizeFor(core::IpcIdIndex(near)))) return 4;
    if (client.Call<wire::Op::kShmAttach>(wire::ShmAttachRequest{far, 0}).Status() != 0) return 5;
    const off_t grown = LedgerSizeFor(core::IpcIdIndex(far));
    if (!HoldsAtMost(ledger, grown)) return 6;
    // B grows it every way a read-write descriptor allows.
    if (fallocate(ledger, 0, 0, kAttackBytes) == 0 && !HoldsAtMost(ledger, grown)) return 7;
    // Only where the backend's OS has fallocate (storage_attack_test.cc).
    if (testing::BlocksPastEndExistOnBackendOs() && fallocate(ledger, FALLOC_FL_KEEP_SIZE, grown, kAttackBytes) == 0 &&
        !HoldsAtMost(ledger, grown)) {
      return 8;
    }
    if (ftruncate(ledger, off_t{1} << 30) == 0 && !HoldsAtMost(ledger, grown)) return 9;
    return 0;
  });
  EXPECT_EQ(attack, 0) << "4, 6: the ledger is not sized for B's grants; 7-9: B's growth was not taken back";
}

// shm_nattch of segment `id` as A's IPC_STAT reports it, or -1.
int NattchSeenByA(int id) {
  return testing::RunAsForValue(kOwnerA, [&] {
    struct shmid_ds ds {};
    return sysv_shmctl(id, IPC_STAT, &ds) == 0 ? static_cast<int>(ds.shm_nattch) : -1;
  });
}

// Runs B's `first` (as user B, in a child, from a thread), then, while B
// waits, `meanwhile` here, then B's `then`. B's first outcome reaches this
// process before B waits, failed or not, so that nothing waits for nothing.
// Returns B's exit status: `first`'s outcome if not 0, else `then`'s.
int WhileBWaits(const std::function<int()>& first, const std::function<void()>& meanwhile,
                const std::function<int()>& then) {
  int told[2], go[2];
  if (pipe(told) != 0 || pipe(go) != 0) return -1;
  int status = -1;
  std::thread b([&] {
    status = RunAs(kAttackerB, [&] {
      const char outcome = static_cast<char>(first());
      if (write(told[1], &outcome, 1) != 1) return 100;
      char signal = 0;
      if (read(go[0], &signal, 1) != 1) return 101;
      return outcome != 0 ? outcome : then();
    });
  });
  char outcome = 0;
  if (read(told[0], &outcome, 1) == 1) meanwhile();
  const char signal = 'g';
  if (write(go[1], &signal, 1) != 1) status = -2;
  b.join();
  for (int fd : {told[0], told[1], go[0], go[1]}) close(fd);
  return status;
}

// The far segment's entry lies past a new ledger's first page: B's libsysv
// counts his attachment there, and A sees it, and its end.
TEST_F(LedgerStorageAttackTest, AttachmentPastTheFirstPageIsCounted) {
  const int far = FarSegment();
  ASSERT_GE(far, 0) << "no segment index past one page of entries";
  const auto nattch = [&] { return NattchSeenByA(far); };
  void* at = nullptr;
  int while_attached = -1;
  const int attacker = WhileBWaits([&] { return (at = sysv_shmat(far, nullptr, 0)) == reinterpret_cast<void*>(-1) ? 1 : 0; },
                                   [&] { while_attached = nattch(); },
                                   [&] { return sysv_shmdt(at) == 0 ? 0 : 4; });
  EXPECT_EQ(attacker, 0) << "B: 128 + 7 is SIGBUS (an entry past his ledger's end)";
  EXPECT_EQ(while_attached, 1) << "B's attachment was not counted";
  EXPECT_EQ(nattch(), 0) << "B's detach was not counted";
}

// A daemon killed and started again re-adopts B's grown ledger at its size:
// B's attachment past the first page still counts, and so does its end.
TEST_F(LedgerStorageAttackTest, AGrownLedgerIsReadoptedAfterADaemonKill) {
  // A restarted daemon counts the grants of surviving processes from the
  // files they hold; where the backend cannot list them (DragonFly:
  // ProcessHeldFiles is ENOSYS) their attachments are not counted after a
  // restart (an undercount, logged; forged entries are still not counted).
  SYSV_SKIP_UNLESS_BACKEND_GIVES(testing::HeldFilesCanBeListed());
  const int far = FarSegment();
  ASSERT_GE(far, 0) << "no segment index past one page of entries";
  const auto nattch = [&] { return NattchSeenByA(far); };
  void* at = nullptr;
  int after_restart = -1;
  const int attacker = WhileBWaits(
      [&] { return (at = sysv_shmat(far, nullptr, 0)) == reinterpret_cast<void*>(-1) ? 1 : 0; },
      [&] {
        daemon_->Kill();
        daemon_->Start();
        after_restart = nattch();
      },
      [&] { return sysv_shmdt(at) == 0 ? 0 : 4; });
  EXPECT_EQ(attacker, 0) << "B: 128 + 7 is SIGBUS (his ledger re-adopted shorter)";
  EXPECT_EQ(after_restart, 1) << "B's attachment was lost with the daemon";
  EXPECT_EQ(nattch(), 0) << "B's detach after the restart was not counted";
}

// The ledger's bytes are charged to the user who registered its process
// (user_bytes: four pages here). B's ledger, grown to three pages (its
// header and two pages of entries) by his grant of the far segment, counts
// against B's quota: a 4097-byte segment no longer fits, a 4096-byte one
// does. It counts against nobody else's: A, meanwhile, still has room for
// her own ledger's page, her 1-byte segments and 12000 bytes more.
class LedgerChargeTest : public LedgerStorageAttackTest {
 protected:
  LedgerChargeTest() : LedgerStorageAttackTest({"--limit=user_bytes=16384"}) {}
};

TEST_F(LedgerChargeTest, LedgerBytesAreChargedToTheirUserOnly) {
  const int far = FarSegment(/*size=*/1);
  ASSERT_GE(far, 0) << "no segment index past one page of entries";
  int owner = -1;
  const int attacker = WhileBWaits(
      [&] {
        if (sysv_shmat(far, nullptr, 0) == reinterpret_cast<void*>(-1)) return 1;
        if (sysv_shmget(IPC_PRIVATE, kPage + 1, IPC_CREAT | 0600) >= 0 || errno != ENOSPC) return 2;
        return sysv_shmget(IPC_PRIVATE, kPage, IPC_CREAT | 0600) < 0 ? 3 : 0;
      },
      [&] { owner = RunAs(kOwnerA, [] { return sysv_shmget(IPC_PRIVATE, 12000, IPC_CREAT | 0600) >= 0 ? 0 : 1; }); },
      [] { return 0; });
  EXPECT_EQ(attacker, 0) << "2: B's ledger is not charged to him; 1, 3: B was refused within his quota";
  EXPECT_EQ(owner, 0) << "A was charged for B's ledger";
}

}  // namespace
}  // namespace sysv

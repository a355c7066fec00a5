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

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

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
bool HoldsAtMost(int fd, off_t size) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return false;
    if (st.st_size == size && st.st_blocks * 512 <= size) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class LedgerStorageAttackTest : public testing::SharedNamespaceTest {
 protected:
  LedgerStorageAttackTest() : SharedNamespaceTest("ledger-storage") {}
  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    SharedNamespaceTest::SetUp();
  }

  // A's 0666 segments, created until one has an index past the first page
  // of ledger entries; the ids in order (the last is the far one).
  static std::vector<int> CreateSegmentsPastOnePage() {
    int ids_pipe[2];
    if (pipe(ids_pipe) != 0) return {};
    // A creates them in one child and writes their ids to the pipe.
    const int status = RunAs(kOwnerA, [&] {
      for (int i = 0; i < 2 * kEntriesPerPage; ++i) {
        const int id = sysv_shmget(IPC_PRIVATE, kPage, IPC_CREAT | 0666);
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
    if (fallocate(ledger, FALLOC_FL_KEEP_SIZE, grown, kAttackBytes) == 0 && !HoldsAtMost(ledger, grown)) return 8;
    if (ftruncate(ledger, off_t{1} << 30) == 0 && !HoldsAtMost(ledger, grown)) return 9;
    return 0;
  });
  EXPECT_EQ(attack, 0) << "4, 6: the ledger is not sized for B's grants; 7-9: B's growth was not taken back";
}

// The far segment's entry lies past a new ledger's first page: B's libsysv
// counts his attachment there, and A sees it, and its end.
TEST_F(LedgerStorageAttackTest, AttachmentPastTheFirstPageIsCounted) {
  const std::vector<int> ids = CreateSegmentsPastOnePage();
  ASSERT_FALSE(ids.empty());
  const int far = ids.back();
  ASSERT_GE(core::IpcIdIndex(far), kEntriesPerPage);
  int attached[2], go[2];
  ASSERT_EQ(pipe(attached), 0);
  ASSERT_EQ(pipe(go), 0);
  int attacker = -1;
  std::thread b([&] {
    attacker = RunAs(kAttackerB, [&] {
      void* at = sysv_shmat(far, nullptr, 0);
      if (at == reinterpret_cast<void*>(-1)) return 1;
      const char ready = 'r';
      if (write(attached[1], &ready, 1) != 1) return 2;
      char signal = 0;
      if (read(go[0], &signal, 1) != 1) return 3;
      return sysv_shmdt(at) == 0 ? 0 : 4;
    });
  });
  char ready = 0;
  ASSERT_EQ(read(attached[0], &ready, 1), 1);
  const auto nattch = [&] {
    return testing::RunAsForValue(kOwnerA, [&] {
      struct shmid_ds ds {};
      return sysv_shmctl(far, IPC_STAT, &ds) == 0 ? static_cast<int>(ds.shm_nattch) : -1;
    });
  };
  EXPECT_EQ(nattch(), 1) << "B's attachment was not counted";
  const char signal = 'g';
  ASSERT_EQ(write(go[1], &signal, 1), 1);
  b.join();
  EXPECT_EQ(attacker, 0) << "B: 128 + 7 is SIGBUS (an entry past his ledger's end)";
  EXPECT_EQ(nattch(), 0) << "B's detach was not counted";
  for (int fd : {attached[0], attached[1], go[0], go[1]}) close(fd);
}

}  // namespace
}  // namespace sysv

// Issue #13 item 4 (DESIGN.md "Trust model", rule 3): no descriptor lets
// its holder take more storage than its object allows.
//
// B, a real user, holds what the daemon gives a process: a read-write
// descriptor of a segment of A's (0666) that he attached and, asked for by
// hand as libsysv asks (it maps them and keeps no descriptor; a process
// can), his own attach ledger and read-write descriptors of the regions of
// a semaphore set and a queue he may alter.
// Through them he grows the files (ftruncate), allocates blocks inside and
// past their end (fallocate, with and without KEEP_SIZE), and writes far
// past their end: storage on the state file system that no quota counts
// (user_bytes is 1 MiB here; each attack takes 64 MiB or more). The daemon
// must take it back: each file is back to its object's size with no block
// past it within a moment. A segment cut short by a writer gets its size
// back too, so that A, attached all along, reads it again (as zeros where
// it was cut) rather than dying of SIGBUS from then on.
//
// Where a segment is a sealed region (a memfd no holder can resize), B's
// changes are refused outright rather than taken back: either passes here.
// The moment between a cut and its repair, for the files that remain (sets,
// queues, and segments without a keeper), is segment_cut_attack_test's
// subject. A ledger is allocated in full by the daemon at registration
// (1 MiB + 4 KiB): allocating inside it takes nothing more.
//
// Each actor is a forked child running as its own user (RunAs) and reports
// through its exit status: 0 when every check held, the number of the
// failed check otherwise, 128 + N when signal N killed it.
#include <dirent.h>
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "core/protocol/wire.h"
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

// Ids 3100-3199 are this suite's (other suites use other ranges).
const testing::Identity kOwnerA = User("owner-a", 3111, 3111);
const testing::Identity kAttackerB = User("attacker-b", 3112, 3112);

constexpr off_t kSegmentSize = 4096;
constexpr off_t kAttackBytes = off_t{64} << 20;

// The descriptor this process holds of a file in the namespace's state
// directory `part` ("/state/shm/", "/state/ledgers/"), or -1. A segment may
// be a sealed region (a memfd named for it) instead of a file there.
int FindStateFd(const char* part) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (struct dirent* entry = readdir(dir)) {
    char link[512] = {};
    const std::string path = std::string("/proc/self/fd/") + entry->d_name;
    if (readlink(path.c_str(), link, sizeof(link) - 1) > 0 &&
        (std::strstr(link, part) != nullptr ||
         (std::strcmp(part, "/state/shm/") == 0 && std::strstr(link, "memfd:sysvipc-shm") != nullptr))) {
      found = std::atoi(entry->d_name);
      break;
    }
  }
  closedir(dir);
  return found;
}

// Whether file `fd` is back to `size` bytes with no block past their last
// page within two seconds (the daemon's repair). The page holding the end
// is the object's, allocated or not.
bool TakenBack(int fd, off_t size) { return testing::SettlesTo(fd, size, (size + 4095) / 4096 * 4096); }

// Every way a read-write descriptor changes a file's size or blocks beyond
// its object, each checked to be refused (a sealed region: EPERM) or taken
// back. Returns 0 or the failed step.
int GrowEveryWay(int fd, off_t size) {
  if (fallocate(fd, 0, 0, kAttackBytes) == 0 && !TakenBack(fd, size)) return 3;
  // Blocks past the end exist only where the backend's OS has fallocate:
  // DragonFly has none, so its backend's take-back (ftruncate) never looks
  // for them, while its Linux doubles run where the attacker has it.
  if (testing::BlocksPastEndExistOnBackendOs() && fallocate(fd, FALLOC_FL_KEEP_SIZE, size, kAttackBytes) == 0 &&
      !TakenBack(fd, size)) {
    return 5;
  }
  const bool grown = ftruncate(fd, off_t{1} << 30) == 0;
  const char byte = 'x';
  const bool written = pwrite(fd, &byte, 1, off_t{512} << 20) == 1;
  if ((grown || written) && !TakenBack(fd, size)) return 8;
  return TakenBack(fd, size) ? 0 : 9;
}

class StorageAttackTest : public testing::SharedNamespaceTest {
 protected:
  StorageAttackTest() : SharedNamespaceTest("storage", {"--limit=user_bytes=1048576"}) {}
  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    SharedNamespaceTest::SetUp();
  }

  static int AsOwner(const std::function<int()>& create) { return testing::RunAsForValue(kOwnerA, create); }

  // A's 4 KiB segment (0666) holding "a's data".
  static int CreateSegment() {
    return AsOwner([] {
      const int id = sysv_shmget(IPC_PRIVATE, kSegmentSize, IPC_CREAT | 0666);
      void* at = id >= 0 ? sysv_shmat(id, nullptr, 0) : reinterpret_cast<void*>(-1);
      if (at == reinterpret_cast<void*>(-1)) return -1;
      std::strcpy(static_cast<char*>(at), "a's data");
      return sysv_shmdt(at) == 0 ? id : -1;
    });
  }
};

TEST_F(StorageAttackTest, SegmentWriterCannotKeepStoragePastTheSegment) {
  const int id = CreateSegment();
  ASSERT_GE(id, 0);
  const int attack = RunAs(kAttackerB, [&] {
    if (sysv_shmat(id, nullptr, 0) == reinterpret_cast<void*>(-1)) return 1;
    const int fd = FindStateFd("/state/shm/");
    if (fd < 0) return 20;
    return GrowEveryWay(fd, kSegmentSize);
  });
  EXPECT_EQ(attack, 0) << "3, 5, 8, 9: B's storage was not taken back";
  const int owner = RunAs(kOwnerA, [&] {
    void* at = sysv_shmat(id, nullptr, SHM_RDONLY);
    if (at == reinterpret_cast<void*>(-1)) return 1;
    return std::strcmp(static_cast<const char*>(at), "a's data") == 0 ? 0 : 2;
  });
  EXPECT_EQ(owner, 0) << "A's data did not survive the repair";
}

// B cuts A's segment to nothing while A is attached. The file gets its size
// back, and A, still attached, reads it (zeros where it was cut) instead of
// faulting from then on.
TEST_F(StorageAttackTest, SegmentCutShortGetsItsSizeBackForTheOtherAttachers) {
  const int id = CreateSegment();
  ASSERT_GE(id, 0);
  int attached[2], go[2];
  ASSERT_EQ(pipe(attached), 0);
  ASSERT_EQ(pipe(go), 0);
  int owner = -1;
  std::thread victim([&] {
    owner = RunAs(kOwnerA, [&] {
      volatile char* at = static_cast<volatile char*>(sysv_shmat(id, nullptr, 0));
      if (at == reinterpret_cast<volatile char*>(-1)) return 1;
      const char ready = 'r';
      if (write(attached[1], &ready, 1) != 1) return 2;
      char signal = 0;
      if (read(go[0], &signal, 1) != 1) return 3;
      // After the repair: the page reads (as zeros) and takes a write.
      at[0] = 'A';
      return at[0] == 'A' ? 0 : 4;
    });
  });
  char ready = 0;
  ASSERT_EQ(read(attached[0], &ready, 1), 1);
  const int attack = RunAs(kAttackerB, [&] {
    if (sysv_shmat(id, nullptr, 0) == reinterpret_cast<void*>(-1)) return 1;
    const int fd = FindStateFd("/state/shm/");
    if (fd < 0) return 20;
    (void)!ftruncate(fd, 0);  // refused where the segment is a sealed region
    return TakenBack(fd, kSegmentSize) ? 0 : 3;
  });
  const char signal = 'g';
  ASSERT_EQ(write(go[1], &signal, 1), 1);
  victim.join();
  EXPECT_EQ(attack, 0) << "3: the segment's size was not given back";
  EXPECT_EQ(owner, 0) << "A, attached during the attack: 128 + 7 is SIGBUS";
  for (int fd : {attached[0], attached[1], go[0], go[1]}) close(fd);
}

TEST_F(StorageAttackTest, LedgerHolderCannotKeepStoragePastTheLedger) {
  const int attack = RunAs(kAttackerB, [&] {
    // Registering gives the process its ledger, read-write (libsysv maps
    // it and keeps no descriptor; a process can).
    RawClient client(dir_);
    if (!client.ok()) return 1;
    testing::RawReply registered = client.Call<wire::Op::kRegister>(wire::RegisterRequest{0, 0});
    if (registered.Status() != 0 || registered.fds.size() < 2) return 20;
    const int fd = registered.fds[1];
    struct stat st {};
    if (fstat(fd, &st) != 0) return 21;
    return GrowEveryWay(fd, st.st_size);
  });
  EXPECT_EQ(attack, 0) << "3, 5, 8, 9: B's storage was not taken back";
}

// Regions of a set and a queue that B may alter, asked for by hand as
// libsysv asks (it maps them and closes its descriptors; a process can keep
// one all the same).
TEST_F(StorageAttackTest, RegionWriterCannotKeepStoragePastTheRegion) {
  const int set = AsOwner([] { return sysv_semget(IPC_PRIVATE, 3, IPC_CREAT | 0666); });
  const int queue = AsOwner([] { return sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0666); });
  ASSERT_GE(set, 0);
  ASSERT_GE(queue, 0);
  const int attack = RunAs(kAttackerB, [&] {
    RawClient client(dir_);
    if (!client.ok() || client.Register() != 0) return 1;
    testing::RawReply set_reply = client.Call<wire::Op::kSemOpen>(wire::SemOpenRequest{set, 0});
    testing::RawReply queue_reply = client.Call<wire::Op::kMsgOpen>(wire::MsgOpenRequest{queue, 0});
    if (set_reply.Status() != 0 || set_reply.fds.empty() || queue_reply.Status() != 0 || queue_reply.fds.empty()) {
      return 30;
    }
    for (int fd : {set_reply.fds[0], queue_reply.fds[0]}) {
      struct stat st {};
      if (fstat(fd, &st) != 0) return 31;
      if (const int failed = GrowEveryWay(fd, st.st_size); failed != 0) return failed + (fd == set_reply.fds[0] ? 0 : 10);
    }
    return 0;
  });
  EXPECT_EQ(attack, 0) << "set: 3/5/8/9 not taken back; queue: the same plus 10";
  // Both objects still serve A.
  const int owner = RunAs(kOwnerA, [&] {
    struct sembuf up = {0, 1, 0};
    if (sysv_semop(set, &up, 1) != 0) return 1;
    struct {
      long mtype;
      char text[8];
    } message = {1, "hello"};
    if (sysv_msgsnd(queue, &message, sizeof(message.text), IPC_NOWAIT) != 0) return 2;
    if (sysv_msgrcv(queue, &message, sizeof(message.text), 0, IPC_NOWAIT) != sizeof(message.text)) return 3;
    return 0;
  });
  EXPECT_EQ(owner, 0);
}

}  // namespace
}  // namespace sysv

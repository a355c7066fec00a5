// Issue #13, item 1: a queue user's power is what its permission bits say
// (DESIGN.md, trust model rule 2).
//
// The attacks, as measured on main at 0de5722: a read-only user B of A's
// 0644 queue got a read-write descriptor of its region (kMsgOpen, what
// libsysv asks for on B's first msgrcv), forged a message into it that A
// then received as if a permitted sender had sent it, wrote lock words and
// truncated the file; a write-only user B of a 0622 mailbox got the same
// descriptor, read C's messages out of the region and deleted them.
//
// Now only a process with both read and write permission gets a writable
// region; a read-only user gets a read-only descriptor (it may read every
// message anyway: msgrcv, MSG_COPY), a write-only user none; their
// msgsnd/msgrcv are served by the daemon. Each test performs the attack as
// B would, through what the daemon hands B, checks that B's descriptor
// cannot do it, and checks what A and C see afterwards.
#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/platform.h"
#include "core/msg/msg_queue.h"
#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/raw_client.h"
#include "tests/testing/process_state.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::RawClient;
using testing::RawReply;
using testing::RunAs;
using testing::User;

// Ids 3000-3099 are this suite's.
const testing::Identity kOwnerA = User("queue-owner-a", 3001, 3001);
const testing::Identity kAttackerB = User("queue-attacker-b", 3002, 3002);
const testing::Identity kSenderC = User("queue-sender-c", 3003, 3003);
const testing::Identity kReaderR = User("queue-reader-r", 3004, 3004);

struct Message {
  long mtype;
  char text[32];
};

// What B's attack got, reported by B's process through a pipe.
struct AttackOutcome {
  int descriptors = 0;   // descriptors kMsgOpen handed B
  int writable_fd = 0;   // 1: the descriptor is open for writing
  int writable_map = 0;  // 1: B could map the region writable
  int truncated = 0;     // 1: B could cut the file short
  int forged = 0;        // 1: B's forged message was sent on his mapping
  int read_secret = 0;   // 1: B found C's text in the region
  int deleted = 0;       // messages B removed through his mapping
};

// Runs `body` as `who` in a child and returns what it wrote to the pipe.
AttackOutcome RunAttack(const testing::Identity& who, const std::function<AttackOutcome()>& body) {
  int fds[2];
  if (pipe(fds) != 0) return AttackOutcome{-1};
  const int status = RunAs(who, [&] {
    const AttackOutcome outcome = body();
    return write(fds[1], &outcome, sizeof(outcome)) == sizeof(outcome) ? 0 : 1;
  });
  AttackOutcome outcome{-1};
  if (status != 0 || read(fds[0], &outcome, sizeof(outcome)) != sizeof(outcome)) outcome = AttackOutcome{-1};
  close(fds[0]);
  close(fds[1]);
  return outcome;
}

int RunAsChild(const testing::Identity& who, const std::function<int()>& body) { return RunAs(who, body); }

// B's attack on queue `id` through the descriptor the daemon gives him for
// it: map it writable, forge a message of type 99 "forged" into it with the
// library's own code (as a permitted sender would), read it for `secret`,
// delete what it holds, and cut the file short. Every step is tried; the
// outcome says which worked.
AttackOutcome AttackQueue(const std::string& dir, int id, const char* secret) {
  AttackOutcome outcome;
  RawClient client(dir);
  if (!client.ok() || client.Register() != 0) return AttackOutcome{-2};
  const RawReply reply = client.Call<wire::Op::kMsgOpen>(wire::MsgOpenRequest{id, 0});
  outcome.descriptors = static_cast<int>(reply.fds.size());
  if (reply.fds.empty()) return outcome;
  const int fd = reply.fds[0];
  const int flags = fcntl(fd, F_GETFL);
  outcome.writable_fd = flags >= 0 && (flags & O_ACCMODE) != O_RDONLY ? 1 : 0;
  const size_t size = core::MsgQueue::MappingSize();
  void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (map != MAP_FAILED) {
    outcome.writable_map = 1;
    struct stat st {};
    fstat(fd, &st);
    const uint64_t file_size = static_cast<uint64_t>(st.st_size);
    const core::MsgQueue::CapacityCheck capacity{
        [](const void* context, uint64_t bytes) { return bytes <= *static_cast<const uint64_t*>(context); },
        &file_size};
    absl::StatusOr<std::unique_ptr<core::MsgQueue>> queue =
        core::MsgQueue::Open(map, &platform::ClientRegionPlatform(), capacity);
    if (queue.ok()) {
      // Read: C's text anywhere in the region's used part.
      const auto* bytes = static_cast<const unsigned char*>(map);
      const size_t used = std::min<uint64_t>(file_size, 1 << 20);
      const size_t n = std::strlen(secret);
      for (size_t i = 0; i + n <= used && !outcome.read_secret; ++i) {
        if (std::memcmp(bytes + i, secret, n) == 0) outcome.read_secret = 1;
      }
      // Delete: every message of the queue.
      std::vector<uint8_t> payload;
      int64_t mtype = 0;
      while ((*queue)->Receive(0, IPC_NOWAIT, 64, 8192, getpid(), 0, &mtype, &payload) >= 0) ++outcome.deleted;
      // Forge.
      const char forged[] = "forged";
      if ((*queue)->Send(99, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(forged), sizeof(forged)),
                         IPC_NOWAIT, getpid(), 0) == 0) {
        outcome.forged = 1;
      }
    }
    munmap(map, size);
  }
  if (ftruncate(fd, 0) == 0) outcome.truncated = 1;
  return outcome;
}

class QueueAccessTest : public testing::SharedNamespaceTest {
 protected:
  QueueAccessTest() : SharedNamespaceTest("queue-access") {}

  // Runs `create` as A and returns the id it returns (or -1).
  static int AsOwner(const std::function<int()>& body) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    int id = -1;
    const int status = RunAs(kOwnerA, [&] {
      const int made = body();
      return write(fds[1], &made, sizeof(made)) == sizeof(made) ? 0 : 1;
    });
    if (status != 0 || read(fds[0], &id, sizeof(id)) != sizeof(id)) id = -1;
    close(fds[0]);
    close(fds[1]);
    return id;
  }
};

// The first attack: read-only B forges a message that A receives,
// truncates the region. B may read (msgrcv works for him), never write.
TEST_F(QueueAccessTest, ReadOnlyUserCannotForgeOrTruncate) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int queue = AsOwner([] {
    const int id = sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0644);
    Message m{1, "a's first"};
    return id >= 0 && sysv_msgsnd(id, &m, sizeof(m.text), IPC_NOWAIT) == 0 ? id : -1;
  });
  ASSERT_GE(queue, 0);
  const AttackOutcome outcome = RunAttack(kAttackerB, [&] { return AttackQueue(dir_, queue, "a's first"); });
  ASSERT_GE(outcome.descriptors, 0) << "B's attack did not run";
  EXPECT_EQ(outcome.writable_fd, 0) << "read-only B holds a writable descriptor of A's queue";
  EXPECT_EQ(outcome.writable_map, 0) << "read-only B mapped A's queue writable";
  EXPECT_EQ(outcome.forged, 0) << "read-only B forged a message";
  EXPECT_EQ(outcome.deleted, 0) << "read-only B removed messages through his mapping";
  EXPECT_EQ(outcome.truncated, 0) << "read-only B cut the region short";
  // A's view: his own message, then nothing (no forged message, no fault).
  const int seen = RunAsChild(kOwnerA, [&] {
    Message got{};
    if (sysv_msgrcv(queue, &got, sizeof(got.text), 0, IPC_NOWAIT) != sizeof(got.text)) return 1;
    if (got.mtype != 1 || std::strcmp(got.text, "a's first") != 0) return 2;
    if (sysv_msgrcv(queue, &got, sizeof(got.text), 0, IPC_NOWAIT) != -1 || errno != ENOMSG) return 3;
    Message again{2, "a's second"};
    if (sysv_msgsnd(queue, &again, sizeof(again.text), IPC_NOWAIT) != 0) return 4;
    return sysv_msgctl(queue, IPC_RMID, nullptr) == 0 ? 0 : 5;
  });
  EXPECT_EQ(seen, 0) << "A's view of his queue after B's attack (1: his message lost, 2: another message first, "
                        "3: a forged message, 4: his msgsnd failed)";
}

// Read-only B still reads as the kernel lets him: msgrcv and MSG_COPY of
// A's messages, IPC_STAT; msgsnd is EACCES.
TEST_F(QueueAccessTest, ReadOnlyUserIsServedReads) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int queue = AsOwner([] {
    const int id = sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0644);
    Message one{1, "one"};
    Message two{2, "two"};
    if (id < 0 || sysv_msgsnd(id, &one, 4, IPC_NOWAIT) != 0 || sysv_msgsnd(id, &two, 4, IPC_NOWAIT) != 0) return -1;
    return id;
  });
  ASSERT_GE(queue, 0);
  const int result = RunAsChild(kAttackerB, [&] {
    Message got{};
    if (sysv_msgrcv(queue, &got, sizeof(got.text), 1, IPC_NOWAIT | MSG_COPY) != 4 || got.mtype != 2) return 1;
    Message m{5, "b"};
    if (sysv_msgsnd(queue, &m, 2, IPC_NOWAIT) != -1 || errno != EACCES) return 2;
    struct msqid_ds ds {};
    if (sysv_msgctl(queue, IPC_STAT, &ds) != 0 || ds.msg_qnum != 2) return 3;
    if (sysv_msgrcv(queue, &got, sizeof(got.text), 2, IPC_NOWAIT) != 4 || std::strcmp(got.text, "two") != 0) return 4;
    if (sysv_msgrcv(queue, &got, sizeof(got.text), 0, IPC_NOWAIT) != 4 || std::strcmp(got.text, "one") != 0) return 5;
    if (sysv_msgrcv(queue, &got, sizeof(got.text), 0, IPC_NOWAIT) != -1 || errno != ENOMSG) return 6;
    if (sysv_msgctl(queue, IPC_STAT, &ds) != 0 || ds.msg_qnum != 0 || ds.msg_lrpid != getpid()) return 7;
    return 0;
  });
  EXPECT_EQ(result, 0);
  EXPECT_EQ(AsOwner([&] { return sysv_msgctl(queue, IPC_RMID, nullptr); }), 0);
}

// The second attack: a 0622 mailbox of A's; C and B may only send.
// B reads C's message out of the region and deletes it.
TEST_F(QueueAccessTest, WriteOnlyUserCannotReadOrDeleteOthersMessages) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int queue = AsOwner([] { return sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0622); });
  ASSERT_GE(queue, 0);
  const int sent = RunAsChild(kSenderC, [&] {
    Message m{3, "c's secret for a"};
    if (sysv_msgsnd(queue, &m, sizeof(m.text), IPC_NOWAIT) != 0) return 1;
    Message got{};
    if (sysv_msgrcv(queue, &got, sizeof(got.text), 0, IPC_NOWAIT) != -1 || errno != EACCES) return 2;
    return 0;
  });
  ASSERT_EQ(sent, 0) << "write-only C's msgsnd (1) or msgrcv's EACCES (2)";
  const AttackOutcome outcome = RunAttack(kAttackerB, [&] { return AttackQueue(dir_, queue, "c's secret"); });
  ASSERT_GE(outcome.descriptors, 0) << "B's attack did not run";
  EXPECT_EQ(outcome.descriptors, 0) << "write-only B got a descriptor of A's mailbox";
  EXPECT_EQ(outcome.read_secret, 0) << "write-only B read C's message";
  EXPECT_EQ(outcome.deleted, 0) << "write-only B deleted messages";
  EXPECT_EQ(outcome.forged, 0);
  EXPECT_EQ(outcome.truncated, 0);
  const int seen = RunAsChild(kOwnerA, [&] {
    Message got{};
    if (sysv_msgrcv(queue, &got, sizeof(got.text), 0, IPC_NOWAIT) != sizeof(got.text)) return 1;
    if (got.mtype != 3 || std::strcmp(got.text, "c's secret for a") != 0) return 2;
    return sysv_msgctl(queue, IPC_RMID, nullptr) == 0 ? 0 : 3;
  });
  EXPECT_EQ(seen, 0) << "A's mailbox after B's attack (1: C's message gone)";
}

// The served path under attack: read-only B speaks the protocol by hand to
// end or steal reader R's wait (naming R's thread, guessing R's record),
// stages a message out of order and sends as a reader. None of it reaches
// R: R is handed A's next message, and the daemon serves on.
TEST_F(QueueAccessTest, ServedWaitsBelongToTheirCaller) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const int queue = AsOwner([] { return sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0644); });
  ASSERT_GE(queue, 0);
  // R sleeps in its served msgrcv (this child takes on R's ids itself, so
  // that its pid is the sleeper's).
  const pid_t reader = fork();
  if (reader == 0) {
    if (setgroups(0, nullptr) != 0 || setresgid(kReaderR.rgid, kReaderR.rgid, kReaderR.rgid) != 0 ||
        setresuid(kReaderR.ruid, kReaderR.ruid, kReaderR.ruid) != 0) {
      _exit(77);
    }
    Message got{};
    if (sysv_msgrcv(queue, &got, sizeof(got.text), 0, 0) != sizeof(got.text)) _exit(1);
    _exit(std::strcmp(got.text, "for r") == 0 ? 0 : 2);
  }
  for (int i = 0; i < 2000 && !testing::AsleepInIpcWait(reader); ++i) usleep(5000);
  const int attack = RunAsChild(kAttackerB, [&] {
    RawClient client(dir_);
    if (!client.ok() || client.Register() != 0) return 1;
    // A wait held for a thread that is not B's.
    wire::MsgReceiveRequest steal{};
    steal.id = queue;
    steal.tid = reader;
    steal.bufsz = 32;
    if (client.Call<wire::Op::kMsgReceive>(steal).Status() != EINVAL) return 2;
    // R's record, whichever it is: ending it is refused (it is not B's).
    for (uint32_t index = 0; index < 64; ++index) {
      const RawReply end = client.Call<wire::Op::kMsgReceiveEnd>(wire::MsgReceiveEndRequest{queue, index, EINTR, 0, 32});
      if (end.Status() == 0) return 3;
    }
    // Parts out of order, and a reader's send.
    wire::MsgSendPartRequest part{};
    part.id = queue;
    part.offset = 100;
    part.length = 10;
    if (client.Call<wire::Op::kMsgSendPart>(part).Status() != EINVAL) return 4;
    wire::MsgSendRequest send{};
    send.id = queue;
    send.mtype = 1;
    send.size = 4;
    if (client.Call<wire::Op::kMsgSend>(send).Status() != EACCES) return 5;
    return 0;
  });
  EXPECT_EQ(attack, 0) << "a served request did what it must not (2: a wait for another's thread, 3: ended "
                          "another's wait, 4: out-of-order part, 5: a reader's send)";
  const int sent = RunAsChild(kOwnerA, [&] {
    Message m{1, "for r"};
    return sysv_msgsnd(queue, &m, sizeof(m.text), IPC_NOWAIT);
  });
  EXPECT_EQ(sent, 0);
  int status = 0;
  waitpid(reader, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "R's wait after B's attack: " << status;
  EXPECT_EQ(AsOwner([&] { return sysv_msgctl(queue, IPC_RMID, nullptr); }), 0);
}

}  // namespace
}  // namespace sysv

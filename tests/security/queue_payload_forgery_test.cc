// Issue #14, the queue region's format 4 (core/msg/msg_region.h, "Extents"):
// a message's payload fills whole blocks of the region, with no tag in
// them. A sender who may only write to a queue (served by the daemon, which
// writes the payload into the region for it) shapes its text so that every
// block of it looks like a record: a waiting receiver of a process of its
// own that then exits (the daemon's exit-time pass looks for that pid's
// records), and a queued message of type 666. Had any scan of the arena
// taken payload for records, the daemon would free blocks inside the
// sender's message (changing its text), rebuild the queue from the forged
// records, and queue a type 666 message nobody sent.
//
// A (uid 4951) owns a 0622 queue: B (uid 4952) may only write to it. A
// queues genuine messages and waits in msgrcv for type 99 the whole time;
// B's child registers with the daemon, B sends the forged messages naming
// the child's pid, and the child exits. Then A finds exactly the messages
// sent, each intact, no type 666, and its wait still served.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "core/msg/msg_region.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/security/victim_fixture.h"

namespace sysv {
namespace {

using testing::RunAs;
using testing::User;

// Ids 4950-4999 are this suite's.
const testing::Identity kOwnerA = User("qforge-owner-a", 4951, 4951);
const testing::Identity kWriterB = User("qforge-writer-b", 4952, 4952);

constexpr size_t kForgedSize = 4000;
constexpr int kGenuine = 3;
constexpr int kForged = 3;
constexpr long kForgedType = 666;

struct Message {
  long mtype;
  char mtext[kForgedSize];
};

// Text whose every block-aligned stretch (the payload begins
// kMsgInlineBytes before a block boundary) is a record naming `pid`:
// waiting receivers (which the exit-time pass would unlink, fail to, and
// rebuild over) and queued messages of kForgedType, in turn.
std::vector<char> ForgedText(pid_t pid) {
  std::vector<char> text(kForgedSize, 'f');
  for (size_t at = core::kMsgInlineBytes, k = 0; at + core::kMsgBlockSize <= text.size();
       at += core::kMsgBlockSize, ++k) {
    if (k % 2 == 0) {
      core::MsgReceiver receiver{};
      receiver.kind.store(static_cast<uint32_t>(core::MsgBlockKind::kReceiver));
      receiver.status.store(core::kMsgWaiting);
      receiver.pid = pid;
      receiver.msgtype = kForgedType;
      receiver.prev = receiver.next = core::kMsgNoBlock;
      receiver.message = core::kMsgNoBlock;
      std::memcpy(text.data() + at, &receiver, sizeof(receiver));
    } else {
      core::MsgRecord message{};
      message.kind.store(static_cast<uint32_t>(core::MsgBlockKind::kMessage));
      message.data = core::kMsgNoBlock;
      message.seq = 1;
      message.mtype = kForgedType;
      message.size = 8;
      message.next = core::kMsgNoBlock;
      std::memcpy(text.data() + at, &message, sizeof(message));
    }
  }
  return text;
}

Message Genuine(int n) {
  Message message{1, {}};
  std::memset(message.mtext, 'a' + n, 300);
  return message;
}

// As B: a child of B's registers with the daemon (a send of type 2), B
// sends kForged messages of type 3 whose text names the child, and the
// child exits. 0, or the step that failed.
int Forge(int id) {
  int ready[2];
  int go[2];
  if (pipe(ready) != 0 || pipe(go) != 0) return 1;
  const pid_t child = fork();
  if (child < 0) return 2;
  if (child == 0) {
    Message hello{2, {}};
    std::strcpy(hello.mtext, "hello from B's child");
    const char sent = sysv_msgsnd(id, &hello, 32, IPC_NOWAIT) == 0 ? 'y' : 'n';
    char done = 0;
    _exit(write(ready[1], &sent, 1) == 1 && read(go[0], &done, 1) >= 0 ? 0 : 1);
  }
  char sent = 0;
  int result = read(ready[0], &sent, 1) == 1 && sent == 'y' ? 0 : 3;
  const std::vector<char> text = ForgedText(child);
  Message forged{3, {}};
  std::memcpy(forged.mtext, text.data(), text.size());
  for (int i = 0; result == 0 && i < kForged; ++i) {
    if (sysv_msgsnd(id, &forged, kForgedSize, IPC_NOWAIT) != 0) result = 4;
  }
  const char done = 'g';
  if (write(go[1], &done, 1) != 1 && result == 0) result = 5;
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) result = result ? result : 6;
  return result;
}

// As A, after the attack: 0, or the check that failed.
int CheckQueue(int id) {
  Message got{};
  if (sysv_msgrcv(id, &got, sizeof(got.mtext), kForgedType, IPC_NOWAIT) >= 0) return 1;  // a forged message
  struct msqid_ds ds {};
  if (sysv_msgctl(id, IPC_STAT, &ds) != 0) return 2;
  if (ds.msg_qnum != kGenuine + 1 + kForged) return 3;
  if (ds.__msg_cbytes != kGenuine * 300 + 32 + kForged * kForgedSize) return 4;
  for (int n = 0; n < kGenuine; ++n) {
    const Message want = Genuine(n);
    if (sysv_msgrcv(id, &got, sizeof(got.mtext), 1, IPC_NOWAIT) != 300 || std::memcmp(got.mtext, want.mtext, 300) != 0) {
      return 5;
    }
  }
  if (sysv_msgrcv(id, &got, sizeof(got.mtext), 2, IPC_NOWAIT) != 32) return 6;
  for (int n = 0; n < kForged; ++n) {
    if (sysv_msgrcv(id, &got, sizeof(got.mtext), 3, IPC_NOWAIT) != static_cast<ssize_t>(kForgedSize)) return 7;
    // Every forged record's tag reads as B wrote it.
    for (size_t at = core::kMsgInlineBytes; at + core::kMsgBlockSize <= kForgedSize; at += core::kMsgBlockSize) {
      uint32_t kind = 0;
      std::memcpy(&kind, got.mtext + at, sizeof(kind));
      const bool receiver = ((at - core::kMsgInlineBytes) / core::kMsgBlockSize) % 2 == 0;
      const auto want = receiver ? core::MsgBlockKind::kReceiver : core::MsgBlockKind::kMessage;
      if (kind != static_cast<uint32_t>(want)) return 8;
    }
  }
  return 0;
}

class QueuePayloadForgeryTest : public testing::VictimFixture {
 protected:
  QueuePayloadForgeryTest() : VictimFixture("queue-forgery") {}
};

TEST_F(QueuePayloadForgeryTest, WriteOnlySendersPayloadIsNeverTakenForRecords) {
  const int id = testing::RunAsForValue(kOwnerA, [] {
    const int queue = sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0622);
    if (queue < 0) return -1;
    for (int n = 0; n < kGenuine; ++n) {
      const Message message = Genuine(n);
      if (sysv_msgsnd(queue, &message, 300, IPC_NOWAIT) != 0) return -1;
    }
    return queue;
  });
  ASSERT_GE(id, 0);
  // A waits for type 99 the whole time: the queue has a waiter, so the
  // daemon's exit-time pass looks at its arena.
  int waited = -1;
  std::thread victim = StartVictim(
      kOwnerA,
      [id](const std::function<bool()>& ready) {
        if (!ready()) return 1;
        alarm(20);
        Message got{};
        if (sysv_msgrcv(id, &got, sizeof(got.mtext), 99, 0) != 5) return 2;
        return std::strcmp(got.mtext, "last") == 0 ? 0 : 3;
      },
      &waited);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // A is asleep in msgrcv
  EXPECT_EQ(RunAs(kWriterB, [id] { return Forge(id); }), 0) << "B could not send (its steps, Forge())";
  // The daemon's exit-time pass for B's child runs after the child's exit.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(RunAs(kOwnerA, [id] { return CheckQueue(id); }), 0)
      << "1: a forged message was queued; 3, 4: counts off; 5-7: a message lost; 8: a scan wrote into B's text";
  EXPECT_EQ(RunAs(kOwnerA,
                  [id] {
                    Message last{99, {}};
                    std::strcpy(last.mtext, "last");
                    return sysv_msgsnd(id, &last, 5, IPC_NOWAIT) == 0 ? 0 : 1;
                  }),
            0);
  victim.join();
  EXPECT_EQ(waited, 0) << "A's wait: 2, 3: not served as sent (its record was disturbed)";
  EXPECT_EQ(RunAs(kOwnerA, [id] { return sysv_msgctl(id, IPC_RMID, nullptr) == 0 ? 0 : 1; }), 0);
}

}  // namespace
}  // namespace sysv

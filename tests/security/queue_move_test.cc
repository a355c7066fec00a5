// Issue #13 item 4, the queue that must grow (DESIGN.md "Trust model", rule
// 3, and docs/security.md): a queue's region is a sealed memfd nobody can
// resize, made at the capacity msgget's msg_qbytes needs. When root raises
// msg_qbytes past that capacity (after a sysctl raised MSGMNB), the kernel
// takes every message the new msg_qbytes admits; a region that cannot grow
// must therefore move to a bigger one (daemon/msg_store.h), under the feet
// of the queue's users: messages queued, a receiver asleep in msgrcv, a
// sender asleep on a full queue, and senders and receivers running while
// root raises it again and again. No message may be lost or duplicated,
// every sleeper is woken or served, and IPC_STAT says what the kernel's
// would.
//
// A (uid 4401) owns a 0666 queue; B (uid 4402) uses it from another
// process. Root raises MSGMNB through the daemon (kSysctl, as a write to
// /proc/sys/kernel/msgmnb) and msg_qbytes with IPC_SET. Each actor is a
// forked child running as its own user (RunAs) and reports through its exit
// status: 0 when every check held, the number of the failed check
// otherwise.
#include <dirent.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "core/ipc/sysctl.h"
#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/raw_client.h"
#include "tests/security/backend_guarantees.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::RunAs;
using testing::User;

// Ids 4400-4449 are this file's.
const testing::Identity kOwnerA = User("qmove-owner-a", 4401, 4401);
const testing::Identity kUserB = User("qmove-user-b", 4402, 4402);

// MSGMNB at the start (the kernel's default): the capacity of every queue.
constexpr uint32_t kFirstQbytes = 16384;
constexpr uint32_t kRaisedQbytes = 4 * 1024 * 1024;

// Messages numbered by their text, 48 bytes each.
constexpr size_t kText = 48;
struct Message {
  long mtype;
  char mtext[kText];
};

Message Numbered(long type, uint32_t n) {
  Message message{type, {}};
  std::snprintf(message.mtext, sizeof(message.mtext), "message %u of type %ld", n, type);
  return message;
}

// Whether `got` is Numbered(type, n), whole.
bool IsNumbered(const Message& got, long type, uint32_t n) {
  const Message want = Numbered(type, n);
  return got.mtype == type && std::memcmp(got.mtext, want.mtext, kText) == 0;
}

// Sends Numbered(type, n), n = first, first + 1, ... with IPC_NOWAIT until
// the queue is full (or `limit` messages). Returns the count sent, or -1
// when a send failed other than with EAGAIN.
int FillFrom(int id, long type, uint32_t first, uint32_t limit = UINT32_MAX) {
  uint32_t sent = 0;
  for (; sent < limit; ++sent) {
    const Message m = Numbered(type, first + sent);
    if (sysv_msgsnd(id, &m, kText, IPC_NOWAIT) != 0) return errno == EAGAIN ? static_cast<int>(sent) : -1;
  }
  return static_cast<int>(sent);
}

// As B: receives `count` messages of `type` numbered from `first`, in
// order, without waiting. 0, or 1 when one is missing or wrong.
int DrainNumbered(int id, long type, uint32_t first, uint32_t count) {
  for (uint32_t n = 0; n < count; ++n) {
    Message got{};
    if (sysv_msgrcv(id, &got, kText, type, IPC_NOWAIT) != static_cast<ssize_t>(kText)) return 1;
    if (!IsNumbered(got, type, first + n)) return 1;
  }
  Message extra{};
  return sysv_msgrcv(id, &extra, kText, type, IPC_NOWAIT) == -1 && errno == ENOMSG ? 0 : 1;
}

// Whether this process holds a queue's region as a sealed memfd (libsysv
// keeps the descriptor it maps), not as a region file.
bool HoldsSealedQueue() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  bool found = false;
  while (struct dirent* entry = readdir(dir)) {
    char link[512] = {};
    const std::string path = std::string("/proc/self/fd/") + entry->d_name;
    if (readlink(path.c_str(), link, sizeof(link) - 1) > 0 && std::strstr(link, "memfd:sysvipc-msg") != nullptr) {
      found = true;
    }
  }
  closedir(dir);
  return found;
}

// Where the backend seals regions, the queue's must be sealed (a region
// that must move). Without seals (DragonFly) the region file grows in
// place when msg_qbytes is raised, and the same promises hold: no message
// lost or duplicated, every sleeper served; the tests check them there too.
bool QueueRegionAsPromised() { return HoldsSealedQueue() || !testing::RegionsCanBeSealed().ok(); }

class QueueMoveTest : public testing::SharedNamespaceTest {
 protected:
  QueueMoveTest() : SharedNamespaceTest("queue-move") {}

  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    SharedNamespaceTest::SetUp();
  }

  // As root, through the daemon: /proc/sys/kernel/msgmnb := `bytes`, so
  // that IPC_SET may raise msg_qbytes to it without CAP_SYS_RESOURCE.
  void RaiseMsgmnb(uint32_t bytes) {
    testing::RawClient client(dir_);
    ASSERT_TRUE(client.ok());
    ASSERT_EQ(client.Register(), 0);
    wire::SysctlRequest request{};
    request.file = static_cast<uint32_t>(core::Sysctl::kMsgmnb);
    request.action = static_cast<uint32_t>(wire::SysctlAction::kWrite);
    const std::string text = std::to_string(bytes);
    request.length = static_cast<uint32_t>(text.size());
    std::memcpy(request.text, text.data(), text.size());
    const testing::RawReply raw = client.Call<wire::Op::kSysctl>(request);
    const auto reply = testing::DecodeRawReply<wire::Op::kSysctl>(raw, client.last_request_id());
    ASSERT_TRUE(reply.has_value());
    ASSERT_EQ(reply->status.error, 0) << strerror(reply->status.error);
  }

  // As root: IPC_SET msg_qbytes := `bytes` on queue `id`.
  static void SetQbytes(int id, uint32_t bytes) {
    msqid_ds ds{};
    ASSERT_EQ(sysv_msgctl(id, IPC_STAT, &ds), 0) << strerror(errno);
    ds.msg_qbytes = bytes;
    ASSERT_EQ(sysv_msgctl(id, IPC_SET, &ds), 0) << strerror(errno);
  }

  static msqid_ds Stat(int id) {
    msqid_ds ds{};
    EXPECT_EQ(sysv_msgctl(id, IPC_STAT, &ds), 0) << strerror(errno);
    return ds;
  }

  // A's queue, 0666, filled with messages of type 1 numbered from 0 until
  // full (the count in `*filled`); -1 when A could not make it, or when
  // the queue's region is not what QueueRegionAsPromised() expects.
  static int CreateFullQueue(int* filled) {
    const int id = testing::RunAsForValue(kOwnerA, [] {
      const int id = sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0666);
      // libsysv maps the region at the first msgsnd.
      return id >= 0 && FillFrom(id, 1, 0) > 0 && QueueRegionAsPromised() ? id : -1;
    });
    *filled = id >= 0 ? static_cast<int>(Stat(id).msg_qnum) : 0;
    return id;
  }
};

// The kernel admits msg_qbytes / 48 messages of 48 bytes (msg_fits_inqueue()).
constexpr uint32_t Admitted(uint32_t qbytes) { return qbytes / kText; }

// (a) Messages queued before the raise stay, in order, and the queue takes
// as many more as the raised msg_qbytes admits.
TEST_F(QueueMoveTest, RaisePastCapacityKeepsQueuedMessagesAndTakesWhatTheKernelWould) {
  int filled = 0;
  const int id = CreateFullQueue(&filled);
  ASSERT_GE(id, 0) << "A's queue is not a sealed region (on a backend that seals)";
  ASSERT_EQ(static_cast<uint32_t>(filled), Admitted(kFirstQbytes));
  RaiseMsgmnb(kRaisedQbytes);
  SetQbytes(id, kRaisedQbytes);
  const int more = testing::RunAsForValue(kOwnerA, [&] { return FillFrom(id, 1, filled); });
  EXPECT_EQ(static_cast<uint32_t>(filled + more), Admitted(kRaisedQbytes))
      << "sent " << filled << " before the raise and " << more << " after";
  const msqid_ds ds = Stat(id);
  EXPECT_EQ(ds.msg_qnum, static_cast<msgqnum_t>(filled + more));
  EXPECT_EQ(ds.__msg_cbytes, static_cast<unsigned long>(filled + more) * kText);
  EXPECT_EQ(ds.msg_qbytes, kRaisedQbytes);
  EXPECT_EQ(RunAs(kUserB, [&] { return DrainNumbered(id, 1, 0, filled + more); }), 0)
      << "B did not receive every message once, in order";
  EXPECT_EQ(sysv_msgctl(id, IPC_RMID, nullptr), 0);
}

// (b) A receiver asleep in msgrcv when the queue moves is served there: the
// message sent for it after the move (behind more than the first capacity
// held) reaches it.
TEST_F(QueueMoveTest, ReceiverAsleepDuringTheMoveGetsItsMessage) {
  int filled = 0;
  const int id = CreateFullQueue(&filled);
  ASSERT_GE(id, 0) << "A's queue is not a sealed region (on a backend that seals)";
  std::atomic<int> receiver_status{-1};
  std::thread receiver([&] {
    receiver_status = RunAs(kUserB, [&] {
      Message got{};
      if (sysv_msgrcv(id, &got, kText, 5, 0) != static_cast<ssize_t>(kText)) return 1;
      return IsNumbered(got, 5, 7) ? 0 : 2;
    });
  });
  // The receiver sleeps: a type nobody sent yet.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  RaiseMsgmnb(kRaisedQbytes);
  SetQbytes(id, kRaisedQbytes);
  const int more = testing::RunAsForValue(kOwnerA, [&] {
    const int more = FillFrom(id, 1, filled, Admitted(kRaisedQbytes) - filled - 1);
    const Message m = Numbered(5, 7);
    return sysv_msgsnd(id, &m, kText, 0) == 0 ? more : -1;
  });
  EXPECT_EQ(static_cast<uint32_t>(filled + more), Admitted(kRaisedQbytes) - 1);
  // A failed send leaves the receiver asleep: removal wakes it (EIDRM).
  if (more < 0) sysv_msgctl(id, IPC_RMID, nullptr);
  receiver.join();
  if (more < 0) return;
  EXPECT_EQ(receiver_status, 0) << "1: msgrcv failed; 2: a wrong message";
  // Handed to the waiting receiver (pipelined_send()): never counted.
  const msqid_ds ds = Stat(id);
  EXPECT_EQ(ds.msg_qnum, static_cast<msgqnum_t>(filled + more));
  EXPECT_EQ(RunAs(kUserB, [&] { return DrainNumbered(id, 1, 0, filled + more); }), 0);
  EXPECT_EQ(sysv_msgctl(id, IPC_RMID, nullptr), 0);
}

// (c) A sender asleep on the full queue when it moves is woken (IPC_SET
// wakes senders in the kernel) and its message goes in; the queue then
// holds what the raised msg_qbytes admits.
TEST_F(QueueMoveTest, SenderAsleepOnAFullQueueIsWokenAndSendsAfterTheMove) {
  int filled = 0;
  const int id = CreateFullQueue(&filled);
  ASSERT_GE(id, 0) << "A's queue is not a sealed region (on a backend that seals)";
  std::atomic<int> sender_status{-1};
  std::thread sender([&] {
    sender_status = RunAs(kUserB, [&] {
      const Message m = Numbered(2, 0);
      return sysv_msgsnd(id, &m, kText, 0) == 0 ? 0 : 1;
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Stat(id).msg_qnum, static_cast<msgqnum_t>(filled)) << "B's message went in before the raise";
  RaiseMsgmnb(kRaisedQbytes);
  SetQbytes(id, kRaisedQbytes);
  sender.join();
  EXPECT_EQ(sender_status, 0) << "B's msgsnd failed";
  const int more = testing::RunAsForValue(kOwnerA, [&] { return FillFrom(id, 1, filled); });
  EXPECT_EQ(static_cast<uint32_t>(filled + 1 + more), Admitted(kRaisedQbytes));
  const msqid_ds ds = Stat(id);
  EXPECT_EQ(ds.msg_qnum, static_cast<msgqnum_t>(filled + 1 + more));
  EXPECT_EQ(ds.msg_qbytes, kRaisedQbytes);
  EXPECT_EQ(RunAs(kUserB, [&] { return DrainNumbered(id, 2, 0, 1) + DrainNumbered(id, 1, 0, filled + more); }), 0);
  EXPECT_EQ(sysv_msgctl(id, IPC_RMID, nullptr), 0);
}

// (d) A sender and a receiver stream messages through the queue while root
// raises msg_qbytes past its capacity again and again: every message
// arrives once, in order, whole.
TEST_F(QueueMoveTest, StreamSurvivesRepeatedMoves) {
  const int id = testing::RunAsForValue(kOwnerA, [] {
    const int id = sysv_msgget(IPC_PRIVATE, IPC_CREAT | 0666);
    Message got{};
    const bool used = id >= 0 && FillFrom(id, 1, 0, 1) == 1 && sysv_msgrcv(id, &got, kText, 0, 0) == static_cast<ssize_t>(kText);
    return used && QueueRegionAsPromised() ? id : -1;
  });
  ASSERT_GE(id, 0) << "A's queue is not a sealed region (on a backend that seals)";
  constexpr uint32_t kMessages = 400000;
  RaiseMsgmnb(kRaisedQbytes);
  std::atomic<int> sender_status{-1};
  std::atomic<int> receiver_status{-1};
  std::atomic<bool> receiver_done{false};
  std::thread sender([&] {
    sender_status = RunAs(kOwnerA, [&] {
      for (uint32_t n = 0; n < kMessages; ++n) {
        const Message m = Numbered(1 + n % 3, n);
        if (sysv_msgsnd(id, &m, kText, 0) != 0) return 1;
      }
      return 0;
    });
  });
  std::thread receiver([&] {
    receiver_status = RunAs(kUserB, [&] {
      for (uint32_t n = 0; n < kMessages; ++n) {
        Message got{};
        if (sysv_msgrcv(id, &got, kText, 0, 0) != static_cast<ssize_t>(kText)) return 1;
        if (!IsNumbered(got, 1 + n % 3, n)) return 2;
      }
      return 0;
    });
    receiver_done = true;
  });
  int raises = 0;
  for (uint32_t qbytes = 2 * kFirstQbytes; qbytes <= kRaisedQbytes; qbytes *= 2, ++raises) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    SetQbytes(id, qbytes);
  }
  // Every raise came while the stream ran (else raise sooner or send more).
  EXPECT_FALSE(receiver_done);
  sender.join();
  receiver.join();
  EXPECT_EQ(raises, 8);
  EXPECT_EQ(sender_status, 0) << "A's msgsnd failed";
  EXPECT_EQ(receiver_status, 0) << "1: B's msgrcv failed; 2: a message lost, duplicated or wrong";
  const msqid_ds ds = Stat(id);
  EXPECT_EQ(ds.msg_qnum, 0u);
  EXPECT_EQ(ds.msg_qbytes, kRaisedQbytes);
  EXPECT_EQ(sysv_msgctl(id, IPC_RMID, nullptr), 0);
}

// A daemon killed after a move finds the queue in its new region (the
// keeper holds it under its next generation's name) with every message.
TEST_F(QueueMoveTest, MovedQueueSurvivesADaemonKill) {
  int filled = 0;
  const int id = CreateFullQueue(&filled);
  ASSERT_GE(id, 0) << "A's queue is not a sealed region (on a backend that seals)";
  RaiseMsgmnb(kRaisedQbytes);
  SetQbytes(id, kRaisedQbytes);
  const int more = testing::RunAsForValue(kOwnerA, [&] { return FillFrom(id, 1, filled, 1000); });
  ASSERT_EQ(more, 1000);
  daemon_->Kill();
  daemon_->Start();
  const msqid_ds ds = Stat(id);
  EXPECT_EQ(ds.msg_qnum, static_cast<msgqnum_t>(filled + more));
  EXPECT_EQ(ds.msg_qbytes, kRaisedQbytes);
  // The rest of the raised msg_qbytes still fits: the new region's arena.
  const int rest = testing::RunAsForValue(kOwnerA, [&] { return FillFrom(id, 1, filled + more); });
  EXPECT_EQ(static_cast<uint32_t>(filled + more + rest), Admitted(kRaisedQbytes));
  EXPECT_EQ(RunAs(kUserB, [&] { return DrainNumbered(id, 1, 0, filled + more + rest); }), 0);
  EXPECT_EQ(sysv_msgctl(id, IPC_RMID, nullptr), 0);
}

}  // namespace
}  // namespace sysv

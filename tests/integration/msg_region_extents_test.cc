// The extents of a message queue region (core/msg/msg_region.h, format 4):
// a message's payload lies in one run of consecutive blocks when the arena
// has one, and a fragmented arena still takes every message that fits by
// msg_qbytes (the kernel never refuses one), as a record and a chain of the
// free runs there are; chained messages survive a rebuild intact.
//
// Runs the real MsgQueue over a real region file with the Linux platform.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/msg/msg_queue.h"
#include "core/msg/msg_region.h"
#include "gtest/gtest.h"
#include "tests/testing/msg_region.h"

namespace sysv {
namespace {

using Region = testing::MsgRegion;

constexpr int kNowait = 04000;        // IPC_NOWAIT
constexpr uint64_t kQbytes = 16384;   // MSGMNB
constexpr int64_t kNobodysType = 999;

// A payload whose bytes follow from its seed and length.
std::vector<uint8_t> Payload(uint32_t seed, size_t size) {
  std::vector<uint8_t> payload(size);
  for (size_t k = 0; k < size; ++k) payload[k] = static_cast<uint8_t>(seed * 31 + k * 7 + (k >> 8));
  return payload;
}

const core::MsgRecord& RecordAt(const Region& region, uint32_t block) {
  return *reinterpret_cast<const core::MsgRecord*>(region.bytes() + sizeof(core::MsgQueueHeader) +
                                                    size_t{block} * core::kMsgBlockSize);
}

// The newest message's record (the send side's list end).
const core::MsgRecord& Newest(const Region& region) {
  const auto* header = reinterpret_cast<const core::MsgQueueHeader*>(region.base());
  return RecordAt(region, header->msg_tail);
}

TEST(MsgRegionExtentsTest, AMessageIsOneRunOfBlocks) {
  Region region(kQbytes);
  const std::vector<uint8_t> text = Payload(1, 8192);
  ASSERT_EQ(region.queue->Send(1, text, kNowait, getpid(), 0), 0);
  const core::MsgRecord& record = Newest(region);
  // 24 bytes in the record's block, the rest in 128 blocks right after it.
  EXPECT_EQ(record.data, core::kMsgNoBlock) << "the payload was chained, not laid out in one run";
  EXPECT_EQ(core::MsgTagRun(record.kind.load()), 129u);
  EXPECT_EQ(core::MsgTagKind(record.kind.load()), core::MsgBlockKind::kMessage);
  std::vector<uint8_t> got;
  int64_t type = 0;
  ASSERT_EQ(region.queue->Receive(0, kNowait, 8192, 8192, getpid(), 0, &type, &got), 8192);
  EXPECT_EQ(got, text);
}

// Fills the arena to its end with waiting receivers (which msg_qbytes does
// not count), one-block messages and two-block ones, drains it unevenly so
// that no two free blocks are neighbours, then sends what still fits by
// bytes: every send is taken, the big one as a chain of free runs, and
// every message comes back intact, in order, with exact counts, before and
// after a rebuild.
class FragmentedArena : public ::testing::TestWithParam<bool> {};

TEST_P(FragmentedArena, TakesEveryMessageThatFitsByBytes) {
  const bool rebuild = GetParam();
  Region region(kQbytes);
  core::MsgQueue& queue = *region.queue;
  auto* header = reinterpret_cast<core::MsgQueueHeader*>(region.base());
  std::vector<uint8_t> got;
  int64_t type = 0;
  // Served receivers for a type nobody sends: records that stay.
  for (int i = 0; i < 1100; ++i) {
    uint32_t record = core::kMsgNoBlock;
    ASSERT_EQ(queue.Receive(kNobodysType, 0, 64, 8192, getpid(), 0, &type, &got, &record), core::kMsgQueued);
  }
  // msg_qbytes messages of no bytes, types 1 and 2 in turn; then every type
  // 2 received: single free blocks between messages.
  for (uint32_t i = 0; i < kQbytes; ++i) ASSERT_EQ(queue.Send(1 + i % 2, {}, kNowait, getpid(), 0), 0) << i;
  EXPECT_EQ(queue.Send(1, {}, kNowait, getpid(), 0), EAGAIN) << "msg_qnum is at msg_qbytes";
  for (uint32_t i = 0; i < kQbytes / 2; ++i) ASSERT_EQ(queue.Receive(2, kNowait, 64, 8192, getpid(), 0, &type, &got), 0);
  // Two-block messages (25 bytes) until full by bytes: the arena's last
  // never-used blocks go first, then each is a record and a one-block chain.
  uint32_t twos = 0;
  for (; (twos + 1) * 25 <= kQbytes; ++twos) {
    ASSERT_EQ(queue.Send(3 + twos % 2, Payload(twos, 25), kNowait, getpid(), 0), 0) << "refused though it fits: " << twos;
  }
  EXPECT_EQ(queue.Send(3, Payload(0, 25), kNowait, getpid(), 0), EAGAIN);
  EXPECT_EQ(header->bump.load(), header->arena_blocks.load()) << "the arena was not used to its end";
  // Every type 4 received: bytes free again, in runs of at most two blocks.
  uint32_t fours = 0;
  for (uint32_t i = 1; i < twos; i += 2, ++fours) {
    ASSERT_EQ(queue.Receive(4, kNowait, 64, 8192, getpid(), 0, &type, &got), 25);
    ASSERT_EQ(got, Payload(i, 25));
  }
  const core::MsgQueue::Stat before = queue.ReadStat();
  ASSERT_EQ(before.cbytes, uint64_t{twos - fours} * 25);
  const size_t big_size = kQbytes - before.cbytes;
  ASSERT_GT(big_size, 8000u);
  const std::vector<uint8_t> big = Payload(77, big_size);
  ASSERT_EQ(queue.Send(5, big, kNowait, getpid(), 0), 0) << "a message that fits by msg_qbytes was refused";
  EXPECT_NE(Newest(region).data, core::kMsgNoBlock) << "expected a chain in a fragmented arena";
  EXPECT_GT(Newest(region).blocks, 1u);
  EXPECT_EQ(queue.ReadStat().cbytes, kQbytes);
  EXPECT_EQ(queue.ReadStat().qnum, before.qnum + 1);

  if (rebuild) header->repair.store(1);  // the next holder of both locks rebuilds
  // In send order: the type 1 messages, the type 3 ones, the big one.
  for (uint32_t i = 0; i < kQbytes / 2; ++i) {
    ASSERT_EQ(queue.Receive(0, kNowait, 64, 8192, getpid(), 0, &type, &got), 0) << i;
    ASSERT_EQ(type, 1);
  }
  for (uint32_t i = 0; i < twos; i += 2) {
    ASSERT_EQ(queue.Receive(0, kNowait, 64, 8192, getpid(), 0, &type, &got), 25);
    ASSERT_EQ(type, 3);
    ASSERT_EQ(got, Payload(i, 25)) << i;
  }
  ASSERT_EQ(queue.Receive(0, kNowait, 16384, 16384, getpid(), 0, &type, &got), static_cast<int64_t>(big_size));
  EXPECT_EQ(type, 5);
  EXPECT_EQ(got, big) << "the chained message came back damaged";
  EXPECT_EQ(queue.ReadStat().qnum, 0u);
  EXPECT_EQ(queue.ReadStat().cbytes, 0u);
  // Emptied, the arena has one run for a big message again (free runs are
  // joined as the search meets them).
  ASSERT_EQ(queue.Send(6, big, kNowait, getpid(), 0), 0);
  EXPECT_EQ(Newest(region).data, core::kMsgNoBlock);
  ASSERT_EQ(queue.Receive(0, kNowait, 16384, 16384, getpid(), 0, &type, &got), static_cast<int64_t>(big_size));
  EXPECT_EQ(got, big);
}

INSTANTIATE_TEST_SUITE_P(RebuildOrNot, FragmentedArena, ::testing::Bool());

// A sender's payload fills whole blocks without tags (format 4): one that
// looks like records at every block boundary -- a waiting receiver of a dead
// process that was handed a queued message, a queued message of type 666 --
// must stay payload for everyone who scans the arena: the rebuild, the
// exit-time removal of a dead process's records. (A sender with write
// permission only, served by the daemon, writes such payload too.)
TEST(MsgRegionExtentsTest, PayloadIsNeverTakenForRecords) {
  Region region(kQbytes);
  core::MsgQueue& queue = *region.queue;
  pid_t dead = fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) _exit(0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead);
  // A genuine message first, then the forgeries, whose payload begins right
  // after the first message's record: block n of a forgery's payload starts
  // kMsgInlineBytes + 64 * (n - 1) bytes into it.
  const std::vector<uint8_t> genuine = Payload(5, 100);
  ASSERT_EQ(queue.Send(1, genuine, kNowait, getpid(), 0), 0);
  const uint32_t genuine_block = reinterpret_cast<const core::MsgQueueHeader*>(region.base())->msg_tail;
  std::vector<uint8_t> forged(4000);
  for (size_t at = core::kMsgInlineBytes; at + core::kMsgBlockSize <= forged.size(); at += core::kMsgBlockSize) {
    core::MsgReceiver receiver{};
    receiver.kind.store(static_cast<uint32_t>(core::MsgBlockKind::kReceiver));
    receiver.status.store(0);
    receiver.pid = dead;
    receiver.message = genuine_block;
    receiver.prev = receiver.next = core::kMsgNoBlock;
    core::MsgRecord message{};
    message.kind.store(static_cast<uint32_t>(core::MsgBlockKind::kMessage));
    message.data = core::kMsgNoBlock;
    message.mtype = 666;
    message.seq = 1;
    message.next = core::kMsgNoBlock;
    if ((at / core::kMsgBlockSize) % 2 == 0) {
      std::memcpy(forged.data() + at, &receiver, sizeof(receiver));
    } else {
      std::memcpy(forged.data() + at, &message, sizeof(message));
    }
  }
  for (int i = 0; i < 3; ++i) ASSERT_EQ(queue.Send(2, forged, kNowait, getpid(), 0), 0);
  // A real waiter, so that the exit-time pass looks at the arena at all.
  uint32_t waiting = core::kMsgNoBlock;
  std::vector<uint8_t> none;
  int64_t none_type = 0;
  ASSERT_EQ(queue.Receive(kNobodysType, 0, 64, 8192, getpid(), 0, &none_type, &none, &waiting), core::kMsgQueued);
  bool busy = true;
  queue.ProcessExited(dead, &busy);
  EXPECT_FALSE(busy);
  auto* header = reinterpret_cast<core::MsgQueueHeader*>(region.base());
  header->repair.store(1);  // the next holder of both locks rebuilds
  std::vector<uint8_t> got;
  int64_t type = 0;
  EXPECT_EQ(queue.Receive(666, kNowait, 8192, 8192, getpid(), 0, &type, &got), -ENOMSG)
      << "a forged record became a message";
  EXPECT_EQ(queue.ReadStat().qnum, 4u);
  EXPECT_EQ(queue.ReadStat().cbytes, genuine.size() + 3 * forged.size());
  ASSERT_EQ(queue.Receive(0, kNowait, 8192, 8192, getpid(), 0, &type, &got), 100);
  EXPECT_EQ(got, genuine);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(queue.Receive(0, kNowait, 8192, 8192, getpid(), 0, &type, &got), static_cast<int64_t>(forged.size()));
    EXPECT_EQ(got, forged) << "a scan wrote into a message's payload";
  }
  EXPECT_EQ(queue.ReadStat().qnum, 0u);
}

}  // namespace
}  // namespace sysv

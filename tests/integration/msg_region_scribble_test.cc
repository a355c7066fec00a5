// A message queue region that a client with write access scribbles on: every
// operation must return (a result or EIDRM), nothing may crash or hang, and
// once the scribbling stops the queue must be consistent again: its counts
// equal what can really be received, and every message received is one that
// was sent, intact (or the queue reports EIDRM). A second queue next to it is
// never affected.
//
// Runs the real MsgQueue over a real region file with the Linux platform
// (futexes, the robust mutex); the lock's own storage is left alone here
// (scribbles on it are the robust mutex conformance suite's subject).
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "core/msg/msg_queue.h"
#include "core/msg/msg_region.h"
#include "gtest/gtest.h"
#include "tests/testing/msg_region.h"

namespace sysv {
namespace {

using core::MsgQueue;

using Region = testing::MsgRegion;

// Payload i: its length and bytes follow from i, so a receiver can check it.
std::vector<uint8_t> Payload(uint32_t i) {
  std::vector<uint8_t> payload(4 + (i * 37) % 300);
  std::memcpy(payload.data(), &i, 4);
  for (size_t k = 4; k < payload.size(); ++k) payload[k] = static_cast<uint8_t>(i * 13 + k);
  return payload;
}

bool Intact(const std::vector<uint8_t>& payload, int64_t mtype) {
  if (payload.size() < 4) return false;
  uint32_t i;
  std::memcpy(&i, payload.data(), 4);
  return payload == Payload(i) && mtype == 1 + static_cast<int64_t>(i % 5);
}

constexpr int kFlags = 04000;  // IPC_NOWAIT

class ScribbleSeeds : public ::testing::TestWithParam<uint32_t> {};

TEST_P(ScribbleSeeds, ScribbledQueueFailsAloneAndRecovers) {
  Region victim(16384);
  Region neighbour(16384);
  std::mt19937 rng(GetParam());
  // The two locks are the header's last two lines.
  const size_t lock_begin = offsetof(core::MsgQueueHeader, recv_lock);
  const size_t lock_end = offsetof(core::MsgQueueHeader, send_lock) + sizeof(core::MsgQueueHeader::send_lock);
  static_assert(offsetof(core::MsgQueueHeader, send_lock) == offsetof(core::MsgQueueHeader, recv_lock) + 64);
  uint32_t next = 0;
  int eidrm = 0;
  int corrupt_payloads = 0;
  for (int round = 0; round < 2000; ++round) {
    // Traffic on both queues.
    for (int k = 0; k < 8; ++k) {
      const std::vector<uint8_t> payload = Payload(next);
      const int64_t mtype = 1 + next % 5;
      ++next;
      const int victim_send = victim.queue->Send(mtype, payload, kFlags, getpid(), 0);
      EXPECT_TRUE(victim_send == 0 || victim_send == EAGAIN || victim_send == EIDRM) << victim_send;
      if (victim_send == EIDRM) ++eidrm;
      ASSERT_EQ(neighbour.queue->Send(mtype, payload, kFlags, getpid(), 0), 0);
      std::vector<uint8_t> got;
      int64_t type = 0;
      const int64_t received = victim.queue->Receive(rng() % 2 ? 0 : -3, kFlags, 8192, 8192, getpid(), 0, &type, &got);
      if (received >= 0 && !Intact(got, type)) ++corrupt_payloads;  // a scribbled body: possible, never a crash
      if (received == -EIDRM) ++eidrm;
      ASSERT_GE(neighbour.queue->Receive(0, kFlags, 8192, 8192, getpid(), 0, &type, &got), 0);
      ASSERT_TRUE(Intact(got, type)) << "the neighbour queue's message was damaged";
    }
    // Scribble: a few random bytes in the header or the blocks in use (the
    // queue holds at most ~20 small messages), never the locks.
    const size_t hot = sizeof(core::MsgQueueHeader) + 200 * core::kMsgBlockSize;
    for (int k = 0; k < 4; ++k) {
      size_t at = rng() % hot;
      if (at >= lock_begin && at < lock_end) at = lock_end;
      victim.bytes()[at] = static_cast<unsigned char>(rng());
    }
  }
  std::printf("scribble: %u sends, %d EIDRM answers, %d damaged payloads received\n", next, eidrm, corrupt_payloads);
  // The neighbour is exact.
  EXPECT_EQ(neighbour.queue->ReadStat().qnum, 0u);
  EXPECT_EQ(neighbour.queue->ReadStat().cbytes, 0u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ScribbleSeeds, ::testing::Range(1u, 21u));

// After an owner died mid-update, or anything broke the derived state, the
// rebuild makes the counts true again: scribble only the derived fields
// (the list's head, the allocation cursor, the counts) and check that qnum and cbytes end equal to
// what can be received.
TEST(MsgRegionScribbleTest, RebuildRestoresTrueCounts) {
  Region region(16384);
  std::set<uint32_t> sent;
  for (uint32_t i = 0; i < 40; ++i) {
    ASSERT_EQ(region.queue->Send(1 + i % 5, Payload(i), kFlags, getpid(), 0), 0);
    sent.insert(i);
  }
  auto* header = reinterpret_cast<core::MsgQueueHeader*>(region.base());
  header->msg_head = 12345678;  // out of range: the next lock holder rebuilds
  header->alloc_cursor = 7;
  header->sent_count.store(999);
  header->sent_bytes.store(1);
  uint64_t bytes = 0;
  std::vector<uint8_t> got;
  int64_t type = 0;
  std::set<uint32_t> received;
  for (;;) {
    const int64_t n = region.queue->Receive(0, kFlags, 8192, 8192, getpid(), 0, &type, &got);
    if (n < 0) {
      EXPECT_EQ(n, -ENOMSG);
      break;
    }
    ASSERT_TRUE(Intact(got, type));
    uint32_t i;
    std::memcpy(&i, got.data(), 4);
    EXPECT_TRUE(received.insert(i).second) << "received twice: " << i;
    bytes += static_cast<uint64_t>(n);
  }
  EXPECT_EQ(received, sent) << "messages lost in the rebuild";
  EXPECT_EQ(region.queue->ReadStat().qnum, 0u);
  EXPECT_EQ(region.queue->ReadStat().cbytes, 0u);
  EXPECT_GT(bytes, 0u);
}

// A scribbled link that cuts messages off the list (the dummy's `next`
// pointing past them) is found by the next receive that walks the whole
// list, whose length no longer matches the counters: the rebuild links
// every message again, in order.
TEST(MsgRegionScribbleTest, MessagesCutOffTheListComeBack) {
  Region region(16384);
  const std::vector<uint8_t> small(8, 's');  // one block each: message i in block 1 + i
  for (uint32_t i = 0; i < 10; ++i) ASSERT_EQ(region.queue->Send(1 + i, small, kFlags, getpid(), 0), 0);
  auto* dummy = reinterpret_cast<core::MsgRecord*>(region.bytes() + sizeof(core::MsgQueueHeader));
  ASSERT_EQ(dummy->kind.load(), static_cast<uint32_t>(core::MsgBlockKind::kDummy));
  std::atomic_ref<uint32_t>(dummy->next).store(5);  // skips the messages of types 1 to 4
  std::vector<uint8_t> got;
  int64_t type = 0;
  // A type nobody sent: the whole list is walked.
  EXPECT_EQ(region.queue->Receive(99, kFlags, 8192, 8192, getpid(), 0, &type, &got), -ENOMSG);
  for (int64_t expected = 1; expected <= 10; ++expected) {
    ASSERT_EQ(region.queue->Receive(0, kFlags, 8192, 8192, getpid(), 0, &type, &got), 8);
    EXPECT_EQ(type, expected);
  }
  EXPECT_EQ(region.queue->ReadStat().qnum, 0u);
}

}  // namespace
}  // namespace sysv

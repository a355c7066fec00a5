// Threads of one process as a queue's clients, each with its own MsgQueue
// over one mapping of the region (as processes each open their own): the
// one-lock paths of a sender and a receiver of the first message run
// against each other, against typed receivers that take both locks, and
// against readers of IPC_STAT's counts. Every message must arrive exactly
// once, intact, in its sender's order. Threads rather than processes so
// that ThreadSanitizer sees every access to the region
// (bazel test --config=tsan //tests/integration:msg_region_threads_test).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "core/msg/msg_queue.h"
#include "core/msg/msg_region.h"
#include "gtest/gtest.h"
#include "tests/testing/msg_region.h"

namespace sysv {
namespace {

using core::MsgQueue;

constexpr int kProducers = 2;
constexpr uint32_t kPerProducer = 20000;
constexpr int64_t kStopType = 1;
// Types 1 to 3; the typed receiver asks for the lowest type <= 2.
constexpr int64_t kTypes = 3;

// A message: producer, serial, then filler derived from both, so that a
// torn or mixed-up payload shows. Sizes vary from one block to several.
std::vector<uint8_t> Payload(uint32_t producer, uint32_t serial) {
  std::vector<uint8_t> payload(8 + (serial * 37 + producer * 11) % 200);
  std::memcpy(payload.data(), &producer, 4);
  std::memcpy(payload.data() + 4, &serial, 4);
  for (size_t i = 8; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(producer * 131 + serial + i);
  return payload;
}

struct Received {
  bool ok = true;
  uint32_t producer = 0;
  uint32_t serial = 0;
};

Received Check(const std::vector<uint8_t>& payload) {
  Received got;
  if (payload.size() < 8) return Received{false};
  std::memcpy(&got.producer, payload.data(), 4);
  std::memcpy(&got.serial, payload.data() + 4, 4);
  got.ok = got.producer < kProducers && payload == Payload(got.producer, got.serial);
  return got;
}

// Small: senders wait for room often.
constexpr uint64_t kQbytes = 4096;

TEST(MsgRegionThreadsTest, OneLockAndTwoLockPathsDeliverEveryMessageOnceInOrder) {
  const testing::MsgRegion region(kQbytes);
  ASSERT_NE(region.queue, nullptr);
  const int32_t pid = getpid();
  std::vector<std::thread> threads;
  std::atomic<bool> producing{true};
  std::atomic<int> failures{0};

  for (uint32_t p = 0; p < kProducers; ++p) {
    threads.emplace_back([&region, p, pid, &failures] {
      std::unique_ptr<MsgQueue> queue = region.Open();
      for (uint32_t serial = 0; serial < kPerProducer; ++serial) {
        const int64_t type = 1 + (serial + p) % kTypes;
        int result;
        while ((result = queue->Send(type, Payload(p, serial), 0, pid, queue->SignalEpoch())) == core::kMsgRecheck) {
        }
        if (result != 0) ++failures;
      }
    });
  }

  // Receivers: two of the first message (one-lock path), one typed (both
  // locks). Each keeps what it got, in order.
  struct Log {
    int64_t msgtyp;
    std::vector<Received> got;
  };
  std::vector<Log> logs = {{0, {}}, {0, {}}, {-2, {}}};
  for (Log& log : logs) {
    threads.emplace_back([&region, pid, &log] {
      std::unique_ptr<MsgQueue> queue = region.Open();
      std::vector<uint8_t> payload;
      for (;;) {
        int64_t mtype = 0;
        const int64_t n = queue->Receive(log.msgtyp, 0, 8192, 8192, pid, queue->SignalEpoch(), &mtype, &payload);
        if (n == core::kMsgRecheck) continue;
        if (n < 0) {
          log.got.push_back(Received{false});
          return;
        }
        if (mtype == kStopType && payload.empty()) return;
        log.got.push_back(Check(payload));
      }
    });
  }

  // IPC_STAT's counts, read without a lock while all of this runs.
  std::atomic<uint64_t> stat_reads{0};
  threads.emplace_back([&region, &producing, &stat_reads] {
    std::unique_ptr<MsgQueue> queue = region.Open();
    while (producing.load()) {
      const MsgQueue::Stat stat = queue->ReadStat();
      if (stat.qbytes == kQbytes) stat_reads.fetch_add(1, std::memory_order_relaxed);
    }
  });

  for (int p = 0; p < kProducers; ++p) threads[p].join();
  // Everything is sent; one empty stop message per receiver.
  std::unique_ptr<MsgQueue> queue = region.Open();
  for (size_t r = 0; r < logs.size(); ++r) ASSERT_EQ(queue->Send(kStopType, {}, 0, pid, queue->SignalEpoch()), 0);
  for (size_t t = kProducers; t < kProducers + logs.size(); ++t) threads[t].join();
  producing.store(false);
  threads.back().join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(stat_reads.load(), 0u);
  std::vector<std::vector<int>> seen(kProducers, std::vector<int>(kPerProducer, 0));
  for (const Log& log : logs) {
    // One receiver sees each producer's messages of one type in send order
    // (the typed one takes lower types first, so only per type).
    std::vector<std::vector<int64_t>> last(kProducers, std::vector<int64_t>(kTypes + 1, -1));
    for (const Received& got : log.got) {
      ASSERT_TRUE(got.ok) << "a damaged message or a failed msgrcv";
      ASSERT_LT(got.serial, kPerProducer);
      int64_t& before = last[got.producer][1 + (got.serial + got.producer) % kTypes];
      ASSERT_GT(static_cast<int64_t>(got.serial), before) << "out of order";
      before = got.serial;
      ++seen[got.producer][got.serial];
    }
  }
  for (uint32_t p = 0; p < kProducers; ++p) {
    for (uint32_t serial = 0; serial < kPerProducer; ++serial) {
      ASSERT_EQ(seen[p][serial], 1) << "producer " << p << " message " << serial;
    }
  }
  const MsgQueue::Stat stat = queue->ReadStat();
  EXPECT_EQ(stat.qnum, 0u);
  EXPECT_EQ(stat.cbytes, 0u);
}

// A receiver makes room, clears the sleepers' marks, unlocks, and is killed
// before its futex wake: the sender asleep on the full queue must still
// find the room, by itself, within its bounded sleep. Simulated here by
// doing the receiver's stores without the wake.
TEST(MsgRegionThreadsTest, ASenderWhoseWakerDiedLooksAgain) {
  const testing::MsgRegion region(kQbytes);
  ASSERT_NE(region.queue, nullptr);
  MsgQueue& queue = *region.queue;
  const int32_t pid = getpid();
  constexpr int kNoWait = 04000;
  const std::vector<uint8_t> payload(100, 'x');
  while (queue.Send(2, payload, kNoWait, pid, 0) == 0) {
  }
  auto* header = reinterpret_cast<core::MsgQueueHeader*>(region.base());
  std::atomic<int> result{-1};
  std::thread sender([&] {
    std::unique_ptr<MsgQueue> own = region.Open();
    int sent;
    while ((sent = own->Send(2, payload, 0, pid, own->SignalEpoch())) == core::kMsgRecheck) {
    }
    result.store(sent);
  });
  // Asleep: it marked `space_seq` as slept on, then waited past its spin.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((header->space_seq.load() & core::MsgQueueHeader::kSpaceSleepers) == 0 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_NE(header->space_seq.load() & core::MsgQueueHeader::kSpaceSleepers, 0u) << "the sender never slept";
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // The dead waker's stores: room (here by a larger msg_qbytes), then the
  // word changed and its marks cleared; no wake-up.
  header->qbytes.store(2 * kQbytes);
  uint32_t space = header->space_seq.load();
  constexpr uint32_t kMarks = core::MsgQueueHeader::kSpaceWatched | core::MsgQueueHeader::kSpaceSleepers;
  while (!header->space_seq.compare_exchange_weak(space, (space & ~kMarks) + core::MsgQueueHeader::kSpaceStep)) {
  }
  const auto start = std::chrono::steady_clock::now();
  while (result.load() == -1 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int sent = result.load();
  if (sent == -1) {
    queue.Remove();  // let the thread go, then fail
    sender.join();
    FAIL() << "the sender slept on with room in the queue";
  }
  sender.join();
  EXPECT_EQ(sent, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

}  // namespace
}  // namespace sysv

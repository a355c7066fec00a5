// MsgQueue::Locked::Rebuild(): the derived state of a queue region
// recomputed from its records, after a lock holder died or a scribble broke
// it (core/msg/msg_region.h, "Crash consistency").
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "core/msg/msg_queue_locked.h"
#include "core/msg/msg_region.h"

namespace sysv::core {

bool MsgQueue::Locked::Rebuild() {
  const uint32_t bump = std::min(h_.bump.load(std::memory_order_relaxed), limit_);
  h_.bump.store(bump, std::memory_order_relaxed);
  bump_seen_ = bump;
  std::vector<bool> used(bump, false);
  struct Found {
    uint64_t key;
    uint32_t block;
  };
  std::vector<Found> messages;
  std::vector<Found> receivers;  // waiting ones, by order
  uint32_t waiters = 0;
  uint64_t max_seq = 0;
  uint64_t max_order = 0;
  auto alive = [&](int32_t pid) { return pid > 0 && q_.platform_->process_alive(pid); };

  // Messages first: a record and a chain that validates.
  std::vector<uint32_t> chain;
  for (uint32_t block = 0; block < bump; ++block) {
    const MsgBlockKind kind = Kind(block);
    if (kind != MsgBlockKind::kMessage && kind != MsgBlockKind::kHanded) continue;
    const MsgRecord* record = Record(block);
    bool ok = record->blocks == DataBlocksFor(record->size);
    chain.clear();
    uint32_t next = record->data;
    for (uint32_t i = 0; ok && i < record->blocks; ++i) {
      ok = Valid(next) && !used[next] && Kind(next) == MsgBlockKind::kData;
      if (ok) {
        chain.push_back(next);
        used[next] = true;  // undone below if the chain fails
        next = Data(next)->next;
      }
    }
    if (!ok) {
      for (uint32_t data : chain) used[data] = false;
      SetKind(block, MsgBlockKind::kFree);
      continue;
    }
    used[block] = true;
    max_seq = std::max(max_seq, record->seq);
  }
  // Receivers and senders. A handed message stays with a live receiver that
  // names it; any other goes back into the queue.
  for (uint32_t block = 0; block < bump; ++block) {
    const MsgBlockKind kind = Kind(block);
    if (kind == MsgBlockKind::kSender) {
      if (alive(Sender(block)->pid)) {
        used[block] = true;
        ++waiters;
      } else {
        SetKind(block, MsgBlockKind::kFree);
      }
      continue;
    }
    if (kind != MsgBlockKind::kReceiver) continue;
    MsgReceiver* receiver = Receiver(block);
    const uint32_t message = receiver->message;
    const bool names_message = message != kMsgNoBlock && Valid(message) && used[message] &&
                               Kind(message) == MsgBlockKind::kHanded;
    if (!alive(receiver->pid)) {
      SetKind(block, MsgBlockKind::kFree);
      continue;
    }
    used[block] = true;
    ++waiters;
    const uint32_t status = receiver->status.load(std::memory_order_acquire);
    if (status == 0 && names_message) {
      Record(message)->claimant = block;  // see below
      continue;
    }
    receiver->message = kMsgNoBlock;
    if (status == 0) {
      // Told it had a message that does not exist: let it look again.
      receiver->status.store(kMsgRetry, std::memory_order_release);
      WakeAfter(&receiver->status, 1);
    }
    if (IsWaiting(receiver->status.load(std::memory_order_relaxed))) {
      receivers.push_back(Found{receiver->order, block});
      max_order = std::max(max_order, receiver->order);
    }
  }
  for (uint32_t block = 0; block < bump; ++block) {
    if (!used[block]) continue;
    const MsgBlockKind kind = Kind(block);
    if (kind == MsgBlockKind::kHanded) {
      const uint32_t claimant = Record(block)->claimant;
      if (Valid(claimant) && Kind(claimant) == MsgBlockKind::kReceiver && Receiver(claimant)->message == block &&
          used[claimant]) {
        continue;
      }
      SetKind(block, MsgBlockKind::kMessage);
    }
    if (Kind(block) == MsgBlockKind::kMessage) messages.push_back(Found{Record(block)->seq, block});
  }

  // The dummy: the old one if it still is one, else any unused block.
  uint32_t dummy = h_.msg_head;
  if (!(dummy < bump && !used[dummy] && Kind(dummy) == MsgBlockKind::kDummy)) {
    dummy = kMsgNoBlock;
    for (uint32_t block = 0; block < bump && dummy == kMsgNoBlock; ++block) {
      if (!used[block]) dummy = block;
    }
    if (dummy == kMsgNoBlock && bump < limit_) {
      h_.bump.store(bump + 1, std::memory_order_relaxed);
      bump_seen_ = bump + 1;
      used.push_back(false);
      dummy = bump;
    }
    if (dummy == kMsgNoBlock) return Broken();
  }
  used[dummy] = true;
  SetKind(dummy, MsgBlockKind::kDummy);
  SetNext(dummy, kMsgNoBlock);
  h_.msg_head = h_.msg_tail = dummy;

  // The list, the counts, the free blocks.
  std::sort(messages.begin(), messages.end(), [](const Found& a, const Found& b) { return a.key < b.key; });
  std::sort(receivers.begin(), receivers.end(), [](const Found& a, const Found& b) { return a.key < b.key; });
  uint64_t qnum = 0;
  uint64_t cbytes = 0;
  for (const Found& message : messages) {
    SetNext(message.block, kMsgNoBlock);
    Append(message.block);
    ++qnum;
    cbytes += Record(message.block)->size;
  }
  // The receive side's counters stay (senders keep lower bounds of them);
  // the send side's say what is really queued.
  h_.sent_count.store(h_.recv_count.load(std::memory_order_relaxed) + qnum, std::memory_order_release);
  h_.sent_bytes.store(h_.recv_bytes.load(std::memory_order_relaxed) + cbytes, std::memory_order_release);
  h_.recv_head = h_.recv_tail = kMsgNoBlock;
  for (const Found& receiver : receivers) LinkReceiverAtTail(receiver.block);
  const uint32_t end = h_.bump.load(std::memory_order_relaxed);
  for (uint32_t block = 0; block < end; ++block) {
    if (!used[block]) Free(block);
  }
  h_.next_seq = std::max(h_.next_seq, max_seq + 1);
  h_.next_order = std::max(h_.next_order, max_order + 1);
  h_.waiters.store(waiters, std::memory_order_relaxed);
  // Whoever waited may find things changed. A waiting receiver looks
  // again: a message handed to a receiver that was never told (its sender
  // died in between) went back into the queue above, and may be what it
  // waits for.
  DecideAllWaiting(kMsgRetry);
  NoteSent();
  ForceSpace();
  broken_ = false;
  h_.repair.store(0, std::memory_order_release);
  return true;
}

}  // namespace sysv::core

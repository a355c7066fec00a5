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
  // The extents, walked from block 0 by their runs (msg_region.h): only
  // their first blocks are records; the rest is payload.
  std::vector<uint32_t> extents;
  MsgQueue::ForEachExtent(q_.arena_, bump, [&](uint32_t block, uint32_t) {
    extents.push_back(block);
    return true;
  });
  auto mark = [&](uint32_t block, bool value) {
    const uint32_t run = RunBelow(block, bump);
    for (uint32_t i = 0; i < run; ++i) used[block + i] = value;
  };
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

  // Messages first: a record and a chain that validates: exactly as many
  // extents as its payload needs past the record's own (each a kData
  // extent's first block, used by nothing else).
  std::vector<uint32_t> chain;
  std::vector<bool> starts(bump, false);
  for (uint32_t block : extents) starts[block] = true;
  for (uint32_t block : extents) {
    const MsgBlockKind kind = Kind(block);
    if (kind != MsgBlockKind::kMessage && kind != MsgBlockKind::kHanded) continue;
    const MsgRecord* record = Record(block);
    uint64_t left = record->size - std::min<uint64_t>(record->size, RecordExtentBytes(RunBelow(block, bump)));
    bool ok = !used[block];
    chain.clear();
    uint32_t next = record->data;
    for (uint32_t i = 0; ok && i < record->blocks; ++i) {
      ok = left > 0 && next < bump && starts[next] && !used[next] && Kind(next) == MsgBlockKind::kData;
      if (ok) {
        chain.push_back(next);
        mark(next, true);  // undone below if the chain fails
        left -= std::min<uint64_t>(left, ChainExtentBytes(RunBelow(next, bump)));
        next = Data(next)->next;
      }
    }
    if (!ok || left > 0) {
      for (uint32_t data : chain) mark(data, false);
      SetKind(block, MsgBlockKind::kFree);
      continue;
    }
    mark(block, true);
    max_seq = std::max(max_seq, record->seq);
  }
  // Receivers and senders. A handed message stays with a live receiver that
  // names it; any other goes back into the queue.
  for (uint32_t block : extents) {
    const MsgBlockKind kind = Kind(block);
    if (kind == MsgBlockKind::kSender) {
      if (alive(Sender(block)->pid)) {
        mark(block, true);
        ++waiters;
      } else {
        SetKind(block, MsgBlockKind::kFree);
      }
      continue;
    }
    if (kind != MsgBlockKind::kReceiver) continue;
    MsgReceiver* receiver = Receiver(block);
    const uint32_t message = receiver->message;
    const bool names_message = message < bump && starts[message] && used[message] &&
                               Kind(message) == MsgBlockKind::kHanded;
    if (!alive(receiver->pid)) {
      SetKind(block, MsgBlockKind::kFree);
      continue;
    }
    mark(block, true);
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
  for (uint32_t block : extents) {
    if (!used[block]) continue;
    const MsgBlockKind kind = Kind(block);
    if (kind == MsgBlockKind::kHanded) {
      const uint32_t claimant = Record(block)->claimant;
      if (claimant < bump && starts[claimant] && Kind(claimant) == MsgBlockKind::kReceiver &&
          Receiver(claimant)->message == block && used[claimant]) {
        continue;
      }
      SetKind(block, MsgBlockKind::kMessage);
    }
    if (Kind(block) == MsgBlockKind::kMessage) messages.push_back(Found{Record(block)->seq, block});
  }

  // The dummy: the old one if it still is one, else any unused block.
  uint32_t dummy = h_.msg_head;
  if (!(dummy < bump && starts[dummy] && !used[dummy] && Kind(dummy) == MsgBlockKind::kDummy)) {
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
  SetTag(dummy, MsgBlockKind::kDummy, 1);
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
  // Every stretch of unused blocks becomes one free run, and the search
  // for free runs starts again at block 0: the partition is drawn anew.
  const uint32_t end = h_.bump.load(std::memory_order_relaxed);
  for (uint32_t block = 0; block < end;) {
    if (used[block]) {
      block += RunBelow(block, end);
      continue;
    }
    uint32_t free_end = block + 1;
    while (free_end < end && !used[free_end]) ++free_end;
    SetTag(block, MsgBlockKind::kFree, free_end - block);
    block = free_end;
  }
  h_.alloc_cursor = 0;
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

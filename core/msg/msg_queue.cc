#include "core/msg/msg_queue.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "core/cpu_relax.h"
#include "core/deadline.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"

namespace sysv::core {
namespace {

// How long a waiter spins before it sleeps: at most about 10 us (CpuRelax()
// iterations), adapted per process (see MsgQueue::SpinWhile()). A partner on
// another CPU answers within a few microseconds; a longer spin only burns
// the CPU a partner on the same CPU needs.
constexpr int kMaxSpin = 400;
constexpr int kMinSpin = 16;
// Spins between two RegionPlatform::yield calls (about 1.5 us; a power of 2),
// as in core/sem/sem_set.cc: a partner the scheduler queued on the
// spinner's own CPU (as it does after a wake-up from this CPU) then runs at
// once and answers within the spin, instead of after it, in a futex sleep.
constexpr int kSpinsPerYield = 64;
// The pause after which a process whose partner shares its CPU yields.
constexpr int kEarlyYield = 1;
// Blocks a one-lock sender looks at for a free one before it leaves the
// search to the slow path (Locked::Alloc()).
constexpr uint32_t kAllocScan = 32;
// How long a process about to lock waits for a busy lock to be released
// before it sleeps in the mutex.
constexpr int kLockSpin = 200;

// ipc/msg.c's search modes.
enum MsgSearch : uint32_t {
  kSearchAny = 1,
  kSearchEqual = 2,
  kSearchNotEqual = 3,
  kSearchLessEqual = 4,
  kSearchNumber = 5,
};

// convert_mode()
uint32_t ConvertMode(int64_t* msgtyp, int msgflg) {
  if (msgflg & kMsgCopy) return kSearchNumber;
  if (*msgtyp == 0) return kSearchAny;
  if (*msgtyp < 0) {
    *msgtyp = *msgtyp == INT64_MIN ? INT64_MAX : -*msgtyp;
    return kSearchLessEqual;
  }
  if (msgflg & kMsgExcept) return kSearchNotEqual;
  return kSearchEqual;
}

// testmsg()
bool TestMsg(int64_t mtype, int64_t type, uint32_t mode) {
  switch (mode) {
    case kSearchAny:
    case kSearchNumber:
      return true;
    case kSearchLessEqual:
      return mtype <= type;
    case kSearchEqual:
      return mtype == type;
    case kSearchNotEqual:
      return mtype != type;
  }
  return false;
}

uint32_t DataBlocksFor(uint64_t size) {
  if (size <= kMsgInlineBytes) return 0;
  return static_cast<uint32_t>((size - kMsgInlineBytes + kMsgDataBytes - 1) / kMsgDataBytes);
}

bool IsWaiting(uint32_t status) { return status == kMsgWaiting || status == kMsgRetry; }

// IPC_STAT's fields change seldom in a stream (the times once a second, the
// pids when another process sends or receives): a store only when the value
// changes keeps their cache line shared between the CPUs instead of moving
// it on every operation.
template <typename T>
void StoreIfChanged(std::atomic<T>& field, T value) {
  if (field.load(std::memory_order_relaxed) != value) field.store(value, std::memory_order_relaxed);
}

}  // namespace

template <typename Condition>
bool MsgQueue::SpinWhile(Condition waiting) {
  // Spinning pays only while the partner runs on another CPU. Each process
  // learns that per queue: a spin that ends in a sleep shrinks the budget by
  // an eighth, one that sees the change doubles it. On one CPU (or with more
  // waiters than CPUs) it falls to almost nothing within a few dozen calls;
  // an occasional miss on a busy machine costs little.
  //
  // A partner on this CPU answers only when this process yields. When the
  // last wait ended right after a yield, the next one yields at once instead
  // of after kSpinsPerYield pauses (a ping-pong whose two processes share a
  // CPU then makes no futex call, and spins for nothing); a wait that ends
  // while spinning (the partner runs elsewhere) turns that off again.
  const int budget = spin_budget_.load(std::memory_order_relaxed);
  const bool early = yield_early_.load(std::memory_order_relaxed);
  bool yielded = false;  // the look about to be made follows a yield
  for (int i = 0; i < budget; ++i) {
    if (!waiting()) {
      spin_budget_.store(std::min(kMaxSpin, budget * 2), std::memory_order_relaxed);
      if (yielded != early) yield_early_.store(yielded, std::memory_order_relaxed);
      return true;
    }
    CpuRelax();
    yielded = platform_->yield != nullptr &&
              ((early && i == kEarlyYield) || (i & (kSpinsPerYield - 1)) == kSpinsPerYield - 1);
    if (yielded) platform_->yield();
  }
  spin_budget_.store(std::max(kMinSpin, budget - budget / 8), std::memory_order_relaxed);
  return false;
}

// Spinners that watch a side's line (sent_seq, the counters) look at it
// only while nobody holds that side's lock: every read of a line the holder
// is writing takes it away from the holder's CPU, and the holder writes it
// several times per critical section. The busy flags live on lines of
// their own, which a holder writes only as it locks and unlocks.
bool MsgQueue::SendBusy() const { return header_->send_busy.load(std::memory_order_relaxed) != 0; }

void MsgQueue::ReadCounts(uint64_t* qnum, uint64_t* cbytes) const {
  const MsgQueueHeader& h = *header_;
  // The receive side's counters first: a message is counted as sent before
  // a receiver can see it, so sent >= received for any pair read in this
  // order. Read again until the receive side held still.
  uint64_t count = h.recv_count.load(std::memory_order_acquire);
  for (int i = 0;; ++i) {
    const uint64_t bytes = h.recv_bytes.load(std::memory_order_acquire);
    const uint64_t sent = h.sent_count.load(std::memory_order_acquire);
    const uint64_t sent_bytes = h.sent_bytes.load(std::memory_order_acquire);
    const uint64_t again = h.recv_count.load(std::memory_order_acquire);
    if (again == count || i == 8) {
      *qnum = sent - count;
      *cbytes = sent_bytes - bytes;
      return;
    }
    count = again;
  }
}

WaitResult MsgQueue::Sleep(const std::atomic<uint32_t>* word, uint32_t expected, uint64_t since) {
  if (platform_->interruptible_wait != nullptr) {
    return platform_->interruptible_wait(word, expected, Deadline::Infinite(), since);
  }
  return platform_->waiter.wait(word, expected, Deadline::Infinite());
}

bool MsgQueue::BumpSpace(MsgQueueHeader& h) {
  constexpr uint32_t kMarks = MsgQueueHeader::kSpaceWatched | MsgQueueHeader::kSpaceSleepers;
  uint32_t space = h.space_seq.load(std::memory_order_relaxed);
  while (!h.space_seq.compare_exchange_weak(space, (space & ~kMarks) + MsgQueueHeader::kSpaceStep,
                                            std::memory_order_release, std::memory_order_relaxed)) {
  }
  return (space & MsgQueueHeader::kSpaceSleepers) != 0;
}

uint64_t MsgQueue::SignalEpoch() const {
  return platform_->signal_epoch != nullptr ? platform_->signal_epoch() : 0;
}

uint32_t MsgQueue::BlocksFor(uint64_t qbytes) {
  // msg_fits_inqueue() admits up to qbytes messages and qbytes bytes. The
  // most blocks per byte come from messages one byte longer than a record
  // holds inline (two blocks each); the rest of the count goes to empty
  // messages (one block each): qbytes + qbytes / (inline + 1).
  const uint64_t worst = qbytes + qbytes / (kMsgInlineBytes + 1) + 1;
  return static_cast<uint32_t>(std::min<uint64_t>(worst + kMsgExtraBlocks, kMsgMaxArenaBlocks));
}

size_t MsgQueue::FileSize(uint32_t blocks) {
  return sizeof(MsgQueueHeader) + static_cast<size_t>(blocks) * kMsgBlockSize;
}

// ---------------------------------------------------------------------------
// The locks held, and everything that needs them.

class MsgQueue::Locked {
 public:
  // Which locks: a side's own (the one-lock paths), or both.
  enum class Side { kSend, kReceive, kBoth };

  Locked(MsgQueue& queue, Side side) : q_(queue), h_(*queue.header_), side_(side) {
    if (side == Side::kBoth) {
      LockBoth();
    } else {
      LockOne();
    }
  }
  ~Locked() { Unlock(); }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

  bool held() const { return held_; }

  void Unlock() {
    if (!held_) return;
    held_ = false;
    const SharedMutexOps& mutex = q_.platform_->mutex;
    if (side_ != Side::kReceive) {
      h_.send_busy.store(0, std::memory_order_relaxed);
      mutex.unlock(h_.send_lock);
    }
    if (side_ != Side::kSend) {
      h_.recv_busy.store(0, std::memory_order_relaxed);
      mutex.unlock(h_.recv_lock);
    }
    for (const auto& [word, count] : wakes_) q_.platform_->waiter.wake(word, count);
    wakes_.clear();
  }

  // An inconsistency found in the middle of an operation (both locks
  // held): rebuild now. A second one in the same critical section means
  // someone keeps scribbling; the caller gives up with EIDRM.
  bool RepairOnce() {
    if (repaired_) return false;
    repaired_ = true;
    return Rebuild();
  }

  // An inconsistency found on a one-lock path: the next holder of both
  // locks rebuilds.
  void RequestRepair() { h_.repair.store(1, std::memory_order_release); }

  // --- Blocks. `bump` grows under send_lock while a receiver holds only
  // recv_lock: a block past the value seen last is looked up again.
  bool Valid(uint32_t block) {
    if (block >= limit_) return false;
    if (block < bump_seen_) return true;
    bump_seen_ = std::min(h_.bump.load(std::memory_order_acquire), limit_);
    return block < bump_seen_;
  }
  unsigned char* Block(uint32_t block) const { return q_.arena_ + static_cast<size_t>(block) * kMsgBlockSize; }
  MsgRecord* Record(uint32_t block) const { return reinterpret_cast<MsgRecord*>(Block(block)); }
  MsgData* Data(uint32_t block) const { return reinterpret_cast<MsgData*>(Block(block)); }
  MsgReceiver* Receiver(uint32_t block) const { return reinterpret_cast<MsgReceiver*>(Block(block)); }
  MsgSender* Sender(uint32_t block) const { return reinterpret_cast<MsgSender*>(Block(block)); }
  // Acquire: a block a receiver freed is the sender's once it reads kFree.
  MsgBlockKind Kind(uint32_t block) const {
    return static_cast<MsgBlockKind>(Data(block)->kind.load(std::memory_order_acquire));
  }
  void SetKind(uint32_t block, MsgBlockKind kind) {
    Data(block)->kind.store(static_cast<uint32_t>(kind), std::memory_order_release);
  }
  // A record's `next`, which the two sides share (msg_region.h).
  uint32_t NextOf(uint32_t block) const {
    return std::atomic_ref<uint32_t>(Record(block)->next).load(std::memory_order_acquire);
  }
  void SetNext(uint32_t block, uint32_t next) {
    std::atomic_ref<uint32_t>(Record(block)->next).store(next, std::memory_order_release);
  }

  // A free block, or kMsgNoBlock (send_lock held).
  //
  // Blocks are handed out in ring order over [0, bump), from `alloc_cursor`
  // on: a stream's messages then lie in consecutive blocks, and a block is
  // free exactly when its kind says so, with no list for the two sides to
  // share: a receiver frees a block by one store, which is also the last it
  // makes to it. When the kAllocScan blocks after the cursor are in use,
  // the ring grows into a never-used block, so that it stays about as large
  // as what the queue holds. Only an arena used up to its end is searched
  // further, whole, and only by a holder of both locks.
  uint32_t Alloc() {
    const uint32_t bump = std::min(h_.bump.load(std::memory_order_relaxed), limit_);
    uint32_t cursor = h_.alloc_cursor;
    auto search = [&](uint32_t blocks) {
      for (uint32_t step = 0; step < blocks; ++step) {
        if (cursor >= bump) cursor = 0;
        const uint32_t block = cursor++;
        if (Kind(block) == MsgBlockKind::kFree) return block;
      }
      return kMsgNoBlock;
    };
    uint32_t block = search(std::min(kAllocScan, bump));
    if (block == kMsgNoBlock && bump < limit_) {
      h_.bump.store(bump + 1, std::memory_order_release);
      block = bump;
      cursor = bump + 1;
    } else if (block == kMsgNoBlock && side_ == Side::kBoth) {
      block = search(bump);
    }
    h_.alloc_cursor = cursor;
    return block;
  }

  // Frees a block: its last store (a sender may take it at once).
  void Free(uint32_t block) { SetKind(block, MsgBlockKind::kFree); }

  // --- Messages.

  // Writes a message as kPending (not sent yet). kMsgNoBlock, with nothing
  // written, when no free block was found. Needs send_lock.
  uint32_t WriteMessage(int64_t mtype, absl::Span<const uint8_t> payload) {
    const uint32_t data_blocks = DataBlocksFor(payload.size());
    const uint32_t head = Alloc();
    if (head == kMsgNoBlock) return kMsgNoBlock;
    SetKind(head, MsgBlockKind::kPending);
    MsgRecord* record = Record(head);
    record->data = kMsgNoBlock;
    record->mtype = mtype;
    record->size = static_cast<uint32_t>(payload.size());
    record->blocks = data_blocks;
    SetNext(head, kMsgNoBlock);  // a spinning receiver may still look (LooksEmpty())
    const size_t inline_bytes = std::min<size_t>(payload.size(), kMsgInlineBytes);
    if (inline_bytes > 0) std::memcpy(record->inline_data, payload.data(), inline_bytes);
    size_t offset = inline_bytes;
    uint32_t* link = &record->data;
    for (uint32_t i = 0; i < data_blocks; ++i) {
      const uint32_t block = Alloc();
      if (block == kMsgNoBlock) {
        FreeMessage(head);
        return kMsgNoBlock;
      }
      SetKind(block, MsgBlockKind::kData);
      MsgData* data = Data(block);
      data->next = kMsgNoBlock;
      const size_t n = std::min<size_t>(payload.size() - offset, kMsgDataBytes);
      std::memcpy(data->bytes, payload.data() + offset, n);
      offset += n;
      *link = block;
      link = &data->next;
    }
    record->seq = h_.next_seq++;
    return head;
  }

  // Copies the first `n` bytes of message `head` into `out`. False when its
  // chain does not validate.
  bool CopyPayload(uint32_t head, size_t n, std::vector<uint8_t>* out) {
    const MsgRecord* record = Record(head);
    if (n > record->size) return false;
    out->resize(n);
    const size_t inline_bytes = std::min<size_t>(n, kMsgInlineBytes);
    if (inline_bytes > 0) std::memcpy(out->data(), record->inline_data, inline_bytes);
    size_t offset = inline_bytes;
    uint32_t block = record->data;
    for (uint32_t i = 0; offset < n; ++i) {
      if (i >= record->blocks || !Valid(block) || Kind(block) != MsgBlockKind::kData) return false;
      const MsgData* data = Data(block);
      const size_t chunk = std::min<size_t>(n - offset, kMsgDataBytes);
      std::memcpy(out->data() + offset, data->bytes, chunk);
      offset += chunk;
      block = data->next;
    }
    return true;
  }

  // Frees a message's data blocks: `blocks` of them from `block` on.
  void FreeChain(uint32_t block, uint32_t blocks) {
    for (uint32_t i = 0; i < blocks && Valid(block) && Kind(block) == MsgBlockKind::kData; ++i) {
      const uint32_t next = Data(block)->next;
      Free(block);
      block = next;
    }
  }

  // Frees a message's blocks. The record goes first: from then on the
  // message does not exist, whatever happens to the rest.
  void FreeMessage(uint32_t head) {
    const uint32_t data = Record(head)->data;
    const uint32_t blocks = Record(head)->blocks;
    Free(head);
    FreeChain(data, blocks);
  }

  // --- The message list: singly linked, in send order, from the dummy
  // record `msg_head` to `msg_tail` (msg_region.h). A link read from the
  // region is checked before it is followed; a bad one sets `broken_` and
  // changes nothing.

  // The dummy, or kMsgNoBlock when it does not validate (recv_lock held).
  uint32_t Dummy() {
    const uint32_t dummy = h_.msg_head.load(std::memory_order_relaxed);
    if (Valid(dummy) && Kind(dummy) == MsgBlockKind::kDummy) return dummy;
    Broken();
    return kMsgNoBlock;
  }

  // Appends a sent message (send_lock held). The tail is a message, or a
  // dummy: the list's, or a former tail a receiver has just made the new
  // dummy, before it stored `msg_head`.
  bool Append(uint32_t block) {
    const uint32_t tail = h_.msg_tail;
    if (!Valid(tail)) return Broken();
    const MsgBlockKind kind = Kind(tail);
    if ((kind != MsgBlockKind::kMessage && kind != MsgBlockKind::kDummy) || NextOf(tail) != kMsgNoBlock) {
      return Broken();
    }
    SetNext(block, kMsgNoBlock);
    SetNext(tail, block);  // the receive side sees the message from here on
    h_.msg_tail = block;
    return true;
  }

  // Takes the first message off the list (recv_lock held): it becomes the
  // dummy, its kind the commit point of the receive. `dummy` is the current
  // dummy, `first` its successor.
  void TakeFirst(uint32_t dummy, uint32_t first) {
    const MsgRecord* record = Record(first);
    const uint32_t data = record->data;
    const uint32_t blocks = record->blocks;
    const uint32_t size = record->size;
    SetKind(first, MsgBlockKind::kDummy);  // received
    h_.msg_head.store(first, std::memory_order_relaxed);
    CountReceived(size);
    Free(dummy);
    FreeChain(data, blocks);
  }

  // find_msg() (both locks held). Returns the message and the record before
  // it in `*prev`, kMsgNoBlock when none matches, and sets `broken_` when
  // the list does not validate.
  uint32_t FindMessage(int64_t msgtyp, uint32_t mode, uint32_t* prev) {
    uint32_t found = kMsgNoBlock;
    uint32_t found_prev = kMsgNoBlock;
    int64_t count = 0;
    const uint32_t dummy = Dummy();
    if (dummy == kMsgNoBlock) return kMsgNoBlock;
    uint32_t before = dummy;
    uint32_t steps = 0;
    for (uint32_t block = NextOf(dummy); block != kMsgNoBlock; before = block, block = NextOf(block)) {
      if (!Valid(block) || Kind(block) != MsgBlockKind::kMessage || ++steps > limit_) {
        Broken();
        return kMsgNoBlock;
      }
      const int64_t mtype = Record(block)->mtype;
      if (!TestMsg(mtype, msgtyp, mode)) continue;
      if (mode == kSearchLessEqual && mtype != 1) {
        msgtyp = mtype - 1;
        found = block;
        found_prev = before;
      } else if (mode == kSearchNumber) {
        if (msgtyp == count) {
          *prev = before;
          return block;
        }
      } else {
        *prev = before;
        return block;
      }
      ++count;
    }
    if (before != h_.msg_tail) {
      Broken();
      return kMsgNoBlock;
    }
    *prev = found_prev;
    return found;
  }

  // Unlinks `block`, which follows `prev` (both locks held).
  void UnlinkMessage(uint32_t prev, uint32_t block) {
    SetNext(prev, NextOf(block));
    if (h_.msg_tail == block) h_.msg_tail = prev;
    SetNext(block, kMsgNoBlock);
  }

  // A message is counted in once it is linked or about to be: the sent
  // counters grow before a receiver can see it (ReadCounts()).
  void CountSent(uint64_t size) {
    h_.sent_bytes.store(h_.sent_bytes.load(std::memory_order_relaxed) + size, std::memory_order_release);
    h_.sent_count.store(h_.sent_count.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  void CountReceived(uint64_t size) {
    h_.recv_bytes.store(h_.recv_bytes.load(std::memory_order_relaxed) + size, std::memory_order_release);
    h_.recv_count.store(h_.recv_count.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // --- Waiting receivers: doubly linked in arrival order (both locks).
  bool LinkReceiverAtTail(uint32_t block) {
    const uint32_t tail = h_.recv_tail;
    if (!ReceiverLinkable(tail)) return Broken();
    MsgReceiver* receiver = Receiver(block);
    receiver->prev = tail;
    receiver->next = kMsgNoBlock;
    (tail == kMsgNoBlock ? h_.recv_head : Receiver(tail)->next) = block;
    h_.recv_tail = block;
    return true;
  }
  bool UnlinkReceiver(uint32_t block) {
    MsgReceiver* receiver = Receiver(block);
    const uint32_t prev = receiver->prev;
    const uint32_t next = receiver->next;
    if (!ReceiverLinkable(prev) || !ReceiverLinkable(next)) return Broken();
    uint32_t& into_prev = prev == kMsgNoBlock ? h_.recv_head : Receiver(prev)->next;
    uint32_t& into_next = next == kMsgNoBlock ? h_.recv_tail : Receiver(next)->prev;
    if (into_prev != block || into_next != block) return Broken();
    into_prev = next;
    into_next = prev;
    receiver->prev = receiver->next = kMsgNoBlock;
    return true;
  }

  bool Broken() {
    broken_ = true;
    return false;
  }

  // Decides a waiting receiver: `status` is 0 (its message is in `message`)
  // or an errno. Its wake-up happens after the unlock, and only if it may be
  // asleep (a spinning receiver sees the status by itself).
  void Decide(uint32_t block, uint32_t status) {
    MsgReceiver* receiver = Receiver(block);
    receiver->status.store(status, std::memory_order_release);
    // MSG_BARRIER_SLEEP: pairs with the receiver's store of `sleeping`
    // before its last look at `status`; one of the two sees the other.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (receiver->sleeping.load(std::memory_order_relaxed) != 0) WakeAfter(&receiver->status, 1);
  }

  // Decides every queued receiver with `status` (they stay linked: a
  // receiver unlinks itself when it looks at its status).
  void DecideAllWaiting(uint32_t status) {
    uint32_t steps = 0;
    for (uint32_t block = h_.recv_head; block != kMsgNoBlock && Valid(block) && ++steps <= limit_;
         block = Receiver(block)->next) {
      if (Kind(block) != MsgBlockKind::kReceiver) break;
      Decide(block, status);
    }
  }

  // pipelined_send(): hands `head` (kPending or kMessage, not linked) to the
  // first waiting receiver that wants it (both locks held). True when one
  // took it.
  bool HandToReceiver(uint32_t head) {
    const MsgRecord* record = Record(head);
    uint32_t steps = 0;
    for (uint32_t block = h_.recv_head; block != kMsgNoBlock;) {
      if (!Valid(block) || Kind(block) != MsgBlockKind::kReceiver || ++steps > limit_) return Broken();
      MsgReceiver* receiver = Receiver(block);
      const uint32_t next = receiver->next;
      if (TestMsg(record->mtype, receiver->msgtype, receiver->mode)) {
        if (!UnlinkReceiver(block)) return false;  // broken_ is set
        if (receiver->maxsize < record->size) {
          Decide(block, E2BIG);
        } else {
          StoreIfChanged(h_.lrpid, receiver->pid);
          StoreIfChanged(h_.rtime, q_.platform_->now_seconds());
          // MSG_BARRIER_HAND: the receiver names the message before the
          // message says it was handed, so that a rebuild in between finds
          // either a pending message (dropped: the send did not happen) or
          // a handed one with its receiver.
          receiver->message = head;
          SetKind(head, MsgBlockKind::kHanded);
          Decide(block, 0);
          return true;
        }
      }
      block = next;
    }
    return false;
  }

  // A sent (or returned) message that no receiver took: into the queue, in
  // send order (both locks held). A new message goes at the tail; only one
  // a dead receiver never took may belong further in.
  void Enqueue(uint32_t head) {
    const uint64_t seq = Record(head)->seq;
    SetKind(head, MsgBlockKind::kMessage);
    CountSent(Record(head)->size);
    const uint32_t tail = h_.msg_tail;
    if (!Valid(tail) || Kind(tail) != MsgBlockKind::kMessage || Record(tail)->seq < seq) {
      // A broken list: the message is committed all the same, and the
      // rebuild the caller runs links it.
      Append(head);
      return;
    }
    const uint32_t dummy = Dummy();
    if (dummy == kMsgNoBlock) return;
    uint32_t before = dummy;
    uint32_t steps = 0;
    for (uint32_t block = NextOf(dummy); block != kMsgNoBlock; before = block, block = NextOf(block)) {
      if (!Valid(block) || Kind(block) != MsgBlockKind::kMessage || ++steps > limit_) {
        Broken();
        return;
      }
      if (Record(block)->seq > seq) break;
    }
    SetNext(head, NextOf(before));
    SetNext(before, head);
  }

  // Every writer holds send_lock: a plain increment, no read-modify-write.
  void NoteSent() {
    h_.sent_seq.store(h_.sent_seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // Room may have appeared: every waiting sender looks again (ss_wakeup()
  // wakes those whose message now fits; they race for it either way).
  // Senders mark `space_seq` under both locks before they wait
  // (WatchSpace), so a receiver holding recv_lock sees the mark of every
  // sender that found the queue full before it: with no mark nobody waits,
  // and the word is neither written nor woken (the common case of a stream).
  void NoteSpace() {
    const uint32_t space = h_.space_seq.load(std::memory_order_relaxed);
    if ((space & (MsgQueueHeader::kSpaceWatched | MsgQueueHeader::kSpaceSleepers)) == 0) return;
    if (BumpSpace()) WakeAfter(&h_.space_seq, INT_MAX);
  }

  // The same, whoever waits: for IPC_SET, IPC_RMID and a rebuild (which may
  // follow a scribble of the marks).
  void ForceSpace() {
    BumpSpace();
    WakeAfter(&h_.space_seq, INT_MAX);
  }

  // A sender about to wait for room marks `space_seq` (kSpaceWatched; with
  // kSpaceSleepers too before a futex sleep) and returns the marked value,
  // which the next receiver that makes room changes.
  uint32_t WatchSpace(uint32_t marks) {
    uint32_t space = h_.space_seq.load(std::memory_order_relaxed);
    while ((space & marks) != marks &&
           !h_.space_seq.compare_exchange_weak(space, space | marks, std::memory_order_relaxed)) {
    }
    return space | marks;
  }

  void WakeAfter(const std::atomic<uint32_t>* word, int count) { wakes_.emplace_back(word, count); }

  // Changes `space_seq` and clears its marks (IPC_SET and IPC_RMID do it
  // without the lock, hence the compare-and-swap). Returns whether a sender
  // may sleep on it.
  bool BumpSpace() { return MsgQueue::BumpSpace(h_); }

  // --- Waiter records.
  void AddWaiter() { h_.waiters.fetch_add(1, std::memory_order_relaxed); }
  void DropWaiter() {
    if (h_.waiters.load(std::memory_order_relaxed) > 0) h_.waiters.fetch_sub(1, std::memory_order_relaxed);
  }

  bool broken() const { return broken_; }

  // Recomputes every derived field from the records (file comment of
  // core/msg/msg_region.h); both locks held. False when the arena has no
  // block left for the dummy.
  bool Rebuild();

 private:

  // Critical sections last a few hundred nanoseconds: wait out a holder on
  // another CPU rather than sleep in the mutex (a futex sleep and wake-up
  // cost more than the wait, and the holder's unlock then pays the wake).
  // A deadline that has passed makes Lock a try-lock, which also keeps the
  // clock read of a real deadline off the uncontended path.
  LockResult Acquire(void* lock, const std::atomic<uint32_t>& busy) {
    const SharedMutexOps& mutex = q_.platform_->mutex;
    const Deadline now = Deadline::FromMonotonicNanos(0);
    LockResult result = mutex.lock(lock, now);
    for (int i = 0; result == LockResult::kTimedOut && i < kLockSpin; ++i) {
      CpuRelax();
      if (busy.load(std::memory_order_relaxed) == 0) result = mutex.lock(lock, now);
    }
    if (result != LockResult::kTimedOut) return result;
    return mutex.lock(lock, Deadline::After(absl::Nanoseconds(q_.platform_->lock_timeout_nanos)));
  }

  void LockBoth() {
    const SharedMutexOps& mutex = q_.platform_->mutex;
    const LockResult recv = Acquire(h_.recv_lock, h_.recv_busy);
    if (!HoldsLock(recv)) return;
    h_.recv_busy.store(1, std::memory_order_relaxed);
    const LockResult send = Acquire(h_.send_lock, h_.send_busy);
    if (!HoldsLock(send)) {
      // A holder that died leaves the lock to be repaired by whoever gets
      // both; giving it up unrepaired would make it unrecoverable.
      if (recv == LockResult::kAcquiredOwnerDied) {
        RequestRepair();
        mutex.mark_consistent(h_.recv_lock);
      }
      h_.recv_busy.store(0, std::memory_order_relaxed);
      mutex.unlock(h_.recv_lock);
      return;
    }
    h_.send_busy.store(1, std::memory_order_relaxed);
    held_ = true;
    RefreshCapacity();
    const bool died = recv == LockResult::kAcquiredOwnerDied || send == LockResult::kAcquiredOwnerDied;
    if (died || h_.repair.load(std::memory_order_acquire) != 0 || !Consistent()) Rebuild();
    if (recv == LockResult::kAcquiredOwnerDied) mutex.mark_consistent(h_.recv_lock);
    if (send == LockResult::kAcquiredOwnerDied) mutex.mark_consistent(h_.send_lock);
  }

  // One side's lock, for a one-lock path: given up again (held() false)
  // when the derived state needs a rebuild, which only a holder of both
  // locks may run.
  void LockOne() {
    const SharedMutexOps& mutex = q_.platform_->mutex;
    void* lock = side_ == Side::kSend ? h_.send_lock : h_.recv_lock;
    std::atomic<uint32_t>& busy = side_ == Side::kSend ? h_.send_busy : h_.recv_busy;
    const LockResult result = Acquire(lock, busy);
    if (!HoldsLock(result)) return;
    RefreshCapacity();
    if (result == LockResult::kAcquiredOwnerDied || h_.repair.load(std::memory_order_acquire) != 0) {
      if (result == LockResult::kAcquiredOwnerDied) {
        RequestRepair();  // before the lock says consistent again
        mutex.mark_consistent(lock);
      }
      mutex.unlock(lock);
      return;
    }
    busy.store(1, std::memory_order_relaxed);
    held_ = true;
  }

  // Takes a larger `arena_blocks` into account once the file is known to
  // hold it.
  void RefreshCapacity() {
    uint32_t checked = q_.checked_blocks_.load(std::memory_order_relaxed);
    const uint32_t blocks = h_.arena_blocks.load(std::memory_order_acquire);
    if (blocks > checked && blocks <= kMsgMaxArenaBlocks && q_.capacity_.holds != nullptr &&
        q_.capacity_.holds(q_.capacity_.context, FileSize(blocks))) {
      q_.checked_blocks_.store(blocks, std::memory_order_relaxed);
      checked = blocks;
    }
    limit_ = checked;
    bump_seen_ = std::min(h_.bump.load(std::memory_order_acquire), limit_);
  }

  // The derived state as a holder of both locks needs it; what does not
  // hold is rebuilt.
  bool Consistent() {
    auto end_ok = [&](uint32_t block) { return block == kMsgNoBlock || Valid(block); };
    const uint64_t queued = h_.sent_count.load(std::memory_order_relaxed) - h_.recv_count.load(std::memory_order_relaxed);
    return h_.bump.load(std::memory_order_relaxed) <= limit_ && Valid(h_.msg_head.load(std::memory_order_relaxed)) &&
           Valid(h_.msg_tail) && end_ok(h_.recv_head) && end_ok(h_.recv_tail) && queued <= limit_;
  }

  MsgQueue& q_;
  MsgQueueHeader& h_;
  const Side side_;
  uint32_t limit_ = 0;
  uint32_t bump_seen_ = 0;
  bool held_ = false;
  bool broken_ = false;
  bool repaired_ = false;
  absl::InlinedVector<std::pair<const std::atomic<uint32_t>*, int>, 4> wakes_;

  bool ReceiverLinkable(uint32_t block) {
    return block == kMsgNoBlock || (Valid(block) && Kind(block) == MsgBlockKind::kReceiver);
  }
};

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
  uint32_t dummy = h_.msg_head.load(std::memory_order_relaxed);
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
  h_.msg_head.store(dummy, std::memory_order_relaxed);
  h_.msg_tail = dummy;

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
  // Whoever waited may find things changed.
  NoteSent();
  ForceSpace();
  broken_ = false;
  h_.repair.store(0, std::memory_order_release);
  return true;
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<MsgQueue>> MsgQueue::Format(void* base, uint32_t blocks, uint64_t qbytes,
                                                           int64_t ctime, const RegionPlatform* platform,
                                                           CapacityCheck capacity) {
  if (blocks == 0 || blocks > kMsgMaxArenaBlocks) return ErrnoStatus(EINVAL, "arena size out of range");
  auto* header = new (base) MsgQueueHeader();
  header->layout_version.store(MsgQueueHeader::kVersion, std::memory_order_relaxed);
  header->arena_offset.store(sizeof(MsgQueueHeader), std::memory_order_relaxed);
  header->arena_blocks.store(blocks, std::memory_order_relaxed);
  header->qbytes.store(qbytes, std::memory_order_relaxed);
  header->ctime.store(ctime, std::memory_order_relaxed);
  header->alloc_cursor = 1;
  header->recv_head = header->recv_tail = kMsgNoBlock;
  header->next_seq = 1;
  header->next_order = 1;
  // Block 0 is the first dummy.
  auto* dummy = reinterpret_cast<MsgRecord*>(static_cast<unsigned char*>(base) + sizeof(MsgQueueHeader));
  dummy->next = kMsgNoBlock;
  dummy->kind.store(static_cast<uint32_t>(MsgBlockKind::kDummy), std::memory_order_relaxed);
  header->bump.store(1, std::memory_order_relaxed);
  header->msg_head.store(0, std::memory_order_relaxed);
  header->msg_tail = 0;
  platform->mutex.init(header->recv_lock);
  platform->mutex.init(header->send_lock);
  header->magic.store(MsgQueueHeader::kMagic, std::memory_order_release);
  return Open(base, platform, capacity);
}

absl::StatusOr<std::unique_ptr<MsgQueue>> MsgQueue::Open(void* base, const RegionPlatform* platform,
                                                         CapacityCheck capacity) {
  auto* header = static_cast<MsgQueueHeader*>(base);
  if (header->magic.load(std::memory_order_acquire) != MsgQueueHeader::kMagic ||
      header->layout_version.load(std::memory_order_relaxed) != MsgQueueHeader::kVersion ||
      header->arena_offset.load(std::memory_order_relaxed) != sizeof(MsgQueueHeader)) {
    return ErrnoStatus(EIDRM, "not a message queue region of this version");
  }
  auto* arena = static_cast<unsigned char*>(base) + sizeof(MsgQueueHeader);
  std::unique_ptr<MsgQueue> queue(new MsgQueue(header, arena, platform, capacity));
  const uint32_t blocks = header->arena_blocks.load(std::memory_order_acquire);
  if (blocks > kMsgMaxArenaBlocks || capacity.holds == nullptr || !capacity.holds(capacity.context, FileSize(blocks))) {
    return ErrnoStatus(EIDRM, "the message queue region is smaller than its header says");
  }
  queue->checked_blocks_.store(blocks, std::memory_order_relaxed);
  return queue;
}

// msgsnd under send_lock alone: no receiver waits (else the message may be
// theirs: pipelined_send() needs both locks), the message fits by the
// counters this process last saw of the receive side, and the arena has
// its blocks.
int MsgQueue::TrySendFast(int64_t mtype, absl::Span<const uint8_t> payload, int32_t pid) {
  MsgQueueHeader& h = *header_;
  Locked locked(*this, Locked::Side::kSend);
  if (!locked.held()) return kSlowPath;
  if (h.removed.load(std::memory_order_acquire) != 0) return EIDRM;
  if (h.recv_head != kMsgNoBlock) return kSlowPath;
  // msg_fits_inqueue() with lower bounds of the received counts: a yes is
  // true now; a no is checked again with fresh ones, then by the slow path.
  const uint64_t qbytes = h.qbytes.load(std::memory_order_relaxed);
  const uint64_t sent = h.sent_count.load(std::memory_order_relaxed);
  const uint64_t sent_bytes = h.sent_bytes.load(std::memory_order_relaxed);
  auto fits = [&] {
    return payload.size() + (sent_bytes - seen_recv_bytes_.load(std::memory_order_relaxed)) <= qbytes &&
           1 + (sent - seen_recv_count_.load(std::memory_order_relaxed)) <= qbytes;
  };
  if (!fits()) {
    seen_recv_count_.store(h.recv_count.load(std::memory_order_acquire), std::memory_order_relaxed);
    seen_recv_bytes_.store(h.recv_bytes.load(std::memory_order_acquire), std::memory_order_relaxed);
    if (!fits()) return kSlowPath;
  }
  const uint32_t head = locked.WriteMessage(mtype, payload);
  if (head == kMsgNoBlock) return kSlowPath;  // the slow path looks further
  StoreIfChanged(h.lspid, pid);
  StoreIfChanged(h.stime, platform_->now_seconds());
  locked.SetKind(head, MsgBlockKind::kMessage);  // sent
  locked.CountSent(payload.size());
  // A list that would not take it: the message is sent all the same
  // (committed), and the rebuild links it.
  if (!locked.Append(head)) locked.RequestRepair();
  locked.NoteSent();
  return 0;
}

// msgrcv of the first message (msgtyp 0, no MSG_COPY) under recv_lock
// alone. An empty queue, or one that does not validate, needs both locks.
int64_t MsgQueue::TryReceiveFast(int msgflg, uint64_t bufsz, int32_t pid, int64_t* mtype,
                                 std::vector<uint8_t>* payload) {
  MsgQueueHeader& h = *header_;
  Locked locked(*this, Locked::Side::kReceive);
  if (!locked.held()) return kSlowPath;
  if (h.removed.load(std::memory_order_acquire) != 0) return -EIDRM;
  const uint32_t dummy = locked.Dummy();
  const uint32_t first = dummy == kMsgNoBlock ? kMsgNoBlock : locked.NextOf(dummy);
  if (first == kMsgNoBlock) {
    if (locked.broken()) locked.RequestRepair();
    return kSlowPath;
  }
  if (!locked.Valid(first) || locked.Kind(first) != MsgBlockKind::kMessage) {
    locked.RequestRepair();
    return kSlowPath;
  }
  const MsgRecord* message = locked.Record(first);
  if (bufsz < message->size && !(msgflg & kMsgNoError)) return -E2BIG;
  const size_t n = std::min<uint64_t>(bufsz, message->size);
  if (!locked.CopyPayload(first, n, payload)) {
    locked.RequestRepair();
    return kSlowPath;
  }
  *mtype = message->mtype;
  locked.TakeFirst(dummy, first);
  StoreIfChanged(h.rtime, platform_->now_seconds());
  StoreIfChanged(h.lrpid, pid);
  locked.NoteSpace();
  return static_cast<int64_t>(n);
}

int MsgQueue::Send(int64_t mtype, absl::Span<const uint8_t> payload, int msgflg, int32_t pid, uint64_t since) {
  MsgQueueHeader& h = *header_;
  bool spun = false;
  // A blocking sender that sees the queue full without a lock spins for
  // room before it locks (as Receive() does for a message): a producer
  // ahead of its consumer would otherwise lock twice per message, once
  // only to find the queue full. Every decision is still made under the
  // locks, where the same test is msg_fits_inqueue().
  auto looks_full = [&] {
    const uint64_t qbytes = h.qbytes.load(std::memory_order_relaxed);
    uint64_t qnum = 0;
    uint64_t cbytes = 0;
    ReadCounts(&qnum, &cbytes);
    return payload.size() + cbytes > qbytes || 1 + qnum > qbytes;
  };
  // A sender that waits for room waits for a quarter of the queue: the
  // receiver then runs through a stretch of messages without the sender's
  // every look taking its counters' line away, and the sender refills it in
  // one go.
  auto looks_crowded = [&] {
    const uint64_t qbytes = h.qbytes.load(std::memory_order_relaxed);
    uint64_t qnum = 0;
    uint64_t cbytes = 0;
    ReadCounts(&qnum, &cbytes);
    const uint64_t high = qbytes - qbytes / 4;
    return payload.size() + cbytes > qbytes || 1 + qnum > qbytes || cbytes > high || qnum > high;
  };
  for (;;) {
    if (const int fast = TrySendFast(mtype, payload, pid); fast != kSlowPath) return fast;
    if (!spun && !(msgflg & kIpcNowait) && looks_full()) {
      spun = true;
      SpinWhile([&] { return looks_crowded(); });
      continue;
    }
    Locked locked(*this, Locked::Side::kBoth);
    if (!locked.held()) return EIDRM;
    if (h.removed.load(std::memory_order_acquire) != 0) return EIDRM;
    // msg_fits_inqueue(), and room in the arena (which only runs short of
    // it while handed messages wait for their receivers).
    const bool fits = !looks_full();
    uint32_t head = kMsgNoBlock;
    if (fits) {
      head = locked.WriteMessage(mtype, payload);
      // No free block although the message fits: handed messages and
      // waiter records hold the spare blocks, or a scribble lost some,
      // which a rebuild finds again. Else it waits as for a full queue.
      if (head == kMsgNoBlock && locked.RepairOnce()) head = locked.WriteMessage(mtype, payload);
    }
    if (head != kMsgNoBlock) {
      StoreIfChanged(h.lspid, pid);
      StoreIfChanged(h.stime, platform_->now_seconds());
      if (!locked.HandToReceiver(head)) {
        if (locked.broken()) {
          if (!locked.RepairOnce()) return EIDRM;
          continue;  // the rebuild dropped the pending message
        }
        locked.Enqueue(head);
        // A list that would not take it: the message is sent all the same
        // (committed), and the rebuild links it.
        if (locked.broken()) locked.RepairOnce();
      }
      locked.NoteSent();
      return 0;
    }
    if (msgflg & kIpcNowait) return EAGAIN;
    if (!spun) {
      spun = true;
      const uint32_t space = locked.WatchSpace(MsgQueueHeader::kSpaceWatched);
      locked.Unlock();
      SpinWhile([&] { return h.space_seq.load(std::memory_order_acquire) == space; });
      continue;
    }
    // ss_add(): wait for room.
    const uint32_t record = locked.Alloc();
    if (record == kMsgNoBlock) {
      if (locked.broken() && locked.RepairOnce()) continue;
      return ENOMEM;
    }
    MsgSender* sender = locked.Sender(record);
    sender->pid = pid;
    locked.SetKind(record, MsgBlockKind::kSender);
    locked.AddWaiter();
    const uint32_t space = locked.WatchSpace(MsgQueueHeader::kSpaceWatched | MsgQueueHeader::kSpaceSleepers);
    locked.Unlock();
    const WaitResult result = Sleep(&h.space_seq, space, since);
    Locked relocked(*this, Locked::Side::kBoth);
    if (relocked.held() && relocked.Valid(record) && relocked.Kind(record) == MsgBlockKind::kSender &&
        relocked.Sender(record)->pid == pid) {
      relocked.Free(record);
      relocked.DropWaiter();
    }
    if (h.removed.load(std::memory_order_acquire) != 0) return EIDRM;
    if (result == WaitResult::kInterrupted) return EINTR;
    return kMsgRecheck;
  }
}

int64_t MsgQueue::Receive(int64_t msgtyp, int msgflg, uint64_t bufsz, uint64_t msgmax, int32_t pid,
                          uint64_t since, int64_t* mtype, std::vector<uint8_t>* payload) {
  MsgQueueHeader& h = *header_;
  const uint32_t mode = ConvertMode(&msgtyp, msgflg);
  const bool takes_first = mode == kSearchAny;
  bool spun = false;
  uint32_t record = kMsgNoBlock;
  // A blocking receiver that sees the queue empty without a lock spins for
  // a send before it takes both locks: taking them only to find nothing,
  // then again for the message, would stall a producer the consumer keeps
  // up with. A receiver of the first message watches the dummy's `next`,
  // which a sender writes once, as it appends to an empty list; it tries
  // again whenever the spin sees a message, and goes on to wait as a
  // registered receiver only after a spin that saw none. Only a shortcut
  // to the spin it would do anyway: every decision is made under the locks.
  for (;;) {
    if (takes_first) {
      const int64_t fast = TryReceiveFast(msgflg, bufsz, pid, mtype, payload);
      if (fast != kSlowPath) return fast;
    }
    if (!spun && !(msgflg & kIpcNowait) && LooksEmpty()) {
      if (takes_first) {
        if (SpinWhile([&] { return LooksEmpty(); })) continue;
        spun = true;
      } else {
        spun = true;
        const uint32_t sent = h.sent_seq.load(std::memory_order_acquire);
        if (LooksEmpty()) SpinWhile([&] { return SendBusy() || h.sent_seq.load(std::memory_order_acquire) == sent; });
      }
    }
    Locked locked(*this, Locked::Side::kBoth);
    if (!locked.held()) return -EIDRM;
    if (h.removed.load(std::memory_order_acquire) != 0) return -EIDRM;
    uint32_t prev = kMsgNoBlock;
    const uint32_t found = locked.FindMessage(msgtyp, mode, &prev);
    if (locked.broken()) {
      if (!locked.RepairOnce()) return -EIDRM;
      continue;
    }
    if (found != kMsgNoBlock) {
      MsgRecord* message = locked.Record(found);
      if (bufsz < message->size && !(msgflg & kMsgNoError)) return -E2BIG;
      const size_t n = std::min<uint64_t>(bufsz, message->size);
      if (msgflg & kMsgCopy) {
        // copy_msg() into a buffer of min(bufsz, MSGMAX) bytes.
        if (message->size > std::min(bufsz, msgmax)) return -EINVAL;
        if (!locked.CopyPayload(found, n, payload)) {
          if (!locked.RepairOnce()) return -EIDRM;
          continue;
        }
        *mtype = message->mtype;
        return static_cast<int64_t>(n);
      }
      if (!locked.CopyPayload(found, n, payload)) {
        if (!locked.RepairOnce()) return -EIDRM;
        continue;
      }
      *mtype = message->mtype;
      locked.UnlinkMessage(prev, found);
      locked.CountReceived(message->size);
      StoreIfChanged(h.rtime, platform_->now_seconds());
      StoreIfChanged(h.lrpid, pid);
      locked.FreeMessage(found);
      locked.NoteSpace();
      return static_cast<int64_t>(n);
    }
    if (msgflg & kIpcNowait) return -ENOMSG;
    if (!spun) {
      spun = true;
      const uint32_t sent = h.sent_seq.load(std::memory_order_acquire);
      locked.Unlock();
      SpinWhile([&] { return SendBusy() || h.sent_seq.load(std::memory_order_acquire) == sent; });
      continue;
    }
    // Queue as a receiver (struct msg_receiver).
    record = locked.Alloc();
    if (record == kMsgNoBlock) {
      if (locked.broken() && locked.RepairOnce()) continue;
      return -ENOMEM;
    }
    MsgReceiver* receiver = locked.Receiver(record);
    receiver->status.store(kMsgWaiting, std::memory_order_relaxed);
    receiver->sleeping.store(0, std::memory_order_relaxed);
    receiver->pid = pid;
    receiver->mode = mode;
    receiver->msgtype = msgtyp;
    receiver->maxsize = (msgflg & kMsgNoError) ? INT_MAX : bufsz;
    receiver->order = h.next_order++;
    receiver->message = kMsgNoBlock;
    locked.SetKind(record, MsgBlockKind::kReceiver);
    if (!locked.LinkReceiverAtTail(record)) {
      // The rebuild finds our record (we are alive and waiting) and links it.
      if (!locked.RepairOnce()) return -EIDRM;
    } else {
      locked.AddWaiter();
    }
    break;
  }

  // Sleep until decided, a signal, or removal.
  MsgReceiver* receiver = reinterpret_cast<MsgReceiver*>(arena_ + static_cast<size_t>(record) * kMsgBlockSize);
  SpinWhile([&] { return receiver->status.load(std::memory_order_acquire) == kMsgWaiting; });
  uint32_t status = receiver->status.load(std::memory_order_acquire);
  bool interrupted = false;
  if (status == kMsgWaiting) {
    receiver->sleeping.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // MSG_BARRIER_SLEEP
    while ((status = receiver->status.load(std::memory_order_acquire)) == kMsgWaiting) {
      if (Sleep(&receiver->status, kMsgWaiting, since) == WaitResult::kInterrupted) {
        interrupted = true;
        break;
      }
    }
  }
  if (status == EIDRM) return -EIDRM;  // the queue is gone; nothing to free

  Locked locked(*this, Locked::Side::kBoth);
  if (!locked.held()) return -EIDRM;
  if (h.removed.load(std::memory_order_acquire) != 0) return -EIDRM;
  if (!locked.Valid(record) || locked.Kind(record) != MsgBlockKind::kReceiver || receiver->pid != pid) {
    return -EIDRM;  // our record was scribbled over
  }
  status = receiver->status.load(std::memory_order_acquire);
  int64_t result = kMsgRecheck;
  if (status == 0) {
    const uint32_t message = receiver->message;
    if (locked.Valid(message) && locked.Kind(message) == MsgBlockKind::kHanded) {
      const MsgRecord* record_of = locked.Record(message);
      const size_t n = std::min<uint64_t>(bufsz, record_of->size);
      if (locked.CopyPayload(message, n, payload)) {
        *mtype = record_of->mtype;
        result = static_cast<int64_t>(n);
      }
      locked.FreeMessage(message);
      locked.NoteSpace();  // the arena has room again
    }
  } else if (IsWaiting(status)) {
    // Not decided: a signal (EINTR), or woken to look again.
    if (!locked.UnlinkReceiver(record)) {
      // The rebuild relinks every waiting record, ours included.
      if (!locked.RepairOnce() || !locked.UnlinkReceiver(record)) return -EIDRM;
    }
    if (interrupted) result = -EINTR;
  } else {
    result = -static_cast<int64_t>(status);  // E2BIG
  }
  locked.Free(record);
  locked.DropWaiter();
  return result;
}

MsgQueue::Stat MsgQueue::ReadStat() const {
  const MsgQueueHeader& h = *header_;
  Stat stat;
  ReadCounts(&stat.qnum, &stat.cbytes);
  stat.qbytes = h.qbytes.load(std::memory_order_relaxed);
  stat.stime = h.stime.load(std::memory_order_relaxed);
  stat.rtime = h.rtime.load(std::memory_order_relaxed);
  stat.ctime = h.ctime.load(std::memory_order_relaxed);
  stat.lspid = h.lspid.load(std::memory_order_relaxed);
  stat.lrpid = h.lrpid.load(std::memory_order_relaxed);
  return stat;
}

void MsgQueue::SetCTime(int64_t ctime) { header_->ctime.store(ctime, std::memory_order_relaxed); }

uint32_t MsgQueue::Waiters() const { return header_->waiters.load(std::memory_order_relaxed); }

void MsgQueue::SetQbytes(uint64_t qbytes, uint32_t blocks, int64_t ctime) {
  MsgQueueHeader& h = *header_;
  h.qbytes.store(qbytes, std::memory_order_relaxed);
  h.ctime.store(ctime, std::memory_order_relaxed);
  if (blocks > h.arena_blocks.load(std::memory_order_relaxed) && blocks <= kMsgMaxArenaBlocks) {
    h.arena_blocks.store(blocks, std::memory_order_release);
  }
  Locked locked(*this, Locked::Side::kBoth);
  if (locked.held()) {
    // expunge_all(-EAGAIN): receivers look again (they stay queued until
    // they do, and may still be handed a message meanwhile).
    locked.DecideAllWaiting(kMsgRetry);
    locked.ForceSpace();
    return;
  }
  // A busy lock: senders still learn of the room.
  BumpSpace(h);
  platform_->waiter.wake(&h.space_seq, INT_MAX);
}

void MsgQueue::Remove() {
  MsgQueueHeader& h = *header_;
  h.removed.store(1, std::memory_order_release);
  {
    Locked locked(*this, Locked::Side::kBoth);
    if (locked.held()) {
      locked.DecideAllWaiting(EIDRM);  // expunge_all(-EIDRM)
    } else {
      // A stuck or broken lock: find the receivers by their records. Only
      // atomics are touched, and only inside the checked arena.
      const uint32_t end =
          std::min(h.bump.load(std::memory_order_relaxed), checked_blocks_.load(std::memory_order_relaxed));
      for (uint32_t block = 0; block < end; ++block) {
        auto* receiver = reinterpret_cast<MsgReceiver*>(arena_ + static_cast<size_t>(block) * kMsgBlockSize);
        if (receiver->kind.load(std::memory_order_relaxed) != static_cast<uint32_t>(MsgBlockKind::kReceiver)) {
          continue;
        }
        uint32_t status = receiver->status.load(std::memory_order_relaxed);
        while (IsWaiting(status) &&
               !receiver->status.compare_exchange_weak(status, EIDRM, std::memory_order_release)) {
        }
        platform_->waiter.wake(&receiver->status, 1);
      }
    }
  }
  BumpSpace(h);
  platform_->waiter.wake(&h.space_seq, INT_MAX);
}

bool MsgQueue::LooksEmpty() const {
  const uint32_t limit = checked_blocks_.load(std::memory_order_relaxed);
  const uint32_t dummy = header_->msg_head.load(std::memory_order_relaxed);
  if (dummy >= limit) return false;  // let the locked path see what is wrong
  auto* record = reinterpret_cast<MsgRecord*>(arena_ + static_cast<size_t>(dummy) * kMsgBlockSize);
  return std::atomic_ref<uint32_t>(record->next).load(std::memory_order_acquire) == kMsgNoBlock;
}

bool MsgQueue::MayHaveRecordsOf(int32_t pid) const {
  // A dead process's records were written before it died and nobody but
  // a holder of both locks removes them, so a look without the locks cannot
  // miss them (it may see a live process's record come or go: then the
  // locked pass decides). Only atomics are read, and only inside the
  // checked arena.
  const uint32_t end =
      std::min(header_->bump.load(std::memory_order_relaxed), checked_blocks_.load(std::memory_order_relaxed));
  for (uint32_t block = 0; block < end; ++block) {
    auto* sender = reinterpret_cast<MsgSender*>(arena_ + static_cast<size_t>(block) * kMsgBlockSize);
    const uint32_t kind = sender->kind.load(std::memory_order_acquire);
    if (kind != static_cast<uint32_t>(MsgBlockKind::kReceiver) && kind != static_cast<uint32_t>(MsgBlockKind::kSender)) {
      continue;
    }
    // MsgReceiver and MsgSender keep `pid` at the same offset.
    if (std::atomic_ref<int32_t>(sender->pid).load(std::memory_order_relaxed) == pid) return true;
  }
  return false;
}

void MsgQueue::ProcessExited(int32_t pid, bool* busy) {
  *busy = false;
  // Taking the locks would stall the queue's users for nothing: look first.
  if (Waiters() == 0 || !MayHaveRecordsOf(pid)) return;
  Locked locked(*this, Locked::Side::kBoth);
  if (!locked.held()) {
    *busy = true;
    return;
  }
  MsgQueueHeader& h = *header_;
  const uint32_t end = h.bump.load(std::memory_order_relaxed);
  for (uint32_t block = 0; block < end && locked.Valid(block); ++block) {
    const MsgBlockKind kind = locked.Kind(block);
    if (kind == MsgBlockKind::kSender && locked.Sender(block)->pid == pid) {
      locked.Free(block);
      locked.DropWaiter();
      continue;
    }
    if (kind != MsgBlockKind::kReceiver || locked.Receiver(block)->pid != pid) continue;
    MsgReceiver* receiver = locked.Receiver(block);
    const uint32_t status = receiver->status.load(std::memory_order_acquire);
    const uint32_t message = receiver->message;
    if (IsWaiting(status) && !locked.UnlinkReceiver(block)) {
      locked.RepairOnce();  // drops this dead process's records itself
      return;
    }
    locked.Free(block);
    locked.DropWaiter();
    // A message handed to it that it never took is not lost: it goes to the
    // next receiver that wants it, or back into the queue.
    if (status == 0 && locked.Valid(message) && locked.Kind(message) == MsgBlockKind::kHanded) {
      if (!locked.HandToReceiver(message)) locked.Enqueue(message);
      locked.NoteSent();
    }
  }
  if (locked.broken()) locked.RepairOnce();
}

}  // namespace sysv::core

// MsgQueue::Locked: one or both of a queue region's locks held, and the
// operations on the region that need them (core/msg/msg_region.h says which
// lock guards what). Only core/msg's own files include this header.
#ifndef SYSV_CORE_MSG_MSG_QUEUE_LOCKED_H_
#define SYSV_CORE_MSG_MSG_QUEUE_LOCKED_H_

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "core/atomic_ref.h"
#include "core/cpu_relax.h"
#include "core/msg/msg_queue.h"
#include "core/msg/msg_region.h"
#include "core/msg/msg_search.h"
#include "core/region_platform.h"

namespace sysv::core {

// Extents a one-lock sender looks at for a free run before it grows the
// ring or leaves the search to the slow path (Locked::Alloc()).
inline constexpr uint32_t kMsgAllocScan = 32;
// How long a process about to lock waits for a busy lock to be released
// before it sleeps in the mutex.
inline constexpr int kMsgLockSpin = 200;

// Blocks of the one extent a message of `size` bytes takes: its record,
// then kMsgBlockSize bytes of payload per block (msg_region.h).
inline uint64_t ExtentBlocksFor(uint64_t size) {
  if (size <= kMsgInlineBytes) return 1;
  return 1 + (size - kMsgInlineBytes + kMsgBlockSize - 1) / kMsgBlockSize;
}
// Payload bytes an extent of `run` blocks holds: a message's record extent,
// and a chain's MsgData extent.
inline uint64_t RecordExtentBytes(uint32_t run) { return kMsgInlineBytes + uint64_t{run - 1} * kMsgBlockSize; }
inline uint64_t ChainExtentBytes(uint32_t run) { return kMsgDataBytes + uint64_t{run - 1} * kMsgBlockSize; }
// Blocks of a chain extent that holds `bytes`.
inline uint64_t ChainBlocksFor(uint64_t bytes) {
  return bytes <= kMsgDataBytes ? 1 : 1 + (bytes - kMsgDataBytes + kMsgBlockSize - 1) / kMsgBlockSize;
}

// Whether a receiver's status still says it waits.
inline bool IsWaiting(uint32_t status) { return status == kMsgWaiting || status == kMsgRetry; }

// IPC_STAT's fields change seldom in a stream (the times once a second, the
// pids when another process sends or receives): a store only when the value
// changes keeps their cache line shared between the CPUs instead of moving
// it on every operation.
template <typename T>
void StoreIfChanged(std::atomic<T>& field, T value) {
  if (field.load(std::memory_order_relaxed) != value) field.store(value, std::memory_order_relaxed);
}

class MsgQueue::Locked {
 public:
  // Which locks: a side's own (the one-lock paths), or both.
  enum class Side { kSend, kReceive, kBoth };

  // `wait` is how a busy lock is waited for (RegionPlatform::LockAsCall);
  // by default until it is had, however long its holder takes.
  Locked(MsgQueue& queue, Side side, const RegionPlatform::LockWait& wait = RegionPlatform::LockWait{})
      : q_(queue), h_(*queue.header_), side_(side), wait_(wait) {
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
  // Why not held() after a lock that failed: EIDRM (not a lock: a scribbled
  // region), or the wait's end (EAGAIN, EINTR, kLockBusy in the daemon). 0
  // when a one-lock path gave its lock up for a rebuild.
  int error() const { return error_; }

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
  MsgRecord* Record(uint32_t block) const { return q_.BlockAt<MsgRecord>(block); }
  MsgData* Data(uint32_t block) const { return q_.BlockAt<MsgData>(block); }
  MsgReceiver* Receiver(uint32_t block) const { return q_.BlockAt<MsgReceiver>(block); }
  MsgSender* Sender(uint32_t block) const { return q_.BlockAt<MsgSender>(block); }
  // An extent's tag (msg_region.h). Acquire: a run a receiver freed is the
  // sender's once it reads kFree, and the tags inside a run a receiver split
  // are read only after the shortened tag that makes them boundaries.
  uint32_t Tag(uint32_t block) const { return Data(block)->kind.load(std::memory_order_acquire); }
  MsgBlockKind Kind(uint32_t block) const { return MsgTagKind(Tag(block)); }
  // The run of the extent at `block` (< end), as far as it lies below `end`:
  // a longer one (only a scribble makes it) counts as one block.
  uint32_t RunBelow(uint32_t block, uint32_t end) const {
    const uint32_t run = MsgTagRun(Tag(block));
    return run <= end - block ? run : 1;
  }
  // Inside the checked arena: every byte of the extent may be touched.
  uint32_t Run(uint32_t block) const { return RunBelow(block, limit_); }
  void SetTag(uint32_t block, MsgBlockKind kind, uint32_t run) {
    Data(block)->kind.store(MsgTag(kind, run), std::memory_order_release);
  }
  // A new kind for the extent at `block`, of the same run: only its owner
  // (the holder of the lock that guards it) writes its tag.
  void SetKind(uint32_t block, MsgBlockKind kind) {
    std::atomic<uint32_t>& tag = Data(block)->kind;
    tag.store((tag.load(std::memory_order_relaxed) & ~kMsgKindMask) | static_cast<uint32_t>(kind),
              std::memory_order_release);
  }
  // The bytes of the extent at `block`, from its first.
  unsigned char* Bytes(uint32_t block) const { return q_.BlockAt<unsigned char>(block); }

  // A record's `next`, which the two sides share (msg_region.h).
  uint32_t NextOf(uint32_t block) const {
    return AtomicRef<uint32_t>(Record(block)->next).load(std::memory_order_acquire);
  }
  void SetNext(uint32_t block, uint32_t next) {
    AtomicRef<uint32_t>(Record(block)->next).store(next, std::memory_order_release);
  }

  // The first block of a free extent of `want` blocks (its tag kFree with
  // that run), or kMsgNoBlock (send_lock held). With `at_least` below
  // `want`, the first free run of `at_least` blocks or more does, cut to
  // `want`; `*got` says how long it is.
  //
  // Runs are handed out in ring order over [0, bump), from `alloc_cursor`
  // on (always an extent's first block): a stream's messages then lie one
  // after the other, and a run is free exactly when its tag says so, with
  // no list for the two sides to share: a receiver frees a message by one
  // store, which is also the last it makes to it. Adjacent free runs are
  // joined as the search meets them (only a send_lock holder joins, see
  // msg_region.h). When the kMsgAllocScan extents after the cursor have no
  // run long enough, the ring grows into never-used blocks, so that it
  // stays about as large as what the queue holds. Only an arena used up to
  // its end is searched further, whole, and only by a holder of both locks.
  uint32_t Alloc(uint32_t want = 1, uint32_t at_least = 0, uint32_t* got = nullptr) {
    if (at_least == 0 || at_least > want) at_least = want;
    const uint32_t bump = std::min(h_.bump.load(std::memory_order_relaxed), limit_);
    uint32_t cursor = h_.alloc_cursor;
    uint32_t run = 0;
    auto search = [&](uint32_t extents) {
      for (uint32_t step = 0; step < extents; ++step) {
        if (cursor >= bump) cursor = 0;
        const uint32_t block = cursor;
        run = RunBelow(block, bump);
        if (Kind(block) == MsgBlockKind::kFree) {
          run = JoinFree(block, run, want, bump);
          if (run >= at_least) {
            const uint32_t free_run = run;
            run = std::min(run, want);
            Split(block, free_run, run);
            cursor = block + run;
            return block;
          }
        }
        cursor = block + run;
      }
      return kMsgNoBlock;
    };
    uint32_t block = search(std::min(kMsgAllocScan, bump));
    if (block == kMsgNoBlock && want <= limit_ - bump) {
      // The tag first, past `bump` where nobody reads it yet.
      SetTag(bump, MsgBlockKind::kFree, want);
      h_.bump.store(bump + want, std::memory_order_release);
      block = bump;
      run = want;
      cursor = bump + want;
    } else if (block == kMsgNoBlock && side_ == Side::kBoth) {
      block = search(bump);
    }
    h_.alloc_cursor = cursor;
    if (got != nullptr) *got = run;
    return block;
  }

  // Joins the free runs that follow the free run at `block` (of `run`
  // blocks) to it while it is shorter than `want`, up to `end`: one store.
  uint32_t JoinFree(uint32_t block, uint32_t run, uint32_t want, uint32_t end) {
    const uint32_t was = run;
    while (run < want && block + run < end && Kind(block + run) == MsgBlockKind::kFree) {
      run += RunBelow(block + run, end);
    }
    if (run != was) SetTag(block, MsgBlockKind::kFree, run);
    return run;
  }

  // Cuts the free run at `block` (of `have` blocks) to `run`: the rest's
  // tag first, inside the run where nobody reads it yet, then the shorter
  // run.
  void Split(uint32_t block, uint32_t have, uint32_t run) {
    if (have > run) SetTag(block + run, MsgBlockKind::kFree, have - run);
    SetTag(block, MsgBlockKind::kFree, run);
  }

  // Frees an extent, its whole run: its last store (a sender may take it at
  // once).
  void Free(uint32_t block) { SetKind(block, MsgBlockKind::kFree); }

  // --- Messages.

  // Writes a message as kPending (not sent yet). kMsgNoBlock, with nothing
  // written, when no free run was found, or (`*faulted` set) when the
  // caller's text faulted. Needs send_lock.
  //
  // One extent when a free run is long enough; else (a fragmented arena,
  // both locks held) the record alone and a chain of the free runs there
  // are, as many as the text needs.
  uint32_t WriteMessage(int64_t mtype, const MsgSource& source, bool* faulted) {
    const uint64_t want = ExtentBlocksFor(source.size);
    uint32_t head = want <= limit_ ? Alloc(static_cast<uint32_t>(want)) : kMsgNoBlock;
    if (head == kMsgNoBlock && side_ == Side::kBoth) head = Alloc(1);
    if (head == kMsgNoBlock) return kMsgNoBlock;
    SetKind(head, MsgBlockKind::kPending);
    MsgRecord* record = Record(head);
    record->data = kMsgNoBlock;
    record->mtype = mtype;
    record->size = static_cast<uint32_t>(source.size);
    record->blocks = 0;
    SetNext(head, kMsgNoBlock);  // `next` is only ever accessed atomically
    // The chain first, then the text: a caller's text is copied inside one
    // recovery window (MsgSource::access), which must not allocate.
    uint64_t left = source.size - std::min<uint64_t>(source.size, RecordExtentBytes(Run(head)));
    uint32_t* link = &record->data;
    while (left > 0) {
      uint32_t run = 0;
      const uint64_t need = std::min<uint64_t>(ChainBlocksFor(left), limit_);
      const uint32_t block = Alloc(static_cast<uint32_t>(need), 1, &run);
      if (block == kMsgNoBlock) {
        FreeMessage(head);
        return kMsgNoBlock;
      }
      SetKind(block, MsgBlockKind::kData);
      Data(block)->next = kMsgNoBlock;
      *link = block;
      link = &Data(block)->next;
      ++record->blocks;
      left -= std::min<uint64_t>(left, ChainExtentBytes(run));
    }
    struct Copy {
      Locked* locked;
      uint32_t head;
      const unsigned char* text;
      size_t size;
    } copy{this, head, static_cast<const unsigned char*>(source.text), source.size};
    auto body = [](void* context) {
      const Copy& c = *static_cast<const Copy*>(context);
      // Our own extents, just taken under the lock: a scribble since can
      // only make the chain invalid, which ends the copy (the message is
      // freed or rebuilt like any other with a bad chain).
      c.locked->ForEachPiece(c.head, c.size, [&](unsigned char* piece, size_t offset, size_t n) {
        std::memcpy(piece, c.text + offset, n);
      });
    };
    if (source.access == nullptr) {
      body(&copy);
    } else if (!source.access(body, &copy)) {
      FreeMessage(head);
      *faulted = true;
      return kMsgNoBlock;
    }
    record->seq = h_.next_seq++;
    return head;
  }

  // Calls `piece(bytes, offset, n)` for each stretch of the first `n` bytes
  // of message `head`'s payload, in order: the record's extent, then each
  // extent of its chain. False when the chain does not validate (nothing
  // past the last good extent is visited then).
  template <typename Piece>
  bool ForEachPiece(uint32_t head, size_t n, Piece piece) {
    const MsgRecord* record = Record(head);
    if (n > record->size) return false;
    size_t offset = std::min<uint64_t>(n, RecordExtentBytes(Run(head)));
    if (offset > 0) piece(Bytes(head) + offsetof(MsgRecord, inline_data), 0, offset);
    uint32_t block = record->data;
    for (uint32_t i = 0; offset < n; ++i) {
      if (i >= record->blocks || !Valid(block) || Kind(block) != MsgBlockKind::kData) return false;
      const size_t chunk = std::min<uint64_t>(n - offset, ChainExtentBytes(Run(block)));
      piece(Bytes(block) + offsetof(MsgData, bytes), offset, chunk);
      offset += chunk;
      block = Data(block)->next;
    }
    return true;
  }

  // Copies the first `n` bytes of message `head` into `out`. False when its
  // chain does not validate.
  bool CopyPayload(uint32_t head, size_t n, std::vector<uint8_t>* out) {
    if (n > Record(head)->size) return false;
    out->resize(n);
    return ForEachPiece(head, n, [&](const unsigned char* piece, size_t offset, size_t chunk) {
      std::memcpy(out->data() + offset, piece, chunk);
    });
  }

  // What Deliver() did.
  enum class Delivery { kDone, kBadChain, kFault };
  // Stores the first `n` bytes of message `head` and its type where
  // `target` says. kBadChain when the chain does not validate; kFault when
  // the caller's buffer faulted (a part may be written, as the kernel's
  // store_msg() may leave it).
  Delivery Deliver(uint32_t head, size_t n, const Target& target) {
    if (target.sink == nullptr) {
      if (!CopyPayload(head, n, target.payload)) return Delivery::kBadChain;
      *target.mtype = Record(head)->mtype;
      return Delivery::kDone;
    }
    // The chain is checked as it is copied, not in a pass of its own first
    // (which walks it twice): a chain that does not validate, which only a
    // writer's scribble makes, may leave part of a message in the caller's
    // buffer of a call that then fails or takes another one.
    if (n > Record(head)->size) return Delivery::kBadChain;
    struct Copy {
      Locked* locked;
      uint32_t head;
      size_t n;
      const MsgSink* sink;
      bool chain_ok;
    } copy{this, head, n, target.sink, true};
    auto body = [](void* context) {
      Copy& c = *static_cast<Copy*>(context);
      const int64_t mtype = c.locked->Record(c.head)->mtype;
      std::memcpy(c.sink->type, &mtype, sizeof(mtype));
      unsigned char* text = static_cast<unsigned char*>(c.sink->text);
      c.chain_ok = c.locked->ForEachPiece(c.head, c.n, [&](const unsigned char* piece, size_t offset, size_t n) {
        CopyOutByPages(text + offset, piece, n);
      });
    };
    if (!target.sink->access(body, &copy)) return Delivery::kFault;
    return copy.chain_ok ? Delivery::kDone : Delivery::kBadChain;
  }

  // A memcpy into a caller's buffer that may fault, cut where the buffer's
  // pages may begin: every byte before the page that faults is written
  // when the fault stops the copy, as the kernel's copy_to_user() leaves
  // them (one memcpy of the whole may store its end, or its start, last).
  // 4 KiB is the smallest page size anywhere we run.
  static void CopyOutByPages(unsigned char* to, const unsigned char* from, size_t n) {
    constexpr uintptr_t kPage = 4096;
    while (n > 0) {
      const size_t room = kPage - (reinterpret_cast<uintptr_t>(to) & (kPage - 1));
      const size_t chunk = std::min(n, room);
      std::memcpy(to, from, chunk);
      to += chunk;
      from += chunk;
      n -= chunk;
    }
  }

  // Frees a message's chain: `extents` of them from `block` on.
  void FreeChain(uint32_t block, uint32_t extents) {
    for (uint32_t i = 0; i < extents && Valid(block) && Kind(block) == MsgBlockKind::kData; ++i) {
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
    const uint32_t dummy = h_.msg_head;
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
  // The rest of its extent is freed with it: the tag of the rest first,
  // inside the extent where nobody reads it yet, then the record's, which
  // makes it a one-block dummy (msg_region.h, "Extents").
  void TakeFirst(uint32_t dummy, uint32_t first) {
    const MsgRecord* record = Record(first);
    const uint32_t data = record->data;
    const uint32_t blocks = record->blocks;
    const uint32_t size = record->size;
    const uint32_t run = Run(first);
    if (run > 1) SetTag(first + 1, MsgBlockKind::kFree, run - 1);
    SetTag(first, MsgBlockKind::kDummy, 1);  // received
    h_.msg_head = first;
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
    // The whole list was walked: it must end at the tail and hold what the
    // counters say (a scribbled link could cut messages off it).
    const uint64_t queued =
        h_.sent_count.load(std::memory_order_relaxed) - h_.recv_count.load(std::memory_order_relaxed);
    if (before != h_.msg_tail || steps != queued) {
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
          StampReceive(receiver->pid);
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

  // IPC_STAT's msg_lspid and msg_stime after a send by `pid`; msg_lrpid and
  // msg_rtime after a receive.
  void StampSend(int32_t pid) {
    StoreIfChanged(h_.lspid, pid);
    StoreIfChanged(h_.stime, q_.platform_->now_seconds());
  }
  void StampReceive(int32_t pid) {
    StoreIfChanged(h_.lrpid, pid);
    StoreIfChanged(h_.rtime, q_.platform_->now_seconds());
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
    if (MsgQueue::BumpSpace(h_)) WakeAfter(&h_.space_seq, INT_MAX);
  }

  // The same, whoever waits: for IPC_SET, IPC_RMID and a rebuild (which may
  // follow a scribble of the marks).
  void ForceSpace() {
    MsgQueue::BumpSpace(h_);
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
  LockResult Acquire(void* lock, const std::atomic<uint32_t>& busy) {
    const RegionPlatform& platform = *q_.platform_;
    LockResult result = platform.TryLock(lock);
    // The daemon never waits, not even a spin's worth.
    for (int i = 0; result == LockResult::kTimedOut && platform.waits_for_locks && i < kMsgLockSpin; ++i) {
      CpuRelax();
      if (busy.load(std::memory_order_relaxed) == 0) result = platform.TryLock(lock);
    }
    if (result == LockResult::kTimedOut) {
      if (platform.waits_for_locks) {
        result = platform.WaitForLock(lock, wait_, &error_);
      } else {
        error_ = RegionPlatform::kLockBusy;
      }
    }
    if (result == LockResult::kCorrupt) error_ = EIDRM;
    return result;
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
    // A rebuild that fails (no block left for the dummy) keeps the one-lock
    // paths out until one succeeds.
    if ((died || h_.repair.load(std::memory_order_acquire) != 0 || !Consistent()) && !Rebuild()) RequestRepair();
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

  // A receiver list's end or link: none, or a waiting receiver's record.
  bool ReceiverLinkable(uint32_t block) {
    return block == kMsgNoBlock || (Valid(block) && Kind(block) == MsgBlockKind::kReceiver);
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
    const uint64_t queued =
        h_.sent_count.load(std::memory_order_relaxed) - h_.recv_count.load(std::memory_order_relaxed);
    return h_.bump.load(std::memory_order_relaxed) <= limit_ && Valid(h_.msg_head) &&
           Valid(h_.msg_tail) && end_ok(h_.recv_head) && end_ok(h_.recv_tail) && queued <= limit_;
  }

  MsgQueue& q_;
  MsgQueueHeader& h_;
  const Side side_;
  const RegionPlatform::LockWait wait_;
  int error_ = 0;
  uint32_t limit_ = 0;
  uint32_t bump_seen_ = 0;
  bool held_ = false;
  bool broken_ = false;
  bool repaired_ = false;
  absl::InlinedVector<std::pair<const std::atomic<uint32_t>*, int>, 4> wakes_;
};

}  // namespace sysv::core

#endif  // SYSV_CORE_MSG_MSG_QUEUE_LOCKED_H_

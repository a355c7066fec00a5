#include "core/msg/msg_queue.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>

#include "core/atomic_ref.h"
#include "core/cpu_relax.h"
#include "core/deadline.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/msg/msg_queue_locked.h"
#include "core/msg/msg_search.h"

namespace sysv::core {
namespace {

// A spinner yields every kSpinsPerYield pauses (core/region_platform.h): a
// partner the scheduler queued on the spinner's own CPU (as it does after a
// wake-up from this CPU) then runs at once and answers within the spin,
// instead of after it, in a futex sleep. This is the pause after which a
// process whose partner shares its CPU yields.
constexpr int kEarlyYield = 1;

// What an operation that finds `removed` (MsgQueueHeader) not live
// returns: EIDRM, or kMsgMoved (it did nothing; the caller goes on in the
// new region). The check that calls these is the load of a header word
// every operation makes under its lock anyway: no cost while live.
int GoneError(uint32_t removed) { return removed == kMsgRegionMoved ? kMsgMoved : EIDRM; }
int64_t GoneResult(uint32_t removed) { return removed == kMsgRegionMoved ? kMsgMoved : -EIDRM; }

}  // namespace

template <typename Condition>
bool MsgQueue::SpinWhile(Condition waiting) {
  // Spinning pays only while the partner runs on another CPU. Each process
  // learns that per queue (SpinBudget): on one CPU (or with more waiters
  // than CPUs) the budget falls to almost nothing within a few dozen calls.
  //
  // A partner on this CPU answers only when this process yields. When the
  // last wait ended right after a yield, the next one yields at once instead
  // of after kSpinsPerYield pauses (a ping-pong whose two processes share a
  // CPU then makes no futex call, and spins for nothing); a wait that ends
  // while spinning (the partner runs elsewhere) turns that off again.
  const int budget = spin_budget_.Get();
  const bool early = yield_early_.load(std::memory_order_relaxed);
  bool yielded = false;  // the look about to be made follows a yield
  for (int i = 0; i < budget; ++i) {
    if (!waiting()) {
      spin_budget_.Hit();
      if (yielded != early) yield_early_.store(yielded, std::memory_order_relaxed);
      return true;
    }
    CpuRelax();
    yielded = platform_->yield != nullptr &&
              ((early && i == kEarlyYield) || (i & (kSpinsPerYield - 1)) == kSpinsPerYield - 1);
    if (yielded) platform_->yield();
  }
  spin_budget_.Miss();
  return false;
}

// Spinners that watch a side's line (sent_seq, the counters) look at it
// only while nobody holds that side's lock: every read of a line the holder
// is writing takes it away from the holder's CPU, and the holder writes it
// several times per critical section. The busy flags live on lines of
// their own, which a holder writes only as it locks and unlocks.
bool MsgQueue::SendBusy() const { return header_->send_busy.load(std::memory_order_relaxed) != 0; }

void MsgQueue::SpinUntilSent(uint32_t sent) {
  SpinWhile([&] { return SendBusy() || header_->sent_seq.load(std::memory_order_acquire) == sent; });
}

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

bool MsgQueue::BumpSpace(MsgQueueHeader& h) {
  constexpr uint32_t kMarks = MsgQueueHeader::kSpaceWatched | MsgQueueHeader::kSpaceSleepers;
  uint32_t space = h.space_seq.load(std::memory_order_relaxed);
  while (!h.space_seq.compare_exchange_weak(space, (space & ~kMarks) + MsgQueueHeader::kSpaceStep,
                                            std::memory_order_release, std::memory_order_relaxed)) {
  }
  return (space & MsgQueueHeader::kSpaceSleepers) != 0;
}

uint64_t MsgQueue::SignalEpoch() const { return platform_->SignalEpoch(); }

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

absl::Status MsgQueue::FormatHeader(void* base, uint32_t blocks, uint64_t qbytes, int64_t ctime,
                                    const RegionPlatform* platform) {
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
  header->msg_head = header->msg_tail = 0;
  platform->mutex.init(header->recv_lock);
  platform->mutex.init(header->send_lock);
  header->magic.store(MsgQueueHeader::kMagic, std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MsgQueue>> MsgQueue::Format(void* base, uint32_t blocks, uint64_t qbytes,
                                                           int64_t ctime, const RegionPlatform* platform,
                                                           CapacityCheck capacity) {
  if (absl::Status status = FormatHeader(base, blocks, qbytes, ctime, platform); !status.ok()) return status;
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
RegionPlatform::LockWait MsgQueue::CallWait(int msgflg, uint64_t since) const {
  return RegionPlatform::LockWait{Deadline::Infinite(), since, /*interruptible=*/true, (msgflg & kIpcNowait) != 0};
}

int MsgQueue::TrySendFast(int64_t mtype, const MsgSource& source, int32_t pid,
                          const RegionPlatform::LockWait& wait) {
  MsgQueueHeader& h = *header_;
  Locked locked(*this, Locked::Side::kSend, wait);
  if (!locked.held()) return kSlowPath;
  if (const uint32_t gone = h.removed.load(std::memory_order_acquire); gone != 0) return GoneError(gone);
  if (h.recv_head != kMsgNoBlock) return kSlowPath;
  // msg_fits_inqueue() with lower bounds of the received counts: a yes is
  // true now; a no is checked again with fresh ones, then by the slow path.
  const uint64_t qbytes = h.qbytes.load(std::memory_order_relaxed);
  const uint64_t sent = h.sent_count.load(std::memory_order_relaxed);
  const uint64_t sent_bytes = h.sent_bytes.load(std::memory_order_relaxed);
  auto fits = [&] {
    return source.size + (sent_bytes - seen_recv_bytes_.load(std::memory_order_relaxed)) <= qbytes &&
           1 + (sent - seen_recv_count_.load(std::memory_order_relaxed)) <= qbytes;
  };
  if (!fits()) {
    seen_recv_count_.store(h.recv_count.load(std::memory_order_acquire), std::memory_order_relaxed);
    seen_recv_bytes_.store(h.recv_bytes.load(std::memory_order_acquire), std::memory_order_relaxed);
    if (!fits()) return kSlowPath;
  }
  bool faulted = false;
  const uint32_t head = locked.WriteMessage(mtype, source, &faulted);
  if (faulted) return EFAULT;
  if (head == kMsgNoBlock) return kSlowPath;  // the slow path looks further
  locked.StampSend(pid);
  locked.SetKind(head, MsgBlockKind::kMessage);  // sent
  locked.CountSent(source.size);
  // A list that would not take it: the message is sent all the same
  // (committed), and the rebuild links it.
  if (!locked.Append(head)) locked.RequestRepair();
  locked.NoteSent();
  return 0;
}

// msgrcv of the first message (msgtyp 0, no MSG_COPY) under recv_lock
// alone. An empty queue, or one that does not validate, needs both locks.
int64_t MsgQueue::TryReceiveFast(int msgflg, uint64_t bufsz, int32_t pid, const RegionPlatform::LockWait& wait,
                                 const Target& target) {
  MsgQueueHeader& h = *header_;
  Locked locked(*this, Locked::Side::kReceive, wait);
  if (!locked.held()) return kSlowPath;
  if (const uint32_t gone = h.removed.load(std::memory_order_acquire); gone != 0) return GoneResult(gone);
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
  const Locked::Delivery delivery = locked.Deliver(first, n, target);
  if (delivery == Locked::Delivery::kBadChain) {
    locked.RequestRepair();
    return kSlowPath;
  }
  // A fault in the caller's buffer: taken all the same (store_msg() after
  // the message left the queue).
  locked.TakeFirst(dummy, first);
  locked.StampReceive(pid);
  locked.NoteSpace();
  return delivery == Locked::Delivery::kFault ? -EFAULT : static_cast<int64_t>(n);
}

int MsgQueue::SendFrom(int64_t mtype, MsgSource* text, int msgflg, int32_t pid, uint64_t since) {
  MsgQueueHeader& h = *header_;
  MsgSource& source = *text;
  bool spun = false;
  // A blocking sender that sees the queue full without a lock spins for
  // room before it locks (as Receive() does for a message): a producer
  // ahead of its consumer would otherwise lock twice per message, once
  // only to find the queue full. Every decision is still made under the
  // locks, where the same test is msg_fits_inqueue().
  //
  // A sender that waits for room waits for a quarter of the queue
  // (`until_quarter_free`): the receiver then runs through a stretch of
  // messages without the sender's every look taking its counters' line
  // away, and the sender refills it in one go.
  auto looks_full = [&](bool until_quarter_free) {
    const uint64_t qbytes = h.qbytes.load(std::memory_order_relaxed);
    uint64_t qnum = 0;
    uint64_t cbytes = 0;
    ReadCounts(&qnum, &cbytes);
    const uint64_t high = qbytes - qbytes / 4;
    return source.size + cbytes > qbytes || 1 + qnum > qbytes ||
           (until_quarter_free && (cbytes > high || qnum > high));
  };
  const RegionPlatform::LockWait wait = CallWait(msgflg, since);
  for (;;) {
    if (const int fast = TrySendFast(mtype, source, pid, wait); fast != kSlowPath) return fast;
    if (!spun && !(msgflg & kIpcNowait) && looks_full(false)) {
      spun = true;
      SpinWhile([&] { return looks_full(true); });
      continue;
    }
    Locked locked(*this, Locked::Side::kBoth, wait);
    if (!locked.held()) return locked.error();
    if (const uint32_t gone = h.removed.load(std::memory_order_acquire); gone != 0) return GoneError(gone);
    // msg_fits_inqueue(), and room in the arena (which only runs short of
    // it while handed messages wait for their receivers).
    const bool fits = !looks_full(false);
    uint32_t head = kMsgNoBlock;
    if (fits) {
      bool faulted = false;
      head = locked.WriteMessage(mtype, source, &faulted);
      // No free block although the message fits: handed messages and
      // waiter records hold the spare blocks, or a scribble lost some,
      // which a rebuild finds again. Else it waits as for a full queue.
      if (head == kMsgNoBlock && !faulted && locked.RepairOnce()) head = locked.WriteMessage(mtype, source, &faulted);
      if (faulted) return EFAULT;
    }
    if (head != kMsgNoBlock) {
      locked.StampSend(pid);
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
    // The text is read before the call sleeps (MsgSource::keep).
    if (source.access != nullptr) {
      source.keep->resize(source.size);
      struct Keep {
        void* dst;
        const void* src;
        size_t size;
      } keep{source.keep->data(), source.text, source.size};
      if (!source.access([](void* context) {
            const Keep& k = *static_cast<const Keep*>(context);
            std::memcpy(k.dst, k.src, k.size);
          }, &keep)) {
        return EFAULT;
      }
      source = MsgSource{source.keep->data(), source.size};
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
    const WaitResult result = platform_->Sleep(&h.space_seq, space, Deadline::Infinite(), since);
    // Our record is in the arena: this lock is waited for until had (the
    // default LockWait), so that the record never outlives the call.
    Locked relocked(*this, Locked::Side::kBoth);
    if (relocked.held() && relocked.Valid(record) && relocked.Kind(record) == MsgBlockKind::kSender &&
        relocked.Sender(record)->pid == pid) {
      relocked.Free(record);
      relocked.DropWaiter();
    }
    if (const uint32_t gone = h.removed.load(std::memory_order_acquire); gone != 0) return GoneError(gone);
    if (result == WaitResult::kInterrupted) return EINTR;
    return kMsgRecheck;
  }
}

int64_t MsgQueue::Receive(int64_t msgtyp, int msgflg, uint64_t bufsz, uint64_t msgmax, int32_t pid,
                          uint64_t since, const Target& target, uint32_t* queued, MsgResume* resume) {
  MsgQueueHeader& h = *header_;
  const uint32_t mode = ConvertMode(&msgtyp, msgflg);
  const bool takes_first = mode == kSearchAny;
  // A served receive never spins: the daemon waits for nobody.
  bool spun = queued != nullptr;
  uint32_t record = kMsgNoBlock;
  // A blocking receiver that sees the queue empty without a lock spins for
  // a send before it takes both locks: taking them only to find nothing,
  // then again for the message, would stall a producer the consumer keeps
  // up with. A receiver of the first message tries again whenever the spin
  // sees a message, and goes on to wait as a registered receiver only after
  // a spin that saw none. Only a shortcut to the spin it would do anyway:
  // every decision is made under the locks.
  const RegionPlatform::LockWait wait = CallWait(msgflg, since);
  for (;;) {
    if (takes_first) {
      const int64_t fast = TryReceiveFast(msgflg, bufsz, pid, wait, target);
      if (fast != kSlowPath) return fast;
    }
    if (!spun && !(msgflg & kIpcNowait) && LooksEmpty()) {
      if (takes_first) {
        if (SpinWhile([&] { return LooksEmpty(); })) continue;
        spun = true;
      } else {
        spun = true;
        const uint32_t sent = h.sent_seq.load(std::memory_order_acquire);
        if (LooksEmpty()) SpinUntilSent(sent);
      }
    }
    Locked locked(*this, Locked::Side::kBoth, wait);
    // A receiver that may not wait and cannot look finds no message.
    if (!locked.held()) return locked.error() == EAGAIN && (msgflg & kIpcNowait) ? -ENOMSG : -locked.error();
    if (const uint32_t gone = h.removed.load(std::memory_order_acquire); gone != 0) return GoneResult(gone);
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
      const bool copy = (msgflg & kMsgCopy) != 0;
      // copy_msg() into a buffer of min(bufsz, MSGMAX) bytes.
      if (copy && message->size > std::min(bufsz, msgmax)) return -EINVAL;
      const Locked::Delivery delivery = locked.Deliver(found, n, target);
      if (delivery == Locked::Delivery::kBadChain) {
        if (!locked.RepairOnce()) return -EIDRM;
        continue;
      }
      const int64_t result = delivery == Locked::Delivery::kFault ? -EFAULT : static_cast<int64_t>(n);
      if (copy) return result;  // MSG_COPY leaves it queued
      // A fault in the caller's buffer: taken all the same, as in
      // TryReceiveFast().
      locked.UnlinkMessage(prev, found);
      locked.CountReceived(message->size);
      locked.StampReceive(pid);
      locked.FreeMessage(found);
      locked.NoteSpace();
      return result;
    }
    if (msgflg & kIpcNowait) return -ENOMSG;
    if (!spun) {
      spun = true;
      const uint32_t sent = h.sent_seq.load(std::memory_order_acquire);
      locked.Unlock();
      SpinUntilSent(sent);
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
    // A served receiver sleeps without telling: every decision wakes it.
    if (queued != nullptr) receiver->sleeping.store(1, std::memory_order_relaxed);
    locked.SetKind(record, MsgBlockKind::kReceiver);
    if (!locked.LinkReceiverAtTail(record)) {
      // The rebuild finds our record (we are alive and waiting) and links it.
      if (!locked.RepairOnce()) return -EIDRM;
    } else {
      locked.AddWaiter();
    }
    break;
  }
  if (queued != nullptr) {
    *queued = record;
    return kMsgQueued;
  }

  // Sleep until decided, a signal, or removal.
  MsgReceiver* receiver = BlockAt<MsgReceiver>(record);
  SpinWhile([&] { return receiver->status.load(std::memory_order_acquire) == kMsgWaiting; });
  uint32_t status = receiver->status.load(std::memory_order_acquire);
  bool interrupted = false;
  if (status == kMsgWaiting) {
    receiver->sleeping.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // MSG_BARRIER_SLEEP
    while ((status = receiver->status.load(std::memory_order_acquire)) == kMsgWaiting) {
      if (platform_->Sleep(&receiver->status, kMsgWaiting, Deadline::Infinite(), since) == WaitResult::kInterrupted) {
        interrupted = true;
        break;
      }
    }
  }
  if (status == EIDRM) return -EIDRM;  // the queue is gone; nothing to free
  const int64_t result = FinishReceive(record, pid, interrupted, bufsz, target);
  // Moved while we slept: our record is at the same block in the new region
  // (MoveTo() decided it kMsgRetry there, or a sender has handed it a
  // message since), where the caller ends the wait.
  if (result == kMsgMoved && resume != nullptr) *resume = MsgResume{record, interrupted};
  return result;
}

int64_t MsgQueue::FinishReceive(uint32_t record, int32_t pid, bool interrupted, uint64_t bufsz,
                                const Target& target) {
  MsgQueueHeader& h = *header_;
  // As for a sender's record: waited for until had (a client's own
  // record never outlives its call); the daemon never waits.
  Locked locked(*this, Locked::Side::kBoth);
  if (!locked.held()) return locked.error() == RegionPlatform::kLockBusy ? -RegionPlatform::kLockBusy : -EIDRM;
  if (const uint32_t gone = h.removed.load(std::memory_order_acquire); gone != 0) return GoneResult(gone);
  if (!locked.Valid(record) || locked.Kind(record) != MsgBlockKind::kReceiver || locked.Receiver(record)->pid != pid) {
    return -EIDRM;  // our record was scribbled over
  }
  MsgReceiver* receiver = locked.Receiver(record);
  const uint32_t status = receiver->status.load(std::memory_order_acquire);
  int64_t result = kMsgRecheck;
  if (status == 0) {
    const uint32_t message = receiver->message;
    if (locked.Valid(message) && locked.Kind(message) == MsgBlockKind::kHanded) {
      const MsgRecord* record_of = locked.Record(message);
      const size_t n = std::min<uint64_t>(bufsz, record_of->size);
      // A chain that does not validate loses the message (kMsgRecheck:
      // look again); a fault in the caller's buffer, after it was handed,
      // is the kernel's EFAULT.
      switch (locked.Deliver(message, n, target)) {
        case Locked::Delivery::kDone:
          result = static_cast<int64_t>(n);
          break;
        case Locked::Delivery::kFault:
          result = -EFAULT;
          break;
        case Locked::Delivery::kBadChain:
          break;
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
  h.removed.store(kMsgRegionRemoved, std::memory_order_release);
  {
    Locked locked(*this, Locked::Side::kBoth);
    if (locked.held()) {
      locked.DecideAllWaiting(EIDRM);  // expunge_all(-EIDRM)
    } else {
      // A stuck or broken lock: find the receivers by their records. Only
      // atomics are touched, and only inside the checked arena. (A record
      // freed and reused as a message between the look and the store would
      // take EIDRM into its `data`: harmless, as nothing reads a removed
      // queue's messages again.)
      // The walk of the extents may meet a run a holder is changing and
      // land inside one: then it only writes a removed queue's payload.
      ForEachExtent(arena_, UsedCheckedBlocks(), [&](uint32_t block, uint32_t tag) {
        if (MsgTagKind(tag) != MsgBlockKind::kReceiver) return true;
        auto* receiver = BlockAt<MsgReceiver>(block);
        uint32_t status = receiver->status.load(std::memory_order_relaxed);
        while (IsWaiting(status) &&
               !receiver->status.compare_exchange_weak(status, EIDRM, std::memory_order_release)) {
        }
        platform_->waiter.wake(&receiver->status, 1);
        return true;
      });
    }
  }
  BumpSpace(h);
  platform_->waiter.wake(&h.space_seq, INT_MAX);
}

bool MsgQueue::MoveTo(void* to, uint32_t blocks, uint64_t qbytes, int64_t ctime) {
  MsgQueueHeader& h = *header_;
  {
    // The same lock every client takes: nobody is inside an operation
    // while the copy is made, and one killed inside one left it owner-dead
    // (the Locked constructor repaired the derived state then).
    Locked locked(*this, Locked::Side::kBoth);
    if (!locked.held()) return false;
    h.qbytes.store(qbytes, std::memory_order_relaxed);
    h.ctime.store(ctime, std::memory_order_relaxed);
    // expunge_all(-EAGAIN) before the copy, so that the new region's
    // records say it too: a receiver woken here ends its wait there.
    locked.DecideAllWaiting(kMsgRetry);
    // Blocks [bump, arena) were never used: the new region's zeros are the
    // same free blocks, and stay unallocated.
    const uint32_t used = UsedCheckedBlocks();
    std::memcpy(to, static_cast<const void*>(header_), FileSize(used));
    auto* moved = static_cast<MsgQueueHeader*>(to);
    // Fresh locks: the copy of ours names this holder.
    platform_->mutex.init(moved->recv_lock);
    platform_->mutex.init(moved->send_lock);
    moved->send_busy.store(0, std::memory_order_relaxed);
    moved->recv_busy.store(0, std::memory_order_relaxed);
    moved->bump.store(used, std::memory_order_relaxed);
    moved->arena_blocks.store(blocks, std::memory_order_relaxed);
    // Every sender is woken below and starts again (ss_wakeup(): senders
    // look again after IPC_SET); a sender that slept drops its record here,
    // so its copy would stay behind.
    auto* arena = static_cast<unsigned char*>(to) + sizeof(MsgQueueHeader);
    uint32_t senders = 0;
    ForEachExtent(arena, used, [&](uint32_t block, uint32_t tag) {
      if (MsgTagKind(tag) != MsgBlockKind::kSender) return true;
      auto* sender = reinterpret_cast<MsgSender*>(arena + static_cast<size_t>(block) * kMsgBlockSize);
      sender->kind.store(MsgTag(MsgBlockKind::kFree, MsgTagRun(tag)), std::memory_order_relaxed);
      ++senders;
      return true;
    });
    const uint32_t waiters = moved->waiters.load(std::memory_order_relaxed);
    moved->waiters.store(waiters - std::min(waiters, senders), std::memory_order_relaxed);
    BumpSpace(*moved);
    // Last, under the locks: whoever takes one from now on finds the mark.
    h.removed.store(kMsgRegionMoved, std::memory_order_release);
    locked.ForceSpace();  // wakes the senders here, after the unlock
  }
  return true;
}

// The counters, not the dummy's `next`: a block read without the lock may
// have been freed and reused meanwhile, and written without atomics.
bool MsgQueue::LooksEmpty() const {
  return header_->sent_count.load(std::memory_order_acquire) ==
         header_->recv_count.load(std::memory_order_relaxed);
}

uint32_t MsgQueue::UsedCheckedBlocks() const {
  return std::min(header_->bump.load(std::memory_order_relaxed), checked_blocks_.load(std::memory_order_relaxed));
}

bool MsgQueue::MayHaveRecordsOf(int32_t pid) const {
  // A dead process's records were written before it died and nobody but
  // a holder of both locks removes them, so a look without the locks cannot
  // miss them (it may see a live process's record come or go: then the
  // locked pass decides). Only atomics are read, and only inside the
  // checked arena.
  // The walk of the extents may meet a run a sender is changing and land
  // inside one: then a false yes only costs the locked pass.
  bool found = false;
  ForEachExtent(arena_, UsedCheckedBlocks(), [&](uint32_t block, uint32_t tag) {
    const MsgBlockKind kind = MsgTagKind(tag);
    if (kind != MsgBlockKind::kReceiver && kind != MsgBlockKind::kSender) return true;
    // MsgReceiver and MsgSender keep `pid` at the same offset.
    found = AtomicRef<int32_t>(BlockAt<MsgSender>(block)->pid).load(std::memory_order_relaxed) == pid;
    return !found;
  });
  return found;
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
  bool repaired = false;
  ForEachExtent(arena_, UsedCheckedBlocks(), [&](uint32_t block, uint32_t tag) {
    const MsgBlockKind kind = MsgTagKind(tag);
    if (kind == MsgBlockKind::kSender && locked.Sender(block)->pid == pid) {
      locked.Free(block);
      locked.DropWaiter();
      return true;
    }
    if (kind != MsgBlockKind::kReceiver || locked.Receiver(block)->pid != pid) return true;
    MsgReceiver* receiver = locked.Receiver(block);
    const uint32_t status = receiver->status.load(std::memory_order_acquire);
    const uint32_t message = receiver->message;
    if (IsWaiting(status) && !locked.UnlinkReceiver(block)) {
      locked.RepairOnce();  // drops this dead process's records itself
      repaired = true;
      return false;  // the rebuild drew the extents anew
    }
    locked.Free(block);
    locked.DropWaiter();
    // A message handed to it that it never took is not lost: it goes to the
    // next receiver that wants it, or back into the queue.
    if (status == 0 && locked.Valid(message) && locked.Kind(message) == MsgBlockKind::kHanded) {
      if (!locked.HandToReceiver(message)) locked.Enqueue(message);
      locked.NoteSent();
    }
    return true;
  });
  if (!repaired && locked.broken()) locked.RepairOnce();
}

}  // namespace sysv::core

// Message queue operations on a queue's mapped region: msgsnd and msgrcv,
// run by clients; msg_qbytes changes, removal and the exit-time cleanup of
// dead processes, run by the daemon.
//
// User space visible behavior (as Linux ipc/msg.c since 4.x):
//   - A message fits when msg_cbytes + its size <= msg_qbytes and
//     msg_qnum + 1 <= msg_qbytes (msg_fits_inqueue()); otherwise msgsnd
//     waits for room (EAGAIN with IPC_NOWAIT).
//   - msgsnd hands a message straight to the first waiting receiver that
//     wants it (pipelined_send()): it never enters the queue, qnum and
//     cbytes never count it, and msg_lrpid/msg_rtime are the receiver's. A
//     waiting receiver whose buffer is too small (and no MSG_NOERROR) is
//     woken with E2BIG and the next one is tried.
//   - msgrcv: msgtyp 0 takes the first message, > 0 the first of that type
//     (MSG_EXCEPT: of any other type), < 0 the first of the lowest type
//     <= |msgtyp|; MSG_COPY copies the message at position msgtyp without
//     removing it. A message larger than the buffer gives E2BIG unless
//     MSG_NOERROR truncates it.
//   - IPC_RMID wakes every waiter with EIDRM; IPC_SET wakes receivers to
//     look again (their permissions may have changed) and senders (the
//     queue may have grown). A signal handler interrupts a wait with EINTR;
//     a receiver that was handed a message before it noticed the signal
//     returns the message, as the kernel's does.
//
// Internals: the file comment of core/msg/msg_region.h (layout, crash
// consistency, untrusted input). Waiters spin briefly before they sleep: a
// partner on another CPU usually acts within microseconds, and a futex sleep
// and wake-up costs more than that.
//
// Costs (a stream of small messages between two processes on two CPUs is
// bound by the cache lines that move between the CPUs per message, and by
// system calls): the steady state of a stream makes no system call, and
// its producer and consumer never wait for each other. A msgsnd while no
// receiver waits and a msgrcv of the first message take one lock each,
// their side's (msg_region.h says when exactly); every other operation
// takes both. Locks are taken with a try-lock and a spin before a sleep in
// the mutex; a receiver that sees the queue empty, and a sender that sees
// it full, spin without a lock until it is worth taking (a sender until a
// quarter of the queue is free, so that its looks do not take the
// receiver's counters away after every message); senders mark
// `space_seq` before they wait, so that receivers write it and wake it only
// when someone waits; IPC_STAT's times and pids are stored only when they
// change; a sender checks msg_fits_inqueue() against the receive side's
// counters as it last read them, which can only overstate the queue, and
// reads them again only when that says full.
//
// Locking: every function takes the region's locks itself and releases
// them before returning; none may be called with one held. Wake-ups happen
// after the locks are dropped.
#ifndef SYSV_CORE_MSG_MSG_QUEUE_H_
#define SYSV_CORE_MSG_MSG_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/msg/msg_region.h"
#include "core/region_platform.h"
#include "core/spin_budget.h"

namespace sysv::core {

// msgrcv flags (include/uapi/linux/msg.h) and IPC_NOWAIT.
inline constexpr int kMsgNoError = 010000;
inline constexpr int kMsgExcept = 020000;
inline constexpr int kMsgCopy = 040000;

// Not an errno: the operation slept and was woken to look again. The caller
// repeats its permission checks and calls again, as the kernel's loops do.
inline constexpr int kMsgRecheck = -100000;
// Not an errno: a served receiver was queued (MsgQueue::Receive's `queued`).
inline constexpr int kMsgQueued = -100001;
// Not an errno: the queue moved to a bigger region (kMsgRegionMoved). The
// call did nothing here; the caller maps the region the daemon hands out
// now and calls again there (with MsgResume, see Receive()).
inline constexpr int kMsgMoved = -100002;

// A receiver that slept when its queue moved: its record, at the same
// block in the new region, where FinishReceive() ends its wait.
struct MsgResume {
  uint32_t record = kMsgNoBlock;
  bool interrupted = false;
};

// Runs `body(context)`, which reads or writes the caller's memory, and
// returns false when one of its accesses faulted (the body then stopped at
// that access). A client supplies one that catches the fault
// (compat/fault_safe_copy.h); core/ cannot catch one itself.
using CallerAccess = bool (*)(void (*body)(void* context), void* context);

// msgsnd's text, read from the caller's memory straight into the region
// under the queue's lock: one copy, as the kernel's load_msg() makes,
// instead of one into a private buffer and one out of it (issue #14: four
// copies per 8 KiB message, send and receive, made libsysv 0.72x the
// kernel).
struct MsgSource {
  const void* text = nullptr;
  size_t size = 0;
  // Null: the text is known to be readable (a private buffer).
  CallerAccess access = nullptr;
  // Where the text is copied before the sender sleeps for room: the kernel
  // reads it once, before it sleeps, so a buffer the program rewrites while
  // the call sleeps must not change what it sends (and Send() then points
  // the source at this copy). Required with `access`.
  std::vector<uint8_t>* keep = nullptr;
};

// msgrcv's buffer (struct msgbuf): the type (8 bytes) at `type`, the text
// at `text`, written under the queue's lock, the type first, as the
// kernel's do_msg_fill() (one copy instead of two through a private
// buffer).
struct MsgSink {
  void* type = nullptr;
  void* text = nullptr;
  CallerAccess access = nullptr;  // required
};

class MsgQueue {
 public:
  // Whether the region's file really holds `bytes` bytes (a client fstat()s
  // its descriptor; a scribbled `arena_blocks` must not make anyone touch
  // pages past the end of the file).
  struct CapacityCheck {
    bool (*holds)(const void* context, uint64_t bytes) = nullptr;
    const void* context = nullptr;
  };

  // Blocks an arena needs for msg_qbytes = `qbytes` (the worst case of
  // msg_fits_inqueue(), plus kMsgExtraBlocks), at most kMsgMaxArenaBlocks.
  static uint32_t BlocksFor(uint64_t qbytes);
  // Bytes of a region file with `blocks` arena blocks.
  static size_t FileSize(uint32_t blocks);
  // Bytes every process maps: room for the largest arena.
  static size_t MappingSize() { return FileSize(kMsgMaxArenaBlocks); }

  // Formats a new region of FileSize(blocks) bytes at `base` (mapped with
  // MappingSize() bytes): empty, msg_qbytes = `qbytes`, msg_ctime = `ctime`.
  static absl::StatusOr<std::unique_ptr<MsgQueue>> Format(void* base, uint32_t blocks, uint64_t qbytes,
                                                          int64_t ctime, const RegionPlatform* platform,
                                                          CapacityCheck capacity);
  // Bytes FormatHeader writes: the header and the first (dummy) block.
  static size_t FormattedBytes() { return FileSize(1); }
  // Writes what Format writes, into `base`, FormattedBytes() bytes of zeros
  // aligned as a region is: a new queue's region written to its file
  // without mapping it (the daemon's create maps nothing). Results: OK;
  // EINVAL (`blocks` 0 or above kMsgMaxArenaBlocks).
  static absl::Status FormatHeader(void* base, uint32_t blocks, uint64_t qbytes, int64_t ctime,
                                   const RegionPlatform* platform);
  // Validates an existing region's header.
  static absl::StatusOr<std::unique_ptr<MsgQueue>> Open(void* base, const RegionPlatform* platform,
                                                        CapacityCheck capacity);

  MsgQueue(const MsgQueue&) = delete;
  MsgQueue& operator=(const MsgQueue&) = delete;

  // The signal epoch of the calling thread (RegionPlatform::signal_epoch):
  // read it when a msgsnd or msgrcv call starts and pass it to every
  // Send() or Receive() of that call, so that a handler run at any moment
  // of the call, even between two of them, ends it with EINTR.
  uint64_t SignalEpoch() const;

  // msgsnd, once the arguments and permissions are checked (msg_checks.h).
  // `payload` is the caller's private copy of mtext. Returns 0 or the errno:
  // EAGAIN (full, IPC_NOWAIT), EIDRM, EINTR, ENOMEM (no room for a waiter
  // record); or kMsgRecheck.
  int Send(int64_t mtype, absl::Span<const uint8_t> payload, int msgflg, int32_t pid, uint64_t since) {
    MsgSource source{payload.data(), payload.size()};
    return SendFrom(mtype, &source, msgflg, pid, since);
  }
  // The same from the caller's memory: also EFAULT when the text faults
  // (the call then changed nothing, as the kernel's, where load_msg()
  // comes before everything else the queue decides). Once the text was
  // kept (the sender slept), `*source` names the kept copy: pass it on to
  // the next Send() of the same call (after kMsgRecheck).
  int SendFrom(int64_t mtype, MsgSource* source, int msgflg, int32_t pid, uint64_t since);

  // msgrcv, once the arguments and permissions are checked. `msgmax` bounds
  // a MSG_COPY. On success returns the bytes stored in `*payload` (resized
  // to them) and the message's type in `*mtype`; else -errno: E2BIG, EIDRM,
  // EINTR, ENOMSG (IPC_NOWAIT), EINVAL (MSG_COPY of a message larger than
  // the copy buffer), ENOMEM; or kMsgRecheck.
  //
  // Served (the daemon runs it for a process with read permission only,
  // whose mapping is read-only): with `queued`, a receive that must wait
  // neither spins nor sleeps. It queues a receiver record for `pid`, in
  // arrival order with every other receiver (so that pipelined_send() and
  // the wake order are the kernel's whoever the receivers are), marked as
  // sleeping (its owner cannot write the mark; a decision always wakes its
  // status word), stores the record's block in `*queued` and returns
  // kMsgQueued. The process sleeps on ReceiverStatusOffset(*queued) and the
  // daemon then ends the wait with FinishReceive(). A busy lock gives
  // -RegionPlatform::kLockBusy on the daemon's platform.
  //
  // kMsgMoved: the queue moved (see kMsgMoved); a receiver that had queued
  // and slept stores its record in `*resume`, to end the wait with
  // FinishReceive() on the new region.
  int64_t Receive(int64_t msgtyp, int msgflg, uint64_t bufsz, uint64_t msgmax, int32_t pid, uint64_t since,
                  int64_t* mtype, std::vector<uint8_t>* payload, uint32_t* queued = nullptr,
                  MsgResume* resume = nullptr) {
    return Receive(msgtyp, msgflg, bufsz, msgmax, pid, since, Target{payload, mtype, nullptr}, queued, resume);
  }
  // The same into the caller's buffer (not with MSG_COPY, whose buffer the
  // kernel reads first): the message is written there under the lock, and
  // a fault gives -EFAULT after the message was taken, as the kernel's
  // store_msg() does.
  int64_t ReceiveInto(int64_t msgtyp, int msgflg, uint64_t bufsz, uint64_t msgmax, int32_t pid, uint64_t since,
                      const MsgSink& sink, MsgResume* resume = nullptr) {
    return Receive(msgtyp, msgflg, bufsz, msgmax, pid, since, Target{nullptr, nullptr, &sink}, nullptr, resume);
  }

  // The end of a wait as receiver record `record` of `pid`: a handed
  // message (returned as Receive() returns it, also after a signal, as the
  // kernel's), or the record leaves the queue: -EINTR when `interrupted`,
  // else kMsgRecheck (woken to look again); -E2BIG, -EIDRM as decided.
  // -EIDRM too when the record is not `pid`'s waiting receiver (scribbled,
  // or a served caller naming another's). -kLockBusy on the daemon's
  // platform when a lock is busy (nothing done: call again).
  int64_t FinishReceive(uint32_t record, int32_t pid, bool interrupted, uint64_t bufsz, int64_t* mtype,
                        std::vector<uint8_t>* payload) {
    return FinishReceive(record, pid, interrupted, bufsz, Target{payload, mtype, nullptr});
  }
  // The same into the caller's buffer (as ReceiveInto()).
  int64_t FinishReceiveInto(uint32_t record, int32_t pid, bool interrupted, uint64_t bufsz, const MsgSink& sink) {
    return FinishReceive(record, pid, interrupted, bufsz, Target{nullptr, nullptr, &sink});
  }
  // Where record `record`'s status word lies, from the region's start.
  static size_t ReceiverStatusOffset(uint32_t record) {
    return sizeof(MsgQueueHeader) + static_cast<size_t>(record) * kMsgBlockSize + offsetof(MsgReceiver, status);
  }

  // Daemon side.
  struct Stat {
    uint64_t qnum = 0;
    uint64_t cbytes = 0;
    uint64_t qbytes = 0;
    int64_t stime = 0;
    int64_t rtime = 0;
    int64_t ctime = 0;
    int32_t lspid = 0;
    int32_t lrpid = 0;
  };
  Stat ReadStat() const;
  // Whether the queue moved out of this region (kMsgRegionMoved): what
  // ReadStat() read here is as it was then.
  bool Moved() const { return header_->removed.load(std::memory_order_acquire) == kMsgRegionMoved; }
  void SetCTime(int64_t ctime);
  // IPC_SET: msg_qbytes := `qbytes` and the arena grows to `blocks` (the
  // file already holds them); receivers are woken to look again, senders to
  // try again.
  void SetQbytes(uint64_t qbytes, uint32_t blocks, int64_t ctime);
  // IPC_SET past the arena of a region that cannot grow: under both locks,
  // msg_qbytes := `qbytes`, receivers are decided kMsgRetry (as
  // SetQbytes(): they look again, and keep their place until they do), the
  // region is copied to `to` (FileSize(`blocks`) bytes of zeros, mapped
  // with MappingSize(); `blocks` more than this arena's) with fresh locks
  // and an arena of `blocks`, this region is marked kMsgRegionMoved, and
  // every sleeper here is woken (see msg_region.h, "Moving"). False when
  // the locks could not be had (the daemon's platform does not wait for
  // them): nothing was done.
  bool MoveTo(void* to, uint32_t blocks, uint64_t qbytes, int64_t ctime);
  // freeque(): every waiter gets EIDRM; later operations on a stale mapping
  // get EIDRM too.
  void Remove();
  // Drops the waiter records of a dead process; a message handed to a dead
  // receiver goes back into the queue, in its send order. `*busy` is set
  // when the lock could not be had in time (nothing was done; try later).
  void ProcessExited(int32_t pid, bool* busy);
  // Waiter records: the daemon skips idle queues at exit time.
  uint32_t Waiters() const;

 private:
  MsgQueue(MsgQueueHeader* header, unsigned char* arena, const RegionPlatform* platform, CapacityCheck capacity)
      : header_(header), arena_(arena), platform_(platform), capacity_(capacity) {}

  class Locked;  // one or both locks held, with the wake-ups to do after
  friend class Locked;

  // Where a received message goes: `payload` and `mtype`, or `sink`.
  struct Target {
    std::vector<uint8_t>* payload;
    int64_t* mtype;
    const MsgSink* sink;
  };
  int64_t Receive(int64_t msgtyp, int msgflg, uint64_t bufsz, uint64_t msgmax, int32_t pid, uint64_t since,
                  const Target& target, uint32_t* queued, MsgResume* resume);
  int64_t FinishReceive(uint32_t record, int32_t pid, bool interrupted, uint64_t bufsz, const Target& target);

  // The one-lock paths (msg_region.h). Each returns kSlowPath when the
  // operation needs both locks: it did nothing visible then.
  static constexpr int kSlowPath = INT32_MIN;
  int TrySendFast(int64_t mtype, const MsgSource& source, int32_t pid, const RegionPlatform::LockWait& wait);
  int64_t TryReceiveFast(int msgflg, uint64_t bufsz, int32_t pid, const RegionPlatform::LockWait& wait,
                         const Target& target);
  // How a call with `msgflg` and signal epoch `since` waits for a busy lock.
  RegionPlatform::LockWait CallWait(int msgflg, uint64_t since) const;

  // msg_qnum and msg_cbytes from the two sides' counters, without a lock.
  void ReadCounts(uint64_t* qnum, uint64_t* cbytes) const;

  // Changes `space_seq` and clears its waiter marks (msg_region.h); true
  // when a sender may sleep on it. With or without the locks.
  static bool BumpSpace(MsgQueueHeader& h);

  // Whether the list holds no message (no lock taken; a hint).
  bool LooksEmpty() const;

  // Arena block `block` seen as a T (no bounds check: the caller's).
  template <typename T>
  T* BlockAt(uint32_t block) const {
    return reinterpret_cast<T*>(arena_ + static_cast<size_t>(block) * kMsgBlockSize);
  }

  // Calls `visit(block, tag)` for each extent of `arena` below `end`, in
  // order, until it returns false, walking the partition by its run lengths
  // from block 0 (msg_region.h, "Extents"): payload is never taken for a
  // tag. A run that would pass `end` (only a scribble makes one) counts as
  // one block. `visit` may change the kind of the extent it is given, not
  // its run.
  template <typename Visit>
  static void ForEachExtent(unsigned char* arena, uint32_t end, Visit visit) {
    for (uint32_t block = 0; block < end;) {
      auto* tag = reinterpret_cast<std::atomic<uint32_t>*>(arena + size_t{block} * kMsgBlockSize);
      const uint32_t word = tag->load(std::memory_order_acquire);
      const uint32_t run = MsgTagRun(word);
      if (!visit(block, word)) return;
      block += run <= end - block ? run : 1;
    }
  }

  // The end of the blocks a scan without the locks looks at: used at least
  // once, and inside the checked file.
  uint32_t UsedCheckedBlocks() const;

  // Whether the arena may hold a waiter record of `pid` (no lock taken).
  bool MayHaveRecordsOf(int32_t pid) const;

  // Whether someone holds the send lock (a hint; see msg_region.h).
  bool SendBusy() const;

  // Spins while `waiting()` holds, for this process's current budget.
  // Returns whether the wait ended during the spin.
  template <typename Condition>
  bool SpinWhile(Condition waiting);

  // A receiver's spin for a send: until `sent_seq` differs from `sent` (its
  // value before the look that found nothing) and no sender holds the lock.
  void SpinUntilSent(uint32_t sent);

  MsgQueueHeader* header_;
  unsigned char* arena_;
  const RegionPlatform* platform_;
  CapacityCheck capacity_;
  // Blocks checked to be inside the file: every index is bounded by this.
  std::atomic<uint32_t> checked_blocks_{0};
  // How long a waiter spins before it sleeps: at most about 10 us (a
  // partner on another CPU answers within a few microseconds; a longer spin
  // only burns the CPU a partner on the same CPU needs).
  SpinBudget spin_budget_{/*min=*/16, /*max=*/400};
  // Whether the last wait ended right after a yield (SpinWhile).
  std::atomic<bool> yield_early_{false};
  // The receive side's counters as this process last read them: lower
  // bounds of the real ones, which only grow (msg_fits_inqueue() on the
  // send side).
  std::atomic<uint64_t> seen_recv_count_{0};
  std::atomic<uint64_t> seen_recv_bytes_{0};
};

}  // namespace sysv::core

#endif  // SYSV_CORE_MSG_MSG_QUEUE_H_

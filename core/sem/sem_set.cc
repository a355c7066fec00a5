#include "core/sem/sem_set.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "absl/strings/str_format.h"
#include "core/cpu_relax.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_id.h"
#include "core/sem/sem_registry.h"

namespace sysv::core {
namespace {

constexpr size_t kHeaderBytes = (sizeof(SemRegionHeader) + 4095) / 4096 * 4096;

uint32_t BlocksFor(size_t bytes) {
  return static_cast<uint32_t>((bytes + kSemBlockSize - 1) / kSemBlockSize);
}

size_t UndoBytes(int32_t nsems) { return sizeof(SemUndo) + sizeof(int16_t) * static_cast<size_t>(nsems); }

// Room for many queued operations, and for undo records of 128 processes
// (the file is sparse: unused blocks cost nothing).
uint32_t ArenaBlocksFor(int32_t nsems) { return 4096 + 128 * BlocksFor(UndoBytes(nsems)); }

// How many times the lock-free path retries a CAS that another lock-free
// operation on the same semaphore won, before it leaves the call to the
// locked path (which cannot be starved).
constexpr int kSemFastAttempts = 8;

// How many times a sleeper whose partner shares its CPU gives the CPU away
// (RegionPlatform::yield) before its futex sleep: one is enough when the
// partner is runnable; the others cover a partner that was not quite yet.
constexpr int kSemHandOverYields = 4;
// The most a spin lasts, whatever the count.
constexpr int64_t kSemSpinMicros = 100;

// The end of an awake sleeper's lease (SemWaiter::awake_until) taken now:
// no later than its spin ends, nor than kSemAwakeLeaseNanos from now.
int64_t LeaseEnd(Deadline spin_end) {
  return std::min(spin_end.monotonic_nanos(), Deadline::NowNanos() + kSemAwakeLeaseNanos);
}

}  // namespace

// The lock held on a set, with the work to do once it is dropped. Every
// algorithm of ipc/sem.c that runs "with sem_lock held" is a method here.
class SemSet::Locked {
 public:
  explicit Locked(SemSet& set) : set_(set), h_(*set.header_) {}
  ~Locked() { Unlock(); }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

  // Takes the lock (repairing after a dead holder), waiting as `wait` says
  // (RegionPlatform::LockAsCall). Returns 0; EAGAIN, EINTR or kLockBusy
  // (the daemon) when the lock is held and the wait ended; EAGAIN too when
  // a scribbler keeps breaking the lock faster than it can be repaired.
  int Lock(const RegionPlatform::LockWait& wait = RegionPlatform::LockWait{}) {
    bool formatted = false;
    for (int repairs = 0;; ++repairs) {
      int error = EAGAIN;
      const LockResult result = set_.platform_->LockAsCall(h_.lock, wait, &error);
      if (result == LockResult::kTimedOut) return error;
      if (result == LockResult::kCorrupt) {
        // Not a lock at all (its magic, or "not recoverable", which no
        // libsysv holder leaves: Recover() always marks it consistent): only
        // a writer's scribble makes one. Formatted again, it is free, and
        // its taker repairs as after a dead holder (a live holder the
        // scribble hid may still be inside: two holders, which a scribbler
        // can make anyway, and which every bound below survives).
        if (repairs == kLockRepairs) return EAGAIN;
        set_.platform_->mutex.init(h_.lock);
        formatted = true;
        continue;
      }
      held_ = true;
      if (result == LockResult::kAcquiredOwnerDied || formatted) {
        Recover();
        if (result == LockResult::kAcquiredOwnerDied) set_.platform_->mutex.mark_consistent(h_.lock);
      }
      break;
    }
    ResolveRemoved();
    return 0;
  }

  // The removal mark is a hint (see "Regions are untrusted input" in
  // core/sem/sem_set.h): believed only when the binding agrees; a forged one
  // is cleared. REQUIRES: the lock held.
  void ResolveRemoved() {
    gone_ = false;
    if (h_.removed.load(std::memory_order_acquire) == 0) return;
    if ((set_.table_ == nullptr && !set_.owner_) || set_.RemovedOutsideRegion()) {
      gone_ = true;
      return;
    }
    h_.removed.store(0, std::memory_order_relaxed);
  }
  // IPC_RMID, by the daemon. REQUIRES: the lock held (or unobtainable).
  void MarkRemoved() {
    gone_ = true;
    h_.removed.store(1, std::memory_order_release);
  }

  // sem_unlock(): back to per-semaphore queues when no complex operation
  // is queued, thaw, drop the lock, then wake whoever was decided.
  void Unlock() {
    if (!held_) return;
    UnmergeQueues();
    Thaw();
    held_ = false;
    set_.platform_->mutex.unlock(h_.lock);
    for (const std::atomic<uint32_t>* word : wake_) set_.platform_->waiter.wake(word, 1);
    wake_.clear();
  }

  // Whether the set was removed, as decided when the lock was taken.
  bool removed() const { return gone_; }

  // Wakes the sleeper of `w`, just decided (its status was `was`), once the
  // lock is dropped, unless it was awake (kSemStatusAwake: it sees the
  // decision by itself). Notes where it runs: the process this one just
  // decided is the one it is likely to wait for next (a ping-pong partner,
  // the next mutex holder).
  void Wake(SemWaiter* w, uint32_t was) {
    if (was != kSemStatusAwake) wake_.push_back(&w->status);
    set_.partner_cpu_.Set(w->cpu);
  }

  // --- the frozen-bit protocol (core/sem/sem_region.h) ----------------------

  // Freezes semaphore `semnum`'s word, if this holder has not yet, and
  // returns it. From here until Thaw() the lock-free path leaves the word
  // alone. REQUIRES: the lock held, semnum < nsems.
  uint64_t Freeze(uint32_t semnum) {
    // A semaphore number read from the region may have been scribbled
    // since it was checked: out of range, it names no word (value 0).
    if (semnum >= static_cast<uint32_t>(set_.nsems_)) return kSemFrozen;
    std::atomic<uint64_t>& word = slot(semnum).word;
    // A frozen word under the lock is this holder's: every holder thaws what
    // it froze before it unlocks, and recovery adopts a dead holder's words;
    // so does this holder adopt one a scribble froze, to thaw it.
    const uint64_t seen = word.load(std::memory_order_relaxed);
    if (SemWordFrozen(seen)) {
      NoteFrozen(semnum);
      return seen;
    }
    // SEM_BARRIER_THAW: the fetch_or reads the latest word, whatever CAS
    // the lock-free path made last; acquire orders what we read after it.
    const uint64_t before = word.fetch_or(kSemFrozen, std::memory_order_acq_rel);
    NoteFrozen(semnum);
    return before | kSemFrozen;
  }

  // The current value of `semnum`, frozen, clamped to [0, SEMVMX] (a
  // scribbled word may say more; SETALL could have left SEMVMX).
  // REQUIRES: the lock held.
  int32_t Value(uint32_t semnum) { return std::min(SemWordValue(Freeze(semnum)), kSemVmx); }

  // Remembers that this holder froze `semnum`, to thaw it at unlock.
  void NoteFrozen(uint32_t semnum) {
    if (all_frozen_) return;
    for (uint32_t i = 0; i < frozen_count_; ++i) {
      if (frozen_[i] == semnum) return;
    }
    if (frozen_count_ < kFrozenInline) {
      frozen_[frozen_count_++] = semnum;
    } else {
      FreezeAll();
    }
  }

  // Freezes every word (many semaphores touched, recovery, GETALL, removal).
  void FreezeAll() {
    all_frozen_ = true;
    for (int32_t i = 0; i < set_.nsems_; ++i) {
      std::atomic<uint64_t>& word = slot(static_cast<uint32_t>(i)).word;
      if (!SemWordFrozen(word.load(std::memory_order_relaxed))) {
        word.fetch_or(kSemFrozen, std::memory_order_acq_rel);
      }
    }
  }

  // Unfreezes what this holder froze, marking it watched while operations
  // are queued (see kSemWatched). A removed set stays frozen for good.
  // REQUIRES: the lock held; called just before it is released.
  void Thaw() {
    if (!removed()) {
      const uint64_t watched = h_.queued.load(std::memory_order_relaxed) != 0 ? kSemWatched : 0;
      auto thaw = [&](uint32_t semnum) {
        std::atomic<uint64_t>& word = slot(semnum).word;
        const uint64_t current = word.load(std::memory_order_relaxed);
        // SEM_BARRIER_THAW: release, so that a lock-free CAS that reads this
        // word sees everything this holder wrote (values, queues, `queued`).
        // A plain store is enough: nobody else writes a frozen word.
        word.store((current & ~(kSemFrozen | kSemWatched)) | watched, std::memory_order_release);
      };
      if (all_frozen_) {
        for (int32_t i = 0; i < set_.nsems_; ++i) thaw(static_cast<uint32_t>(i));
      } else {
        for (uint32_t i = 0; i < frozen_count_; ++i) thaw(frozen_[i]);
      }
    }
    all_frozen_ = false;
    frozen_count_ = 0;
  }

  // --- records ------------------------------------------------------------

  SemBlockHeader* Block(uint32_t index) const {
    return reinterpret_cast<SemBlockHeader*>(set_.arena_ + size_t{index} * kSemBlockSize);
  }
  SemWaiter* Waiter(uint32_t index) const { return reinterpret_cast<SemWaiter*>(Block(index)); }
  SemUndo* Undo(uint32_t index) const { return reinterpret_cast<SemUndo*>(Block(index)); }
  SemOp* Sops(SemWaiter* w) const { return reinterpret_cast<SemOp*>(w + 1); }
  int16_t* Adjust(SemUndo* u) const { return reinterpret_cast<int16_t*>(u + 1); }

  // A record at `index` of `kind` whose length fits the arena, or nullptr.
  // `*blocks` gets the length it was checked with: every field of a record
  // is read once and used as read (a scribble may change it meanwhile).
  SemBlockHeader* Record(uint32_t index, SemBlockKind kind, uint32_t* blocks) const {
    if (index >= set_.arena_blocks_) return nullptr;
    SemBlockHeader* b = Block(index);
    if (b->kind.load(std::memory_order_acquire) != static_cast<uint32_t>(kind)) return nullptr;
    *blocks = b->blocks;
    if (*blocks == 0 || *blocks > set_.arena_blocks_ - index) return nullptr;
    return b;
  }
  // A well-formed waiter record (its sops fit, and name semaphores of the set).
  SemWaiter* ValidWaiter(uint32_t index, uint32_t* blocks_out = nullptr) const {
    uint32_t blocks = 0;
    SemBlockHeader* b = Record(index, SemBlockKind::kWaiter, &blocks);
    if (b == nullptr) return nullptr;
    SemWaiter* w = reinterpret_cast<SemWaiter*>(b);
    const uint32_t nsops = w->nsops;
    if (nsops == 0 || nsops > kSemRedoCapacity ||
        sizeof(SemWaiter) + sizeof(SemOp) * nsops > size_t{blocks} * kSemBlockSize) {
      return nullptr;
    }
    const SemOp* sops = Sops(w);
    for (uint32_t i = 0; i < nsops; ++i) {
      if (sops[i].num >= static_cast<uint32_t>(set_.nsems_)) return nullptr;
    }
    if (blocks_out != nullptr) *blocks_out = blocks;
    return w;
  }
  SemUndo* ValidUndo(uint32_t index, uint32_t* blocks_out = nullptr) const {
    uint32_t blocks = 0;
    SemBlockHeader* b = Record(index, SemBlockKind::kUndo, &blocks);
    if (b == nullptr || size_t{blocks} * kSemBlockSize < UndoBytes(set_.nsems_)) return nullptr;
    if (blocks_out != nullptr) *blocks_out = blocks;
    return reinterpret_cast<SemUndo*>(b);
  }
  // A validated waiter's sop count as it may be used now: re-read, and
  // bounded by the redo log and by the arena's end (not by its record's
  // length, which may have been rewritten since: any bytes of the arena are
  // harmless to read as sops, whose numbers are bounded where used).
  uint32_t Nsops(const SemWaiter* w, uint32_t index) const {
    const size_t room = (size_t{set_.arena_blocks_ - index} * kSemBlockSize - sizeof(SemWaiter)) / sizeof(SemOp);
    return static_cast<uint32_t>(std::min<size_t>({w->nsops, kSemRedoCapacity, room}));
  }

  uint32_t ScanEnd() const { return std::min(h_.blocks_in_use_end, set_.arena_blocks_); }

  // Calls fn(index, kind) for every record, walking the arena from record to
  // record (a record's later blocks hold its payload, never a header).
  // Anything at a record boundary that is not a well-formed record start is
  // a free block.
  template <typename Fn>
  void ForEachRecord(uint32_t end, Fn&& fn) const {
    for (uint32_t i = 0; i < end;) {
      const uint32_t kind = Block(i)->kind.load(std::memory_order_acquire);
      uint32_t blocks = 0;  // >= 1 once validated
      if ((kind == static_cast<uint32_t>(SemBlockKind::kWaiter) && ValidWaiter(i, &blocks) != nullptr) ||
          (kind == static_cast<uint32_t>(SemBlockKind::kUndo) && ValidUndo(i, &blocks) != nullptr)) {
        fn(i, static_cast<SemBlockKind>(kind));
        i += blocks;
      } else {
        ++i;
      }
    }
  }

  // Allocates `bytes` of consecutive blocks; kNoBlock when there is no room.
  // Records whose waiters have read their status are reclaimed on the way.
  // The first block is marked kTail ("under construction") until the caller
  // stores the record's kind, which is what makes it exist.
  uint32_t Allocate(size_t bytes) {
    const uint32_t need = BlocksFor(bytes);
    uint32_t run_start = 0, run = 0;
    for (uint32_t i = 0; i < set_.arena_blocks_;) {
      const uint32_t kind = Block(i)->kind.load(std::memory_order_acquire);
      bool record = false;
      uint32_t blocks = 0;  // >= 1 once validated
      if (kind == static_cast<uint32_t>(SemBlockKind::kWaiter)) {
        if (SemWaiter* w = ValidWaiter(i, &blocks); w != nullptr) {
          record = true;
          if (Reclaimable(w)) {
            FreeRecord(i);
            record = false;
          }
        }
      } else if (kind == static_cast<uint32_t>(SemBlockKind::kUndo)) {
        record = ValidUndo(i, &blocks) != nullptr;
      }
      if (record) {
        run = 0;
        i += blocks;
        continue;
      }
      if (run == 0) run_start = i;
      ++i;
      if (++run == need) {
        Block(run_start)->blocks = need;
        Block(run_start)->kind.store(static_cast<uint32_t>(SemBlockKind::kTail), std::memory_order_relaxed);
        h_.blocks_in_use_end = std::max(h_.blocks_in_use_end, run_start + need);
        return run_start;
      }
    }
    return kNoBlock;
  }

  // A decided waiter whose sleeper has read its status, or whose process
  // is gone, holds its blocks for nobody.
  bool Reclaimable(SemWaiter* w) const {
    if (SemStatusPending(w->status.load(std::memory_order_acquire))) return false;
    return w->released.load(std::memory_order_acquire) != 0;
  }

  void FreeRecord(uint32_t index) {
    SemBlockHeader* b = Block(index);
    const uint32_t blocks = std::min<uint32_t>(std::max<uint32_t>(b->blocks, 1), set_.arena_blocks_ - index);
    // The first block's kind goes first: from then on the record is gone.
    // The others are cleared too, so that no payload left behind can look
    // like a record start to a later walk.
    b->kind.store(static_cast<uint32_t>(SemBlockKind::kFree), std::memory_order_release);
    for (uint32_t j = index + 1; j < index + blocks; ++j) {
      Block(j)->kind.store(static_cast<uint32_t>(SemBlockKind::kFree), std::memory_order_relaxed);
    }
  }

  // --- queues -------------------------------------------------------------

  // The records of a queue, head first. `semnum` selects the semaphore of a
  // per-semaphore queue.
  std::vector<uint32_t> Queue(SemQueueId queue, int32_t semnum = -1) const {
    std::vector<std::pair<int64_t, uint32_t>> found;
    ForEachRecord(ScanEnd(), [&](uint32_t i, SemBlockKind kind) {
      if (kind != SemBlockKind::kWaiter) return;
      SemWaiter* w = Waiter(i);
      if (w->queue != static_cast<uint32_t>(queue)) return;
      if (!SemStatusPending(w->status.load(std::memory_order_relaxed))) return;
      if (semnum >= 0 && Sops(w)[0].num != static_cast<uint32_t>(semnum)) return;
      found.emplace_back(w->order, i);
    });
    std::sort(found.begin(), found.end());
    std::vector<uint32_t> result;
    result.reserve(found.size());
    for (const auto& [order, index] : found) result.push_back(index);
    return result;
  }

  bool QueueEmpty(SemQueueId queue) const { return Queue(queue).empty(); }

  void AddTail(SemWaiter* w, SemQueueId queue) {
    w->order = h_.next_order++;
    w->queue = static_cast<uint32_t>(queue);
  }

  // unlink_queue()
  void UnlinkQueue(SemWaiter* w) {
    if (w->queue == static_cast<uint32_t>(SemQueueId::kNone)) return;
    w->queue = static_cast<uint32_t>(SemQueueId::kNone);
    if (w->nsops > 1 && h_.complex_count > 0) h_.complex_count--;
    if (h_.queued.load(std::memory_order_relaxed) > 0) h_.queued.fetch_sub(1, std::memory_order_relaxed);
  }

  // merge_queues(): every per-semaphore alter queue is spliced at the head
  // of the global one, semaphore 0 first (so the last semaphore's ends up
  // first), keeping each queue's order.
  void MergeQueues() {
    for (int32_t i = 0; i < set_.nsems_; ++i) {
      std::vector<uint32_t> list = Queue(SemQueueId::kSemAlter, i);
      int64_t order = h_.first_order - static_cast<int64_t>(list.size());
      h_.first_order = order;
      for (uint32_t index : list) {
        SemWaiter* w = Waiter(index);
        w->order = order++;
        w->queue = static_cast<uint32_t>(SemQueueId::kGlobalAlter);
      }
    }
  }

  // unmerge_queues(): with no complex operation queued, every operation in
  // the global alter queue goes back to its semaphore's queue, in order.
  void UnmergeQueues() {
    if (h_.complex_count != 0 || h_.queued.load(std::memory_order_relaxed) == 0) return;
    for (uint32_t index : Queue(SemQueueId::kGlobalAlter)) AddTail(Waiter(index), SemQueueId::kSemAlter);
  }

  // --- perform_atomic_semop() ----------------------------------------------

  // Tries `sops` against the current values. Returns 0 (and fills `redo_`
  // with what to apply), 1 (must sleep: `blocking` names the sop), or a
  // negative errno (-ERANGE, -EAGAIN for IPC_NOWAIT; -EINVAL for a
  // semaphore number out of range, which only a scribbled record holds).
  int Evaluate(const SemOp* sops, uint32_t nsops, SemUndo* undo, int32_t* blocking) {
    redo_count_ = 0;
    for (uint32_t i = 0; i < nsops; ++i) {
      // A copy: a queued record's sops may be rewritten while we read them.
      const SemOp sop = sops[i];
      if (sop.num >= static_cast<uint32_t>(set_.nsems_)) return -EINVAL;  // a scribbled record
      // The value and adjustment as the earlier sops of this call left them
      // (several sops may name one semaphore: perform_atomic_semop_slow()).
      int32_t current = Value(sop.num);
      int32_t adjust = undo != nullptr ? Adjust(undo)[sop.num] : 0;
      for (uint32_t j = 0; j < redo_count_; ++j) {
        if (redo_[j].semnum != sop.num) continue;
        current = redo_[j].value;
        if (redo_[j].set_undo) adjust = redo_[j].undo;
      }
      if (sop.op == 0 && current != 0) return WouldBlock(sop, i, blocking);
      const int32_t result = current + sop.op;
      if (result < 0) return WouldBlock(sop, i, blocking);
      if (result > kSemVmx) return -ERANGE;
      SemRedoEntry entry{sop.num, 0, result, 0, 0};
      if ((sop.flg & kSemUndo) && undo != nullptr) {
        const int32_t undone = adjust - sop.op;
        if (undone < -kSemAem - 1 || undone > kSemAem) return -ERANGE;
        entry.set_undo = 1;
        entry.undo = static_cast<int16_t>(undone);
      }
      redo_[redo_count_++] = entry;
    }
    return 0;
  }

  void SetRedo(const std::vector<SemRedoEntry>& entries) {
    redo_count_ = static_cast<uint32_t>(std::min<size_t>(entries.size(), kSemRedoCapacity));
    std::copy(entries.begin(), entries.begin() + redo_count_, redo_);
  }

  static int WouldBlock(const SemOp& sop, uint32_t index, int32_t* blocking) {
    *blocking = static_cast<int32_t>(index);
    return (sop.flg & kIpcNowait) ? -EAGAIN : 1;
  }

  // Applies what Evaluate() decided, through the redo log (REDO_BARRIER).
  // `waiter` (if any) is marked done in the same step.
  void Commit(int32_t pid, uint32_t undo_block, uint32_t waiter_block, int32_t clear_undo,
              int64_t otime, uint32_t otime_semnum) {
    SemRedoLog& log = h_.redo;
    log.count = redo_count_;
    log.pid = pid;
    log.undo_block = undo_block;
    log.waiter_block = waiter_block;
    log.clear_undo = clear_undo;
    log.otime = otime;
    log.otime_semnum = otime_semnum;
    std::copy(redo_, redo_ + redo_count_, log.entries);
    // REDO_BARRIER: the entries are complete before the log says so.
    log.active.store(1, std::memory_order_release);
    Replay();
    log.active.store(0, std::memory_order_release);
  }

  // Applies the redo log. Idempotent: it only sets values, never adds, so a
  // replay after a crash mid-way gives the same result.
  void Replay() {
    SemRedoLog& log = h_.redo;
    const uint32_t count = std::min(log.count, kSemRedoCapacity);
    SemUndo* undo = log.undo_block != kNoBlock ? ValidUndo(log.undo_block) : nullptr;
    if (log.clear_undo != kSemClearNoUndo) ClearUndo(log.clear_undo);
    for (uint32_t i = 0; i < count; ++i) {
      const SemRedoEntry e = log.entries[i];  // a copy: checked as used
      if (e.semnum >= static_cast<uint32_t>(set_.nsems_)) continue;
      // Only a frozen word may be written under the lock (a lock-free CAS
      // could otherwise be lost); the value was checked when logged.
      Freeze(e.semnum);
      slot(e.semnum).word.store(SemWord(std::clamp(e.value, 0, kSemVmx), log.pid) | kSemFrozen,
                                std::memory_order_relaxed);
      if (undo != nullptr && e.set_undo) Adjust(undo)[e.semnum] = e.undo;
    }
    if (log.otime != 0 && log.otime_semnum < static_cast<uint32_t>(set_.nsems_)) {
      slot(log.otime_semnum).otime.store(log.otime, std::memory_order_relaxed);
    }
    if (log.waiter_block != kNoBlock) {
      if (SemWaiter* w = ValidWaiter(log.waiter_block)) {
        Wake(w, w->status.exchange(0, std::memory_order_acq_rel));
      }
    }
  }

  void ClearUndo(int32_t semnum) {
    ForEachRecord(ScanEnd(), [&](uint32_t i, SemBlockKind kind) {
      if (kind != SemBlockKind::kUndo) return;
      SemUndo* u = Undo(i);
      if (semnum == kSemClearAllUndo) {
        std::fill(Adjust(u), Adjust(u) + set_.nsems_, int16_t{0});
      } else if (semnum >= 0 && semnum < set_.nsems_) {
        Adjust(u)[semnum] = 0;
      }
    });
  }

  // perform_atomic_semop() + apply, for an operation that is not (or no
  // longer) queued, or for queued waiter `waiter_block`.
  int Perform(const SemOp* sops, uint32_t nsops, int32_t pid, uint32_t undo_block, uint32_t waiter_block,
              int32_t* blocking) {
    SemUndo* undo = undo_block != kNoBlock ? ValidUndo(undo_block) : nullptr;
    // Found or made by this very call under the lock: only a scribble since
    // makes it invalid. find_alloc_undo()'s failure, not "removed".
    if (undo_block != kNoBlock && undo == nullptr) return -ENOMEM;
    const int result = Evaluate(sops, nsops, undo, blocking);
    if (result != 0) return result;
    Commit(pid, undo != nullptr ? undo_block : kNoBlock, waiter_block, kSemClearNoUndo, 0, 0);
    return 0;
  }

  SemSlot& slot(uint32_t semnum) const { return set_.slots_[semnum]; }

  // wake_up_sem_queue_prepare() for an error result.
  void Decide(uint32_t index, SemWaiter* w, int error) {
    const uint32_t was = w->status.exchange(static_cast<uint32_t>(error), std::memory_order_acq_rel);
    UnlinkQueue(w);
    Wake(w, was);
    (void)index;
  }

  // Tries queued waiter `index`. Returns what perform_atomic_semop() would,
  // completing it (status 0) on success. A waiter whose process is gone is
  // dropped and reported as still blocked; `own` (the caller's own record,
  // Recheck()) is alive without asking.
  int TryWaiter(uint32_t index, SemWaiter* w, bool own = false) {
    int32_t blocking = w->blocking;
    // Evaluate first: a dead process's operation must never apply, but
    // asking whether it lives costs a system call, so only when it would.
    SemUndo* undo = w->undo_block != kNoBlock ? ValidUndo(w->undo_block) : nullptr;
    const int result = Evaluate(Sops(w), Nsops(w, index), undo, &blocking);
    if (result == -EINVAL) {
      // Rewritten since it was queued: not an operation anyone asked for.
      // Its sleeper re-checks against its own copy (Recheck()).
      wake_.push_back(&w->status);
      return 1;
    }
    if (result == 1) {
      w->blocking = blocking;
      return 1;
    }
    if (!own && !LeaseHolds(w) && !set_.platform_->process_alive(w->pid)) {
      UnlinkQueue(w);
      FreeRecord(index);
      return 1;
    }
    if (result < 0) return result;
    // The status (set inside the logged update) is what decides the waiter;
    // its queue field only follows, so a crash in between loses nothing.
    Commit(w->pid, undo != nullptr ? w->undo_block : kNoBlock, index, kSemClearNoUndo, 0, 0);
    UnlinkQueue(w);
    return 0;
  }

  // Whether `w`'s sleeper is awake and within its lease (SemWaiter::
  // awake_until): then it is alive, and asking the operating system (a
  // kill(pid, 0) per hand-off, as many system calls as the kernel's whole
  // semop) is not needed. A clock read (the vDSO's) is all it costs.
  bool LeaseHolds(const SemWaiter* w) const {
    if (w->status.load(std::memory_order_relaxed) != kSemStatusAwake) return false;
    const int64_t until = w->awake_until.load(std::memory_order_relaxed);
    const int64_t now = Deadline::NowNanos();
    return now < until && until - now <= kSemAwakeLeaseNanos;
  }

  // check_restart()
  bool CheckRestart(const SemWaiter* w) const {
    if (!QueueEmpty(SemQueueId::kGlobalAlter)) return true;
    return w->nsops > 1;
  }

  // wake_const_ops()
  bool WakeConstOps(int32_t semnum) {
    bool completed = false;
    const std::vector<uint32_t> list =
        semnum == -1 ? Queue(SemQueueId::kGlobalConst) : Queue(SemQueueId::kSemConst, semnum);
    for (uint32_t index : list) {
      SemWaiter* w = ValidWaiter(index);
      if (w == nullptr || !SemStatusPending(w->status.load(std::memory_order_relaxed))) continue;
      const int error = TryWaiter(index, w);
      if (error > 0) continue;
      if (error < 0) Decide(index, w, -error);
      if (error == 0) completed = true;
    }
    return completed;
  }

  // do_smart_wakeup_zero()
  bool DoSmartWakeupZero(const SemOp* sops, uint32_t nsops) {
    bool completed = false;
    bool got_zero = false;
    if (sops != nullptr) {
      for (uint32_t i = 0; i < nsops; ++i) {
        const uint16_t num = sops[i].num;
        if (Value(num) == 0) {
          got_zero = true;
          completed |= WakeConstOps(num);
        }
      }
    } else {
      for (int32_t i = 0; i < set_.nsems_; ++i) {
        if (Value(static_cast<uint32_t>(i)) == 0) {
          got_zero = true;
          completed |= WakeConstOps(i);
        }
      }
    }
    if (got_zero) completed |= WakeConstOps(-1);
    return completed;
  }

  // update_queue(), with the lazy hand-off (see "Internals" in
  // core/sem/sem_set.h) when lazy_ is set.
  bool UpdateQueue(int32_t semnum) {
    bool completed = false;
  again:
    const std::vector<uint32_t> list =
        semnum == -1 ? Queue(SemQueueId::kGlobalAlter) : Queue(SemQueueId::kSemAlter, semnum);
    // What the semaphore has left once the nudged waiters ahead take theirs.
    int32_t unclaimed = semnum != -1 ? Value(static_cast<uint32_t>(semnum)) : 0;
    for (uint32_t index : list) {
      SemWaiter* w = ValidWaiter(index);
      if (w == nullptr || !SemStatusPending(w->status.load(std::memory_order_relaxed))) continue;
      // "If we are scanning the single sop, per-semaphore list of one
      // semaphore and that semaphore is 0, then it is not necessary to scan
      // further: simple increments that affect only one entry succeed
      // immediately and cannot be in the per semaphore pending queue, and
      // decrements cannot be successful if the value is already 0."
      if (semnum != -1 && Value(static_cast<uint32_t>(semnum)) == 0) break;
      if (semnum != -1) {
        const NudgeResult nudge = Nudge(index, w, static_cast<uint32_t>(semnum), &unclaimed);
        if (nudge == NudgeResult::kNothingLeft) break;
        if (nudge == NudgeResult::kNudged) continue;
      }
      // Copy what is needed after the waiter may have been completed.
      SemOp sops[kSemRedoCapacity];
      const uint32_t nsops = Nsops(w, index);
      std::copy(Sops(w), Sops(w) + nsops, sops);
      const int error = TryWaiter(index, w);
      if (error > 0) continue;
      bool restart = false;
      if (error < 0) {
        Decide(index, w, -error);
      } else {
        completed = true;
        DoSmartWakeupZero(sops, nsops);
        restart = !QueueEmpty(SemQueueId::kGlobalAlter) || nsops > 1;
      }
      if (restart) goto again;
    }
    return completed;
  }

  // The lazy hand-off (see "Internals" in core/sem/sem_set.h): queued
  // waiter `w` of semaphore `semnum`'s queue, a simple decrement whose
  // sleeper is asleep behind which others wait, is woken to run its own
  // operation (kSemStatusNudged) if what is `*unclaimed` covers it; it keeps
  // its place, and the units it would take are counted out of `*unclaimed`
  // for the waiters behind it. Waking it costs the same as completing it,
  // but until it runs, a running process's decrement may take the semaphore
  // ahead of it (each waiter in turn would otherwise have to be scheduled
  // before anyone could take it: a convoy). No liveness question either: the
  // sleeper runs its operation itself, or it died and never does.
  enum class NudgeResult { kNotLazy, kNudged, kNothingLeft };
  NudgeResult Nudge(uint32_t index, SemWaiter* w, uint32_t semnum, int32_t* unclaimed) {
    if (!lazy_ || h_.queued.load(std::memory_order_relaxed) < 2 || Nsops(w, index) != 1) return NudgeResult::kNotLazy;
    const SemOp sop = Sops(w)[0];
    uint32_t status = w->status.load(std::memory_order_relaxed);
    // An awake sleeper takes a completed operation at once, and one
    // overtaken before is owed it (kSemStatusOwed): hand it over.
    if (sop.op >= 0 || sop.num != semnum || status == kSemStatusAwake || status == kSemStatusOwed) {
      return NudgeResult::kNotLazy;
    }
    if (*unclaimed + sop.op < 0) return NudgeResult::kNothingLeft;
    *unclaimed += sop.op;
    // Pending: asleep, wake it. Nudged already: it is on its way. The
    // sleeper itself only ever turns Awake into Pending, so the CAS fails
    // only on a scribble.
    if (status == kSemStatusPending &&
        w->status.compare_exchange_strong(status, kSemStatusNudged, std::memory_order_acq_rel)) {
      wake_.push_back(&w->status);
    }
    return NudgeResult::kNudged;
  }

  // Completes every nudged waiter that can run, as the kernel's waker
  // would have (update_queue() without the lazy hand-off): what an
  // observer other than a simple semop sees (semctl's values and counts,
  // a wait for zero, a complex operation, removal, exit-time undo) is then
  // the kernel's state. REQUIRES: the lock held.
  void Settle() {
    if (h_.queued.load(std::memory_order_relaxed) == 0) return;
    uint32_t nudged[kFrozenInline];
    uint32_t count = 0;
    bool all = false;
    ForEachRecord(ScanEnd(), [&](uint32_t i, SemBlockKind kind) {
      if (kind != SemBlockKind::kWaiter || all) return;
      SemWaiter* w = Waiter(i);
      if (w->status.load(std::memory_order_relaxed) != kSemStatusNudged) return;
      const uint32_t num = Sops(w)[0].num;  // below nsems: ValidWaiter
      if (std::find(nudged, nudged + count, num) != nudged + count) return;
      if (count == kFrozenInline) {
        all = true;
      } else {
        nudged[count++] = num;
      }
    });
    if (count == 0 && !all) return;
    const bool lazy = lazy_;
    lazy_ = false;
    if (all) {
      DoSmartUpdate(nullptr, 0, false);
    } else {
      for (uint32_t i = 0; i < count; ++i) {
        if (UpdateQueue(static_cast<int32_t>(nudged[i]))) SetSemOTime(nullptr);
      }
    }
    lazy_ = lazy;
  }
  // Whether this holder may hand off lazily: only a client's own semop
  // (SemSet::Semop()); semctl, the daemon and recovery hand over as the
  // kernel does.
  void set_lazy(bool lazy) { lazy_ = lazy; }

  // set_semotime()
  void SetSemOTime(const SemOp* sops) {
    const uint32_t num = sops != nullptr ? sops[0].num : 0;
    slot(num).otime.store(set_.platform_->now_seconds(), std::memory_order_relaxed);
  }

  // do_smart_update()
  void DoSmartUpdate(const SemOp* sops, uint32_t nsops, bool otime) {
    if (h_.queued.load(std::memory_order_relaxed) != 0) {
      otime |= DoSmartWakeupZero(sops, nsops);
      if (!QueueEmpty(SemQueueId::kGlobalAlter)) {
        otime |= UpdateQueue(-1);
      } else if (sops == nullptr) {
        for (int32_t i = 0; i < set_.nsems_; ++i) otime |= UpdateQueue(i);
      } else {
        for (uint32_t i = 0; i < nsops; ++i) {
          if (sops[i].op > 0) otime |= UpdateQueue(sops[i].num);
        }
      }
    }
    if (otime) SetSemOTime(sops);
  }

  // count_semcnt() with check_qop().
  int CountSemcnt(int32_t semnum, bool count_zero) const {
    int count = static_cast<int>(
        Queue(count_zero ? SemQueueId::kSemConst : SemQueueId::kSemAlter, semnum).size());
    auto check_qop = [&](uint32_t index) {
      SemWaiter* w = ValidWaiter(index);
      if (w == nullptr) return 0;
      const int32_t blocking = w->blocking;
      if (blocking < 0 || static_cast<uint32_t>(blocking) >= Nsops(w, index)) return 0;
      const SemOp sop = Sops(w)[blocking];
      if (sop.num != static_cast<uint32_t>(semnum)) return 0;
      if (count_zero && sop.op == 0) return 1;
      if (!count_zero && sop.op < 0) return 1;
      return 0;
    };
    for (uint32_t index : Queue(SemQueueId::kGlobalAlter)) count += check_qop(index);
    if (count_zero) {
      for (uint32_t index : Queue(SemQueueId::kGlobalConst)) count += check_qop(index);
    }
    return count;
  }

  // The undo record of `caller`, created when `create` (find_alloc_undo()).
  // kNoBlock when absent (or, creating, when there is no room).
  uint32_t FindUndo(const Caller& caller, bool create) {
    // The common case: the record this process used last on this set, in
    // the same place (records move only when freed and made again).
    const uint32_t hint = set_.undo_block_.Get();
    if (hint < set_.arena_blocks_) {
      const SemUndo* u = ValidUndo(hint);
      if (u != nullptr && u->pid == caller.pid && u->start_time == caller.start_time) return hint;
    }
    const uint32_t found = ScanUndo(caller, create);
    if (found != kNoBlock) set_.undo_block_.Set(found);
    return found;
  }

  // FindUndo() by a walk over the arena.
  uint32_t ScanUndo(const Caller& caller, bool create) {
    uint32_t found = kNoBlock;
    ForEachRecord(ScanEnd(), [&](uint32_t i, SemBlockKind kind) {
      if (kind != SemBlockKind::kUndo || found != kNoBlock) return;
      SemUndo* u = Undo(i);
      if (u->pid == caller.pid && u->start_time == caller.start_time) found = i;
    });
    if (found != kNoBlock || !create) return found;
    const uint32_t index = Allocate(UndoBytes(set_.nsems_));
    if (index == kNoBlock) return kNoBlock;
    SemUndo* u = Undo(index);
    u->pid = caller.pid;
    u->start_time = caller.start_time;
    std::fill(Adjust(u), Adjust(u) + set_.nsems_, int16_t{0});
    u->block.kind.store(static_cast<uint32_t>(SemBlockKind::kUndo), std::memory_order_release);
    return index;
  }

  // After a holder died: finish its logged update, recount the queues
  // (derived data), and wake every decided sleeper (its waker may have died
  // before waking it; spurious wake-ups are harmless).
  void Recover() {
    // The dead holder's frozen words are ours now (and so is any it froze
    // without noting where): freeze them all, thaw them all at unlock.
    FreezeAll();
    if (h_.redo.active.load(std::memory_order_acquire) != 0) {
      Replay();
      h_.redo.active.store(0, std::memory_order_release);
    }
    uint32_t queued = 0, complex = 0;
    ForEachRecord(ScanEnd(), [&](uint32_t i, SemBlockKind kind) {
      if (kind != SemBlockKind::kWaiter) return;
      SemWaiter* w = Waiter(i);
      const uint32_t status = w->status.load(std::memory_order_relaxed);
      if (!SemStatusPending(status)) {
        if (w->released.load(std::memory_order_relaxed) == 0) wake_.push_back(&w->status);
        return;
      }
      // Its waker may have died before waking it, too.
      if (status == kSemStatusNudged) wake_.push_back(&w->status);
      if (w->queue == static_cast<uint32_t>(SemQueueId::kNone)) return;
      ++queued;
      if (w->nsops > 1) ++complex;
    });
    h_.queued.store(queued, std::memory_order_relaxed);
    h_.complex_count = complex;
  }

  std::vector<const std::atomic<uint32_t>*>& wake_list() { return wake_; }
  SemRegionHeader& header() { return h_; }

 private:
  // How many times Lock() formats a lock that is not one before it gives up
  // (a scribbler breaking it again and again).
  static constexpr int kLockRepairs = 3;

  SemSet& set_;
  SemRegionHeader& h_;
  bool held_ = false;
  bool gone_ = false;  // see ResolveRemoved()
  // The words this holder froze: a short list, or all of them.
  static constexpr uint32_t kFrozenInline = 16;
  uint32_t frozen_[kFrozenInline];
  uint32_t frozen_count_ = 0;
  bool all_frozen_ = false;
  std::vector<const std::atomic<uint32_t>*> wake_;
  // Scratch for the update being prepared, on the stack: a semop must not
  // allocate, and in thread-local storage 6 KB would leave libsysv.so too
  // large a TLS block to be dlopen()ed (build_defs/copts.bzl).
  SemRedoEntry redo_[kSemRedoCapacity];
  uint32_t redo_count_ = 0;
  bool lazy_ = false;  // see set_lazy()
};

size_t SemSet::RegionSize(int32_t nsems) {
  return kHeaderBytes + sizeof(SemSlot) * static_cast<size_t>(nsems) +
         size_t{ArenaBlocksFor(nsems)} * kSemBlockSize;
}

size_t SemSet::FormattedBytes(int32_t nsems) { return kHeaderBytes + sizeof(SemSlot) * static_cast<size_t>(nsems); }

absl::StatusOr<SemSet> SemSet::Format(void* base, size_t len, int32_t nsems, int64_t ctime,
                                      const SemPlatform* platform) {
  if (nsems <= 0 || nsems > 32000 || len < RegionSize(nsems)) {
    return ErrnoStatus(EINVAL, absl::StrFormat("a region of %u bytes cannot hold %d semaphores", len, nsems));
  }
  if (absl::Status status = FormatHeader(base, nsems, ctime, platform); !status.ok()) return status;
  return Open(base, len, platform);
}

absl::Status SemSet::FormatHeader(void* base, int32_t nsems, int64_t ctime, const SemPlatform* platform) {
  if (nsems <= 0 || nsems > 32000) return ErrnoStatus(EINVAL, absl::StrFormat("%d semaphores", nsems));
  auto* header = new (base) SemRegionHeader();
  auto* slots = reinterpret_cast<SemSlot*>(static_cast<unsigned char*>(base) + kHeaderBytes);
  for (int32_t i = 0; i < nsems; ++i) new (&slots[i]) SemSlot();
  const uint32_t arena_offset = static_cast<uint32_t>(kHeaderBytes + sizeof(SemSlot) * static_cast<size_t>(nsems));
  header->layout_version.store(SemRegionHeader::kVersion, std::memory_order_relaxed);
  header->nsems.store(static_cast<uint32_t>(nsems), std::memory_order_relaxed);
  header->slots_offset.store(static_cast<uint32_t>(kHeaderBytes), std::memory_order_relaxed);
  header->arena_offset.store(arena_offset, std::memory_order_relaxed);
  header->arena_blocks.store(ArenaBlocksFor(nsems), std::memory_order_relaxed);
  header->ctime.store(ctime, std::memory_order_relaxed);
  header->redo.undo_block = kNoBlock;
  header->redo.waiter_block = kNoBlock;
  header->redo.clear_undo = kSemClearNoUndo;
  platform->mutex.init(header->lock);
  header->magic.store(SemRegionHeader::kMagic, std::memory_order_release);
  return absl::OkStatus();
}

namespace {

// The number of semaphores of a region of exactly `len` bytes, or 0.
// RegionSize() grows with nsems, so a binary search finds it.
int32_t NsemsOfLength(size_t len) {
  int32_t low = 1, high = 32000;
  while (low < high) {
    const int32_t mid = low + (high - low) / 2;
    if (SemSet::RegionSize(mid) < len) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return SemSet::RegionSize(low) == len ? low : 0;
}

}  // namespace

bool SemSet::HeaderIntact(const void* base, size_t len) {
  const int32_t nsems = NsemsOfLength(len);
  if (nsems == 0) return false;
  const auto* header = static_cast<const SemRegionHeader*>(base);
  return header->magic.load(std::memory_order_acquire) == SemRegionHeader::kMagic &&
         header->layout_version.load(std::memory_order_relaxed) == SemRegionHeader::kVersion &&
         header->nsems.load(std::memory_order_relaxed) == static_cast<uint32_t>(nsems) &&
         header->slots_offset.load(std::memory_order_relaxed) == kHeaderBytes &&
         header->arena_offset.load(std::memory_order_relaxed) ==
             kHeaderBytes + sizeof(SemSlot) * static_cast<size_t>(nsems) &&
         header->arena_blocks.load(std::memory_order_relaxed) == ArenaBlocksFor(nsems);
}

absl::StatusOr<SemSet> SemSet::Open(void* base, size_t len, const SemPlatform* platform) {
  if (len < kHeaderBytes) return ErrnoStatus(EIDRM, "semaphore region is too small");
  auto* header = static_cast<SemRegionHeader*>(base);
  // The geometry comes from the mapping's length, which the daemon fixes
  // from its object table (RegionSize(nsems)), not from the header, which
  // any writer of the set can scribble ("Regions are untrusted input"). Only
  // a length that is no region's (a test's larger buffer) falls back to the
  // header's count, bounded by the length.
  uint32_t nsems = static_cast<uint32_t>(NsemsOfLength(len));
  if (nsems == 0) {
    nsems = header->nsems.load(std::memory_order_relaxed);
    if (header->magic.load(std::memory_order_acquire) != SemRegionHeader::kMagic || nsems == 0 || nsems > 32000 ||
        len < RegionSize(static_cast<int32_t>(nsems))) {
      return ErrnoStatus(EIDRM, "semaphore region geometry does not fit");
    }
  }
  auto* bytes = static_cast<unsigned char*>(base);
  return SemSet(header, reinterpret_cast<SemSlot*>(bytes + kHeaderBytes),
                bytes + kHeaderBytes + sizeof(SemSlot) * nsems, static_cast<int32_t>(nsems),
                ArenaBlocksFor(static_cast<int32_t>(nsems)), platform);
}

// The start of semop under the lock (do_semtimedop() up to the sleep):
// returns 0 or a positive errno when decided at once, kSemQueued when the
// operation was queued in block *index_out. REQUIRES: `locked` holds the lock.
int SemSet::Start(Locked& locked, absl::Span<const SemOp> sops, const Caller& caller, uint32_t* index_out) {
  bool undos = false, alter = false, dupsop = false;
  uint64_t seen = 0;
  for (const SemOp& sop : sops) {
    const uint64_t mask = uint64_t{1} << (sop.num % 64);
    if (sop.flg & kSemUndo) undos = true;
    if (seen & mask) dupsop = true;
    if (sop.op != 0) {
      alter = true;
      seen |= mask;
    }
  }
  if (locked.removed()) return EIDRM;
  // A simple decrement may take a semaphore ahead of a nudged waiter, a
  // simple increment adds to it; anything else sees the kernel's state.
  if (sops.size() != 1 || sops[0].op == 0) locked.Settle();
  uint32_t undo_block = kNoBlock;
  if (undos) {
    undo_block = locked.FindUndo(caller, /*create=*/true);
    if (undo_block == kNoBlock) return ENOMEM;
  }
  int32_t blocking = 0;
  const uint32_t nsops = static_cast<uint32_t>(sops.size());
  const int error = locked.Perform(sops.data(), nsops, caller.pid, undo_block, kNoBlock, &blocking);
  if (error == 0) {
    if (alter) {
      locked.DoSmartUpdate(sops.data(), nsops, true);
    } else {
      locked.SetSemOTime(sops.data());
    }
    return 0;
  }
  if (error < 0) return -error;

  // Queue the operation, as do_semtimedop() does.
  const uint32_t index = locked.Allocate(sizeof(SemWaiter) + sizeof(SemOp) * nsops);
  if (index == kNoBlock) return ENOMEM;
  SemWaiter* w = locked.Waiter(index);
  w->status.store(kSemStatusPending, std::memory_order_relaxed);
  w->released.store(0, std::memory_order_relaxed);
  w->pid = caller.pid;
  w->nsops = nsops;
  w->blocking = blocking;
  w->undo_block = undo_block;
  w->alter = alter ? 1 : 0;
  w->dupsop = dupsop ? 1 : 0;
  w->cpu = 0;  // Semop() publishes its sleeper's
  w->awake_until.store(0, std::memory_order_relaxed);  // and its lease
  w->queue = static_cast<uint32_t>(SemQueueId::kNone);
  std::copy(sops.begin(), sops.end(), locked.Sops(w));
  SemRegionHeader& h = locked.header();
  if (nsops == 1) {
    if (alter) {
      locked.AddTail(w, h.complex_count != 0 ? SemQueueId::kGlobalAlter : SemQueueId::kSemAlter);
    } else {
      locked.AddTail(w, SemQueueId::kSemConst);
    }
  } else {
    if (h.complex_count == 0) locked.MergeQueues();
    locked.AddTail(w, alter ? SemQueueId::kGlobalAlter : SemQueueId::kGlobalConst);
    h.complex_count++;
  }
  h.queued.fetch_add(1, std::memory_order_relaxed);
  // The record exists from here on (its kind is the commit point).
  w->block.kind.store(static_cast<uint32_t>(SemBlockKind::kWaiter), std::memory_order_release);
  *index_out = index;
  return kSemQueued;
}

int SemSet::Semop(absl::Span<const SemOp> sops, const Caller& caller, Deadline deadline) {
  // A handler that runs from here on interrupts a sleep (the kernel's
  // signal_pending() check before it sleeps).
  return Semop(sops, caller, deadline, platform_->SignalEpoch());
}

int SemSet::Semop(absl::Span<const SemOp> sops, const Caller& caller, Deadline deadline, uint64_t signal_epoch) {
  Locked locked_storage(*this);
  Locked* locked = &locked_storage;
  // A busy lock is waited for as the sleep is: the deadline, signals and
  // IPC_NOWAIT end it, never a live holder's taking long.
  const bool nowait = std::any_of(sops.begin(), sops.end(), [](const SemOp& sop) { return (sop.flg & kIpcNowait) != 0; });
  if (int error = locked->Lock({deadline, signal_epoch, /*interruptible=*/true, nowait}); error != 0) return error;
  locked->set_lazy(true);
  uint32_t index = kNoBlock;
  int error = Start(*locked, sops, caller, &index);
  if (error != kSemQueued) return error;
  SemWaiter* w = locked->Waiter(index);

  // Adaptive spinning: a waker on another CPU usually decides us within a
  // few microseconds (a ping-pong partner, a short critical section), and a
  // futex sleep and wake-up costs more than that. But a waker on this CPU
  // cannot run while we spin: then give it the CPU at once instead. The
  // waker is most likely the process we decided last (Locked::Wake()); we
  // publish our own CPU in the record for whoever decides us.
  const int cpu = platform_->current_cpu != nullptr ? platform_->current_cpu() : -1;
  const uint16_t cpu_tag = cpu >= 0 && cpu < UINT16_MAX ? static_cast<uint16_t>(cpu + 1) : 0;
  w->cpu = cpu_tag;
  // Awake until it sleeps: a waker deciding it meanwhile makes no wake-up call.
  w->status.store(kSemStatusAwake, std::memory_order_relaxed);
  const bool hand_over = cpu_tag != 0 && partner_cpu_.Get() == cpu_tag && platform_->yield != nullptr;
  // Behind other sleepers (a contended mutex: Apache's accept lock with
  // many children) our turn is at least a whole hand-over away, and a spin
  // only takes the CPU from the holder: sleep at once.
  const bool behind_others = locked->header().queued.load(std::memory_order_relaxed) > 1;
  // Otherwise spin for as long as spins have paid lately (spin_budget_).
  const int spins = behind_others ? 0 : hand_over ? kSemHandOverYields : spin_budget_.Get();
  // The status it sleeps in: kSemStatusOwed once overtaken (see there).
  uint32_t asleep = kSemStatusPending;
  for (;;) {
    // Bounded in time too: a yield on a busy machine may give the CPU away
    // for milliseconds, and the spin must stay short (it is still a window
    // in which a handler installed behind libsysv's back goes unseen).
    const Deadline spin_end = hand_over ? Deadline::Infinite() : Deadline::After(absl::Microseconds(kSemSpinMicros));
    // The lease (SemWaiter::awake_until), taken under the lock before the
    // first waker can see the record: the spin's end, or for a hand-over
    // renewed at every yield; none when it sleeps at once.
    if (spins > 0) w->awake_until.store(LeaseEnd(spin_end), std::memory_order_relaxed);
    locked->Unlock();
    bool decided_in_spin = false;
    for (int spin = 0; spin < spins; ++spin) {
      if (!SemStatusPending(w->status.load(std::memory_order_acquire))) {
        decided_in_spin = true;
        break;
      }
      if (hand_over) {
        platform_->yield();
        w->awake_until.store(LeaseEnd(spin_end), std::memory_order_relaxed);
        continue;
      }
      CpuRelax();
      if ((spin & (kSpinsPerYield - 1)) == kSpinsPerYield - 1) {
        if (spin_end.HasExpired()) break;
        if (platform_->yield != nullptr) platform_->yield();
      }
    }
    if (!hand_over && spins > 0) {
      if (decided_in_spin) {
        spin_budget_.Hit();
      } else {
        spin_budget_.Miss();
      }
    }
    // Sleep() ends within kRegionSleepLimit even if nobody wakes us (a
    // waker killed after deciding us); we then look again as after a
    // spurious wake-up.
    WaitResult wait = WaitResult::kWoken;
    // Announce the sleep (kSemStatusAwake -> kSemStatusPending) so that a
    // waker deciding us from now on wakes us; a decision already made
    // fails the exchange, and one made after it makes the sleep return at
    // once (the word no longer holds kSemStatusPending).
    uint32_t expected = kSemStatusAwake;
    if (w->status.compare_exchange_strong(expected, asleep, std::memory_order_acq_rel) || expected == asleep) {
      wait = platform_->Sleep(&w->status, asleep, deadline, signal_epoch);
    }
    uint32_t status = w->status.load(std::memory_order_acquire);
    if (!SemStatusPending(status) && Decision(status)) {
      w->released.store(1, std::memory_order_release);
      return static_cast<int>(status);
    }
    // Our record is queued: only the lock lets us take it out, so this wait
    // ends only with the lock (a dead or made-up holder's taken over), as
    // the kernel's sleeper retakes the set's lock.
    if (int lock_error = locked->Lock(); lock_error != 0) return lock_error;
    status = w->status.load(std::memory_order_acquire);
    if (!SemStatusPending(status) && Decision(status)) {
      w->released.store(1, std::memory_order_release);
      return static_cast<int>(status);
    }
    // The removal mark may have been scribbled away: the table says.
    if (locked->removed() || RemovedOutsideRegion()) {
      error = EIDRM;
      break;
    }
    // Nudged (the lazy hand-off): the semaphore was there for us, and the
    // kernel's waker would have completed us, whatever deadline or signal
    // came after; run the operation first. Otherwise: a spurious wake-up, a
    // sleep that ran out, or a status no waker wrote: run it again (a
    // wake-up a scribble lost is found here) unless the wait is over.
    const bool nudged = status == kSemStatusNudged;
    const bool over = deadline.HasExpired() || wait == WaitResult::kInterrupted;
    if (nudged || !over) {
      error = Recheck(*locked, sops, caller, &index);
      if (error != kSemQueued) return error;
      // Still queued (a running process took the semaphore first): asleep
      // again from here, with the same place in the queue, and owed the
      // next hand-off if that was after a nudge.
      if (nudged) asleep = kSemStatusOwed;
      w = locked->Waiter(index);
      w->cpu = cpu_tag;
      w->status.store(asleep, std::memory_order_relaxed);
      if (!over) continue;
    }
    error = deadline.HasExpired() ? EAGAIN : EINTR;
    break;
  }
  locked->UnlinkQueue(w);
  locked->FreeRecord(index);
  return error;
}

// See "Regions are untrusted input" in core/sem/sem_set.h.
int SemSet::Recheck(Locked& locked, absl::Span<const SemOp> sops, const Caller& caller, uint32_t* index) {
  const uint32_t nsops = static_cast<uint32_t>(sops.size());
  SemWaiter* w = locked.ValidWaiter(*index);
  const bool undos = std::any_of(sops.begin(), sops.end(), [](const SemOp& sop) { return (sop.flg & kSemUndo) != 0; });
  // Still the record this call queued: our pid, still pending and queued,
  // our very operation, our undo record.
  const bool ours = w != nullptr && w->pid == caller.pid &&
                    SemStatusPending(w->status.load(std::memory_order_acquire)) &&
                    w->queue != static_cast<uint32_t>(SemQueueId::kNone) && w->nsops == nsops &&
                    std::equal(sops.begin(), sops.end(), locked.Sops(w), [](const SemOp& a, const SemOp& b) {
                      return a.num == b.num && a.op == b.op && a.flg == b.flg;
                    }) &&
                    w->undo_block == (undos ? locked.FindUndo(caller, /*create=*/false) : kNoBlock);
  if (ours) {
    // In place, keeping its turn in its queue.
    const int result = locked.TryWaiter(*index, w, /*own=*/true);
    if (result == 1) return kSemQueued;
    if (result < 0) {
      locked.UnlinkQueue(w);
      locked.FreeRecord(*index);
      return -result;
    }
    locked.FreeRecord(*index);
    const bool alter = std::any_of(sops.begin(), sops.end(), [](const SemOp& sop) { return sop.op != 0; });
    if (alter) {
      locked.DoSmartUpdate(sops.data(), nsops, true);
    } else {
      locked.SetSemOTime(sops.data());
    }
    return 0;
  }
  // Rewritten by someone else: what is left of it goes, and the operation
  // starts over from the caller's own copy (at the tail of its queue).
  if (w != nullptr && w->pid == caller.pid) {
    locked.UnlinkQueue(w);
    locked.FreeRecord(*index);
  }
  return Start(locked, sops, caller, index);
}

bool SemSet::RemovedOutsideRegion() const {
  if (table_ == nullptr) return false;  // the daemon (it vouches), or unbound
  absl::StatusOr<ObjectRecord> record = table_->Read(IpcIdIndex(id_));
  // EAGAIN: an entry the daemon is rewriting (or left torn): not an answer.
  if (!record.ok()) return ErrnoOf(record.status()) != EAGAIN;
  return record->state == EntryState::kFree || record->perm.seq != IpcIdSeq(id_);
}

int SemSet::StartFor(absl::Span<const SemOp> sops, const Caller& caller, uint32_t* index, uint32_t* status_offset) {
  Locked locked(*this);
  if (int error = locked.Lock(); error != 0) return error;
  const int result = Start(locked, sops, caller, index);
  if (result == kSemQueued) {
    *status_offset = static_cast<uint32_t>(reinterpret_cast<unsigned char*>(&locked.Waiter(*index)->status) -
                                           reinterpret_cast<unsigned char*>(header_));
  }
  return result;
}

int SemSet::EndFor(uint32_t index, int32_t pid, int reason) {
  Locked locked(*this);
  if (int error = locked.Lock(); error != 0) return error;
  SemWaiter* w = locked.ValidWaiter(index);
  // Only the caller's own record: a stale or forged index changes nothing.
  // A record gone while the set lives was scribbled away: its sleeper saw a
  // decision (reason 0) that a writer of the set made, as "done" (a wait for
  // zero that a writer's SETVAL to 0 would have let through).
  if (w == nullptr || w->pid != pid) return reason != 0 ? reason : (locked.removed() ? EIDRM : 0);
  const uint32_t status = w->status.load(std::memory_order_acquire);
  int result = reason;
  if (!SemStatusPending(status)) {
    result = static_cast<int>(status);  // decided first: that is the answer
    // Only 0, ERANGE, and EIDRM for a removed set are decisions the set
    // makes; anything else was written by a scribbler: "done", as above.
    if (!(status == 0 || status == ERANGE || (status == EIDRM && locked.removed()))) result = 0;
  } else if (locked.removed()) {
    result = EIDRM;
  } else if (result == 0) {
    return EINVAL;  // "decided" claimed for a pending record: leave it queued
  }
  locked.UnlinkQueue(w);
  locked.FreeRecord(index);
  return result;
}

bool SemSet::Decision(uint32_t status) const {
  if (status == 0 || status == ERANGE) return true;
  if (status != EIDRM) return false;
  // EIDRM is written by Remove(); a client checks the table before it
  // believes it, and a set the daemon vouches for exists (see "Regions are
  // untrusted input").
  if (owner_) return false;
  return table_ == nullptr || RemovedOutsideRegion();
}

bool SemSet::TrySemopFast(const SemOp& sop, int32_t pid) {
  // The table's nsems was checked; the region's is what bounds the slots.
  if ((sop.flg & kSemUndo) || sop.num >= static_cast<uint32_t>(nsems_)) return false;
  SemSlot& slot = slots_[sop.num];
  // acquire: pairs with SEM_BARRIER_THAW, for the wait-for-zero case that
  // only reads.
  uint64_t word = slot.word.load(std::memory_order_acquire);
  bool done = false;
  for (int attempt = 0; attempt < kSemFastAttempts && !done; ++attempt) {
    // A frozen word belongs to a lock holder; a watched one has sleepers
    // whose wake-up must be atomic with the change: both take the lock.
    if ((word & (kSemFrozen | kSemWatched)) != 0) return false;
    // Clamped as the locked path reads it (a scribbled word may say more).
    const int32_t value = std::min(SemWordValue(word), kSemVmx);
    const int32_t result = value + sop.op;
    // Would sleep (or EAGAIN), or ERANGE: the locked path decides.
    if (sop.op == 0 ? value != 0 : (result < 0 || result > kSemVmx)) return false;
    const uint64_t next = SemWord(result, pid);
    // A wait-for-zero by the process that changed the semaphore last writes
    // nothing: the load above is where it happened.
    if (next == word) {
      done = true;
      break;
    }
    // SEM_BARRIER_THAW: the CAS fails on a word frozen or watched since the
    // load, and reads-from a thaw (release) otherwise.
    done = slot.word.compare_exchange_weak(word, next, std::memory_order_acq_rel, std::memory_order_acquire);
  }
  if (!done) return false;
  // set_semotime(). Relaxed: sem_otime is read without the lock anyway.
  const int64_t now = platform_->now_seconds();
  if (slot.otime.load(std::memory_order_relaxed) != now) slot.otime.store(now, std::memory_order_relaxed);
  return true;
}

bool SemSet::UpgradeLayout(void* base, size_t len) {
  if (len < kHeaderBytes) return false;
  auto* header = static_cast<SemRegionHeader*>(base);
  if (header->magic.load(std::memory_order_acquire) != SemRegionHeader::kMagic ||
      header->layout_version.load(std::memory_order_relaxed) != 1) {
    return false;
  }
  // Version 1 kept value and pid as two int32s where version 2 keeps the
  // word: on a little-endian machine the bytes are already right, and the
  // flag bits, in the value's high bits, were always 0 (values <= SEMVMX).
  static_assert(std::endian::native == std::endian::little);
  const uint32_t nsems = header->nsems.load(std::memory_order_relaxed);
  if (nsems == 0 || nsems > 32000 || len < RegionSize(static_cast<int32_t>(nsems))) return false;
  auto* slots = reinterpret_cast<SemSlot*>(static_cast<unsigned char*>(base) + kHeaderBytes);
  for (uint32_t i = 0; i < nsems; ++i) {
    const uint64_t word = slots[i].word.load(std::memory_order_relaxed);
    slots[i].word.store(SemWord(std::clamp(SemWordValue(word), 0, kSemVmx), SemWordPid(word)),
                        std::memory_order_relaxed);
  }
  header->layout_version.store(SemRegionHeader::kVersion, std::memory_order_release);
  return true;
}

namespace {

bool SemnumValid(int32_t semnum, int32_t nsems) { return semnum >= 0 && semnum < nsems; }

}  // namespace

// semctl's value commands wait for a busy lock until it is free (or its
// holder dies), unless a signal handler runs meanwhile (EINTR): the kernel's
// semctl never blocks on a holder, so nothing else may end the wait.
constexpr RegionPlatform::LockWait kSemctlWait{Deadline::Infinite(), RegionPlatform::kSinceWaitStarts,
                                               /*interruptible=*/true, /*nowait=*/false};

int SemSet::GetVal(int32_t semnum) {
  if (!SemnumValid(semnum, nsems_)) return -EINVAL;
  Locked locked(*this);
  if (int error = locked.Lock(kSemctlWait); error != 0) return -error;
  if (locked.removed()) return -EIDRM;
  locked.Settle();
  return std::min(SemWordValue(slots_[semnum].word.load(std::memory_order_acquire)), kSemVmx);
}

int SemSet::GetPid(int32_t semnum) {
  if (!SemnumValid(semnum, nsems_)) return -EINVAL;
  Locked locked(*this);
  if (int error = locked.Lock(kSemctlWait); error != 0) return -error;
  if (locked.removed()) return -EIDRM;
  locked.Settle();
  return SemWordPid(slots_[semnum].word.load(std::memory_order_acquire));
}

int SemSet::GetNcnt(int32_t semnum) {
  if (!SemnumValid(semnum, nsems_)) return -EINVAL;
  Locked locked_storage(*this);
  Locked* locked = &locked_storage;
  if (int error = locked->Lock(kSemctlWait); error != 0) return -error;
  if (locked->removed()) return -EIDRM;
  locked->Settle();
  return locked->CountSemcnt(semnum, false);
}

int SemSet::GetZcnt(int32_t semnum) {
  if (!SemnumValid(semnum, nsems_)) return -EINVAL;
  Locked locked_storage(*this);
  Locked* locked = &locked_storage;
  if (int error = locked->Lock(kSemctlWait); error != 0) return -error;
  if (locked->removed()) return -EIDRM;
  locked->Settle();
  return locked->CountSemcnt(semnum, true);
}

int SemSet::GetAll(absl::Span<uint16_t> values) {
  Locked locked(*this);
  if (int error = locked.Lock(kSemctlWait); error != 0) return -error;
  if (locked.removed()) return -EIDRM;
  locked.Settle();
  // Every value at one instant: frozen, no lock-free change comes between.
  for (int32_t i = 0; i < nsems_ && static_cast<size_t>(i) < values.size(); ++i) {
    values[i] = static_cast<uint16_t>(locked.Value(static_cast<uint32_t>(i)));
  }
  return 0;
}

int SemSet::SetVal(int32_t semnum, int32_t value, const Caller& caller) {
  if (!SemnumValid(semnum, nsems_)) return -EINVAL;
  Locked locked_storage(*this);
  Locked* locked = &locked_storage;
  if (int error = locked->Lock(kSemctlWait); error != 0) return -error;
  if (locked->removed()) return -EIDRM;
  locked->Settle();
  // semctl_setval(): undo adjustments of the semaphore go to 0 in every
  // process, the value and pid are set, then the queues run.
  locked->SetRedo({SemRedoEntry{static_cast<uint16_t>(semnum), 0, value, 0, 0}});
  locked->Commit(caller.pid, kNoBlock, kNoBlock, semnum, 0, 0);
  header_->ctime.store(platform_->now_seconds(), std::memory_order_relaxed);
  locked->DoSmartUpdate(nullptr, 0, false);
  return 0;
}

int SemSet::SetAll(absl::Span<const uint16_t> values, const Caller& caller) {
  Locked locked_storage(*this);
  Locked* locked = &locked_storage;
  if (int error = locked->Lock(kSemctlWait); error != 0) return -error;
  if (locked->removed()) return -EIDRM;
  locked->Settle();
  std::vector<SemRedoEntry> entries;
  for (int32_t i = 0; i < nsems_ && static_cast<size_t>(i) < values.size(); ++i) {
    entries.push_back(SemRedoEntry{static_cast<uint16_t>(i), 0, values[i], 0, 0});
  }
  // The log holds kSemRedoCapacity entries; a larger set is written in
  // steps, each complete (SETALL's atomicity is only towards semop, which
  // the lock gives).
  for (size_t start = 0; start < entries.size(); start += kSemRedoCapacity) {
    const size_t end = std::min(entries.size(), start + kSemRedoCapacity);
    locked->SetRedo(std::vector<SemRedoEntry>(entries.begin() + static_cast<long>(start),
                                              entries.begin() + static_cast<long>(end)));
    locked->Commit(caller.pid, kNoBlock, kNoBlock, start == 0 ? kSemClearAllUndo : kSemClearNoUndo, 0, 0);
  }
  header_->ctime.store(platform_->now_seconds(), std::memory_order_relaxed);
  locked->DoSmartUpdate(nullptr, 0, false);
  return 0;
}

int64_t SemSet::OTime() const {
  int64_t latest = slots_[0].otime.load(std::memory_order_relaxed);
  for (int32_t i = 1; i < nsems_; ++i) latest = std::max(latest, slots_[i].otime.load(std::memory_order_relaxed));
  return latest;
}

int64_t SemSet::CTime() const { return header_->ctime.load(std::memory_order_relaxed); }

void SemSet::SetCTime(int64_t ctime) { header_->ctime.store(ctime, std::memory_order_relaxed); }

void SemSet::Remove() {
  Locked locked_storage(*this);
  Locked* locked = &locked_storage;
  // Even a broken lock must not stop removal: the waiters still get EIDRM.
  const bool held = locked->Lock() == 0;
  // A nudged waiter whose semaphore was there is done, as in the kernel.
  if (held && !locked->removed()) locked->Settle();
  // Frozen for good: the lock-free path falls back to the locked one, which
  // reports EIDRM.
  locked->FreezeAll();
  locked->ForEachRecord(locked->ScanEnd(), [&](uint32_t i, SemBlockKind kind) {
    if (kind != SemBlockKind::kWaiter) return;
    SemWaiter* w = locked->Waiter(i);
    if (SemStatusPending(w->status.load(std::memory_order_relaxed))) locked->Decide(i, w, EIDRM);
  });
  locked->MarkRemoved();
  if (!held) {
    for (const std::atomic<uint32_t>* word : locked->wake_list()) platform_->waiter.wake(word, 1);
    locked->wake_list().clear();
  }
}

bool SemSet::ProcessExited(const Caller& process, bool* busy) {
  Locked locked_storage(*this);
  Locked* locked = &locked_storage;
  if (busy != nullptr) *busy = false;
  // A process applying its own undo as it exits waits out a holder in its
  // critical section, not a stopped one: the daemon does the work then.
  constexpr RegionPlatform::LockWait kBriefly{Deadline::Infinite(), RegionPlatform::kSinceWaitStarts,
                                              /*interruptible=*/false, /*nowait=*/true};
  if (locked->Lock(kBriefly) != 0) {
    if (busy != nullptr) *busy = true;
    return false;
  }
  if (locked->removed()) return false;
  bool touched = false;
  // Its queued operations die with it (the kernel's sleeper would have
  // unlinked itself on the fatal signal), and so do its decided records.
  std::vector<uint32_t> mine;
  locked->ForEachRecord(locked->ScanEnd(), [&](uint32_t i, SemBlockKind kind) {
    if (kind == SemBlockKind::kWaiter && locked->Waiter(i)->pid == process.pid) mine.push_back(i);
  });
  for (uint32_t i : mine) {
    locked->UnlinkQueue(locked->Waiter(i));
    locked->FreeRecord(i);
    touched = true;
  }
  // exit_sem(): apply the adjustments, clamped to [0, SEMVMX].
  const uint32_t undo_block = locked->FindUndo(process, /*create=*/false);
  if (undo_block == kNoBlock) {
    // What a nudged record of it would have taken goes to the next waiter
    // (update_queue() over every semaphore, as after exit-time undo).
    if (touched) locked->DoSmartUpdate(nullptr, 0, false);
    return touched;
  }
  SemUndo* undo = locked->Undo(undo_block);
  std::vector<SemRedoEntry> entries;
  for (int32_t i = 0; i < nsems_; ++i) {
    const int16_t adjust = reinterpret_cast<int16_t*>(undo + 1)[i];
    if (adjust == 0) continue;
    int32_t value = locked->Value(static_cast<uint32_t>(i)) + adjust;
    value = std::clamp(value, 0, kSemVmx);
    entries.push_back(SemRedoEntry{static_cast<uint16_t>(i), 0, value, 0, 0});
  }
  for (size_t start = 0; start < entries.size(); start += kSemRedoCapacity) {
    const size_t stop = std::min(entries.size(), start + kSemRedoCapacity);
    locked->SetRedo(std::vector<SemRedoEntry>(entries.begin() + static_cast<long>(start),
                                              entries.begin() + static_cast<long>(stop)));
    locked->Commit(process.pid, kNoBlock, kNoBlock, kSemClearNoUndo, 0, 0);
  }
  locked->FreeRecord(undo_block);
  locked->DoSmartUpdate(nullptr, 0, true);
  return true;
}

}  // namespace sysv::core

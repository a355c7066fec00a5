// The region of one semaphore set: its values, its queued operations, and
// the SEM_UNDO adjustments of the processes using it.
//
// Every client with alter permission maps the region read-write and runs
// semop on it (core/sem/sem_set.h); the daemon maps it too, for semctl,
// IPC_RMID and the exit-time work of dead processes. A file in the state
// directory backs it, so it outlives the daemon.
//
// Layout (fixed when the region is formatted):
//   SemRegionHeader   identity, lock, counters, the redo log
//   SemSlot[nsems]    one per semaphore: value, pid, otime
//   arena             kSemBlockSize blocks holding queued operations
//                     (SemWaiter + sembufs) and undo records (SemUndo)
//
// Queues are not linked lists. Each queued operation records which queue
// holds it (SemWaiter::queue, a SemQueueId) and its place in that queue
// (SemWaiter::order, increasing from head to tail); walking a queue means
// collecting its records in order. A process killed while changing a queue
// therefore leaves no broken links, only records that each say where they
// are. Queues are short, and walked only while some operation is queued.
//
// Locking: `lock` (core/shared_mutex.h) guards everything but the atomics
// documented otherwise, with one exception: a semaphore's value and sempid
// (SemSlot::word) may also be changed WITHOUT the lock, by the lock-free
// path of a simple semop, under the frozen-bit protocol below. Times are
// atomics so that readers without the lock (the daemon's IPC_STAT) never see
// a torn word.
//
// The frozen-bit protocol (lock-free simple semop, linearizable against the
// locked path):
//   - SemSlot::word packs value, sempid and two flags into one 64-bit
//     atomic, so a value and its pid change in one step.
//   - kSemFrozen: a lock holder, before it reads or writes a semaphore,
//     freezes its word (fetch_or) and keeps it frozen until just before it
//     unlocks (SEM_BARRIER_THAW in core/sem/sem_set.cc). While a word is
//     frozen only the lock holder writes it, so what the holder read stays
//     true until it unlocks: the locked operation is atomic with respect to
//     the lock-free ones, as if it ran when it froze its last word.
//   - kSemWatched: set when a holder thaws a word while operations are
//     queued on the set (`queued` != 0), cleared when it thaws it with none
//     queued. Every semaphore a queued operation has read was frozen by the
//     holder that queued or last tried it, so it is watched for as long as
//     that operation stays queued. A queued operation can only become
//     runnable through a change of a semaphore it read (it is blocked by the
//     sop of one of them, and the earlier sops depend on those only), and the
//     kernel's wake-up of queued operations is atomic with the change that
//     enables them: so a watched word is changed only under the lock, where
//     update_queue() runs. A word watched after its sleepers left costs one
//     locked operation, which clears the flag.
//   - The lock-free path (SemSet::TrySemopFast) handles one sop without
//     SEM_UNDO whose result is in [0, SEMVMX]: it CASes a word that is
//     neither frozen nor watched, and leaves everything else to the locked
//     path (a flagged word, a sop that would sleep or give EAGAIN or ERANGE,
//     a CAS lost too often). It never needs to wake anybody.
//   - A holder that dies leaves words frozen. Only one process holds the lock
//     at a time, so every frozen word of a live set is the holder's: the
//     next holder, recovering, freezes every word and thaws them all when it
//     unlocks. IPC_RMID freezes every word for good: the lock-free path then
//     always falls back, and the locked path reports EIDRM.
//
// Crash consistency: changing more than one word (an operation over several
// semaphores, its undo adjustments, and the completion of a queued waiter)
// is first written to `redo` (REDO_BARRIER: entries, then `active` = 1 with
// release), then applied, then `active` = 0. A process killed in between
// leaves the lock owner-dead; the next holder replays an active log, which
// is idempotent, before anything else.
//
// Regions are untrusted input: a client with alter permission can scribble
// anywhere here, at any moment. The recovery rules are in the notes of
// core/sem/sem_set.h; field by field:
//   magic, layout_version, nsems, *_offset, arena_blocks: written by Format,
//     read only by the daemon's checks (SemSet::HeaderIntact, UpgradeLayout);
//     the geometry in use comes from the mapping's length.
//   removed: a hint; believed only when the object table (clients) agrees,
//     cleared by the daemon, which vouches for the sets it maps.
//   lock: a word naming no live thread is taken over, a lock that is not one
//     formatted again; either way the taker runs recovery (below).
//   ctime, SemSlot::otime: reported as read (IPC_STAT's times; a writer can
//     forge them, which the kernel would not let him: see the README).
//   queued, complex_count: recounted by recovery; a wrong count costs a
//     sleeper at most kRegionSleepLimit, after which it re-runs its operation.
//   blocks_in_use_end, next_order, first_order: bounded or only compared.
//   SemSlot::word: value clamped to [0, SEMVMX], pid as read; a scribbled
//     frozen or watched flag only routes operations through the lock.
//   redo: replayed only after a dead (or made-up) holder, entry by entry,
//     bounded and clamped.
//   arena records: validated when found and every field bounded when used;
//     a waiter's status is believed only if it is a decision the set makes
//     (0, ERANGE, EIDRM of a set really removed).
#ifndef SYSV_CORE_SEM_SEM_REGION_H_
#define SYSV_CORE_SEM_SEM_REGION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sysv::core {

inline constexpr uint32_t kNoBlock = UINT32_MAX;

// One semaphore.
struct SemSlot {
  // semval (bits 0-29), kSemWatched (30), kSemFrozen (31) and sempid, the
  // last process to change it (bits 32-63): see the frozen-bit protocol above and
  // SemWordValue() and friends. On a little-endian machine the value and pid
  // sit where layout version 1 kept them as two int32s.
  std::atomic<uint64_t> word;
  std::atomic<int64_t> otime;  // this semaphore's sem_otime (seconds)
  uint64_t reserved[2];
};
static_assert(sizeof(SemSlot) == 32);
static_assert(offsetof(SemSlot, word) == 0 && offsetof(SemSlot, otime) == 8);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// The flags of SemSlot::word (see the frozen-bit protocol above).
inline constexpr uint64_t kSemFrozen = uint64_t{1} << 31;   // a lock holder owns the word
inline constexpr uint64_t kSemWatched = uint64_t{1} << 30;  // changes go through the lock
inline constexpr uint64_t kSemValueMask = kSemWatched - 1;

// The fields of a SemSlot::word. Values are in [0, SEMVMX] whenever written
// by libsysv; a scribbled word still decodes to a value in [0, 2^30).
constexpr int32_t SemWordValue(uint64_t word) { return static_cast<int32_t>(word & kSemValueMask); }
constexpr int32_t SemWordPid(uint64_t word) { return static_cast<int32_t>(static_cast<uint32_t>(word >> 32)); }
constexpr bool SemWordFrozen(uint64_t word) { return (word & kSemFrozen) != 0; }
// A word of `value` (in [0, 2^30)) and `pid`, without flags.
constexpr uint64_t SemWord(int32_t value, int32_t pid) {
  return (uint64_t{static_cast<uint32_t>(pid)} << 32) | (static_cast<uint64_t>(static_cast<uint32_t>(value)) & kSemValueMask);
}

// The redo log of one multi-word update.
inline constexpr uint32_t kSemRedoCapacity = 500;  // one entry per sop (SEMOPM)

struct SemRedoEntry {
  uint16_t semnum;
  uint16_t set_undo;   // 1: the undo record's adjustment for semnum := undo
  int32_t value;       // new semval
  int16_t undo;        // new semadj (absolute, so that a replay sets, never adds)
  int16_t reserved;
};
static_assert(sizeof(SemRedoEntry) == 12);

struct SemRedoLog {
  std::atomic<uint32_t> active;  // 1 while the entries are being applied
  uint32_t count;
  int32_t pid;          // new sempid of every entry
  uint32_t undo_block;  // the undo record the deltas go to, or kNoBlock
  uint32_t waiter_block;  // a waiter this completes (status := 0), or kNoBlock
  int32_t clear_undo;   // SETVAL/SETALL: semnum whose adjustments all go to 0,
                        // kSemClearAllUndo, or kSemClearNoUndo
  int64_t otime;        // if non-zero, sems[otime_semnum].otime := otime
  uint32_t otime_semnum;
  uint32_t reserved2;
  SemRedoEntry entries[kSemRedoCapacity];
};

inline constexpr int32_t kSemClearNoUndo = -1;
inline constexpr int32_t kSemClearAllUndo = -2;

enum class SemQueueId : uint32_t {
  kNone = 0,             // not queued (being set up, or decided)
  kGlobalAlter = 1,      // sma->pending_alter
  kGlobalConst = 2,      // sma->pending_const
  kSemAlter = 3,         // sems[semnum].pending_alter (semnum = sops[0].num)
  kSemConst = 4,         // sems[semnum].pending_const
};

struct SemRegionHeader {
  static constexpr uint64_t kMagic = 0x4E4F494745524D53;  // "SMREGION" in memory
  // 2: SemSlot packs value and pid into one word with the frozen bit (1 had
  // two int32s at the same place; SemSet::UpgradeLayout() converts).
  static constexpr uint32_t kVersion = 2;

  std::atomic<uint64_t> magic;
  std::atomic<uint32_t> layout_version;
  std::atomic<uint32_t> nsems;
  std::atomic<uint32_t> slots_offset;
  std::atomic<uint32_t> arena_offset;
  std::atomic<uint32_t> arena_blocks;  // capacity of the arena
  std::atomic<uint32_t> removed;       // 1 once IPC_RMID ran
  std::atomic<int64_t> ctime;          // sem_ctime (seconds)
  // Operations queued on any queue. Lets a change skip the queue scan when
  // nobody waits, and decides kSemWatched when a holder thaws a word.
  std::atomic<uint32_t> queued;
  uint32_t complex_count;      // queued operations with nsops > 1
  uint32_t blocks_in_use_end;  // one past the highest block ever used
  uint32_t reserved;
  int64_t next_order;          // order of the next record added at a tail
  int64_t first_order;         // order of the next record added at a head
  alignas(64) unsigned char lock[64];  // SharedMutex storage
  SemRedoLog redo;
};

// Arena blocks. A record spans one or more consecutive blocks; its first
// block starts with a SemBlockHeader, the others are kTail.
inline constexpr uint32_t kSemBlockSize = 64;

enum class SemBlockKind : uint32_t {
  kFree = 0,
  kWaiter = 1,
  kUndo = 2,
  kTail = 3,
};

struct SemBlockHeader {
  std::atomic<uint32_t> kind;  // written last when creating, first when freeing
  uint32_t blocks;             // the record's length in blocks
};

// A waiter's status while it is queued: not decided yet, and its sleeper
// may be in its futex sleep on the word (the waker must wake it).
inline constexpr uint32_t kSemStatusPending = 0xFFFFFFFFu;
// Not decided yet either, but its sleeper is awake (spinning, or handing
// the CPU over) and looks at the word by itself: the waker that decides it
// makes no wake-up call. The sleeper turns it into kSemStatusPending (a CAS)
// before its futex sleep. A scribbled kSemStatusAwake only loses wake-ups,
// which the bounded sleep makes up for (kRegionSleepLimit).
inline constexpr uint32_t kSemStatusAwake = 0xFFFFFFFEu;
// Not decided either: a waker found the semaphore free for it while its
// sleeper slept, and woke it to run its operation itself instead of running
// it on its behalf (the lazy hand-off, core/sem/sem_set.h "Internals"). The
// sleeper keeps its place in its queue until it has run it.
inline constexpr uint32_t kSemStatusNudged = 0xFFFFFFFDu;
// Not decided, asleep as kSemStatusPending is, but owed the kernel's
// hand-off: it was nudged once and a running process took the semaphore
// first, so its next waker runs its operation on its behalf instead of
// nudging it again. So a sleeper is overtaken at most once per semop, as a
// Linux kernel mutex's woken waiter that lost the race is handed the lock
// next (MUTEX_FLAG_HANDOFF): no starvation.
inline constexpr uint32_t kSemStatusOwed = 0xFFFFFFFCu;
// Whether a status is still undecided.
constexpr bool SemStatusPending(uint32_t status) { return status >= kSemStatusOwed; }
// The longest lease an awake sleeper takes (SemWaiter::awake_until): a
// waker believes a sleeper alive without asking the operating system for at
// most this long after the sleeper last looked at its status, so an
// operation of a process killed while it spun can still complete within
// this long of its death (the kernel has the same window, shorter: a waker
// that takes the lock before the killed sleeper has unlinked itself
// completes its operation). Matches the spin's own bound (core/sem/sem_set.cc).
inline constexpr int64_t kSemAwakeLeaseNanos = 100'000;

// struct sembuf as the ABI lays it out.
struct SemOp {
  uint16_t num;
  int16_t op;
  int16_t flg;
};
static_assert(sizeof(SemOp) == 6);

// A queued semop. Followed by `nsops` SemOps.
struct SemWaiter {
  SemBlockHeader block;
  std::atomic<uint32_t> status;    // futex word: kSemStatusPending/Awake/Nudged/Owed, else the errno (0: done)
  std::atomic<uint32_t> released;  // the waiter read its status: the record may be freed
  int32_t pid;
  uint32_t nsops;
  uint32_t queue;                  // SemQueueId
  int32_t blocking;                // index of the sop that blocked it (count_semcnt)
  int64_t order;                   // place in its queue
  uint32_t undo_block;             // its process's undo record, or kNoBlock
  uint8_t alter;
  uint8_t dupsop;
  // 1 + the CPU its sleeper queued it from (0: unknown). A hint, read by
  // the process that decides it (SemSet::Locked::Wake()) to learn where
  // the partner it will wait for next runs; any value only tunes a spin.
  uint16_t cpu;
  // While `status` is kSemStatusAwake: the CLOCK_MONOTONIC nanoseconds
  // until which the sleeper is sure to look at its status by itself (it
  // renews this while it spins or hands the CPU over). Until then, and if
  // no further ahead than kSemAwakeLeaseNanos (a scribble may say more),
  // the process that decides it takes it as alive without a system call
  // (SemSet::Locked::TryWaiter()); otherwise it asks (process_alive). Only
  // the decision's cost depends on it. Written by the sleeper without the
  // lock: atomic.
  std::atomic<int64_t> awake_until;
  // SemOp sops[nsops] follow.
};
static_assert(sizeof(SemWaiter) == 56);
static_assert(offsetof(SemWaiter, awake_until) == 48);
static_assert(std::atomic<int64_t>::is_always_lock_free);

// The SEM_UNDO adjustments (semadj) of one process for this set. Followed
// by nsems int16s.
struct SemUndo {
  SemBlockHeader block;
  int32_t pid;
  uint32_t reserved;
  uint64_t start_time;  // with pid, names one process across pid reuse
};
static_assert(sizeof(SemUndo) == 24);

}  // namespace sysv::core

#endif  // SYSV_CORE_SEM_SEM_REGION_H_

// Semaphore operations on a set's mapped region: semop/semtimedop and the
// value commands of semctl, run by clients; removal and exit-time undo, run
// by the daemon.
//
// User space visible behavior (as Linux ipc/sem.c since 4.x):
//   - semop is all-or-nothing across the set: either every sop applies or
//     none does and the caller sleeps (or gets EAGAIN with IPC_NOWAIT).
//   - Queued operations are served in FIFO order per queue, without
//     starvation protection: an operation that can proceed completes even if
//     an older one on the same semaphore still cannot.
//   - Several operations on one semaphore in one call apply in order.
//   - GETNCNT/GETZCNT count a sleeper only on the semaphore that blocked it
//     (Linux 3.16+).
//   - At exit, SEM_UNDO adjustments are applied and the result clamped to
//     [0, SEMVMX]; SETVAL/SETALL zero the adjustments of every process.
//   - A signal interrupts a sleeping semop with EINTR (never restarted); a
//     semtimedop timeout gives EAGAIN; IPC_RMID wakes every sleeper with
//     EIDRM.
//
// Internals:
//   - The process that makes progress possible completes the sleeper's
//     operation on its behalf and sets its status; the sleeper only reads
//     its status when woken ("the waker completes the waiter's operation",
//     update_queue() in ipc/sem.c). Wake-ups happen after the lock is
//     dropped.
//   - One deliberate difference, the lazy hand-off: when a client's semop
//     frees a semaphore whose queue head is a simple decrement asleep with
//     others queued behind it (a contended mutex), the waker does not run
//     that operation; it wakes the sleeper (kSemStatusNudged) to run it
//     itself, keeping its place. Until it does, a simple decrement by a
//     running process may take the semaphore first, once: a sleeper that
//     woke to find it taken sleeps owed the next hand-off (kSemStatusOwed),
//     which its waker then makes as the kernel does. In the kernel every
//     waiter in turn must be scheduled before anyone can take the semaphore
//     (a convoy of context switches on a busy machine); the kernel promises
//     FIFO among queued operations only, which this keeps (waiters behind a
//     nudged one are nudged only for what is left). Everything else that can
//     observe the state settles first (Locked::Settle(): the nudged
//     operations that can run are completed, as the kernel's waker would
//     have): semctl's value commands, a wait for zero or a complex semop,
//     IPC_RMID, exit-time work; a nudged sleeper runs its operation before
//     it looks at its deadline or signals.
//   - The queues are those of ipc/sem.c: per semaphore, simple alter and
//     wait-for-zero operations; per set, complex ones (and, while a complex
//     one is queued, every alter operation: merge_queues()). See
//     core/sem/sem_region.h for how a queue is stored.
//   - A sleeper whose process died is not completed: the waker checks the
//     process is alive before applying its operation (kill(pid, 0)), unless
//     the sleeper is awake within its lease (SemWaiter::awake_until, at most
//     kSemAwakeLeaseNanos), and the daemon removes a dead process's records
//     when it learns of the death. So an operation of a process killed while
//     it spun may complete up to that long after its death; the kernel's
//     window (a waker taking the lock before the killed sleeper unlinks
//     itself) is shorter.
//
// Locking: every function takes the region's lock (core/shared_mutex.h)
// itself and releases it before returning; none may be called with it held.
// A holder that died is repaired after (RecoverLocked()).
//
// Regions are untrusted input. Every alter user maps the region read-write
// and can write anything anywhere in it, at any moment, even while another
// process holds the lock. What such a user can do in the kernel is change
// values (semop, SETVAL, SETALL) and wait; so a scribbled region must give
// everyone else no more than that, never "removed" and never a crash or a
// hang. The rules (core/sem/sem_region.h says which field each applies to):
//   - Identity, permissions and existence are not in the region. The
//     geometry (nsems, where slots and arena are) comes from the mapping's
//     length, which the daemon fixes from its object table; the header's
//     magic, version and geometry fields are not read after daemon start.
//   - Existence: the region's `removed` mark is a hint. EIDRM is given only
//     when the set really was removed: for a client, its object table entry
//     is free or has another seq (BindToTable()); the daemon, which drops its
//     mapping when it removes a set, vouches for every set it maps
//     (BindToOwner()) and clears a forged mark. A mark cleared by a scribble
//     is made up for by the sleeper's own check (below).
//   - Values: anything a word decodes to is clamped to [0, SEMVMX], as
//     SETALL could have left it; sempid is whatever the word says. A frozen
//     or watched flag a scribble set only sends operations to the lock, and
//     the holder thaws it.
//   - The lock word: a word naming no live thread (a dead or made-up TID) is
//     taken over as from a dead holder (core/owner_word_mutex.h), and the
//     taker repairs as after one (Recover(): replays a valid redo log,
//     recounts the queues, wakes every decided sleeper). A lock that is not
//     one at all (bad magic, "not recoverable") is formatted again and taken
//     the same way. A word naming a live thread, or one the probe cannot see
//     (another PID namespace), is a holder: waited for as a blocked call waits
//     (deadline, signals, IPC_NOWAIT), as if that user had stopped inside
//     semop, which he could.
//   - Queues and records: every index, length, count and semaphore number is
//     bounded when it is used, not only when first checked (a scribble may
//     come in between); a record that does not validate is a free block. A
//     sleeper whose futex sleep ends (woken, or after kRegionSleepLimit)
//     with its status still pending re-runs its operation, as after a
//     spurious wake-up: in place if its record is still its own, else queued
//     anew from its own copy of the operation. So a wake-up lost to a
//     scribbled queue, count or watched flag costs at most kRegionSleepLimit,
//     and a waiter record rewritten by someone else never decides what its
//     sleeper's call did beyond "done", which a SETVAL could also have made
//     look so.
//   - Undo records: bounded and validated like any record; an adjustment is
//     an int16, so what exit-time undo applies is a clamped value an alter
//     user could have set.
//   - The redo log: replayed only by a taker after a dead (or forged) holder,
//     entry by entry with semaphore numbers bounded, values clamped and
//     records validated.
#ifndef SYSV_CORE_SEM_SEM_SET_H_
#define SYSV_CORE_SEM_SEM_SET_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/deadline.h"
#include "core/ipc/object_table.h"
#include "core/region_platform.h"
#include "core/sem/sem_region.h"
#include "core/shared_mutex.h"
#include "core/spin_budget.h"
#include "core/waiter.h"

namespace sysv::core {

// What the algorithm needs from the operating system, supplied by a backend.
// What the algorithm needs from the operating system (core/region_platform.h).
using SemPlatform = RegionPlatform;

class SemSet {
 public:
  // Bytes of the region of a set of `nsems` semaphores.
  static size_t RegionSize(int32_t nsems);

  // Formats a new region: every value 0, sem_ctime = `ctime`.
  static absl::StatusOr<SemSet> Format(void* base, size_t len, int32_t nsems, int64_t ctime,
                                       const SemPlatform* platform);
  // The first bytes of a region of `nsems` semaphores that Format writes
  // (header and slots); the rest, the arena, is zeros in a new region.
  static size_t FormattedBytes(int32_t nsems);
  // Writes what Format writes, into `base`, FormattedBytes(nsems) bytes of
  // zeros aligned as a region is: a new set's region written to its file
  // without mapping it (the daemon's create maps nothing). Results: OK;
  // EINVAL (nsems outside [1, 32000]).
  static absl::Status FormatHeader(void* base, int32_t nsems, int64_t ctime, const SemPlatform* platform);
  // Validates an existing region's geometry against `len`.
  static absl::StatusOr<SemSet> Open(void* base, size_t len, const SemPlatform* platform);
  // Whether the header still says what Format() wrote for a region of `len`
  // bytes (magic, version, geometry). Nothing relies on it once the region
  // is open (see "Regions are untrusted input"); the daemon asks it of a
  // file found cut short, to tell a region whose tail was cut (kept) from
  // one cut to nothing (formatted again).
  static bool HeaderIntact(const void* base, size_t len);
  // Converts a region of an older layout version in place (daemon start,
  // before Open, while no client maps the region). Returns whether it did.
  static bool UpgradeLayout(void* base, size_t len);

  int32_t nsems() const { return nsems_; }

  // Where the truth about the set's existence is (see "Regions are
  // untrusted input"). Unbound (tests of the region alone): the region's
  // mark. BindToTable: a client's read-only view of the object table, which
  // must stay mapped as long as this SemSet is used; `id` is the set's id.
  // BindToOwner: the daemon, which keeps a SemSet only for a live set.
  void BindToTable(const ObjectTable* table, int32_t id) {
    table_ = table;
    id_ = id;
    owner_ = false;
  }
  void BindToOwner() {
    table_ = nullptr;
    owner_ = true;
  }

  // Who runs an operation.
  struct Caller {
    int32_t pid = 0;
    uint64_t start_time = 0;  // for SEM_UNDO records
  };

  // semop/semtimedop, once the checks against the object table are done
  // (EINVAL, EFBIG, EACCES: see CheckSemop()). Returns 0 or the errno:
  // EIDRM (removed before or while sleeping), ERANGE (a value or an undo
  // adjustment would leave its range), EAGAIN (IPC_NOWAIT, or `deadline`
  // passed), EINTR (a signal handler ran after the call started and before
  // the operation completed, and it had to sleep; see
  // SemPlatform::signal_epoch), ENOMEM (no room to queue the operation or
  // its undo record).
  int Semop(absl::Span<const SemOp> sops, const Caller& caller, Deadline deadline);
  // The same for a call that started at signal epoch `since` (read before
  // anything else of the call, which may have done more, such as a round
  // trip to the daemon, before it got here): a handler run since then
  // interrupts it as one run during it would.
  int Semop(absl::Span<const SemOp> sops, const Caller& caller, Deadline deadline, uint64_t since);

  // semop for a client that may not write the region (read permission
  // only, which suffices for an operation that only waits for zero:
  // ipcperms(S_IRUGO) in do_semtimedop()). The daemon runs it on the
  // client's behalf. StartFor() returns 0 or the errno when the operation
  // completes or fails at once, or kSemQueued when it was queued: then
  // `*index` names its record and `*status_offset` the byte offset, in the
  // region, of its status word (kSemStatusPending until decided), on which
  // the client sleeps in its read-only mapping. EndFor() ends it, once the
  // client saw a decision (`reason` 0) or gave up (EINTR, EAGAIN): returns
  // the decision if one was made (0, EIDRM, ERANGE), else `reason` after
  // unqueueing it, and frees the record. A record of another process, or no
  // record, gives `reason` (or EIDRM); "decided" claimed for a pending
  // record gives EINVAL and leaves it queued.
  int StartFor(absl::Span<const SemOp> sops, const Caller& caller, uint32_t* index, uint32_t* status_offset);
  int EndFor(uint32_t index, int32_t pid, int reason);
  static constexpr int kSemQueued = -1;

  // The lock-free path of semop for one sop (see the frozen-bit protocol in
  // core/sem/sem_region.h). Returns true when the operation is done (the
  // result is 0, and semop must not run); false when it must go to Semop(),
  // which then decides everything (SEM_UNDO, a sop that would sleep or give
  // EAGAIN or ERANGE, a frozen word, a removed set). REQUIRES: sop.num <
  // nsems(), and the table checks (CheckSemop()) passed. Never sleeps and
  // never calls the operating system, except to take the lock and wake
  // sleepers when someone is queued on the set.
  bool TrySemopFast(const SemOp& sop, int32_t pid);

  // The value commands of semctl, after the table checks. Each returns the
  // result (>= 0) or a negative errno (-EIDRM; -EINVAL for a semnum out of
  // range).
  int GetVal(int32_t semnum);
  int GetPid(int32_t semnum);
  int GetNcnt(int32_t semnum);
  int GetZcnt(int32_t semnum);
  int GetAll(absl::Span<uint16_t> values);
  // SETVAL: `value` is already checked against [0, SEMVMX].
  int SetVal(int32_t semnum, int32_t value, const Caller& caller);
  // SETALL: every value is already checked against SEMVMX.
  int SetAll(absl::Span<const uint16_t> values, const Caller& caller);

  // Daemon side.
  int64_t OTime() const;  // get_semotime(): the latest of the semaphores'
  int64_t CTime() const;
  void SetCTime(int64_t ctime);
  // freeary(): every sleeper gets EIDRM and is woken; the set is marked
  // removed so that later operations on a stale mapping get EIDRM too.
  void Remove();
  // exit_sem() for one process and this set, plus the removal of its queued
  // operations (it died while sleeping). Returns whether it had anything
  // here. `*busy` (if given) is set when the lock could not be had in time:
  // nothing was done, and the caller should try again later.
  bool ProcessExited(const Caller& process, bool* busy = nullptr);

 private:
  SemSet(SemRegionHeader* header, SemSlot* slots, unsigned char* arena, int32_t nsems,
         uint32_t arena_blocks, const SemPlatform* platform)
      : header_(header),
        slots_(slots),
        arena_(arena),
        nsems_(nsems),
        arena_blocks_(arena_blocks),
        platform_(platform) {}

  class Locked;  // the lock held, with the wake-ups to do after it
  friend class Locked;

  // semop under the lock up to the sleep (see the .cc).
  int Start(Locked& locked, absl::Span<const SemOp> sops, const Caller& caller, uint32_t* index_out);
  // A sleeper's re-check after its sleep ended with its status pending (see
  // "Regions are untrusted input"): 0 or an errno when it is decided now,
  // kSemQueued when it is still queued (maybe anew: *index updated).
  int Recheck(Locked& locked, absl::Span<const SemOp> sops, const Caller& caller, uint32_t* index);
  // Whether the set was really removed, as far as the binding can tell
  // without the region.
  bool RemovedOutsideRegion() const;
  // Whether a waiter's status (not pending) is one the set decides: 0,
  // ERANGE, or EIDRM for a set that was removed. Anything else a scribbler
  // wrote, and its sleeper re-checks.
  bool Decision(uint32_t status) const;

  SemRegionHeader* header_;
  SemSlot* slots_;
  unsigned char* arena_;
  int32_t nsems_;
  uint32_t arena_blocks_;
  const SemPlatform* platform_;
  const ObjectTable* table_ = nullptr;
  int32_t id_ = -1;
  bool owner_ = false;

  // A process-local hint, shared by the process's threads (hence atomic)
  // and copied with the SemSet. Hints only speed things up: each is checked
  // (or only tunes a spin) where it is used.
  template <typename T>
  class Hint {
   public:
    explicit Hint(T initial) : value_(initial) {}
    Hint(const Hint& other) : value_(other.Get()) {}
    Hint& operator=(const Hint& other) {
      Set(other.Get());
      return *this;
    }
    T Get() const { return value_.load(std::memory_order_relaxed); }
    void Set(T value) { value_.store(value, std::memory_order_relaxed); }

   private:
    std::atomic<T> value_;
  };
  // 1 + the CPU of the sleeper this process decided last (SemWaiter::cpu),
  // 0 before it decided any.
  Hint<uint16_t> partner_cpu_{0};
  // The block of this process's undo record, as FindUndo() last found it
  // (it checks the record is still there and still this process's).
  Hint<uint32_t> undo_block_{kNoBlock};
  // How long a sleeper whose partner runs on another CPU spins before it
  // sleeps: up to about 100 us (kSemSpinMicros) at the ~23 ns an iteration
  // with the pause takes on this project's VM. Shorter fixed spins (200:
  // 5 us) measured far worse on the two-CPU ping-pong, whose partner often
  // answers later than that; a partner that is not running at all (a mutex
  // holder asleep in poll()) makes every spin a miss, and the budget falls
  // to under a microsecond, short of the first yield (kSpinsPerYield).
  SpinBudget spin_budget_{/*min=*/kSpinsPerYield / 2, /*max=*/4000};
};

}  // namespace sysv::core

#endif  // SYSV_CORE_SEM_SEM_SET_H_

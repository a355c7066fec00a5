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
//   - The queues are those of ipc/sem.c: per semaphore, simple alter and
//     wait-for-zero operations; per set, complex ones (and, while a complex
//     one is queued, every alter operation: merge_queues()). See
//     core/sem/sem_region.h for how a queue is stored.
//   - A sleeper whose process died is never completed: the waker checks the
//     process is alive before applying its operation, and the daemon removes
//     a dead process's records when it learns of the death.
//
// Locking: every function takes the region's lock (core/shared_mutex.h)
// itself and releases it before returning; none may be called with it held.
// A holder that died is repaired after (RecoverLocked()).
#ifndef SYSV_CORE_SEM_SEM_SET_H_
#define SYSV_CORE_SEM_SEM_SET_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/deadline.h"
#include "core/sem/sem_region.h"
#include "core/shared_mutex.h"
#include "core/waiter.h"

namespace sysv::core {

// What the algorithm needs from the operating system, supplied by a backend.
struct SemPlatform {
  WaiterOps waiter;
  SharedMutexOps mutex;
  // False when the process is known to have exited. A sleeper of a dead
  // process is dropped instead of completed.
  bool (*process_alive)(int32_t pid);
  // CLOCK_REALTIME, seconds (sem_otime, sem_ctime).
  int64_t (*now_seconds)();
  // How long to wait for a set's lock before declaring the set broken
  // (EIDRM): a healthy holder keeps it for microseconds. Clients can afford
  // to wait long; the daemon, which serves everyone from one thread, cannot.
  int64_t lock_timeout_nanos;
};

class SemSet {
 public:
  // Bytes of the region of a set of `nsems` semaphores.
  static size_t RegionSize(int32_t nsems);

  // Formats a new region: every value 0, sem_ctime = `ctime`.
  static absl::StatusOr<SemSet> Format(void* base, size_t len, int32_t nsems, int64_t ctime,
                                       const SemPlatform* platform);
  // Validates an existing region's geometry against `len`.
  static absl::StatusOr<SemSet> Open(void* base, size_t len, const SemPlatform* platform);

  int32_t nsems() const { return nsems_; }

  // Who runs an operation.
  struct Caller {
    int32_t pid = 0;
    uint64_t start_time = 0;  // for SEM_UNDO records
  };

  // semop/semtimedop, once the checks against the object table are done
  // (EINVAL, EFBIG, EACCES: see CheckSemop()). Returns 0 or the errno:
  // EIDRM (removed before or while sleeping), ERANGE (a value or an undo
  // adjustment would leave its range), EAGAIN (IPC_NOWAIT, or `deadline`
  // passed), EINTR (a signal handler ran while sleeping), ENOMEM (no room
  // to queue the operation or its undo record).
  int Semop(absl::Span<const SemOp> sops, const Caller& caller, Deadline deadline);

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

  SemRegionHeader* header_;
  SemSlot* slots_;
  unsigned char* arena_;
  int32_t nsems_;
  uint32_t arena_blocks_;
  const SemPlatform* platform_;
};

}  // namespace sysv::core

#endif  // SYSV_CORE_SEM_SEM_SET_H_

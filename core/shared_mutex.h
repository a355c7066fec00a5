// SharedMutex: the contract of a robust mutex shared between processes.
//
// Semaphore sets and message queues keep their state in a mapped region
// (a MAP_SHARED mapping of a region file, DESIGN.md decision 2) and guard it
// with a mutex that lives in the region itself. Many processes map the region,
// at different addresses, and any of them may be killed at any instruction
// while holding the mutex (decision 5); any client with write access may
// scribble on it (decision 6). The implementation is core's OwnerWordMutex
// (core/owner_word_mutex.h), which each OS completes with its waiter and a
// probe of thread liveness (Linux: RegionMutex, backends/linux/
// region_mutex.h). This file names the contract.
//
// The contract, as the static members a mutex type M provides. `storage`
// points at M::kStorageSize bytes, aligned to M::kStorageAlign, inside a
// shared mapping; the storage must stay mapped for the whole call.
//
//   // Debugging name of the mechanism ("owner_word").
//   static constexpr char kName[] = "...";
//
//   // Bytes the mutex occupies in the region and their alignment. At most
//   // kSharedMutexReservedSize and dividing kSharedMutexReservedAlign, so
//   // that region layouts in core/ can reserve a fixed slot without knowing
//   // the backend (checked by the concept below).
//   static constexpr size_t kStorageSize = ...;
//   static constexpr size_t kStorageAlign = ...;
//
//   // Formats `storage` as an unlocked, consistent mutex, overwriting
//   // whatever was there. REQUIRES: no other thread or process uses the
//   // storage during the call or holds the mutex: Init is for a region being
//   // created, or rebuilt while nobody maps it. It is NOT a way to break a
//   // stuck or corrupted lock that others may still hold or wait on (they
//   // would then run in the critical section together, or wait forever on a
//   // word that no longer has their waiting bit). A failure to format is a
//   // broken invariant of the implementation and aborts.
//   static void Init(void* storage);
//
//   // Acquires the mutex for the calling THREAD, waiting at most until
//   // `deadline` (absolute, CLOCK_MONOTONIC; see core/deadline.h). Results:
//   //   kAcquired            the caller holds the mutex and the guarded state
//   //                        is consistent.
//   //   kAcquiredOwnerDied   the caller holds the mutex, but the previous
//   //                        holder died while holding it (its process was
//   //                        killed or exited, or its thread exited), so the
//   //                        guarded state may be half-updated. The caller
//   //                        must repair it (finish or undo the update that was
//   //                        recorded before it was applied, decision 5), then
//   //                        call MarkConsistent(), then Unlock(). Also
//   //                        reported when the holder died after its update was
//   //                        complete but before the release was visible, and
//   //                        after a scribble set the implementation's
//   //                        "owner died" state: repair must be idempotent and
//   //                        must validate what it reads. If the repairer dies
//   //                        in turn, the next Lock reports kAcquiredOwnerDied
//   //                        again.
//   //   kTimedOut            `deadline` passed and the mutex was not acquired:
//   //                        another thread holds it, or the holder is stopped
//   //                        (SIGSTOP, a debugger), or a scribble made the
//   //                        mutex look held by a live thread. A timeout is
//   //                        never silent: the caller passes a bounded
//   //                        deadline and decides what kTimedOut means (a
//   //                        client waiting as a blocked call looks at its
//   //                        signals and its call's deadline, then locks
//   //                        again; the daemon retries later:
//   //                        core/region_platform.h, LockAsCall). With
//   //                        Deadline::Infinite() a stopped
//   //                        holder or a scribbled lock word blocks forever;
//   //                        callers that must not hang (the daemon, always)
//   //                        never pass it. A deadline that has already passed
//   //                        makes Lock a try-lock: a free mutex is still
//   //                        acquired (or reported as owner-dead), a held one
//   //                        gives kTimedOut at once.
//   //   kCorrupt             the storage is not a valid mutex (never
//   //                        initialised, scribbled), or it was made
//   //                        unrecoverable (see Unlock). The caller does NOT
//   //                        hold the mutex; it reports the object as
//   //                        corrupted, and must not touch the guarded state.
//   //                        Nothing crashes and nothing else is affected.
//   // The caller does not hold the mutex after kTimedOut or kCorrupt and must
//   // not call Unlock(). A signal handler that runs during the wait does not
//   // end it (semop's EINTR comes from the Waiter, not from this lock).
//   // Locking a mutex the calling thread already holds is a bug of the
//   // caller (the mutex is not recursive); implementations may abort on it.
//   static LockResult Lock(void* storage, Deadline deadline);
//
//   // Releases the mutex. REQUIRES: the calling thread holds it (its Lock
//   // returned kAcquired or kAcquiredOwnerDied); anything else is a bug of
//   // the caller and implementations may abort on it. After
//   // kAcquiredOwnerDied without MarkConsistent() the mutex is released
//   // UNRECOVERABLE: every later Lock returns kCorrupt until Init(). This is
//   // how a holder that could not repair the state poisons the object for
//   // everyone (POSIX robust mutexes behave the same). If the storage was
//   // scribbled while held, Unlock still returns without crashing or
//   // hanging; what later Locks report is then any result above.
//   static void Unlock(void* storage);
//
//   // Declares the guarded state repaired after kAcquiredOwnerDied, so that
//   // the following Unlock() leaves a consistent mutex. REQUIRES: the calling
//   // thread holds the mutex, acquired with kAcquiredOwnerDied; calling it
//   // otherwise is a bug of the caller and implementations may abort on it.
//   static void MarkConsistent(void* storage);
//
// Memory ordering. Unlock() is a release and a Lock() that returns kAcquired
// or kAcquiredOwnerDied is an acquire on the mutex: everything the previous
// holder wrote before its Unlock() is visible to the next holder, and nothing
// the holder does inside the critical section moves out of it. After
// kAcquiredOwnerDied the stores the dead holder made before it died are
// visible (its death, observed through the kernel, orders them), but they may
// stop in the middle of an update: that is what the repair is for.
// kTimedOut and kCorrupt order nothing.
//
// Rules every implementation keeps:
//   - Process-shared: no private futexes, nothing keyed on the virtual
//     address (the region is mapped at different addresses).
//   - Ownership belongs to a thread. Unlock from the thread that locked. A
//     child created by fork() never holds its parent's locks; its Lock waits
//     like any other process's. A thread that exits holding the mutex counts
//     as a dead owner, like a killed process.
//   - Never unmap a region while holding its mutex: the owner-death machinery
//     refers to the storage while it is held.
//   - The storage is untrusted input (decision 6): no content of it can make
//     Lock, Unlock or MarkConsistent crash, abort or wait past the deadline.
//     Each implementation documents which results each kind of damage gives,
//     and any limit to that guarantee (see core/owner_word_mutex.h).
//   - Not async-signal-safe: do not lock in a signal handler.
//
// Why a concept and templates, as for Waiter (core/waiter.h): one binary has
// exactly one mutex type, fixed at build time by //backends:platform; the
// uncontended lock is on every semop, and the concept is checked where an
// algorithm is instantiated. Code compiled once in a .cc file takes a
// SharedMutexOps instead. The conformance suite
// (core/testing/shared_mutex_conformance.h) checks the behaviour of every
// real implementation under its own name.
#ifndef SYSV_CORE_SHARED_MUTEX_H_
#define SYSV_CORE_SHARED_MUTEX_H_

#include <concepts>
#include <cstddef>

#include "core/deadline.h"

namespace sysv::core {

// What a Lock() returned; see the contract above for each value.
enum class LockResult {
  kAcquired,
  kAcquiredOwnerDied,
  kTimedOut,
  kCorrupt,
};

// "acquired", "acquired, owner died", "timed out", "corrupt": for messages
// and test output.
constexpr const char* LockResultName(LockResult result) {
  switch (result) {
    case LockResult::kAcquired:
      return "acquired";
    case LockResult::kAcquiredOwnerDied:
      return "acquired, owner died";
    case LockResult::kTimedOut:
      return "timed out";
    case LockResult::kCorrupt:
      return "corrupt";
  }
  return "invalid";
}

// True for the two results after which the caller holds the mutex.
constexpr bool HoldsLock(LockResult result) {
  return result == LockResult::kAcquired ||
         result == LockResult::kAcquiredOwnerDied;
}

// The slot a region layout reserves for its mutex, whatever the backend: a
// cache line of its own. Every SharedMutex fits in it (checked below).
inline constexpr size_t kSharedMutexReservedSize = 64;
inline constexpr size_t kSharedMutexReservedAlign = 64;

// A type that implements the contract above with static members.
template <typename M>
concept SharedMutex =
    requires(void* storage, Deadline deadline) {
      { M::kName } -> std::convertible_to<const char*>;
      { M::kStorageSize } -> std::convertible_to<size_t>;
      { M::kStorageAlign } -> std::convertible_to<size_t>;
      { M::Init(storage) } -> std::same_as<void>;
      { M::Lock(storage, deadline) } -> std::same_as<LockResult>;
      { M::Unlock(storage) } -> std::same_as<void>;
      { M::MarkConsistent(storage) } -> std::same_as<void>;
    } &&
    (M::kStorageSize > 0) && (M::kStorageSize <= kSharedMutexReservedSize) &&
    (M::kStorageAlign > 0) && ((M::kStorageAlign & (M::kStorageAlign - 1)) == 0) &&
    (kSharedMutexReservedAlign % M::kStorageAlign == 0);

// The same contract as a table of function pointers, for code compiled once
// without knowing the backend (like WaiterOps in core/waiter.h).
struct SharedMutexOps {
  void (*init)(void* storage);
  LockResult (*lock)(void* storage, Deadline deadline);
  void (*unlock)(void* storage);
  void (*mark_consistent)(void* storage);
  const char* name;
  // Optional (null where the mutex has no such notion), for a waiter that
  // has seen the same holder for a long time: an opaque word naming the
  // current holder (0 when free), and a take-over of the lock from holder
  // `holder` when the platform cannot see that holder at all (neither alive
  // nor dead: another PID namespace, or a forged identity), which gives
  // kAcquiredOwnerDied, or kTimedOut when the holder changed or is seen.
  uint64_t (*holder)(const void* storage) = nullptr;
  LockResult (*take_over_unseen)(void* storage, uint64_t holder) = nullptr;
};

// The SharedMutexOps that forwards to mutex type M.
template <SharedMutex M>
constexpr SharedMutexOps SharedMutexOpsFor() {
  SharedMutexOps ops{&M::Init, &M::Lock, &M::Unlock, &M::MarkConsistent, M::kName};
  if constexpr (requires(void* storage, uint64_t word) {
                  { M::Holder(storage) } -> std::same_as<uint64_t>;
                  { M::TakeOverUnseen(storage, word) } -> std::same_as<LockResult>;
                }) {
    ops.holder = &M::Holder;
    ops.take_over_unseen = &M::TakeOverUnseen;
  }
  return ops;
}

}  // namespace sysv::core

#endif  // SYSV_CORE_SHARED_MUTEX_H_

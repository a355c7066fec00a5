// RobustMutex: the SharedMutex contract (core/shared_mutex.h) over glibc's
// process-shared robust pthread mutex.
//
// Notes on behaviour
//
//   - The storage holds a pthread_mutex_t made with PTHREAD_PROCESS_SHARED,
//     PTHREAD_MUTEX_ROBUST and type PTHREAD_MUTEX_NORMAL, followed by a magic
//     word. Lock is pthread_mutex_clocklock(CLOCK_MONOTONIC, deadline), so a
//     wait ends at the deadline and never earlier for a live holder; glibc
//     retries the futex wait after a signal handler, so handlers never end
//     it.
//   - Owner death: glibc links every robust mutex a thread holds into that
//     thread's robust list, registered with the kernel (set_robust_list(2)).
//     When a thread exits or its process is killed (SIGKILL included), the
//     kernel walks the list, sets FUTEX_OWNER_DIED in each lock word that
//     still holds the thread's TID and wakes one waiter. The next locker gets
//     EOWNERDEAD: kAcquiredOwnerDied. This covers the contended case (a
//     waiter is woken at once) and the uncontended one (the bit is found at
//     the next Lock). A holder killed in the middle of its own lock or unlock
//     is covered by the list's "operation pending" slot, which glibc fills
//     before touching the lock word.
//   - EOWNERDEAD -> kAcquiredOwnerDied; pthread_mutex_consistent() is
//     MarkConsistent. Unlocking without it makes glibc release the mutex as
//     not recoverable, after which every lock fails with ENOTRECOVERABLE ->
//     kCorrupt, until Init. We keep that: it is the contract's way to poison
//     an object whose repair failed. We never "fix" ENOTRECOVERABLE by
//     re-initialising in Lock: other processes may be inside glibc's lock
//     loop on the same word, and pthread_mutex_init under them is undefined
//     (a waiter could sleep forever on a word that lost its FUTEX_WAITERS
//     bit, or two lockers could both win). Only the daemon, for a region that
//     nobody else maps, calls Init.
//   - fork: the child gets an empty robust list (glibc re-registers it in the
//     child, nptl's fork()), so it never owns its parent's locks: its Lock
//     waits for the parent's Unlock and sees EOWNERDEAD if the parent dies.
//     The thread-local record below is cleared in the child by a
//     pthread_atfork handler.
//   - Type NORMAL, not ERRORCHECK: a relock by the holding thread is caught
//     before glibc by our own record (it aborts: a broken invariant of the
//     caller), so ERRORCHECK's EDEADLK would only ever come from a lock word
//     that holds our TID without our holding the lock. That word is either
//     scribbled, or written by a thread with the same TID in another PID
//     namespace (clients in different containers sharing one daemon), where
//     EDEADLK would be a false "corrupt". With NORMAL, glibc waits for such a
//     word like for any holder, and the deadline bounds it: kTimedOut. If
//     glibc still returns EDEADLK (a racing scribble changed the kind), it is
//     kCorrupt.
//   - Unmapping a region while holding its mutex is forbidden (see the
//     contract): the thread's robust list would point into the hole.
//   - Cost (robust_mutex_benchmark, 2-CPU VM, glibc 2.36): an uncontended
//     Lock+Unlock pair takes about 20 ns, against 14 ns for glibc's robust
//     mutex called directly, 11 ns for a process-shared non-robust one and
//     11 ns for std::mutex. The 6 ns over glibc are the checks and the
//     thread-local record below. Deadline::After() costs a clock read (about
//     22 ns here); a caller can first try with a passed deadline (a
//     try-lock, see the contract) and compute the real one only on kTimedOut.
//
// Notes on internals: untrusted storage
//
// DESIGN.md decision 6 says a client with write access may scribble on the
// region. glibc's robust mutex trusts its storage in two ways that matter:
//   (a) __kind selects the algorithm at every call (normal, robust, PI,
//       priority-protect, invalid); a garbage kind sends Lock down a path
//       that is not robust (and uses private futexes), that changes the
//       thread's scheduling priority (PP), or that glibc asserts on.
//   (b) __list.__prev/__next are the robust-list links: absolute pointers
//       into the HOLDER's address space (to its TCB and to the other robust
//       mutexes it holds), stored in the shared storage while it holds the
//       lock. Unlock unlinks the mutex with two stores through those
//       pointers (glibc's DEQUEUE_MUTEX). A scribble of the links while the
//       lock is held turns the holder's Unlock into a store of a value of the
//       scribbler's choice at an address of its choice, and the links also
//       tell every reader of the region where the holder's TCB is.
// What RobustMutex does about it, so that a region scribbled at rest or while
// held gives a result and never a crash:
//   1. Lock checks the magic word and __kind before calling glibc, and
//      returns kCorrupt if either is wrong (0xff fill, random bytes, a zeroed
//      or never-initialised region all end here). It then leaves the lock
//      word to glibc: FUTEX_OWNER_DIED set -> kAcquiredOwnerDied; another
//      live TID -> kTimedOut; __owner == NOTRECOVERABLE -> kCorrupt.
//   2. Each thread keeps a private record of the RobustMutexes it holds, in
//      lock order, and knows its own robust-list head (get_robust_list(2)).
//      When the record shows that the thread's robust list is exactly those
//      mutexes (the daemon and the client runtime use no other robust
//      mutex), Unlock first rewrites the mutex's __kind and list links with
//      the values they must have, computed from private memory only, so
//      glibc's unlink stores land on our own TCB or on mutexes we hold.
//      A mutex that glibc did not link (a kind that changed under Lock) gets
//      links to a private dummy node instead.
//   3. If glibc then refuses the unlock (EPERM: the lock word no longer
//      holds our TID; EINVAL: the kind changed again), Unlock puts our TID
//      back into the lock word, with FUTEX_WAITERS so that no waiter is left
//      asleep, and retries a bounded number of times. The record says we
//      hold the lock, so this repairs our own thread's robust list; it
//      cannot steal a lock from a legitimate holder, because nobody can
//      legitimately acquire a mutex that we hold.
// What remains, and cannot be closed from outside glibc: every check above
// is a check-then-use on memory that another process can write at the same
// time. A client that keeps rewriting the storage while another process's
// thread is inside Lock or Unlock can still win the few-nanosecond window
// between our store and glibc's load, and with (b) turn that holder's Unlock
// into a chosen write. When the thread holds a robust mutex that is not ours
// (an application's own, in the preload build), step 2 is skipped and glibc's
// stored links are used as they are. Holding the daemon's process to the
// "never crash" rule therefore also needs the daemon not to take region
// mutexes in its own address space while hostile clients can write the
// region; see the report with this change. A mutex that never stores
// pointers in shared memory would need its own robust-list head per thread,
// which glibc owns (one set_robust_list per thread), so that option is not
// taken.
#ifndef SYSV_BACKENDS_LINUX_ROBUST_MUTEX_H_
#define SYSV_BACKENDS_LINUX_ROBUST_MUTEX_H_

#include <pthread.h>

#include <cstddef>

#include "core/deadline.h"
#include "core/shared_mutex.h"

namespace sysv::linux_backend {

class RobustMutex {
 public:
  static constexpr char kName[] = "pthread_robust";

  // Layout: the pthread_mutex_t at offset 0, then kMagic at kMagicOffset,
  // then zeros. 64 bytes, the slot core/ reserves (kSharedMutexReservedSize).
  static constexpr size_t kStorageSize = 64;
  static constexpr size_t kStorageAlign = alignof(pthread_mutex_t);
  static constexpr size_t kMagicOffset = sizeof(pthread_mutex_t);
  static constexpr unsigned kMagic = 0x5052'4d31;  // "PRM1"

  // How many RobustMutexes one thread may hold at once. Region code holds
  // one (two at most); holding more is a bug of the caller and aborts.
  static constexpr int kMaxHeldPerThread = 8;

  // See core/shared_mutex.h. Aborts if glibc cannot make the mutex (a broken
  // platform invariant, never region data).
  static void Init(void* storage);

  // See core/shared_mutex.h and the notes above for the result of each kind
  // of damage. Aborts (caller bugs only) if `storage` is misaligned, if this
  // thread already holds it, or if it holds kMaxHeldPerThread mutexes.
  static sysv::core::LockResult Lock(void* storage,
                                     sysv::core::Deadline deadline);

  // See core/shared_mutex.h. Aborts if this thread does not hold `storage`.
  static void Unlock(void* storage);

  // See core/shared_mutex.h. Aborts if this thread does not hold `storage`
  // or did not acquire it with kAcquiredOwnerDied.
  static void MarkConsistent(void* storage);
};

static_assert(sysv::core::SharedMutex<RobustMutex>);
static_assert(sizeof(pthread_mutex_t) + sizeof(unsigned) <=
                  RobustMutex::kStorageSize,
              "the pthread_mutex_t and the magic word fit in the storage");

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_ROBUST_MUTEX_H_

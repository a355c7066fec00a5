// What an algorithm over a shared region (a message queue, a semaphore set)
// needs from the operating system, supplied by a backend as a table of
// function pointers, so that core/ is compiled once without knowing it.
#ifndef SYSV_CORE_REGION_PLATFORM_H_
#define SYSV_CORE_REGION_PLATFORM_H_

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>

#include "absl/time/time.h"
#include "core/deadline.h"
#include "core/shared_mutex.h"
#include "core/waiter.h"

namespace sysv::core {

// Spins between two RegionPlatform::yield calls while a waiter spins (about
// 1.5 us of CpuRelax()): a power of 2.
inline constexpr int kSpinsPerYield = 64;

// The longest futex sleep of a waiter in msgsnd, msgrcv or semop. A waker
// decides a sleeper's state, unlocks, then wakes it: killed in between, it
// leaves the sleeper decided and asleep with nobody to wake it. A sleeper
// whose sleep ends at this bound looks again, as after a spurious wake-up.
inline constexpr absl::Duration kRegionSleepLimit = absl::Seconds(1);

struct RegionPlatform {
  WaiterOps waiter;
  SharedMutexOps mutex;
  // False when the process is known to have exited: its waiter records are
  // dropped instead of served.
  bool (*process_alive)(int32_t pid);
  // CLOCK_REALTIME, seconds (the *_time fields of IPC_STAT).
  int64_t (*now_seconds)();
  // Whether a busy region lock is waited for. Clients wait as a blocked
  // call waits (LockAsCall): for as long as the holder lives, until the
  // call's deadline or a signal; a dead holder's lock is taken over. The
  // daemon, which serves every user from one thread, never waits on a lock
  // a client can hold or forge: a busy lock is an answer (kLockBusy), and
  // the work is retried later, off the path of other requests.
  bool waits_for_locks;
  // Optional: the CPU the calling thread runs on now (>= 0), or -1. Must be
  // cheap (no system call: Linux reads it from rseq or the vDSO). A sleeper
  // spins only while whoever will decide it runs on another CPU; one that
  // shares its CPU cannot run while it spins, and gets the CPU handed over
  // instead (SemSet::Semop()).
  int (*current_cpu)() = nullptr;
  // Optional: gives the CPU to another runnable thread (sched_yield), every
  // so often while spinning: a partner that the scheduler queued on the
  // spinner's own CPU (as it does for a sync wake-up) then runs at once
  // instead of after the whole spin.
  void (*yield)() = nullptr;
  // Optional (null in the daemon, which never sleeps in a client's call):
  // the number of signal handlers run on this thread so far, and a wait
  // that reports kInterrupted when it differs from `since`, including for a
  // handler that runs in the instant before the sleep
  // (backends/linux/signal_epoch.h). Without them a handler is seen only
  // while the futex sleeps.
  uint64_t (*signal_epoch)() = nullptr;
  WaitResult (*interruptible_wait)(const std::atomic<uint32_t>* word, uint32_t expected, Deadline deadline,
                                   uint64_t since) = nullptr;

  // The calling thread's signal epoch, 0 without signal_epoch: read once
  // when a call starts and passed to every Sleep() of that call.
  uint64_t SignalEpoch() const { return signal_epoch != nullptr ? signal_epoch() : 0; }

  // A futex sleep while `*word` == `expected`, until `deadline` but never
  // longer than kRegionSleepLimit, that a signal handler run since `since`
  // (a SignalEpoch()) interrupts when the platform can tell.
  WaitResult Sleep(const std::atomic<uint32_t>* word, uint32_t expected, Deadline deadline, uint64_t since) const {
    const Deadline end = std::min(deadline, Deadline::After(kRegionSleepLimit));
    return interruptible_wait != nullptr ? interruptible_wait(word, expected, end, since)
                                         : waiter.wait(word, expected, end);
  }

  // How a call waits for a busy region lock (LockAsCall).
  struct LockWait {
    // The call's deadline (semtimedop); its end gives EAGAIN.
    Deadline deadline = Deadline::Infinite();
    // The call's SignalEpoch(), or kSinceWaitStarts. With `interruptible`,
    // a handler run since then ends the wait with EINTR.
    uint64_t since = kSinceWaitStarts;
    bool interruptible = false;
    // IPC_NOWAIT: a holder in a critical section is waited out for at most
    // kNowaitLockWait (it is out in microseconds when it runs), then EAGAIN.
    bool nowait = false;
  };
  static constexpr uint64_t kSinceWaitStarts = ~uint64_t{0};
  static constexpr absl::Duration kNowaitLockWait = absl::Milliseconds(50);

  // A try-lock of a region's mutex: a deadline that has passed makes Lock
  // one, which also keeps the clock read off the uncontended path.
  LockResult TryLock(void* lock) const { return mutex.lock(lock, Deadline::FromMonotonicNanos(0)); }

  // Takes a region's lock as a blocked system call waits: a try-lock first
  // (the uncontended path: no clock read, no system call), then, on a
  // platform that waits, slices of the mutex's own wait (which probes the
  // holder, and takes a dead one's lock over) with the call's deadline, its
  // signals and IPC_NOWAIT looked at between slices; a stopped holder is
  // waited for until it runs again. Returns the mutex's result; after
  // kTimedOut, `*error` says why: EAGAIN (the deadline, or IPC_NOWAIT),
  // EINTR (a signal handler ran), kLockBusy (this platform never waits).
  // A slice lasts at most kLockSliceMax, so a signal ends the wait within
  // about that long.
  static constexpr int kLockBusy = EBUSY;
  // How long one holder the platform cannot see (another PID namespace, or
  // a lock word a writer forged to look like one) may keep a lock before a
  // waiter takes it over (SharedMutexOps::take_over_unseen): critical
  // sections last microseconds, and a holder seen alive, even stopped, is
  // always waited for.
  static constexpr absl::Duration kUnseenHolderLease = absl::Seconds(10);
  static constexpr absl::Duration kLockSliceFirst = absl::Milliseconds(2);
  static constexpr absl::Duration kLockSliceMax = absl::Milliseconds(50);
  LockResult LockAsCall(void* lock, const LockWait& wait, int* error) const {
    LockResult result = TryLock(lock);
    if (result != LockResult::kTimedOut) return result;
    if (!waits_for_locks) {
      *error = kLockBusy;
      return result;
    }
    return WaitForLock(lock, wait, error);
  }

  // LockAsCall's wait, after its try-lock failed.
  LockResult WaitForLock(void* lock, const LockWait& wait, int* error) const {
    const Deadline end = wait.nowait ? std::min(wait.deadline, Deadline::After(kNowaitLockWait)) : wait.deadline;
    const uint64_t since = wait.since == kSinceWaitStarts ? SignalEpoch() : wait.since;
    absl::Duration slice = kLockSliceFirst;
    uint64_t holder = 0;  // the holder watched until `lease_end`
    Deadline lease_end = Deadline::Infinite();
    for (;;) {
      if (wait.interruptible && SignalEpoch() != since) {
        *error = EINTR;
        return LockResult::kTimedOut;
      }
      if (end.HasExpired()) {
        *error = EAGAIN;
        return LockResult::kTimedOut;
      }
      const LockResult result = mutex.lock(lock, std::min(end, Deadline::After(slice)));
      if (result != LockResult::kTimedOut) return result;
      slice = std::min(slice * 2, kLockSliceMax);
      if (mutex.holder == nullptr) continue;
      if (const uint64_t now_holding = mutex.holder(lock); now_holding != holder) {
        holder = now_holding;
        lease_end = Deadline::After(kUnseenHolderLease);
      } else if (holder != 0 && lease_end.HasExpired()) {
        const LockResult taken = mutex.take_over_unseen(lock, holder);
        if (taken != LockResult::kTimedOut) return taken;
        lease_end = Deadline::After(kUnseenHolderLease);  // seen alive: wait on
      }
    }
  }
};

}  // namespace sysv::core

#endif  // SYSV_CORE_REGION_PLATFORM_H_

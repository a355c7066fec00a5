// What an algorithm over a shared region (a message queue, a semaphore set)
// needs from the operating system, supplied by a backend as a table of
// function pointers, so that core/ is compiled once without knowing it.
#ifndef SYSV_CORE_REGION_PLATFORM_H_
#define SYSV_CORE_REGION_PLATFORM_H_

#include <algorithm>
#include <atomic>
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
  // How long to wait for a region's lock before declaring the object broken
  // (EIDRM): a healthy holder keeps it for microseconds. Clients can afford
  // to wait long; the daemon, which serves everyone from one thread, cannot.
  int64_t lock_timeout_nanos;
  // Optional: how many times a sleeper checks its status (with a CPU pause)
  // before its futex sleep. 0 when spinning cannot help (the caller may
  // only run on one CPU: whoever would decide it cannot run meanwhile).
  int (*spin_iterations)() = nullptr;
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

  // Locks of a region's mutex. A deadline that has passed makes Lock a
  // try-lock, which also keeps the clock read of a real deadline off the
  // uncontended path; a caller tries first, then waits at most
  // lock_timeout_nanos.
  LockResult TryLock(void* lock) const { return mutex.lock(lock, Deadline::FromMonotonicNanos(0)); }
  LockResult TimedLock(void* lock) const {
    return mutex.lock(lock, Deadline::After(absl::Nanoseconds(lock_timeout_nanos)));
  }
};

}  // namespace sysv::core

#endif  // SYSV_CORE_REGION_PLATFORM_H_

// What an algorithm over a shared region (a message queue, a semaphore set)
// needs from the operating system, supplied by a backend as a table of
// function pointers, so that core/ is compiled once without knowing it.
#ifndef SYSV_CORE_REGION_PLATFORM_H_
#define SYSV_CORE_REGION_PLATFORM_H_

#include <atomic>
#include <cstdint>

#include "core/deadline.h"
#include "core/shared_mutex.h"
#include "core/waiter.h"

namespace sysv::core {

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
};

}  // namespace sysv::core

#endif  // SYSV_CORE_REGION_PLATFORM_H_

// FutexWaiter: the Waiter contract (core/waiter.h) over Linux futexes.
#ifndef SYSV_BACKENDS_LINUX_FUTEX_WAITER_H_
#define SYSV_BACKENDS_LINUX_FUTEX_WAITER_H_

#include <atomic>
#include <cstdint>

#include "core/deadline.h"
#include "core/waiter.h"

namespace sysv::linux_backend {

class FutexWaiter {
 public:
  static constexpr char kName[] = "futex";

  // See core/waiter.h for the contract and every result. Uses a
  // process-shared FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC
  // timeout; aborts on EINVAL (a misaligned word is a bug of the caller).
  // EFAULT is a spurious wake-up (kWoken): the word lies in a page that its
  // file no longer holds, because a process with a writable descriptor cut
  // the file short (issue #12). The caller reloads the word, a touch that
  // the daemon's fault guard absorbs (backends/common/guarded_mapping.h)
  // and that faults in a client of that object as any touch would.
  static sysv::core::WaitResult Wait(const std::atomic<uint32_t>* word,
                                     uint32_t expected,
                                     sysv::core::Deadline deadline);

  // See core/waiter.h. count <= 0 makes no system call. EFAULT (the word's
  // page was cut off its file, see Wait) wakes nobody and is no error: no
  // waiter can be woken through a page that is gone.
  static void Wake(const std::atomic<uint32_t>* word, int count);
};

static_assert(sysv::core::Waiter<FutexWaiter>);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_FUTEX_WAITER_H_

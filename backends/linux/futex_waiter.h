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
  // timeout; aborts on EFAULT/EINVAL (an unmapped or misaligned word is a
  // bug of the caller).
  static sysv::core::WaitResult Wait(const std::atomic<uint32_t>* word,
                                     uint32_t expected,
                                     sysv::core::Deadline deadline);

  // See core/waiter.h. count <= 0 makes no system call.
  static void Wake(const std::atomic<uint32_t>* word, int count);
};

static_assert(sysv::core::Waiter<FutexWaiter>);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_FUTEX_WAITER_H_

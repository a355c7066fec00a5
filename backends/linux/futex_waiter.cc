#include "backends/linux/futex_waiter.h"

#include <linux/futex.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backends/linux/futex_sys.h"
#include "core/deadline.h"
#include "core/waiter.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::core::Deadline;
using ::sysv::core::WaitResult;

constexpr int64_t kNanosPerSecond = 1'000'000'000;

[[noreturn]] void DieOfFutexError(const char* op, const void* word,
                                  int errnum) {
  std::fprintf(stderr, "libsysv: futex %s on %p failed: %s\n", op, word,
               std::strerror(errnum));
  std::abort();
}

}  // namespace

WaitResult FutexWaiter::Wait(const std::atomic<uint32_t>* word,
                             uint32_t expected, Deadline deadline) {
  // Always pass a timeout, even for an infinite deadline (whose
  // monotonic_nanos() is INT64_MAX, a valid timespec about 292 years after
  // boot; the kernel saturates it). The reason is EINTR: a futex wait WITHOUT
  // a timeout that is interrupted returns -ERESTARTSYS, which the kernel
  // restarts transparently when the handler has SA_RESTART; a wait WITH a
  // timeout returns -ERESTART_RESTARTBLOCK, which becomes EINTR whenever a
  // handler ran (kernel/futex/waitwake.c:futex_wait(),
  // arch/x86/kernel/signal.c:handle_signal()). The contract says a handler
  // always ends the wait with kInterrupted, as semop(2) does, whatever flags
  // the application chose.
  const int64_t nanos = deadline.monotonic_nanos();
  struct timespec abs_timeout;
  abs_timeout.tv_sec = static_cast<time_t>(nanos / kNanosPerSecond);
  abs_timeout.tv_nsec = static_cast<long>(nanos % kNanosPerSecond);

  if (FutexWaitBitset(word, expected, &abs_timeout, FUTEX_BITSET_MATCH_ANY) ==
      0) {
    return WaitResult::kWoken;  // a Wake(), or spurious
  }
  const int errnum = errno;
  switch (errnum) {
    case EAGAIN:
      // The word no longer held `expected` when the kernel looked: that is
      // exactly "changed", and the caller reloads it. No loop is needed here.
      return WaitResult::kWoken;
    case ETIMEDOUT:
      return WaitResult::kTimedOut;
    case EINTR:
      return WaitResult::kInterrupted;
    case EFAULT:
      // The word's page is past the end of its file now (see the header):
      // not this caller's bug, and no reason to die.
      return WaitResult::kWoken;
    default:
      DieOfFutexError("FUTEX_WAIT_BITSET", word, errnum);
  }
}

void FutexWaiter::Wake(const std::atomic<uint32_t>* word, int count) {
  // FUTEX_WAKE with nr_wake 0 still wakes one waiter (the kernel counts after
  // waking), so "wake none" must not reach the kernel.
  if (count <= 0) return;
  if (FutexWake(word, count) < 0 && errno != EFAULT) DieOfFutexError("FUTEX_WAKE", word, errno);
}

}  // namespace sysv::linux_backend

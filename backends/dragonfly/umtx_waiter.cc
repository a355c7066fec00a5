#include "backends/dragonfly/umtx_waiter.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backends/dragonfly/umtx_sys.h"
#include "core/deadline.h"
#include "core/waiter.h"

namespace sysv::dragonfly_backend {

namespace umtx_waiter_internal {

int SleepMicros(int64_t remaining_nanos) {
  if (remaining_nanos <= 0) return 1;  // not called so; keep the result valid
  // Compare before converting: kInfiniteNanos + 999 would overflow.
  if (remaining_nanos >= int64_t{kMaxSleepMicros} * 1000) return kMaxSleepMicros;
  return static_cast<int>((remaining_nanos + 999) / 1000);
}

int64_t PollNapNanos(int streak, int64_t remaining_nanos) {
  int64_t nap = kPollNapMinNanos;
  for (int i = 0; i < streak && nap < kPollNapMaxNanos; ++i) nap *= 2;
  nap = std::min(nap, kPollNapMaxNanos);
  return std::max<int64_t>(1, std::min(nap, remaining_nanos));
}

}  // namespace umtx_waiter_internal

namespace {

using ::sysv::core::Deadline;
using ::sysv::core::WaitResult;
using umtx_waiter_internal::kBusyStreakBeforePolling;

// umtx_sleep compares the word as an int; std::atomic<uint32_t> is exactly
// that word (core/waiter.h asserts its size, alignment and lock-freedom), and
// the same 32 bits compare equal as int and as uint32_t.
static_assert(sizeof(int) == sizeof(uint32_t));

const volatile int* UmtxAddress(const std::atomic<uint32_t>* word) {
  return reinterpret_cast<const volatile int*>(word);
}

[[noreturn]] void DieOfUmtxError(const char* op, const void* word, int errnum) {
  std::fprintf(stderr, "libsysv: %s on %p failed: %s\n", op, word,
               std::strerror(errnum));
  std::abort();
}

// Sleeps `nanos` (< 1 s) with nanosleep. Returns false if a signal handler
// interrupted it.
bool Nap(int64_t nanos) {
  struct timespec duration;
  duration.tv_sec = 0;
  duration.tv_nsec = static_cast<long>(nanos);
  return nanosleep(&duration, nullptr) == 0 || errno != EINTR;
}

}  // namespace

WaitResult UmtxWaiter::Wait(const std::atomic<uint32_t>* word,
                            uint32_t expected, Deadline deadline) {
  const volatile int* const address = UmtxAddress(word);
  const int value = static_cast<int>(expected);
  int busy_streak = 0;  // consecutive EBUSY answers for an unchanged word
  for (;;) {
    // The value first: a changed word wins over a passed deadline (the
    // contract's kWoken-before-kTimedOut rule). Acquire pairs with the
    // waker's release store, as the contract tells callers to do.
    if (word->load(std::memory_order_acquire) != expected) {
      return WaitResult::kWoken;
    }
    const int64_t remaining = deadline.RemainingNanos();
    if (remaining == 0) return WaitResult::kTimedOut;

    if (busy_streak >= kBusyStreakBeforePolling) {
      // Read-only mapping (see the header): umtx_sleep cannot sleep here.
      if (!Nap(umtx_waiter_internal::PollNapNanos(
              busy_streak - kBusyStreakBeforePolling, remaining))) {
        return WaitResult::kInterrupted;
      }
      // Keep probing with umtx_sleep: if the kernel ever sleeps (a writable
      // mapping after all), the streak ends and the fast path resumes.
    }

    if (UmtxSleep(address, value,
                  umtx_waiter_internal::SleepMicros(remaining)) == 0) {
      // Woken by a wakeup, or spuriously. Returning is required, not just
      // allowed: a Wake(word, 1) meant for this thread must end its wait,
      // or another waiter would stay asleep.
      return WaitResult::kWoken;
    }
    const int errnum = errno;
    switch (errnum) {
      case EINTR:
        return WaitResult::kInterrupted;
      case EWOULDBLOCK:
        // Our timeout, the kernel's failsafe timeout, or a retry it asks
        // for: the top of the loop decides from the word and the deadline.
        busy_streak = 0;
        break;
      case EBUSY:
        // The kernel saw another value. The top of the loop returns kWoken
        // if the word really changed; if it did not (a change and change
        // back, or a read-only mapping reading as -1), count it.
        if (word->load(std::memory_order_acquire) == expected) {
          ++busy_streak;
        } else {
          busy_streak = 0;
        }
        break;
      default:
        DieOfUmtxError("umtx_sleep", word, errnum);
    }
  }
}

void UmtxWaiter::Wake(const std::atomic<uint32_t>* word, int count) {
  if (count <= 0) return;
  // 0 asks for every sleeper; DragonFly wakes every sleeper for any count
  // other than 1 anyway, so saying so is only honest.
  if (UmtxWakeup(UmtxAddress(word), count == 1 ? 1 : 0) != 0) {
    DieOfUmtxError("umtx_wakeup", word, errno);
  }
}

}  // namespace sysv::dragonfly_backend

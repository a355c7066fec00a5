// UmtxWaiter: the Waiter contract (core/waiter.h) over DragonFly's
// umtx_sleep(2)/umtx_wakeup(2).
//
// Portable: the waiting logic here and in umtx_waiter.cc calls only
// umtx_sys.h (and POSIX nanosleep), so it builds and is tested on Linux
// against the futex double (umtx_sys_linux_double.cc), and runs on DragonFly
// against the real system calls (umtx_sys_dragonfly.cc).
//
// How the DragonFly contract (umtx_sys.h) becomes ours:
//   - umtx_sleep takes a RELATIVE timeout in microseconds and returns
//     EWOULDBLOCK both for our timeout and for the kernel's failsafe one, so
//     EWOULDBLOCK is never taken as "timed out": Wait() loops, re-reads the
//     word, and recomputes what is left of the absolute Deadline (the reason
//     core/deadline.h stores deadlines absolute).
//   - EBUSY means the kernel saw a different value; Wait() re-reads the word
//     itself and returns kWoken only if it really differs, since a read-only
//     mapping makes the kernel see -1 (see "Read-only mappings" below).
//   - A return of 0 is kWoken even if the word is unchanged: it may be a
//     wakeup meant for us (a Wake(word, 1) that must not be swallowed by
//     sleeping again), or spurious, which the contract allows.
//   - EINTR is kInterrupted: umtx_sleep is never restarted after a handler,
//     which is exactly what the contract asks (semop(2) fails with EINTR).
//
// Read-only mappings. umtx_sleep reads the word with an atomic add of 0, which
// fails on a read-only page and reads as -1, so a waiter whose mapping is
// read-only (a client with read-only access to a semaphore set, DESIGN.md
// decision 2) gets EBUSY at once, every time, while the word is unchanged.
// Rather than spin, Wait() notices kBusyStreakBeforePolling consecutive EBUSY
// answers for an unchanged word and then polls: it naps (nanosleep, doubling
// from kPollNapMin to kPollNapMax, never past the deadline) between checks.
// Such a waiter sees a change at most kPollNapMax late, still honours the
// deadline, and still reports a signal (nanosleep's EINTR) as kInterrupted.
// Callers that can should give waiters a writable mapping of the words they
// sleep on; see README.md.
#ifndef SYSV_BACKENDS_DRAGONFLY_UMTX_WAITER_H_
#define SYSV_BACKENDS_DRAGONFLY_UMTX_WAITER_H_

#include <atomic>
#include <cstdint>

#include "core/deadline.h"
#include "core/waiter.h"

namespace sysv::dragonfly_backend {

class UmtxWaiter {
 public:
  static constexpr char kName[] = "umtx";

  // See core/waiter.h for the contract and every result, and the file
  // comment for how umtx_sleep's answers map onto it. Aborts with a message
  // on EFAULT/EINVAL from umtx_sleep (a misaligned or unmapped word is a bug
  // of the caller).
  static sysv::core::WaitResult Wait(const std::atomic<uint32_t>* word,
                                     uint32_t expected,
                                     sysv::core::Deadline deadline);

  // See core/waiter.h. count <= 0 makes no system call (umtx_wakeup's count
  // 0 would wake everyone). DragonFly wakes exactly one sleeper for count 1
  // and every sleeper for any other count; the extra ones see a spurious
  // kWoken, which the contract allows. Aborts on EFAULT/EINVAL, as Wait().
  static void Wake(const std::atomic<uint32_t>* word, int count);
};

static_assert(sysv::core::Waiter<UmtxWaiter>);

namespace umtx_waiter_internal {

// The longest single umtx_sleep, in microseconds. Wait() never passes 0
// ("no timeout"), even for an infinite deadline: the kernel wakes a sleeper
// whose page was paged out and back in only by timeout (umtx.2, WARNINGS),
// and an administrator may raise kern.umtx_timeout_max (2 s by default), so
// our own bound keeps such a lost wakeup at most a second late.
inline constexpr int kMaxSleepMicros = 1'000'000;

// Consecutive EBUSY answers, with the word still equal to `expected`, after
// which Wait() assumes a read-only mapping and starts to poll.
inline constexpr int kBusyStreakBeforePolling = 64;

// The first and the longest nap while polling, in nanoseconds.
inline constexpr int64_t kPollNapMinNanos = 50'000;     // 50 us
inline constexpr int64_t kPollNapMaxNanos = 1'000'000;  // 1 ms

// The timeout_us to pass umtx_sleep when `remaining_nanos` (> 0, or
// Deadline::kInfiniteNanos) are left: rounded UP to whole microseconds, so
// a sleep never ends before the deadline only because of rounding, and
// clamped to kMaxSleepMicros. Never 0. Results: 1..kMaxSleepMicros.
int SleepMicros(int64_t remaining_nanos);

// The nap before poll number `streak` - kBusyStreakBeforePolling (0 for the
// first): kPollNapMinNanos doubled per step, at most kPollNapMaxNanos, and
// at most `remaining_nanos`. Results: 1..kPollNapMaxNanos.
int64_t PollNapNanos(int streak, int64_t remaining_nanos);

}  // namespace umtx_waiter_internal

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_UMTX_WAITER_H_

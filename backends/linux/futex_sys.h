// Raw futex(2) system calls, and nothing else: the waiting logic is in
// futex_waiter.cc. glibc has no futex() wrapper, so these call syscall(2).
//
// Every operation here is process-shared: none sets FUTEX_PRIVATE_FLAG. The
// words live in MAP_SHARED mappings of region files that other processes map
// at other addresses; a private futex is keyed on (mm, virtual address) and
// would never meet a wake from another process. A shared futex is keyed on
// the backing file and offset.
#ifndef SYSV_BACKENDS_LINUX_FUTEX_SYS_H_
#define SYSV_BACKENDS_LINUX_FUTEX_SYS_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace sysv::linux_backend {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t),
              "a futex word is exactly 32 bits");

// The kernel reads the word but never writes it for WAIT and WAKE, so a
// const atomic is the honest parameter type; the syscall takes an address.
inline uint32_t* FutexAddress(const std::atomic<uint32_t>* word) {
  return reinterpret_cast<uint32_t*>(const_cast<std::atomic<uint32_t>*>(word));
}

// FUTEX_WAIT_BITSET without FUTEX_CLOCK_REALTIME: sleeps while *word ==
// expected, until `abs_timeout`, an ABSOLUTE time on CLOCK_MONOTONIC (nullptr
// waits forever). Returns 0 when woken (or spuriously); -1 with errno:
//   EAGAIN     *word != expected on entry;
//   ETIMEDOUT  abs_timeout passed;
//   EINTR      a signal handler ran (see futex_waiter.cc for when a wait
//              with no timeout is restarted instead);
//   EINVAL     bad alignment, bitset 0, or an invalid timespec;
//   EFAULT     word or abs_timeout not mapped.
inline int FutexWaitBitset(const std::atomic<uint32_t>* word, uint32_t expected,
                           const struct timespec* abs_timeout,
                           uint32_t bitset) {
  return static_cast<int>(syscall(SYS_futex, FutexAddress(word),
                                  FUTEX_WAIT_BITSET, expected, abs_timeout,
                                  nullptr, bitset));
}

// FUTEX_WAKE: wakes up to `count` waiters on `word` (FUTEX_WAKE matches
// waiters of any bitset). Returns the number woken, or -1 with errno
// (EINVAL: bad alignment; EFAULT: word not mapped).
inline int FutexWake(const std::atomic<uint32_t>* word, int count) {
  return static_cast<int>(
      syscall(SYS_futex, FutexAddress(word), FUTEX_WAKE, count, nullptr,
              nullptr, 0));
}

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_FUTEX_SYS_H_

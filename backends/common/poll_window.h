// PollWindow: how long a waiter that has just done work keeps looking for
// the next thing to do, awake, before it sleeps in the kernel.
//
// Why: a sleep costs a wake-up on the way back, and across CPUs in a VM the
// two wake-ups of a request and its reply are two thirds of a round trip
// between libsysv and the daemon (a SOCK_SEQPACKET ping-pong between two
// processes: 24-31 us when both block in read(), 9 us when both poll). The
// event loops look for readiness this way after each batch they dispatch
// (EventLoop::SetPollWindow), and a client looks for the daemon's reply
// this way before it blocks in recvmsg (compat/runtime.cc). Only after
// work: an idle daemon or client never polls.
//
// Internals:
//   - A window is pure spinning (CpuRelax() between looks; a look may be a
//     system call, which lets the scheduler preempt us). No sched_yield():
//     measured here with both sides polling on a loaded 2-CPU VM (load 12),
//     yielding after the first 5 us made a daemon round trip 166 us against
//     31 us with both asleep; each yield let a compiler run its slice.
//   - The window adapts, as MsgQueue::SpinWhile's budget does: a window that
//     ends in a sleep (a miss) halves the next one, down to a sixteenth of
//     the configured length; a window that finds work restores it in full.
//     A peer that does not answer within the window (a client that went off
//     to compute, a machine so busy the peer is not running) thus costs a
//     few microseconds of polling per batch instead of the whole window.
//     The length is one relaxed atomic: several threads of a client share
//     it, and a stale read only picks a different length once.
//   - Whoever configures it decides whether it can pay at all: on a machine
//     with one CPU online the peer cannot run while we poll (the daemon and
//     libsysv ask platform::OnlineCpuCount()).
#ifndef SYSV_BACKENDS_COMMON_POLL_WINDOW_H_
#define SYSV_BACKENDS_COMMON_POLL_WINDOW_H_

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "core/cpu_relax.h"

namespace sysv::backend {

// How many CPUs the machine has online (at least 1): whether polling for a
// peer can pay at all. Online, not the caller's affinity: a daemon pinned
// to one CPU still gains from polling while its clients run on the others.
// Each backend's platform.h names it platform::OnlineCpuCount.
inline int OnlineCpuCount() {
  const long count = sysconf(_SC_NPROCESSORS_ONLN);
  return count > 0 ? static_cast<int>(count) : 1;
}

class PollWindow {
 public:
  PollWindow() = default;
  explicit PollWindow(absl::Duration length) { set_length(length); }

  // Sets the full length (negative: zero). Zero turns polling off.
  void set_length(absl::Duration length) {
    const int64_t nanos = std::max<int64_t>(0, absl::ToInt64Nanoseconds(length));
    max_nanos_.store(nanos, std::memory_order_relaxed);
    current_nanos_.store(nanos, std::memory_order_relaxed);
  }
  absl::Duration length() const { return absl::Nanoseconds(max_nanos_.load(std::memory_order_relaxed)); }
  bool enabled() const { return max_nanos_.load(std::memory_order_relaxed) > 0; }
  // The next window's length: length() after a hit, less after misses.
  absl::Duration current() const { return absl::Nanoseconds(current_nanos_.load(std::memory_order_relaxed)); }

  // Calls `ready()` until it returns true or the current window has passed.
  // Returns true if it did (the caller goes on without sleeping), false if
  // the window passed or polling is off (the caller sleeps). `ready` is
  // called at least once when polling is on, never when it is off.
  template <typename Ready>
  bool Await(Ready&& ready) {
    const int64_t window = current_nanos_.load(std::memory_order_relaxed);
    if (window <= 0) return false;
    const int64_t start = MonotonicNanos();
    // The clock is read every few looks (a look that is a ring peek costs
    // nanoseconds).
    constexpr int kLooksPerClockRead = 8;
    for (int looks = 1;; ++looks) {
      if (ready()) {
        Adapt(/*hit=*/true, window);
        return true;
      }
      if (looks % kLooksPerClockRead == 0 && MonotonicNanos() - start >= window) break;
      core::CpuRelax();
    }
    Adapt(/*hit=*/false, window);
    return false;
  }

 private:
  static int64_t MonotonicNanos() {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  }

  void Adapt(bool hit, int64_t window) {
    const int64_t max = max_nanos_.load(std::memory_order_relaxed);
    const int64_t next = hit ? max : std::max(max / 16, window / 2);
    if (next != window) current_nanos_.store(next, std::memory_order_relaxed);
  }

  std::atomic<int64_t> max_nanos_{0};      // the configured length
  std::atomic<int64_t> current_nanos_{0};  // the next window: max_nanos_/16 .. max_nanos_
};

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_POLL_WINDOW_H_

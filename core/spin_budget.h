// SpinBudget: how many CpuRelax() iterations a waiter spins before it
// sleeps, learned per process from how its recent spins ended.
//
// Why: a spin pays only when the partner that will end the wait is running
// on another CPU and answers within the spin (a ping-pong partner, a short
// critical section); a futex sleep and wake-up then costs more than the
// spin. When the partner is not running (the holder of Apache's accept
// mutex sleeps in poll() until a connection comes) every spin ends in a
// sleep anyway, and its CPU time is taken from the processes that do the
// work: on a 2-CPU machine a fixed 100 us spin per acquisition cost the
// worker MPM about 8% of its requests against the kernel's semop.
//
// Notes:
//   - A spin that sees the wait end (a hit) doubles the budget, up to the
//     maximum; one that ends in a sleep (a miss) shrinks it by an eighth,
//     down to the minimum. A run of misses takes it from the top to the
//     bottom within a few dozen waits; one hit brings it half way back, so
//     an occasional miss on a busy machine costs little.
//   - One relaxed atomic: a process's threads share it, and a stale read
//     only picks a different length once. Copying a budget copies its
//     current value (objects holding one are copied whole).
#ifndef SYSV_CORE_SPIN_BUDGET_H_
#define SYSV_CORE_SPIN_BUDGET_H_

#include <algorithm>
#include <atomic>

namespace sysv::core {

class SpinBudget {
 public:
  // Starts at `max`. Requires 0 < min <= max.
  constexpr SpinBudget(int min, int max) : min_(min), max_(max), current_(max) {}
  SpinBudget(const SpinBudget& other) : min_(other.min_), max_(other.max_), current_(other.Get()) {}
  SpinBudget& operator=(const SpinBudget& other) {
    min_ = other.min_;
    max_ = other.max_;
    current_.store(other.Get(), std::memory_order_relaxed);
    return *this;
  }

  // Iterations for the next spin.
  int Get() const { return current_.load(std::memory_order_relaxed); }
  // The spin just made, of Get() iterations at most, saw the wait end.
  void Hit() { current_.store(std::min(max_, std::max(min_, Get()) * 2), std::memory_order_relaxed); }
  // It ended without: the caller sleeps.
  void Miss() {
    const int budget = Get();
    current_.store(std::max(min_, budget - budget / 8), std::memory_order_relaxed);
  }

 private:
  int min_;
  int max_;
  std::atomic<int> current_;
};

}  // namespace sysv::core

#endif  // SYSV_CORE_SPIN_BUDGET_H_

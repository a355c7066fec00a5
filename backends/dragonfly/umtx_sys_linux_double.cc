// umtx_sys.h on Linux futexes, for tests: see umtx_sys_linux_double.h for
// what it reproduces of DragonFly and what it injects. testonly; never linked
// into a product.
#include "backends/dragonfly/umtx_sys_linux_double.h"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "backends/dragonfly/umtx_sys.h"

namespace sysv::dragonfly_backend {
namespace {

using testing::UmtxFaults;
using testing::UmtxInjection;

constexpr int kDefaultFailsafeMicros = 2'000'000;  // kern.umtx_timeout_max

// Periodic injection. Atomics rather than a mutex: the conformance suite
// fork()s, and a child must never inherit a held lock.
std::atomic<int> g_spurious_every{UmtxFaults{}.spurious_every};
std::atomic<int> g_busy_every{UmtxFaults{}.busy_every};
std::atomic<int> g_failsafe_every{UmtxFaults{}.failsafe_every};
std::atomic<uint64_t> g_call_number{0};
std::atomic<int> g_failsafe_micros{kDefaultFailsafeMicros};

// Scripted injection; the mutex is only taken while a script is pending,
// which tests arrange from a single thread.
std::mutex g_script_mutex;
std::deque<UmtxInjection> g_script;
std::atomic<bool> g_script_pending{false};

struct Counters {
  std::atomic<uint64_t> sleep_calls{0};
  std::atomic<uint64_t> injected{0};
  std::atomic<uint64_t> kernel_sleeps{0};
  std::atomic<uint64_t> busy{0};
  std::atomic<uint64_t> read_only{0};
  std::atomic<uint64_t> wakeup_calls{0};
};
Counters g_stats;

// uaddr1 of the probing FUTEX_WAKE_OP: a word nobody ever waits on.
alignas(4) int g_probe_scratch = 0;

int Fail(int errnum) {
  errno = errnum;
  return -1;
}

bool Misaligned(const volatile int* ptr) {
  return (reinterpret_cast<uintptr_t>(ptr) & (sizeof(int) - 1)) != 0;
}

enum class Access { kWritable, kReadOnly, kUnmapped };

// What DragonFly's fuwordadd32() would find: FUTEX_WAKE_OP performs an
// atomic operation on uaddr2 (here: add 0) and so needs write access, like
// the kernel's atomic add of 0. Its comparison, oldval < -2048, is false for
// every value the suite uses, so it wakes nobody on uaddr2 (for a true
// comparison the kernel would wake one sleeper, a spurious wakeup the
// contract tolerates). A word that cannot be written is told apart from an
// unmapped one by mincore(), which fails with ENOMEM only for the latter.
Access Probe(const volatile int* ptr) {
  const long rc = syscall(
      SYS_futex, &g_probe_scratch, FUTEX_WAKE_OP, 0,
      /*nr_wake2=*/static_cast<uintptr_t>(0), const_cast<int*>(ptr),
      FUTEX_OP(FUTEX_OP_ADD, 0, FUTEX_OP_CMP_LT, -2048));
  if (rc >= 0) return Access::kWritable;
  const long page = sysconf(_SC_PAGESIZE);
  void* const base = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(ptr) &
                                             ~static_cast<uintptr_t>(page - 1));
  unsigned char resident;
  if (mincore(base, 1, &resident) != 0 && errno == ENOMEM) {
    return Access::kUnmapped;
  }
  return Access::kReadOnly;
}

std::optional<UmtxInjection> NextInjection() {
  if (g_script_pending.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(g_script_mutex);
    if (!g_script.empty()) {
      const UmtxInjection next = g_script.front();
      g_script.pop_front();
      g_script_pending.store(!g_script.empty(), std::memory_order_release);
      return next;
    }
  }
  const uint64_t n = g_call_number.fetch_add(1, std::memory_order_relaxed);
  auto due = [n](const std::atomic<int>& every) {
    const int period = every.load(std::memory_order_relaxed);
    return period > 0 && n % static_cast<uint64_t>(period) ==
                             static_cast<uint64_t>(period - 1);
  };
  if (due(g_failsafe_every)) return UmtxInjection::kFailsafeTimeout;
  if (due(g_busy_every)) return UmtxInjection::kBusy;
  if (due(g_spurious_every)) return UmtxInjection::kSpuriousWakeup;
  return std::nullopt;
}

struct timespec Relative(int micros) {
  struct timespec ts;
  ts.tv_sec = micros / 1'000'000;
  ts.tv_nsec = static_cast<long>(micros % 1'000'000) * 1000;
  return ts;
}

}  // namespace

int UmtxSleep(const volatile int* ptr, int value, int timeout_us) {
  g_stats.sleep_calls.fetch_add(1, std::memory_order_relaxed);
  if (timeout_us < 0) return Fail(EINVAL);
  if (Misaligned(ptr)) return Fail(EFAULT);
  int micros = g_failsafe_micros.load(std::memory_order_relaxed);
  if (timeout_us != 0 && timeout_us < micros) micros = timeout_us;
  const struct timespec timeout = Relative(micros);

  switch (Probe(ptr)) {
    case Access::kUnmapped:
      return Fail(EINVAL);
    case Access::kReadOnly:
      g_stats.read_only.fetch_add(1, std::memory_order_relaxed);
      // The failed atomic add reads as -1 (see the header).
      if (value != -1) {
        g_stats.busy.fetch_add(1, std::memory_order_relaxed);
        return Fail(EBUSY);
      }
      if (nanosleep(&timeout, nullptr) != 0) return Fail(EINTR);
      return Fail(EWOULDBLOCK);
    case Access::kWritable:
      break;
  }
  // An atomic load (not a volatile read), so that ThreadSanitizer sees the
  // access as what it is.
  if (__atomic_load_n(const_cast<const int*>(ptr), __ATOMIC_SEQ_CST) != value) {
    g_stats.busy.fetch_add(1, std::memory_order_relaxed);
    return Fail(EBUSY);
  }
  if (const std::optional<UmtxInjection> injection = NextInjection()) {
    g_stats.injected.fetch_add(1, std::memory_order_relaxed);
    switch (*injection) {
      case UmtxInjection::kSpuriousWakeup:
        return 0;
      case UmtxInjection::kBusy:
        g_stats.busy.fetch_add(1, std::memory_order_relaxed);
        return Fail(EBUSY);
      case UmtxInjection::kFailsafeTimeout:
        return Fail(EWOULDBLOCK);
    }
  }

  // Process-shared (no FUTEX_PRIVATE_FLAG), like DragonFly's sleep on the
  // physical address. A relative timeout is always given, so a handler ends
  // the wait with EINTR even under SA_RESTART (the kernel restarts only
  // untimed futex waits), as umtx_sleep never restarts.
  g_stats.kernel_sleeps.fetch_add(1, std::memory_order_relaxed);
  if (syscall(SYS_futex, const_cast<int*>(ptr), FUTEX_WAIT, value, &timeout,
              nullptr, 0) == 0) {
    return 0;
  }
  switch (errno) {
    case EAGAIN:  // the value changed before the kernel slept
      g_stats.busy.fetch_add(1, std::memory_order_relaxed);
      return Fail(EBUSY);
    case ETIMEDOUT:
      return Fail(EWOULDBLOCK);
    case EINTR:
      return Fail(EINTR);
    case EFAULT:
      return Fail(EINVAL);
    default:
      return -1;
  }
}

int UmtxWakeup(const volatile int* ptr, int count) {
  g_stats.wakeup_calls.fetch_add(1, std::memory_order_relaxed);
  if (Misaligned(ptr)) return Fail(EFAULT);
  if (Probe(ptr) == Access::kUnmapped) return Fail(EINVAL);
  // DragonFly: one sleeper for count 1, all of them otherwise.
  const int nr_wake = count == 1 ? 1 : INT_MAX;
  if (syscall(SYS_futex, const_cast<int*>(ptr), FUTEX_WAKE, nr_wake, nullptr,
              nullptr, 0) < 0) {
    return Fail(EINVAL);
  }
  return 0;
}

namespace testing {

void SetUmtxFaults(const UmtxFaults& faults) {
  g_spurious_every.store(faults.spurious_every, std::memory_order_relaxed);
  g_busy_every.store(faults.busy_every, std::memory_order_relaxed);
  g_failsafe_every.store(faults.failsafe_every, std::memory_order_relaxed);
  g_call_number.store(0, std::memory_order_relaxed);
}

void ScriptUmtxSleeps(const std::vector<UmtxInjection>& script) {
  std::lock_guard<std::mutex> lock(g_script_mutex);
  g_script.assign(script.begin(), script.end());
  g_script_pending.store(!g_script.empty(), std::memory_order_release);
}

void SetFailsafeTimeoutMicros(int micros) {
  g_failsafe_micros.store(micros, std::memory_order_relaxed);
}

int FailsafeTimeoutMicros() {
  return g_failsafe_micros.load(std::memory_order_relaxed);
}

UmtxStats GetUmtxStats() {
  UmtxStats stats;
  stats.sleep_calls = g_stats.sleep_calls.load();
  stats.injected = g_stats.injected.load();
  stats.kernel_sleeps = g_stats.kernel_sleeps.load();
  stats.busy = g_stats.busy.load();
  stats.read_only = g_stats.read_only.load();
  stats.wakeup_calls = g_stats.wakeup_calls.load();
  return stats;
}

void ResetUmtxStats() {
  g_stats.sleep_calls.store(0);
  g_stats.injected.store(0);
  g_stats.kernel_sleeps.store(0);
  g_stats.busy.store(0);
  g_stats.read_only.store(0);
  g_stats.wakeup_calls.store(0);
}

void ResetUmtxDouble() {
  SetUmtxFaults(UmtxFaults{});
  ScriptUmtxSleeps({});
  SetFailsafeTimeoutMicros(kDefaultFailsafeMicros);
  ResetUmtxStats();
}

}  // namespace testing
}  // namespace sysv::dragonfly_backend

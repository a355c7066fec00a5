// Conformance suite for the Waiter contract (core/waiter.h).
//
// Every waiter that builds on the host instantiates this suite under its own
// name, for example in backends/linux/futex_waiter_test.cc (gtest wants the
// instantiation inside the suite's namespace):
//
//   namespace sysv::core::testing {
//   INSTANTIATE_TYPED_TEST_SUITE_P(Futex, WaiterConformanceTest,
//                                  ::sysv::linux_backend::FutexWaiter);
//   }  // namespace sysv::core::testing
//
// The contract is about processes, threads and signals, so this file, unlike
// the rest of core/, includes POSIX headers (pthread_kill, sigaction, fork,
// mmap). It is testonly and lives in its own target (//core:waiter_conformance)
// so that no production code in core/ can reach those headers through it.
#ifndef SYSV_CORE_TESTING_WAITER_CONFORMANCE_H_
#define SYSV_CORE_TESTING_WAITER_CONFORMANCE_H_

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <new>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "core/deadline.h"
#include "core/waiter.h"
#include "gtest/gtest.h"

namespace sysv::core::testing {

namespace waiter_conformance_internal {

// How long a test waits for something that should happen promptly before it
// calls it a failure. Generous so that loaded CI machines and sanitizers do
// not flake; a passing run never waits this long.
inline constexpr absl::Duration kPatience = absl::Seconds(10);

inline std::atomic<int> signals_handled{0};

inline void CountingHandler(int) {
  signals_handled.fetch_add(1, std::memory_order_relaxed);
}

// Installs CountingHandler for `signo` for the lifetime of the object, with or
// without SA_RESTART, and restores the previous action afterwards.
class ScopedSignalHandler {
 public:
  ScopedSignalHandler(int signo, bool restart) : signo_(signo) {
    struct sigaction action = {};
    action.sa_handler = &CountingHandler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = restart ? SA_RESTART : 0;
    EXPECT_EQ(sigaction(signo_, &action, &previous_), 0) << errno;
  }
  ~ScopedSignalHandler() { sigaction(signo_, &previous_, nullptr); }
  ScopedSignalHandler(const ScopedSignalHandler&) = delete;
  ScopedSignalHandler& operator=(const ScopedSignalHandler&) = delete;

 private:
  int signo_;
  struct sigaction previous_ = {};
};

// Waits like a core algorithm does: again after every kWoken while the word
// still holds `expected` (spurious returns are allowed), and stops on any
// other result. Returns the last result.
template <typename W>
WaitResult WaitWhileEqual(const std::atomic<uint32_t>* word, uint32_t expected,
                          Deadline deadline) {
  for (;;) {
    const WaitResult result = W::Wait(word, expected, deadline);
    if (result != WaitResult::kWoken ||
        word->load(std::memory_order_acquire) != expected) {
      return result;
    }
  }
}

// Starts a thread that waits on a zero word with `deadline`, signals it with
// SIGUSR1 every few milliseconds until its wait returns (a signal that lands
// outside the wait just runs the handler), and returns what the wait
// returned. If nothing has returned after kPatience, it stops signalling and
// releases the thread by changing the word, so a waiter that swallows
// signals fails the test instead of hanging it.
template <typename W>
WaitResult WaitAndInterrupt(bool restart, Deadline deadline) {
  ScopedSignalHandler handler(SIGUSR1, restart);
  std::atomic<uint32_t> word{0};
  std::atomic<bool> done{false};
  WaitResult result = WaitResult::kWoken;
  std::thread waiter([&] {
    result = WaitWhileEqual<W>(&word, 0, deadline);
    done.store(true, std::memory_order_release);
  });
  const Deadline give_up = Deadline::After(kPatience);
  while (!done.load(std::memory_order_acquire)) {
    if (!give_up.HasExpired()) {
      pthread_kill(waiter.native_handle(), SIGUSR1);
    } else {
      word.store(1, std::memory_order_release);
      W::Wake(&word, INT_MAX);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  waiter.join();
  return result;
}

// A page of MAP_SHARED anonymous memory, shared with children after fork().
class SharedPage {
 public:
  SharedPage() {
    memory_ = mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  }
  ~SharedPage() {
    if (ok()) munmap(memory_, kSize);
  }
  SharedPage(const SharedPage&) = delete;
  SharedPage& operator=(const SharedPage&) = delete;

  bool ok() const { return memory_ != MAP_FAILED; }
  // The i-th 32-bit word of the page, i < 16.
  std::atomic<uint32_t>* word(int i) {
    return std::launder(reinterpret_cast<std::atomic<uint32_t>*>(
        static_cast<char*>(memory_) + i * sizeof(std::atomic<uint32_t>)));
  }

 private:
  static constexpr size_t kSize = 4096;
  void* memory_;
};

// Exit codes of forked children.
inline constexpr int kChildWoken = 0;
inline constexpr int kChildTimedOut = 1;
inline constexpr int kChildInterrupted = 2;
inline constexpr int kChildBadValue = 3;

inline int ChildExitCode(WaitResult result, uint32_t value, uint32_t expected) {
  switch (result) {
    case WaitResult::kWoken:
      return value == expected ? kChildWoken : kChildBadValue;
    case WaitResult::kTimedOut:
      return kChildTimedOut;
    case WaitResult::kInterrupted:
      return kChildInterrupted;
  }
  return kChildBadValue;
}

// waitpid() that retries EINTR; returns the raw status, or -1 on error.
inline int WaitForChild(pid_t pid) {
  int status = 0;
  pid_t rc;
  do {
    rc = waitpid(pid, &status, 0);
  } while (rc < 0 && errno == EINTR);
  return rc == pid ? status : -1;
}

// Spins (with short sleeps) until *word == value or kPatience passes.
inline bool AwaitValue(const std::atomic<uint32_t>* word, uint32_t value) {
  const Deadline give_up = Deadline::After(kPatience);
  while (word->load(std::memory_order_acquire) != value) {
    if (give_up.HasExpired()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace waiter_conformance_internal

template <typename W>
class WaiterConformanceTest : public ::testing::Test {
  static_assert(Waiter<W>, "the type under test must model sysv::core::Waiter");
};

TYPED_TEST_SUITE_P(WaiterConformanceTest);

TYPED_TEST_P(WaiterConformanceTest, ReturnsWokenAtOnceWhenValueDiffers) {
  std::atomic<uint32_t> word{1};
  EXPECT_EQ(TypeParam::Wait(&word, 0, Deadline::Infinite()),
            WaitResult::kWoken);
  // A changed value wins over a passed deadline: the caller must see that
  // the value moved, not a timeout.
  EXPECT_EQ(TypeParam::Wait(&word, 0, Deadline::FromMonotonicNanos(0)),
            WaitResult::kWoken);
}

TYPED_TEST_P(WaiterConformanceTest, TimesOutAtOnceWhenDeadlineHasPassed) {
  using waiter_conformance_internal::WaitWhileEqual;
  std::atomic<uint32_t> word{0};
  const int64_t start = Deadline::NowNanos();
  EXPECT_EQ(WaitWhileEqual<TypeParam>(&word, 0, Deadline::FromMonotonicNanos(0)),
            WaitResult::kTimedOut);
  EXPECT_LT(Deadline::NowNanos() - start,
            absl::ToInt64Nanoseconds(absl::Seconds(1)));
}

TYPED_TEST_P(WaiterConformanceTest, TimesOutAtTheDeadline) {
  using waiter_conformance_internal::WaitWhileEqual;
  std::atomic<uint32_t> word{0};
  const absl::Duration timeout = absl::Milliseconds(50);
  const int64_t start = Deadline::NowNanos();
  const Deadline deadline = Deadline::After(timeout);
  EXPECT_EQ(WaitWhileEqual<TypeParam>(&word, 0, deadline),
            WaitResult::kTimedOut);
  const int64_t end = Deadline::NowNanos();
  EXPECT_GE(end, deadline.monotonic_nanos());
  EXPECT_GE(end - start, absl::ToInt64Nanoseconds(timeout));
  EXPECT_LT(end - start, absl::ToInt64Nanoseconds(
                             waiter_conformance_internal::kPatience));
}

TYPED_TEST_P(WaiterConformanceTest, WakeReachesWaiterInAnotherThread) {
  using waiter_conformance_internal::kPatience;
  using waiter_conformance_internal::WaitWhileEqual;
  std::atomic<uint32_t> word{0};
  std::atomic<bool> started{false};
  WaitResult result = WaitResult::kTimedOut;
  std::thread waiter([&] {
    started.store(true);
    result = WaitWhileEqual<TypeParam>(&word, 0, Deadline::After(kPatience));
  });
  while (!started.load()) std::this_thread::yield();
  // Give the thread time to go to sleep, so that the Wake() is what ends the
  // wait rather than the value it sees on entry.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  word.store(1, std::memory_order_release);
  TypeParam::Wake(&word, 1);
  waiter.join();
  EXPECT_EQ(result, WaitResult::kWoken) << WaitResultName(result);
}

TYPED_TEST_P(WaiterConformanceTest, WakeAllReachesEveryWaiter) {
  using waiter_conformance_internal::kPatience;
  using waiter_conformance_internal::WaitWhileEqual;
  constexpr int kWaiters = 4;
  std::atomic<uint32_t> word{0};
  std::atomic<int> started{0};
  std::vector<WaitResult> results(kWaiters, WaitResult::kTimedOut);
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&, i] {
      started.fetch_add(1);
      results[i] =
          WaitWhileEqual<TypeParam>(&word, 0, Deadline::After(kPatience));
    });
  }
  while (started.load() < kWaiters) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  word.store(1, std::memory_order_release);
  TypeParam::Wake(&word, INT_MAX);
  for (auto& thread : waiters) thread.join();
  for (int i = 0; i < kWaiters; ++i) {
    EXPECT_EQ(results[i], WaitResult::kWoken) << "waiter " << i;
  }
}

TYPED_TEST_P(WaiterConformanceTest, WakeWithoutWaitersIsHarmless) {
  std::atomic<uint32_t> word{0};
  TypeParam::Wake(&word, 1);
  TypeParam::Wake(&word, INT_MAX);
  TypeParam::Wake(&word, 0);
  TypeParam::Wake(&word, -1);
  EXPECT_EQ(word.load(), 0u);
}

TYPED_TEST_P(WaiterConformanceTest, ReportsInterruptionBySignalHandler) {
  using waiter_conformance_internal::kPatience;
  using waiter_conformance_internal::signals_handled;
  signals_handled.store(0);
  const WaitResult result =
      waiter_conformance_internal::WaitAndInterrupt<TypeParam>(
          /*restart=*/false, Deadline::After(2 * kPatience));
  EXPECT_EQ(result, WaitResult::kInterrupted) << WaitResultName(result);
  EXPECT_GT(signals_handled.load(), 0);
}

// semop(2) fails with EINTR after a handler even if the handler was installed
// with SA_RESTART, and so must we: the application, not libsysv, chooses the
// flags, and the kernel's own calls are never restarted. An infinite deadline
// is the case where a naive futex wait would be restarted transparently.
TYPED_TEST_P(WaiterConformanceTest, ReportsInterruptionEvenWithSaRestart) {
  using waiter_conformance_internal::signals_handled;
  signals_handled.store(0);
  const WaitResult result =
      waiter_conformance_internal::WaitAndInterrupt<TypeParam>(
          /*restart=*/true, Deadline::Infinite());
  EXPECT_EQ(result, WaitResult::kInterrupted) << WaitResultName(result);
  EXPECT_GT(signals_handled.load(), 0);
}

TYPED_TEST_P(WaiterConformanceTest, WakeReachesWaiterInAnotherProcess) {
  namespace internal = waiter_conformance_internal;
  internal::SharedPage page;
  ASSERT_TRUE(page.ok()) << errno;
  std::atomic<uint32_t>* const word = new (page.word(0)) std::atomic<uint32_t>(0);
  std::atomic<uint32_t>* const ready = new (page.word(1)) std::atomic<uint32_t>(0);

  const pid_t child = fork();
  ASSERT_GE(child, 0) << errno;
  if (child == 0) {
    ready->store(1, std::memory_order_release);
    const WaitResult result = internal::WaitWhileEqual<TypeParam>(
        word, 0, Deadline::After(internal::kPatience));
    _exit(internal::ChildExitCode(result, word->load(), 1));
  }
  ASSERT_TRUE(internal::AwaitValue(ready, 1));
  // Let the child fall asleep so that only a process-shared Wake() can end
  // its wait; with a private futex it would time out instead.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  word->store(1, std::memory_order_release);
  TypeParam::Wake(word, INT_MAX);
  const int status = internal::WaitForChild(child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), internal::kChildWoken);
}

TYPED_TEST_P(WaiterConformanceTest, WakeFromAnotherProcessReachesThisOne) {
  namespace internal = waiter_conformance_internal;
  internal::SharedPage page;
  ASSERT_TRUE(page.ok()) << errno;
  std::atomic<uint32_t>* const word = new (page.word(0)) std::atomic<uint32_t>(0);

  const pid_t child = fork();
  ASSERT_GE(child, 0) << errno;
  if (child == 0) {
    usleep(50 * 1000);
    word->store(1, std::memory_order_release);
    TypeParam::Wake(word, 1);
    _exit(0);
  }
  const WaitResult result = internal::WaitWhileEqual<TypeParam>(
      word, 0, Deadline::After(internal::kPatience));
  EXPECT_EQ(result, WaitResult::kWoken) << WaitResultName(result);
  EXPECT_EQ(word->load(), 1u);
  const int status = internal::WaitForChild(child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

REGISTER_TYPED_TEST_SUITE_P(WaiterConformanceTest,
                            ReturnsWokenAtOnceWhenValueDiffers,
                            TimesOutAtOnceWhenDeadlineHasPassed,
                            TimesOutAtTheDeadline,
                            WakeReachesWaiterInAnotherThread,
                            WakeAllReachesEveryWaiter,
                            WakeWithoutWaitersIsHarmless,
                            ReportsInterruptionBySignalHandler,
                            ReportsInterruptionEvenWithSaRestart,
                            WakeReachesWaiterInAnotherProcess,
                            WakeFromAnotherProcessReachesThisOne);

}  // namespace sysv::core::testing

#endif  // SYSV_CORE_TESTING_WAITER_CONFORMANCE_H_

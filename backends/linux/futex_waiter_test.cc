#include "backends/linux/futex_waiter.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/deadline.h"
#include "core/testing/waiter_conformance.h"
#include "core/waiter.h"
#include "gtest/gtest.h"

// gtest requires the instantiation in the suite's namespace.
namespace sysv::core::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Futex, WaiterConformanceTest,
                               ::sysv::linux_backend::FutexWaiter);
}  // namespace sysv::core::testing

namespace sysv::linux_backend {
namespace {

using ::sysv::core::Deadline;

TEST(FutexWaiterTest, PrintsName) {
  std::printf("FutexWaiter::kName = %s\n", FutexWaiter::kName);
  EXPECT_STREQ(FutexWaiter::kName, "futex");
}

// FutexWaiter hands Deadline's nanoseconds to the kernel as an absolute
// CLOCK_MONOTONIC time; core/ reads them from std::chrono::steady_clock. This
// holds only if the two are the same clock.
TEST(FutexWaiterTest, DeadlineClockIsClockMonotonic) {
  struct timespec before, after;
  ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &before), 0);
  const int64_t now = Deadline::NowNanos();
  ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &after), 0);
  const int64_t lo = int64_t{before.tv_sec} * 1'000'000'000 + before.tv_nsec;
  const int64_t hi = int64_t{after.tv_sec} * 1'000'000'000 + after.tv_nsec;
  EXPECT_LE(lo, now);
  EXPECT_LE(now, hi);
}

TEST(FutexWaiterTest, WorksThroughWaiterOps) {
  constexpr sysv::core::WaiterOps ops =
      sysv::core::WaiterOpsFor<FutexWaiter>();
  std::atomic<uint32_t> word{1};
  EXPECT_EQ(ops.wait(&word, 0, Deadline::Infinite()),
            sysv::core::WaitResult::kWoken);
  ops.wake(&word, 1);
  EXPECT_STREQ(ops.name, "futex");
}

// Issue #12: a client cuts a region file short while the daemon waits on,
// or wakes, a word in the page that went. The kernel answers EFAULT; that
// must not kill the daemon (it used to abort).
TEST(FutexWaiterTest, WordOfAPageCutOffItsFileIsNoError) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/futex-cut-XXXXXX";
  const int fd = mkstemp(path.data());
  ASSERT_GE(fd, 0);
  unlink(path.c_str());
  ASSERT_EQ(ftruncate(fd, 2 * 4096), 0);
  void* map = mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  auto* word = reinterpret_cast<std::atomic<uint32_t>*>(static_cast<char*>(map) + 4096);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  FutexWaiter::Wake(word, 1);
  EXPECT_EQ(FutexWaiter::Wait(word, 0, Deadline::Infinite()), sysv::core::WaitResult::kWoken);
  munmap(map, 2 * 4096);
  close(fd);
}

}  // namespace
}  // namespace sysv::linux_backend

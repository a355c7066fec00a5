// UmtxWaiter on Linux, against the futex double of umtx_sys.h: the
// DragonFly-specific paths one by one, steered through the double's
// controls. The conformance suite is in umtx_waiter_conformance_test.cc,
// linked into the same test binary.
#include "backends/dragonfly/umtx_waiter.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <new>
#include <thread>

#include "absl/time/time.h"
#include "backends/dragonfly/umtx_sys_linux_double.h"
#include "core/deadline.h"
#include "core/testing/waiter_conformance.h"
#include "core/waiter.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::core::Deadline;
using ::sysv::core::WaitResult;
using ::sysv::core::WaitResultName;
using testing::GetUmtxStats;
using testing::ResetUmtxDouble;
using testing::ScriptUmtxSleeps;
using testing::SetFailsafeTimeoutMicros;
using testing::SetUmtxFaults;
using testing::UmtxFaults;
using testing::UmtxInjection;
using testing::UmtxStats;
namespace internal = umtx_waiter_internal;

constexpr UmtxFaults kNoFaults = {0, 0, 0};
constexpr absl::Duration kPatience = absl::Seconds(10);

int64_t Nanos(absl::Duration d) { return absl::ToInt64Nanoseconds(d); }

// Every test starts from the double's defaults and leaves them so.
class UmtxWaiterTest : public ::testing::Test {
 protected:
  void SetUp() override { ResetUmtxDouble(); }
  void TearDown() override { ResetUmtxDouble(); }
};

TEST(UmtxWaiterInternalTest, SleepMicrosRoundsUpAndClamps) {
  EXPECT_EQ(internal::SleepMicros(1), 1);
  EXPECT_EQ(internal::SleepMicros(999), 1);
  EXPECT_EQ(internal::SleepMicros(1000), 1);
  EXPECT_EQ(internal::SleepMicros(1001), 2);
  EXPECT_EQ(internal::SleepMicros(Nanos(absl::Milliseconds(50))), 50'000);
  EXPECT_EQ(internal::SleepMicros(Nanos(absl::Seconds(1))),
            internal::kMaxSleepMicros);
  EXPECT_EQ(internal::SleepMicros(Nanos(absl::Hours(1))),
            internal::kMaxSleepMicros);
  // Never 0 ("no timeout"), not even for an infinite deadline.
  EXPECT_EQ(internal::SleepMicros(Deadline::kInfiniteNanos),
            internal::kMaxSleepMicros);
  EXPECT_EQ(internal::SleepMicros(0), 1);
}

TEST(UmtxWaiterInternalTest, PollNapDoublesUpToTheCapAndTheDeadline) {
  EXPECT_EQ(internal::PollNapNanos(0, Deadline::kInfiniteNanos),
            internal::kPollNapMinNanos);
  EXPECT_EQ(internal::PollNapNanos(1, Deadline::kInfiniteNanos),
            2 * internal::kPollNapMinNanos);
  EXPECT_EQ(internal::PollNapNanos(1000, Deadline::kInfiniteNanos),
            internal::kPollNapMaxNanos);
  EXPECT_EQ(internal::PollNapNanos(1000, 1234), 1234);
  EXPECT_EQ(internal::PollNapNanos(0, 0), 1);
}

// EWOULDBLOCK is the kernel's failsafe as often as our timeout: a wait must
// last until ITS deadline however often the failsafe fires.
TEST_F(UmtxWaiterTest, FailsafeTimeoutDoesNotEndTheWaitEarly) {
  SetUmtxFaults(kNoFaults);
  SetFailsafeTimeoutMicros(5'000);
  std::atomic<uint32_t> word{0};
  const absl::Duration timeout = absl::Milliseconds(100);
  const int64_t start = Deadline::NowNanos();
  const Deadline deadline = Deadline::After(timeout);
  EXPECT_EQ(UmtxWaiter::Wait(&word, 0, deadline), WaitResult::kTimedOut);
  const int64_t end = Deadline::NowNanos();
  EXPECT_GE(end, deadline.monotonic_nanos());
  EXPECT_LT(end - start, Nanos(kPatience));
  // 100 ms in 5 ms slices.
  EXPECT_GE(GetUmtxStats().kernel_sleeps, 10u);
}

TEST_F(UmtxWaiterTest, FailsafeTimeoutWithInfiniteDeadlineKeepsWaiting) {
  SetUmtxFaults(kNoFaults);
  SetFailsafeTimeoutMicros(5'000);
  std::atomic<uint32_t> word{0};
  WaitResult result = WaitResult::kTimedOut;
  std::thread waiter(
      [&] { result = UmtxWaiter::Wait(&word, 0, Deadline::Infinite()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  word.store(1, std::memory_order_release);
  UmtxWaiter::Wake(&word, 1);
  waiter.join();
  EXPECT_EQ(result, WaitResult::kWoken) << WaitResultName(result);
  EXPECT_GE(GetUmtxStats().kernel_sleeps, 2u);
}

// EBUSY with the word unchanged (a change and change back) and EWOULDBLOCK
// are "look again", never a result.
TEST_F(UmtxWaiterTest, BusyAndFailsafeAnswersAreRetried) {
  SetUmtxFaults(kNoFaults);
  ScriptUmtxSleeps({UmtxInjection::kBusy, UmtxInjection::kFailsafeTimeout,
                    UmtxInjection::kBusy, UmtxInjection::kBusy});
  std::atomic<uint32_t> word{0};
  WaitResult result = WaitResult::kTimedOut;
  std::thread waiter([&] {
    result = UmtxWaiter::Wait(&word, 0, Deadline::After(kPatience));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  word.store(1, std::memory_order_release);
  UmtxWaiter::Wake(&word, 1);
  waiter.join();
  EXPECT_EQ(result, WaitResult::kWoken) << WaitResultName(result);
  const UmtxStats stats = GetUmtxStats();
  EXPECT_EQ(stats.injected, 4u);
  EXPECT_GE(stats.sleep_calls, 5u);  // the four answers, then a real sleep
}

// A return of 0 ends the wait even with the word unchanged: it may be the
// one wakeup a Wake(word, 1) had to give.
TEST_F(UmtxWaiterTest, ZeroReturnIsWokenEvenIfTheWordIsUnchanged) {
  SetUmtxFaults(kNoFaults);
  ScriptUmtxSleeps({UmtxInjection::kSpuriousWakeup});
  std::atomic<uint32_t> word{0};
  EXPECT_EQ(UmtxWaiter::Wait(&word, 0, Deadline::After(kPatience)),
            WaitResult::kWoken);
  EXPECT_EQ(GetUmtxStats().sleep_calls, 1u);
}

// The double injects by default, so the conformance suite above, which
// knows nothing of it, also runs through the retry paths.
TEST_F(UmtxWaiterTest, DefaultFaultsInjectAlongTheWay) {
  std::atomic<uint32_t> word{0};
  for (int i = 0; i < 12; ++i) {
    sysv::core::testing::waiter_conformance_internal::WaitWhileEqual<UmtxWaiter>(
        &word, 0, Deadline::After(absl::Milliseconds(1)));
  }
  const UmtxStats stats = GetUmtxStats();
  EXPECT_GE(stats.injected, 3u);
  EXPECT_GE(stats.kernel_sleeps, 1u);
}

TEST_F(UmtxWaiterTest, ChangedWordNeedsNoSystemCall) {
  std::atomic<uint32_t> word{7};
  EXPECT_EQ(UmtxWaiter::Wait(&word, 6, Deadline::Infinite()),
            WaitResult::kWoken);
  EXPECT_EQ(UmtxWaiter::Wait(&word, 6, Deadline::FromMonotonicNanos(0)),
            WaitResult::kWoken);
  EXPECT_EQ(GetUmtxStats().sleep_calls, 0u);
}

// Values with the top bit set are ordinary values: the int that umtx_sleep
// compares has the same bits.
TEST_F(UmtxWaiterTest, HighValuesCompareAsTheSameBits) {
  SetUmtxFaults(kNoFaults);
  std::atomic<uint32_t> word{0x80000001u};
  EXPECT_EQ(UmtxWaiter::Wait(&word, 0x80000001u,
                             Deadline::After(absl::Milliseconds(20))),
            WaitResult::kTimedOut);
  EXPECT_GE(GetUmtxStats().kernel_sleeps, 1u);
}

TEST_F(UmtxWaiterTest, WakeMakesNoCallForNonPositiveCounts) {
  std::atomic<uint32_t> word{0};
  UmtxWaiter::Wake(&word, 0);
  UmtxWaiter::Wake(&word, -5);
  EXPECT_EQ(GetUmtxStats().wakeup_calls, 0u);
  UmtxWaiter::Wake(&word, 1);
  UmtxWaiter::Wake(&word, 2);
  UmtxWaiter::Wake(&word, INT_MAX);
  EXPECT_EQ(GetUmtxStats().wakeup_calls, 3u);
}

// A shared page seen through a writable and a read-only mapping, as a
// daemon-made region is seen by a writer and by a read-only client.
class TwoViews {
 public:
  TwoViews() {
    fd_ = memfd_create("umtx_waiter_test", MFD_CLOEXEC);
    if (fd_ < 0 || ftruncate(fd_, 4096) != 0) return;
    rw_ = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    ro_ = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd_, 0);
  }
  ~TwoViews() {
    if (rw_ != MAP_FAILED) munmap(rw_, 4096);
    if (ro_ != MAP_FAILED) munmap(ro_, 4096);
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return rw_ != MAP_FAILED && ro_ != MAP_FAILED; }
  std::atomic<uint32_t>* writable() {
    return std::launder(reinterpret_cast<std::atomic<uint32_t>*>(rw_));
  }
  const std::atomic<uint32_t>* read_only() {
    return std::launder(reinterpret_cast<const std::atomic<uint32_t>*>(ro_));
  }

 private:
  int fd_ = -1;
  void* rw_ = MAP_FAILED;
  void* ro_ = MAP_FAILED;
};

// umtx_sleep cannot sleep on a read-only page (it answers EBUSY at once):
// the waiter must neither spin for ever nor return early.
TEST_F(UmtxWaiterTest, ReadOnlyMappingPollsUntilTheDeadline) {
  TwoViews views;
  ASSERT_TRUE(views.ok()) << std::strerror(errno);
  SetUmtxFaults(kNoFaults);
  const int64_t start = Deadline::NowNanos();
  const Deadline deadline = Deadline::After(absl::Milliseconds(100));
  EXPECT_EQ(UmtxWaiter::Wait(views.read_only(), 0, deadline),
            WaitResult::kTimedOut);
  const int64_t end = Deadline::NowNanos();
  EXPECT_GE(end, deadline.monotonic_nanos());
  EXPECT_LT(end - start, Nanos(kPatience));
  const UmtxStats stats = GetUmtxStats();
  EXPECT_GE(stats.read_only, static_cast<uint64_t>(internal::kBusyStreakBeforePolling));
  EXPECT_EQ(stats.kernel_sleeps, 0u);
  // Polling naps: far fewer calls than a spin would make in 100 ms.
  EXPECT_LT(stats.sleep_calls, 5000u) << "the waiter spins";
}

TEST_F(UmtxWaiterTest, ReadOnlyMappingSeesTheChange) {
  TwoViews views;
  ASSERT_TRUE(views.ok()) << std::strerror(errno);
  WaitResult result = WaitResult::kTimedOut;
  int64_t returned_at = 0;
  std::thread waiter([&] {
    result = UmtxWaiter::Wait(views.read_only(), 0, Deadline::Infinite());
    returned_at = Deadline::NowNanos();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int64_t changed_at = Deadline::NowNanos();
  views.writable()->store(1, std::memory_order_release);
  UmtxWaiter::Wake(views.writable(), INT_MAX);
  waiter.join();
  EXPECT_EQ(result, WaitResult::kWoken) << WaitResultName(result);
  EXPECT_LT(returned_at - changed_at, Nanos(absl::Seconds(1)));
}

TEST_F(UmtxWaiterTest, ReadOnlyMappingReportsSignals) {
  TwoViews views;
  ASSERT_TRUE(views.ok()) << std::strerror(errno);
  sysv::core::testing::waiter_conformance_internal::ScopedSignalHandler handler(
      SIGUSR1, /*restart=*/true);
  std::atomic<bool> done{false};
  WaitResult result = WaitResult::kWoken;
  std::thread waiter([&] {
    result = UmtxWaiter::Wait(views.read_only(), 0, Deadline::After(kPatience));
    done.store(true, std::memory_order_release);
  });
  while (!done.load(std::memory_order_acquire)) {
    pthread_kill(waiter.native_handle(), SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  waiter.join();
  EXPECT_EQ(result, WaitResult::kInterrupted) << WaitResultName(result);
}

// Only Wake() is tried: Wait() would first load the misaligned atomic
// itself, which UBSan (--config=asan) stops before the system call.
TEST_F(UmtxWaiterTest, MisalignedWordIsABugThatAborts) {
  alignas(8) char bytes[8] = {};
  const auto* misaligned =
      reinterpret_cast<const std::atomic<uint32_t>*>(bytes + 1);
  EXPECT_DEATH(UmtxWaiter::Wake(misaligned, 1), "umtx_wakeup .* failed");
}

}  // namespace
}  // namespace sysv::dragonfly_backend

// A semop sleeper whose waker completed its operation, unlocked, and was
// killed before its futex wake: the sleeper must return by itself, within
// its bounded sleep (core/sem/sem_set.cc, Semop()). The waker here is a
// view of the set whose platform's wake does nothing -- the waker's every
// store, and no wake-up.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "backends/platform.h"
#include "core/deadline.h"
#include "core/region_platform.h"
#include "core/sem/sem_set.h"
#include "gtest/gtest.h"

namespace sysv {
namespace {

using core::SemSet;

core::RegionPlatform DeafPlatform() {
  core::RegionPlatform platform = ::sysv::platform::ClientSemPlatform();
  platform.waiter.wake = [](const std::atomic<uint32_t>*, int) {};
  return platform;
}

TEST(SemSleepTest, ASleeperWhoseWakerDiedReturnsByItself) {
  const size_t size = SemSet::RegionSize(1);
  const int fd = memfd_create("sem-sleep", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(base, MAP_FAILED);
  absl::StatusOr<SemSet> set = SemSet::Format(base, size, 1, 1, &platform::ClientSemPlatform());
  ASSERT_TRUE(set.ok()) << set.status();
  const SemSet::Caller caller{getpid(), 0};

  std::atomic<int> result{-1};
  std::thread sleeper([&] {
    absl::StatusOr<SemSet> own = SemSet::Open(base, size, &platform::ClientSemPlatform());
    const core::SemOp down{0, -1, 0};
    result.store(own.ok() ? own->Semop({&down, 1}, caller, core::Deadline::Infinite()) : -2);
  });
  // Queued, and past its spin (at most 100 us) into the futex sleep.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (set->GetNcnt(0) == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(set->GetNcnt(0), 1) << "the sleeper never queued";
  std::this_thread::sleep_for(std::chrono::milliseconds(50));

  static const core::RegionPlatform deaf = DeafPlatform();
  absl::StatusOr<SemSet> waker = SemSet::Open(base, size, &deaf);
  ASSERT_TRUE(waker.ok()) << waker.status();
  const core::SemOp up{0, 1, 0};
  ASSERT_EQ(waker->Semop({&up, 1}, caller, core::Deadline::Infinite()), 0);

  const auto start = std::chrono::steady_clock::now();
  while (result.load() == -1 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int returned = result.load();
  if (returned == -1) set->Remove();  // let it go, then fail
  sleeper.join();
  EXPECT_EQ(returned, 0) << "the sleeper slept on after its operation was done";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(set->GetVal(0), 0);  // the waker completed the sleeper's -1
  munmap(base, size);
  close(fd);
}

}  // namespace
}  // namespace sysv

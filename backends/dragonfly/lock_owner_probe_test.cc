// LockOwnerProbe (lock_owner_probe.h) on Linux over the kinfo_sys double:
// the encoding of pid, LWP id and start time in the lock word, the judgement
// of synthetic LWP records, and probes of real threads and processes.
#include "backends/dragonfly/lock_owner_probe.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backends/dragonfly/dragonfly_abi.h"
#include "backends/dragonfly/kinfo_sys.h"
#include "backends/dragonfly/kinfo_sys_linux_double.h"
#include "backends/dragonfly/process_watch.h"
#include "backends/dragonfly/region_mutex.h"
#include "core/deadline.h"
#include "core/owner_word_mutex.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::core::LockOwner;
using ::sysv::core::OwnerLiveness;
using ::sysv::core::OwnerWord;

constexpr size_t kRecord = abi::kKinfoLwpMinSize;

template <typename T>
void Put(std::vector<uint8_t>& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(value));
}

// One LWP record as DragonFly lays it out.
void AppendRecord(std::vector<uint8_t>& records, int32_t pid, int32_t lwp, uint64_t start_us,
                  int32_t stat = abi::kSactive) {
  std::vector<uint8_t> record(kRecord, 0);
  Put<int32_t>(record, abi::kKpStatOffset, stat);
  Put<int64_t>(record, abi::kKpStartSecOffset, static_cast<int64_t>(start_us / 1'000'000));
  Put<int64_t>(record, abi::kKpStartUsecOffset, static_cast<int64_t>(start_us % 1'000'000));
  Put<int32_t>(record, abi::kKpPidOffset, pid);
  Put<int32_t>(record, abi::kKpLwpPidOffset, pid);
  Put<int32_t>(record, abi::kKpLwpTidOffset, lwp);
  records.insert(records.end(), record.begin(), record.end());
}

OwnerLiveness Judge(LockOwner owner, const std::vector<uint8_t>& records, bool jailed = false) {
  return LockOwnerProbe::Judge(owner, records, kRecord, jailed);
}

TEST(LockOwnerProbeTest, EncodesPidLwpAndStartTime) {
  const uint64_t start = 1'700'000'000'123'456;
  for (const int32_t lwp : {1, 2, 1023, 1024, 0x3fffff}) {
    for (const pid_t pid : {1, 2, 4242, abi::kPidMax}) {
      const LockOwner owner = LockOwnerProbe::OwnerOf(pid, lwp, start);
      EXPECT_EQ(LockOwnerProbe::PidOf(owner), pid);
      EXPECT_EQ(LockOwnerProbe::LwpOf(owner), static_cast<uint32_t>(lwp));
      EXPECT_EQ(owner.tag & LockOwnerProbe::kStartMask, start & LockOwnerProbe::kStartMask);
      // A TID field of 0 is a free lock, all ones an abandoned repair.
      EXPECT_NE(owner.tid, 0u);
      EXPECT_LT(owner.tid, OwnerWord::kTidNotRecoverable);
      EXPECT_EQ(OwnerWord::Owner(OwnerWord::Of(owner)), owner);
    }
  }
  // Threads of one process differ; so do two processes with one pid.
  EXPECT_NE(LockOwnerProbe::OwnerOf(7, 1, start), LockOwnerProbe::OwnerOf(7, 2, start));
  EXPECT_NE(LockOwnerProbe::OwnerOf(7, 1, start), LockOwnerProbe::OwnerOf(7, 1, start + 1));
  EXPECT_NE(LockOwnerProbe::OwnerOf(7, 1, start), LockOwnerProbe::OwnerOf(7, 1 + 1024, start));
}

TEST(LockOwnerProbeTest, JudgesRecords) {
  const uint64_t start = 5'000'000'000'000;
  const LockOwner owner = LockOwnerProbe::OwnerOf(100, 3, start);
  std::vector<uint8_t> records;
  EXPECT_EQ(Judge(owner, records), OwnerLiveness::kDead) << "no process";
  EXPECT_EQ(Judge(owner, records, /*jailed=*/true), OwnerLiveness::kUnknown)
      << "a jailed prober cannot see outside its jail";
  AppendRecord(records, 100, 1, start);
  EXPECT_EQ(Judge(owner, records), OwnerLiveness::kDead) << "LWP 3 exited";
  AppendRecord(records, 100, 3, start);
  EXPECT_EQ(Judge(owner, records), OwnerLiveness::kAlive);
  EXPECT_EQ(Judge(owner, records, /*jailed=*/true), OwnerLiveness::kAlive);

  std::vector<uint8_t> reused;
  AppendRecord(reused, 100, 3, start + 1);
  EXPECT_EQ(Judge(owner, reused), OwnerLiveness::kDead) << "the pid names another process";
  std::vector<uint8_t> zombie;
  AppendRecord(zombie, 100, 3, start, abi::kSzomb);
  EXPECT_EQ(Judge(owner, zombie), OwnerLiveness::kDead);

  // Answers that make no sense are not a death.
  std::vector<uint8_t> other_pid;
  AppendRecord(other_pid, 101, 3, start);
  EXPECT_EQ(Judge(owner, other_pid), OwnerLiveness::kUnknown);
  std::vector<uint8_t> garbage(kRecord, 0xff);
  EXPECT_EQ(Judge(owner, garbage), OwnerLiveness::kUnknown);
  std::vector<uint8_t> torn = records;
  torn.pop_back();
  EXPECT_EQ(Judge(owner, torn), OwnerLiveness::kUnknown);
  EXPECT_EQ(LockOwnerProbe::Judge(owner, records, kRecord - 4, false), OwnerLiveness::kUnknown);
}

TEST(LockOwnerProbeTest, SelfIsPidLwpAndStartTime) {
  const absl::StatusOr<uint64_t> start = ProcessStartTime(getpid());
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(LockOwnerProbe::Self(), LockOwnerProbe::OwnerOf(getpid(), CurrentLwpId(), *start));
  EXPECT_EQ(LockOwnerProbe::Probe(LockOwnerProbe::Self()), OwnerLiveness::kAlive);
}

TEST(LockOwnerProbeTest, ProbesThreads) {
  LockOwner other;
  std::thread thread([&other] { other = LockOwnerProbe::Self(); });
  thread.join();
  EXPECT_EQ(LockOwnerProbe::PidOf(other), getpid());
  EXPECT_NE(other, LockOwnerProbe::Self());
  EXPECT_EQ(LockOwnerProbe::Probe(other), OwnerLiveness::kDead) << "the thread exited";
}

TEST(LockOwnerProbeTest, ProbesProcesses) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const LockOwner self = LockOwnerProbe::Self();
    if (write(ready[1], &self, sizeof(self)) != sizeof(self)) _exit(1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  LockOwner owner;
  ASSERT_EQ(read(ready[0], &owner, sizeof(owner)), static_cast<ssize_t>(sizeof(owner)));
  close(ready[0]);
  EXPECT_EQ(LockOwnerProbe::PidOf(owner), child) << "a forked child has its own identity";
  EXPECT_EQ(LockOwnerProbe::Probe(owner), OwnerLiveness::kAlive);
  ASSERT_EQ(kill(child, SIGSTOP), 0);
  int status;
  ASSERT_EQ(waitpid(child, &status, WUNTRACED), child);
  EXPECT_EQ(LockOwnerProbe::Probe(owner), OwnerLiveness::kAlive) << "a stopped holder holds";
  ASSERT_EQ(kill(child, SIGKILL), 0);
  siginfo_t info;
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(LockOwnerProbe::Probe(owner), OwnerLiveness::kDead) << "a zombie";
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(LockOwnerProbe::Probe(owner), OwnerLiveness::kDead) << "reaped";
  // The same pid with another start time is another process.
  LockOwner reused = LockOwnerProbe::Self();
  reused.tag ^= 1;
  EXPECT_EQ(LockOwnerProbe::Probe(reused), OwnerLiveness::kDead);
  // Inside a jail, a missing record may be a process outside it.
  testing::SetJailedForTesting(true);
  EXPECT_EQ(LockOwnerProbe::Probe(owner), OwnerLiveness::kUnknown);
  testing::SetJailedForTesting(false);
}

// A thread of a process with more LWPs than the first read holds is still
// found (the probe reads again into a larger buffer after ENOMEM).
TEST(LockOwnerProbeTest, FindsAThreadAmongMany) {
  constexpr int kThreads = 40;
  std::vector<std::thread> threads;
  std::atomic<int> started{0};
  std::atomic<bool> stop{false};
  LockOwner last;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      if (i == kThreads - 1) last = LockOwnerProbe::Self();
      started.fetch_add(1);
      while (!stop.load()) usleep(1000);
    });
  }
  while (started.load() < kThreads) usleep(1000);
  EXPECT_EQ(LockOwnerProbe::Probe(last), OwnerLiveness::kAlive);
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(LockOwnerProbe::Probe(last), OwnerLiveness::kDead);
}

// The mutex takes a lock over from a process killed while holding it.
TEST(DragonFlyRegionMutexTest, TakesOverFromAKilledHolder) {
  void* storage = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(storage, MAP_FAILED);
  RegionMutex::Init(storage);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!core::HoldsLock(RegionMutex::Lock(storage, core::Deadline::Infinite()))) _exit(1);
    if (write(ready[1], "x", 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char byte;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  EXPECT_EQ(RegionMutex::Lock(storage, core::Deadline::After(absl::Milliseconds(50))),
            core::LockResult::kTimedOut);
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(RegionMutex::Lock(storage, core::Deadline::After(absl::Seconds(10))),
            core::LockResult::kAcquiredOwnerDied);
  RegionMutex::MarkConsistent(storage);
  RegionMutex::Unlock(storage);
  munmap(storage, 4096);
}

}  // namespace
}  // namespace sysv::dragonfly_backend

// Cost of an uncontended (and lightly contended) lock/unlock pair:
// RegionMutex (core/owner_word_mutex.h) against glibc's robust mutex, which
// the Linux backend used before, a process-shared but not robust pthread
// mutex, and std::mutex.
//
//   bazel run //backends/linux:region_mutex_benchmark
//
// Every shared mutex lives in a MAP_SHARED anonymous page, as it would in a
// region file's mapping.
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "absl/time/time.h"
#include "backends/linux/region_mutex.h"
#include "benchmark/benchmark.h"
#include "core/deadline.h"
#include "core/shared_mutex.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::core::Deadline;
using ::sysv::core::LockResult;

void* SharedPage() {
  static void* const page = [] {
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("mmap");
      std::abort();
    }
    return p;
  }();
  return page;
}

// Slots of the shared page, one cache line each.
void* Slot(int i) { return static_cast<char*>(SharedPage()) + 64 * i; }

void* RegionMutexStorage() {
  static void* const storage = [] {
    RegionMutex::Init(Slot(0));
    return Slot(0);
  }();
  return storage;
}

pthread_mutex_t* PthreadMutex(int slot, bool robust) {
  auto* m = static_cast<pthread_mutex_t*>(Slot(slot));
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (robust) pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(m, &attr);
  pthread_mutexattr_destroy(&attr);
  return m;
}

pthread_mutex_t* GlibcRobust() {
  static pthread_mutex_t* const m = PthreadMutex(1, /*robust=*/true);
  return m;
}

pthread_mutex_t* GlibcShared() {
  static pthread_mutex_t* const m = PthreadMutex(2, /*robust=*/false);
  return m;
}

std::mutex& StdMutex() {
  static std::mutex mu;
  return mu;
}

// The deadline a region operation would pass, computed once per operation.
void BM_RegionMutex(benchmark::State& state) {
  void* const storage = RegionMutexStorage();
  const Deadline deadline = Deadline::Infinite();
  for (auto _ : state) {
    if (RegionMutex::Lock(storage, deadline) != LockResult::kAcquired) {
      state.SkipWithError("lock failed");
      break;
    }
    RegionMutex::Unlock(storage);
  }
}
BENCHMARK(BM_RegionMutex)->ThreadRange(1, 2)->UseRealTime();

// The same with a fresh finite deadline per pair (one clock read).
void BM_RegionMutexWithDeadlineAfter(benchmark::State& state) {
  void* const storage = RegionMutexStorage();
  for (auto _ : state) {
    if (RegionMutex::Lock(storage, Deadline::After(absl::Seconds(2))) !=
        LockResult::kAcquired) {
      state.SkipWithError("lock failed");
      break;
    }
    RegionMutex::Unlock(storage);
  }
}
BENCHMARK(BM_RegionMutexWithDeadlineAfter);

// glibc's robust mutex, as the previous RobustMutex used it.
void BM_GlibcRobustClocklock(benchmark::State& state) {
  pthread_mutex_t* const m = GlibcRobust();
  const struct timespec forever = {INT64_MAX / 1'000'000'000, 0};
  for (auto _ : state) {
    pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &forever);
    pthread_mutex_unlock(m);
  }
}
BENCHMARK(BM_GlibcRobustClocklock)->ThreadRange(1, 2)->UseRealTime();

void BM_GlibcRobustLock(benchmark::State& state) {
  pthread_mutex_t* const m = GlibcRobust();
  for (auto _ : state) {
    pthread_mutex_lock(m);
    pthread_mutex_unlock(m);
  }
}
BENCHMARK(BM_GlibcRobustLock);

// Process-shared but not robust: what robustness itself costs.
void BM_GlibcSharedNotRobust(benchmark::State& state) {
  pthread_mutex_t* const m = GlibcShared();
  for (auto _ : state) {
    pthread_mutex_lock(m);
    pthread_mutex_unlock(m);
  }
}
BENCHMARK(BM_GlibcSharedNotRobust);

void BM_StdMutex(benchmark::State& state) {
  std::mutex& mu = StdMutex();
  for (auto _ : state) {
    mu.lock();
    mu.unlock();
  }
}
BENCHMARK(BM_StdMutex)->ThreadRange(1, 2)->UseRealTime();

}  // namespace
}  // namespace sysv::linux_backend

BENCHMARK_MAIN();

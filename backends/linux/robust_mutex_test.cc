#include "backends/linux/robust_mutex.h"

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>

#include "absl/time/time.h"
#include "core/deadline.h"
#include "core/shared_mutex.h"
#include "core/testing/shared_mutex_conformance.h"
#include "gtest/gtest.h"

// gtest requires the instantiation in the suite's namespace.
namespace sysv::core::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(PthreadRobust, SharedMutexConformanceTest,
                               ::sysv::linux_backend::RobustMutex);
}  // namespace sysv::core::testing

namespace sysv::linux_backend {
namespace {

using ::sysv::core::Deadline;
using ::sysv::core::LockResult;
using ::sysv::core::LockResultName;
namespace internal = ::sysv::core::testing::shared_mutex_conformance_internal;

constexpr absl::Duration kPatience = absl::Seconds(10);
constexpr absl::Duration kShortWait = absl::Milliseconds(100);

// A page of MAP_SHARED anonymous memory with room for a few mutexes.
class SharedPage {
 public:
  static constexpr int kSlots = 4;

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
  void* slot(int i) {
    return static_cast<char*>(memory_) + i * sysv::core::kSharedMutexReservedSize;
  }
  pthread_mutex_t* mutex(int i) { return static_cast<pthread_mutex_t*>(slot(i)); }
  // A word after the mutex slots, for flags between processes.
  std::atomic<uint32_t>* flag() {
    return std::launder(reinterpret_cast<std::atomic<uint32_t>*>(
        static_cast<char*>(memory_) + 2048));
  }

 private:
  static constexpr size_t kSize = 4096;
  void* memory_;
};

Deadline Soon() { return Deadline::After(kShortWait); }
Deadline Later() { return Deadline::After(kPatience); }

// This thread's robust-list head and its current top (what the kernel walks
// when the thread dies).
robust_list_head* OwnRobustListHead() {
  robust_list_head* head = nullptr;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, 0, &head, &len) != 0) return nullptr;
  return head;
}
bool RobustListIsEmpty() {
  robust_list_head* const head = OwnRobustListHead();
  return head != nullptr && head->list.next == &head->list;
}

TEST(RobustMutexTest, PrintsName) {
  std::printf("RobustMutex::kName = %s\n", RobustMutex::kName);
  EXPECT_STREQ(RobustMutex::kName, "pthread_robust");
}

TEST(RobustMutexTest, InitWritesTheDocumentedLayout) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  std::memset(page.slot(0), 0xa5, RobustMutex::kStorageSize);
  RobustMutex::Init(page.slot(0));
  const pthread_mutex_t* m = page.mutex(0);
  EXPECT_EQ(m->__data.__lock, 0);
  EXPECT_EQ(m->__data.__owner, 0);
  // Robust NORMAL (16) and process-shared (128), plus whatever elision flags
  // glibc adds: the kind pthread_mutex_init gives these attributes.
  EXPECT_EQ(m->__data.__kind & 127, 16);
  EXPECT_NE(m->__data.__kind & 128, 0);
  std::printf("__kind = %d\n", m->__data.__kind);
  unsigned magic;
  std::memcpy(&magic, static_cast<char*>(page.slot(0)) + RobustMutex::kMagicOffset,
              sizeof(magic));
  EXPECT_EQ(magic, RobustMutex::kMagic);
  const auto* bytes = static_cast<const unsigned char*>(page.slot(0));
  for (size_t i = RobustMutex::kMagicOffset + sizeof(magic);
       i < RobustMutex::kStorageSize; ++i) {
    EXPECT_EQ(bytes[i], 0) << "byte " << i;
  }
}

// The documented result for each scribble of the conformance suite, and for
// a region that was never formatted: kCorrupt, found by the magic/kind check
// before glibc reads anything.
TEST(RobustMutexTest, ScribbledOrUnformattedStorageIsCorrupt) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(RobustMutex::Lock(page.slot(1), Soon()), LockResult::kCorrupt)
      << "never formatted (zero page)";
  for (const internal::Scribble scribble :
       {internal::Scribble::kOnes, internal::Scribble::kRandom,
        internal::Scribble::kZeros}) {
    RobustMutex::Init(page.slot(0));
    internal::ApplyScribble(page.slot(0), RobustMutex::kStorageSize, scribble);
    const int64_t start = Deadline::NowNanos();
    EXPECT_EQ(RobustMutex::Lock(page.slot(0), Later()), LockResult::kCorrupt)
        << internal::ScribbleName(scribble);
    EXPECT_LT(Deadline::NowNanos() - start,
              absl::ToInt64Nanoseconds(absl::Seconds(1)))
        << "kCorrupt is found at once, without waiting";
  }
}

// A kind other than ours would send glibc down another algorithm (normal
// with private futexes, PI, priority-protect, error-checking): refused
// before glibc sees it.
TEST(RobustMutexTest, ForeignKindIsCorrupt) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  RobustMutex::Init(page.slot(0));
  const int ours = page.mutex(0)->__data.__kind;
  for (const int kind : {0, 1, 2, 3, 16 | 2 | 128, 32 | 128, 64 | 128,
                         16 | 32 | 128, 16, 128, 16 | 128, ours | 256,
                         ours | 2, ours ^ 128, 0x7fffffff, -1}) {
    RobustMutex::Init(page.slot(0));
    page.mutex(0)->__data.__kind = kind;
    EXPECT_EQ(RobustMutex::Lock(page.slot(0), Soon()), LockResult::kCorrupt)
        << "kind " << kind;
  }
}

// FUTEX_OWNER_DIED in the lock word, however it got there, means the last
// holder is gone: the caller repairs.
TEST(RobustMutexTest, OwnerDiedBitIsOwnerDied) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  RobustMutex::Init(page.slot(0));
  page.mutex(0)->__data.__lock = static_cast<int>(FUTEX_OWNER_DIED | 12345);
  ASSERT_EQ(RobustMutex::Lock(page.slot(0), Soon()),
            LockResult::kAcquiredOwnerDied);
  RobustMutex::MarkConsistent(page.slot(0));
  RobustMutex::Unlock(page.slot(0));
  EXPECT_EQ(RobustMutex::Lock(page.slot(0), Soon()), LockResult::kAcquired);
  RobustMutex::Unlock(page.slot(0));
}

// A lock word naming a live thread is indistinguishable from a holder:
// kTimedOut at the deadline. That includes the calling thread's own TID
// (scribbled, or written by a namesake in another PID namespace): type
// NORMAL waits instead of answering EDEADLK; see the header.
TEST(RobustMutexTest, LockWordNamingALiveThreadTimesOut) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  const pid_t sleeper = internal::Spawn([] {
    for (;;) pause();
    return 0;
  });
  ASSERT_GE(sleeper, 0);
  for (const pid_t tid : {sleeper, static_cast<pid_t>(gettid())}) {
    RobustMutex::Init(page.slot(0));
    page.mutex(0)->__data.__lock = tid;
    const Deadline deadline = Soon();
    const LockResult result = RobustMutex::Lock(page.slot(0), deadline);
    EXPECT_EQ(result, LockResult::kTimedOut) << LockResultName(result);
    EXPECT_GE(Deadline::NowNanos(), deadline.monotonic_nanos());
  }
  ASSERT_TRUE(internal::KillAndReap(sleeper));
}

// __owner == PTHREAD_MUTEX_NOTRECOVERABLE: glibc refuses the mutex for good.
TEST(RobustMutexTest, NotRecoverableIsCorruptUntilInit) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  RobustMutex::Init(page.slot(0));
  page.mutex(0)->__data.__owner = 0x7ffffffe;
  EXPECT_EQ(RobustMutex::Lock(page.slot(0), Soon()), LockResult::kCorrupt);
  EXPECT_EQ(RobustMutex::Lock(page.slot(0), Soon()), LockResult::kCorrupt);
  RobustMutex::Init(page.slot(0));
  EXPECT_EQ(RobustMutex::Lock(page.slot(0), Soon()), LockResult::kAcquired);
  RobustMutex::Unlock(page.slot(0));
}

// Why Unlock repairs the links (see "untrusted storage" in the header): this
// is glibc's own robust mutex, unwrapped, in a child. Links scribbled while
// it is held make its unlock store into memory of the scribbler's choosing.
// If this test starts failing, glibc has learned to check its links and the
// repair could be reconsidered.
TEST(RobustMutexTest, GlibcUnlockWritesThroughScribbledLinks) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  const pid_t child = internal::Spawn([&page] {
    pthread_mutex_t* const m = page.mutex(0);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &attr);
    if (pthread_mutex_lock(m) != 0) return 10;
    // Two private "victims" of the child, and links pointing at them, as a
    // scribbler would write them into the shared storage.
    static __pthread_list_t victim_a = {}, victim_b = {};
    m->__data.__list.__next = reinterpret_cast<__pthread_list_t*>(&victim_a.__next);
    m->__data.__list.__prev = reinterpret_cast<__pthread_list_t*>(&victim_b.__next);
    pthread_mutex_unlock(m);
    const bool wrote =
        static_cast<void*>(victim_a.__prev) == &victim_b.__next &&
        static_cast<void*>(victim_b.__next) == &victim_a.__next;
    return wrote ? 0 : 11;  // _exit right away: this thread's list is broken
  });
  ASSERT_GE(child, 0);
  EXPECT_TRUE(internal::ExitedWith(internal::WaitForChild(child), 0));
}

// The same scribble under RobustMutex: the unlink lands on the thread's own
// list, nothing else is written, the mutex stays usable and the thread's
// robust list is empty afterwards.
TEST(RobustMutexTest, LinksScribbledWhileHeldAreRepaired) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  static __pthread_list_t victim_a = {}, victim_b = {};
  RobustMutex::Init(page.slot(0));
  ASSERT_TRUE(RobustListIsEmpty());
  ASSERT_EQ(RobustMutex::Lock(page.slot(0), Later()), LockResult::kAcquired);
  EXPECT_FALSE(RobustListIsEmpty());
  pthread_mutex_t* const m = page.mutex(0);
  m->__data.__list.__next = reinterpret_cast<__pthread_list_t*>(&victim_a.__next);
  m->__data.__list.__prev = reinterpret_cast<__pthread_list_t*>(&victim_b.__next);
  RobustMutex::Unlock(page.slot(0));
  EXPECT_EQ(victim_a.__prev, nullptr);
  EXPECT_EQ(victim_a.__next, nullptr);
  EXPECT_EQ(victim_b.__prev, nullptr);
  EXPECT_EQ(victim_b.__next, nullptr);
  EXPECT_TRUE(RobustListIsEmpty());
  EXPECT_EQ(RobustMutex::Lock(page.slot(0), Later()), LockResult::kAcquired);
  RobustMutex::Unlock(page.slot(0));
}

// Fields other than the links, scribbled while held (lock word, owner, kind,
// count), are put back from the thread's record: the unlock releases the
// mutex consistently and the next Lock succeeds.
TEST(RobustMutexTest, HeldFieldsScribbledWhileHeldAreRepaired) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  RobustMutex::Init(page.slot(0));
  ASSERT_EQ(RobustMutex::Lock(page.slot(0), Later()), LockResult::kAcquired);
  // Everything of the pthread_mutex_t, but not the magic word after it.
  std::memset(page.slot(0), 0xff, sizeof(pthread_mutex_t));
  RobustMutex::Unlock(page.slot(0));
  EXPECT_TRUE(RobustListIsEmpty());
  EXPECT_EQ(RobustMutex::Lock(page.slot(0), Soon()), LockResult::kAcquired);
  RobustMutex::Unlock(page.slot(0));
}

// Several held at once, released out of order, with every link scribbled:
// the thread's robust list stays exact, so owner death is still detected for
// the mutexes held afterwards (checked by killing a child that did all this).
TEST(RobustMutexTest, RobustListStaysExactWithSeveralHeldOutOfOrder) {
  SharedPage page;
  ASSERT_TRUE(page.ok());
  for (int i = 0; i < 3; ++i) RobustMutex::Init(page.slot(i));

  auto exercise = [&page] {
    for (const int order : {0, 1, 2}) {
      for (int i = 0; i < 3; ++i) {
        if (RobustMutex::Lock(page.slot(i), Later()) != LockResult::kAcquired) {
          return false;
        }
      }
      for (int i = 0; i < 3; ++i) {
        std::memset(&page.mutex(i)->__data.__list, 0x41,
                    sizeof(page.mutex(i)->__data.__list));
      }
      const int first = order, second = (order + 2) % 3, third = (order + 1) % 3;
      RobustMutex::Unlock(page.slot(first));
      RobustMutex::Unlock(page.slot(second));
      RobustMutex::Unlock(page.slot(third));
      if (!RobustListIsEmpty()) return false;
    }
    return true;
  };
  EXPECT_TRUE(exercise());

  page.flag()->store(0);
  const pid_t child = internal::Spawn([&] {
    if (!exercise()) return 1;
    for (int i = 0; i < 3; ++i) {
      if (RobustMutex::Lock(page.slot(i), Later()) != LockResult::kAcquired) {
        return 2;
      }
    }
    RobustMutex::Unlock(page.slot(1));  // holds 0 and 2 when killed
    page.flag()->store(1, std::memory_order_release);
    for (;;) pause();
    return 0;
  });
  ASSERT_GE(child, 0);
  ASSERT_TRUE(internal::AwaitAtLeast(*page.flag(), 1));
  ASSERT_TRUE(internal::KillAndReap(child));
  EXPECT_EQ(RobustMutex::Lock(page.slot(0), Later()),
            LockResult::kAcquiredOwnerDied);
  EXPECT_EQ(RobustMutex::Lock(page.slot(1), Later()), LockResult::kAcquired);
  EXPECT_EQ(RobustMutex::Lock(page.slot(2), Later()),
            LockResult::kAcquiredOwnerDied);
  RobustMutex::MarkConsistent(page.slot(0));
  RobustMutex::MarkConsistent(page.slot(2));
  for (int i = 0; i < 3; ++i) RobustMutex::Unlock(page.slot(i));
  EXPECT_TRUE(RobustListIsEmpty());
}

// Caller bugs are broken invariants of our own code, not region data: they
// abort with a message.
TEST(RobustMutexDeathTest, UnlockWithoutHoldingAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SharedPage page;
  ASSERT_TRUE(page.ok());
  RobustMutex::Init(page.slot(0));
  EXPECT_DEATH(RobustMutex::Unlock(page.slot(0)), "does not hold");
}

TEST(RobustMutexDeathTest, RelockByTheHolderAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SharedPage page;
  ASSERT_TRUE(page.ok());
  RobustMutex::Init(page.slot(0));
  EXPECT_DEATH(
      {
        (void)RobustMutex::Lock(page.slot(0), Soon());
        (void)RobustMutex::Lock(page.slot(0), Soon());
      },
      "this thread holds");
}

TEST(RobustMutexDeathTest, MarkConsistentWithoutOwnerDeathAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SharedPage page;
  ASSERT_TRUE(page.ok());
  RobustMutex::Init(page.slot(0));
  EXPECT_DEATH(
      {
        (void)RobustMutex::Lock(page.slot(0), Soon());
        RobustMutex::MarkConsistent(page.slot(0));
      },
      "without kAcquiredOwnerDied");
}

}  // namespace
}  // namespace sysv::linux_backend

// The umtx_sys.h contract, as a test that runs against either
// implementation: on Linux against the futex double (umtx_sys_test, with the
// double's default fault injection on), on DragonFly against the real
// umtx_sleep(2)/umtx_wakeup(2) (umtx_sys_dragonfly_test, which can only run
// there). Where the contract allows spurious answers (0, EBUSY, early
// EWOULDBLOCK), the tests accept them and ask again. POSIX calls only.
#include "backends/dragonfly/umtx_sys.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPatience = std::chrono::seconds(10);

const volatile int* Address(const std::atomic<int>* word) {
  return reinterpret_cast<const volatile int*>(word);
}

// One UmtxSleep: its result, and errno if it failed.
struct Answer {
  int rc;
  int errnum;
};
Answer Sleep(const std::atomic<int>* word, int value, int timeout_us) {
  const int rc = UmtxSleep(Address(word), value, timeout_us);
  return Answer{rc, rc == 0 ? 0 : errno};
}

// True for the answers the contract allows at any time while the value is
// equal: a wakeup (possibly spurious), EBUSY (possibly spurious), or a
// (possibly failsafe) timeout.
bool Allowed(const Answer& answer) {
  return answer.rc == 0 || answer.errnum == EBUSY ||
         answer.errnum == EWOULDBLOCK;
}

// Sleeps in slices on a zero word until it becomes non-zero or kPatience
// passes; returns true if it saw the change. Every answer must be allowed.
bool SleepUntilNonZero(const std::atomic<int>* word) {
  const auto give_up = Clock::now() + kPatience;
  while (word->load() == 0) {
    if (Clock::now() > give_up) return false;
    const Answer answer = Sleep(word, 0, 100'000);
    EXPECT_TRUE(Allowed(answer)) << std::strerror(answer.errnum);
  }
  return true;
}

TEST(UmtxSysTest, DifferentValueIsEbusy) {
  std::atomic<int> word{1};
  const Answer answer = Sleep(&word, 0, 1000);
  EXPECT_EQ(answer.rc, -1);
  EXPECT_EQ(answer.errnum, EBUSY);
}

TEST(UmtxSysTest, TimeoutIsEwouldblock) {
  std::atomic<int> word{0};
  bool timed_out = false;
  for (int i = 0; i < 50 && !timed_out; ++i) {
    const Answer answer = Sleep(&word, 0, 20'000);
    ASSERT_TRUE(Allowed(answer)) << std::strerror(answer.errnum);
    timed_out = answer.rc == -1 && answer.errnum == EWOULDBLOCK;
  }
  EXPECT_TRUE(timed_out);
}

TEST(UmtxSysTest, BadArguments) {
  std::atomic<int> word{0};
  Answer answer = Sleep(&word, 0, -1);
  EXPECT_EQ(answer.rc, -1);
  EXPECT_EQ(answer.errnum, EINVAL);

  alignas(8) char bytes[8] = {};
  const volatile int* misaligned =
      reinterpret_cast<const volatile int*>(bytes + 1);
  EXPECT_EQ(UmtxSleep(misaligned, 0, 1000), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(UmtxWakeup(misaligned, 1), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST(UmtxSysTest, WakeupWithoutSleepersIsZero) {
  std::atomic<int> word{0};
  EXPECT_EQ(UmtxWakeup(Address(&word), 1), 0);
  EXPECT_EQ(UmtxWakeup(Address(&word), 0), 0);
  EXPECT_EQ(UmtxWakeup(Address(&word), 5), 0);
}

TEST(UmtxSysTest, WakeupReachesSleepersInOtherThreads) {
  std::atomic<int> word{0};
  std::vector<std::thread> sleepers;
  std::vector<char> saw(3, 0);
  for (int i = 0; i < 3; ++i) {
    sleepers.emplace_back([&, i] { saw[i] = SleepUntilNonZero(&word); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  word.store(1);
  EXPECT_EQ(UmtxWakeup(Address(&word), 0), 0);
  for (auto& thread : sleepers) thread.join();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(saw[i]) << "sleeper " << i;
}

TEST(UmtxSysTest, WakeupReachesASleeperInAnotherProcess) {
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANON, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  auto* word = new (page) std::atomic<int>(0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(SleepUntilNonZero(word) ? 0 : 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  word->store(1);
  EXPECT_EQ(UmtxWakeup(Address(word), 1), 0);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  munmap(page, 4096);
}

std::atomic<int> g_handled{0};
void Handler(int) { g_handled.fetch_add(1); }

// Never restarted, even when the handler asks for it.
TEST(UmtxSysTest, SignalIsEintrEvenWithSaRestart) {
  struct sigaction action = {};
  struct sigaction previous = {};
  action.sa_handler = &Handler;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  std::atomic<int> word{0};
  std::atomic<bool> done{false};
  bool interrupted = false;
  std::thread sleeper([&] {
    const auto give_up = Clock::now() + kPatience;
    while (!interrupted && Clock::now() < give_up) {
      const Answer answer = Sleep(&word, 0, 0);
      interrupted = answer.rc == -1 && answer.errnum == EINTR;
      if (!interrupted) {
        EXPECT_TRUE(Allowed(answer)) << std::strerror(answer.errnum);
      }
    }
    done.store(true);
  });
  while (!done.load()) {
    pthread_kill(sleeper.native_handle(), SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  sleeper.join();
  sigaction(SIGUSR1, &previous, nullptr);
  EXPECT_TRUE(interrupted);
}

// umtx_sleep reads the word with an atomic add of 0, which a read-only
// mapping refuses: the word then reads as -1, so any other value is EBUSY
// at once. (UmtxWaiter polls in that case; see umtx_waiter.h.)
TEST(UmtxSysTest, ReadOnlyMappingAnswersEbusy) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string path = std::string(base != nullptr ? base : "/tmp") + "/umtxXXXXXX";
  const int fd = mkstemp(path.data());
  ASSERT_GE(fd, 0) << std::strerror(errno);
  unlink(path.c_str());
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  void* rw = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  void* ro = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  ASSERT_NE(rw, MAP_FAILED);
  ASSERT_NE(ro, MAP_FAILED);
  new (rw) std::atomic<int>(0);
  const auto* read_only = std::launder(reinterpret_cast<const std::atomic<int>*>(ro));
  for (int i = 0; i < 10; ++i) {
    const Answer answer = Sleep(read_only, 0, 1000);
    EXPECT_EQ(answer.rc, -1);
    EXPECT_EQ(answer.errnum, EBUSY) << std::strerror(answer.errnum);
  }
  // Waking through a read-only mapping works (it only reads).
  EXPECT_EQ(UmtxWakeup(Address(read_only), 1), 0);
  munmap(rw, 4096);
  munmap(ro, 4096);
}

}  // namespace
}  // namespace sysv::dragonfly_backend

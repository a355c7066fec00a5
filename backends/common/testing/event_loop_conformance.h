// Conformance suite for the EventLoop contract (backends/common/event_loop.h).
//
// Each loop type L under test provides
//   static constexpr char kName[];                      // "io_uring", ...
//   static absl::StatusOr<std::unique_ptr<L>> Create();
// and is instantiated under its own name, inside this namespace (gtest wants
// the instantiation beside the suite):
//
//   namespace sysv::backend::testing {
//   INSTANTIATE_TYPED_TEST_SUITE_P(Epoll, EventLoopConformanceTest,
//                                  ::sysv::linux_backend::EpollLoop);
//   }  // namespace sysv::backend::testing
//
// A loop whose Create() fails with ENOSYS or EPERM lacks a kernel capability
// the machine may legitimately refuse (io_uring compiled out, disabled by
// sysctl, or blocked by a container's seccomp filter); its tests are skipped,
// printing the errno, unless the environment sets SYSV_REQUIRE_<KNAME>=1
// (SYSV_REQUIRE_IO_URING=1 on CI), which turns the skip into a failure. Any
// other Create() error fails.
//
// Only POSIX calls are used (pipe, socketpair, setrlimit), so the suite also
// serves KqueueLoop.
#ifndef SYSV_BACKENDS_COMMON_TESTING_EVENT_LOOP_CONFORMANCE_H_
#define SYSV_BACKENDS_COMMON_TESTING_EVENT_LOOP_CONFORMANCE_H_

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "backends/common/event_loop.h"
#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::backend::testing {

namespace event_loop_conformance_internal {

// How long Run() may take before the watchdog ends it and fails the test. A
// passing run never waits this long.
inline constexpr absl::Duration kPatience = absl::Seconds(10);

// A non-blocking, close-on-exec pipe.
struct Pipe {
  UniqueFd read;
  UniqueFd write;

  static Pipe Make() {
    int fds[2] = {-1, -1};
    EXPECT_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0) << std::strerror(errno);
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  }
};

inline void WriteBytes(int fd, int count) {
  for (int i = 0; i < count; ++i) {
    const char byte = static_cast<char>('a' + i % 26);
    ASSERT_EQ(write(fd, &byte, 1), 1) << std::strerror(errno);
  }
}

// Reads one byte; returns 1, 0 at end of file, or -1 (errno set).
inline ssize_t ReadByte(int fd) {
  char byte;
  return read(fd, &byte, 1);
}

// Raises RLIMIT_NOFILE's soft limit towards the hard limit so that at least
// `needed` descriptors can be open. Returns false if the hard limit is lower.
inline bool EnsureFdLimit(rlim_t needed) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= needed) return true;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) return false;
  limit.rlim_cur = limit.rlim_max;
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

// True if SYSV_REQUIRE_<NAME>=1, with `name` upper-cased ("io_uring" ->
// SYSV_REQUIRE_IO_URING).
inline bool CapabilityRequired(const char* name) {
  std::string variable = "SYSV_REQUIRE_";
  for (const char* p = name; *p != '\0'; ++p) {
    variable += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
  }
  const char* value = std::getenv(variable.c_str());
  return value != nullptr && std::strcmp(value, "1") == 0;
}

// CPU time the calling thread has used.
inline absl::Duration ThreadCpuTime() {
  struct timespec used;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used);
  return absl::DurationFromTimespec(used);
}

}  // namespace event_loop_conformance_internal

template <typename L>
class EventLoopConformanceTest : public ::testing::Test {
 protected:
  using Pipe = event_loop_conformance_internal::Pipe;

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<L>> loop = L::Create();
    if (!loop.ok()) {
      const int errnum = sysv::core::ErrnoOf(loop.status());
      if ((errnum == ENOSYS || errnum == EPERM) &&
          !event_loop_conformance_internal::CapabilityRequired(L::kName)) {
        GTEST_SKIP() << L::kName << " is unavailable here: "
                     << std::strerror(errnum) << " (errno " << errnum
                     << "): " << loop.status();
      }
      FAIL() << L::kName << ": " << loop.status();
    }
    loop_ = std::move(*loop);
    EXPECT_STREQ(loop_->name(), L::kName);
  }

  // Runs the loop with a watchdog: if Run() has not returned after
  // kPatience, a thread writes to a watched pipe whose callback records the
  // failure and stops the loop. (The thread only writes to a pipe; the loop
  // itself is touched only on this thread.) `after_run`, if given, is called
  // as soon as Run() returns, before this function touches the loop again.
  void RunWithWatchdog(const std::function<void()>& after_run = nullptr) {
    Pipe alarm = Pipe::Make();
    bool fired = false;
    ASSERT_TRUE(loop_->Watch(alarm.read.get(), [&] {
                         fired = true;
                         loop_->Stop();
                       }).ok());
    absl::Notification done;
    std::thread watchdog([&] {
      if (!done.WaitForNotificationWithTimeout(
              event_loop_conformance_internal::kPatience)) {
        const char byte = 'w';
        (void)!write(alarm.write.get(), &byte, 1);
      }
    });
    const absl::Status status = loop_->Run();
    if (after_run) after_run();
    done.Notify();
    watchdog.join();
    loop_->Unwatch(alarm.read.get());
    EXPECT_TRUE(status.ok()) << status;
    EXPECT_FALSE(fired) << "Run() did not return within the watchdog's "
                        << absl::FormatDuration(
                               event_loop_conformance_internal::kPatience);
  }

  // Runs the loop once over a pipe that holds one byte: the first callback
  // reads it and has another thread write the next byte `delay` later; the
  // second reads that and stops the loop. Returns the loop's sleeps during the
  // Run(), and stores the CPU time this thread used in it.
  uint64_t SleepsServingTwoBytes(absl::Duration delay, absl::Duration* cpu) {
    using event_loop_conformance_internal::ReadByte;
    using event_loop_conformance_internal::ThreadCpuTime;
    using event_loop_conformance_internal::WriteBytes;
    Pipe pipe = Pipe::Make();
    WriteBytes(pipe.write.get(), 1);
    std::thread writer;
    int calls = 0;
    EXPECT_TRUE(loop_->Watch(pipe.read.get(), [&] {
                         EXPECT_EQ(ReadByte(pipe.read.get()), 1);
                         if (++calls == 1) {
                           writer = std::thread([&pipe, delay] {
                             absl::SleepFor(delay);
                             WriteBytes(pipe.write.get(), 1);
                           });
                         } else {
                           loop_->Stop();
                         }
                       }).ok());
    const uint64_t before = loop_->sleeps();
    const absl::Duration cpu_before = ThreadCpuTime();
    RunWithWatchdog();
    *cpu = ThreadCpuTime() - cpu_before;
    const uint64_t sleeps = loop_->sleeps() - before;
    if (writer.joinable()) writer.join();
    loop_->Unwatch(pipe.read.get());
    EXPECT_EQ(calls, 2);
    return sleeps;
  }

  std::unique_ptr<EventLoop> loop_;
};

TYPED_TEST_SUITE_P(EventLoopConformanceTest);

TYPED_TEST_P(EventLoopConformanceTest, ReadablePipeFiresCallback) {
  using event_loop_conformance_internal::ReadByte;
  using event_loop_conformance_internal::WriteBytes;
  typename TestFixture::Pipe idle = TestFixture::Pipe::Make();
  typename TestFixture::Pipe ready = TestFixture::Pipe::Make();
  int idle_calls = 0;
  int ready_calls = 0;
  ASSERT_TRUE(this->loop_->Watch(idle.read.get(), [&] { ++idle_calls; }).ok());
  ASSERT_TRUE(this->loop_
                  ->Watch(ready.read.get(),
                          [&] {
                            ++ready_calls;
                            EXPECT_EQ(ReadByte(ready.read.get()), 1);
                            this->loop_->Stop();
                          })
                  .ok());
  WriteBytes(ready.write.get(), 1);
  this->RunWithWatchdog();
  EXPECT_EQ(ready_calls, 1);
  EXPECT_EQ(idle_calls, 0) << "callback of a fd that never became readable";
}

// A callback that handles one byte (one message) per call must be called
// again while bytes remain: a loop that reports readiness only on arrival
// (EPOLLET, or io_uring's multishot poll, which coalesces wakeups) would
// strand the rest.
TYPED_TEST_P(EventLoopConformanceTest, LevelTriggeredCallsAgainWhileDataRemains) {
  using event_loop_conformance_internal::ReadByte;
  using event_loop_conformance_internal::WriteBytes;
  typename TestFixture::Pipe pipe = TestFixture::Pipe::Make();
  WriteBytes(pipe.write.get(), 3);
  int calls = 0;
  ASSERT_TRUE(this->loop_
                  ->Watch(pipe.read.get(),
                          [&] {
                            ++calls;
                            EXPECT_EQ(ReadByte(pipe.read.get()), 1);
                            if (calls == 3) this->loop_->Stop();
                          })
                  .ok());
  this->RunWithWatchdog();
  EXPECT_EQ(calls, 3);
  this->loop_->Unwatch(pipe.read.get());
}

TYPED_TEST_P(EventLoopConformanceTest, UnwatchInsideOwnCallback) {
  using event_loop_conformance_internal::WriteBytes;
  typename TestFixture::Pipe pipe = TestFixture::Pipe::Make();
  typename TestFixture::Pipe stopper = TestFixture::Pipe::Make();
  WriteBytes(pipe.write.get(), 1);  // never read: level-triggered, it stays
  int calls = 0;
  // A capture with heap storage: if Unwatch() destroyed the running
  // callback, touching it afterwards would be a use-after-free (ASan).
  std::string label(64, 'x');
  ASSERT_TRUE(this->loop_
                  ->Watch(pipe.read.get(),
                          [&, label] {
                            ++calls;
                            this->loop_->Unwatch(pipe.read.get());
                            EXPECT_EQ(label, std::string(64, 'x'));
                            WriteBytes(stopper.write.get(), 1);
                          })
                  .ok());
  ASSERT_TRUE(
      this->loop_->Watch(stopper.read.get(), [&] { this->loop_->Stop(); }).ok());
  this->RunWithWatchdog();
  EXPECT_EQ(calls, 1);
  this->loop_->Unwatch(stopper.read.get());
}

TYPED_TEST_P(EventLoopConformanceTest, UnwatchOfPendingFdInsideCallbackDoesNotFireIt) {
  using event_loop_conformance_internal::WriteBytes;
  typename TestFixture::Pipe a = TestFixture::Pipe::Make();
  typename TestFixture::Pipe b = TestFixture::Pipe::Make();
  typename TestFixture::Pipe stopper = TestFixture::Pipe::Make();
  // Both readable before Run(), so both are collected in the first batch;
  // whichever runs first unwatches the other.
  WriteBytes(a.write.get(), 1);
  WriteBytes(b.write.get(), 1);
  int a_calls = 0;
  int b_calls = 0;
  auto first = [&](int self, int other) {
    this->loop_->Unwatch(other);
    this->loop_->Unwatch(self);
    WriteBytes(stopper.write.get(), 1);
  };
  ASSERT_TRUE(this->loop_
                  ->Watch(a.read.get(),
                          [&] {
                            ++a_calls;
                            first(a.read.get(), b.read.get());
                          })
                  .ok());
  ASSERT_TRUE(this->loop_
                  ->Watch(b.read.get(),
                          [&] {
                            ++b_calls;
                            first(b.read.get(), a.read.get());
                          })
                  .ok());
  ASSERT_TRUE(
      this->loop_->Watch(stopper.read.get(), [&] { this->loop_->Stop(); }).ok());
  this->RunWithWatchdog();
  EXPECT_EQ(a_calls + b_calls, 1) << "a: " << a_calls << ", b: " << b_calls;
  this->loop_->Unwatch(stopper.read.get());
}

TYPED_TEST_P(EventLoopConformanceTest, HangupFiresCallback) {
  using event_loop_conformance_internal::ReadByte;
  typename TestFixture::Pipe pipe = TestFixture::Pipe::Make();
  int sockets[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       0, sockets),
            0);
  UniqueFd local(sockets[0]);
  UniqueFd peer(sockets[1]);
  int pipe_eof = 0;
  int socket_eof = 0;
  auto maybe_stop = [&] {
    if (pipe_eof > 0 && socket_eof > 0) this->loop_->Stop();
  };
  ASSERT_TRUE(this->loop_
                  ->Watch(pipe.read.get(),
                          [&] {
                            if (ReadByte(pipe.read.get()) == 0) ++pipe_eof;
                            this->loop_->Unwatch(pipe.read.get());
                            maybe_stop();
                          })
                  .ok());
  ASSERT_TRUE(this->loop_
                  ->Watch(local.get(),
                          [&] {
                            char byte;
                            if (recv(local.get(), &byte, 1, 0) == 0) ++socket_eof;
                            this->loop_->Unwatch(local.get());
                            maybe_stop();
                          })
                  .ok());
  pipe.write.reset();
  peer.reset();
  this->RunWithWatchdog();
  EXPECT_EQ(pipe_eof, 1);
  EXPECT_EQ(socket_eof, 1);
}

// After Unwatch() and close(), the loop must not keep the file open: a
// daemon that drops a client must let the client see EOF.
TYPED_TEST_P(EventLoopConformanceTest, UnwatchThenCloseReleasesTheFile) {
  using event_loop_conformance_internal::ReadByte;
  using event_loop_conformance_internal::WriteBytes;
  int sockets[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       0, sockets),
            0);
  UniqueFd local(sockets[0]);
  UniqueFd peer(sockets[1]);
  typename TestFixture::Pipe stopper = TestFixture::Pipe::Make();
  int local_calls = 0;
  ASSERT_TRUE(this->loop_->Watch(local.get(), [&] { ++local_calls; }).ok());
  ASSERT_TRUE(this->loop_
                  ->Watch(stopper.read.get(),
                          [&] {
                            EXPECT_EQ(ReadByte(stopper.read.get()), 1);
                            this->loop_->Unwatch(local.get());
                            local.reset();
                            this->loop_->Unwatch(stopper.read.get());
                            this->loop_->Stop();
                          })
                  .ok());
  WriteBytes(stopper.write.get(), 1);
  ssize_t received = -1;
  int recv_errno = 0;
  this->RunWithWatchdog([&] {
    char byte;
    received = recv(peer.get(), &byte, 1, MSG_DONTWAIT);
    recv_errno = errno;
  });
  EXPECT_EQ(local_calls, 0);
  EXPECT_EQ(received, 0) << "the peer does not see EOF: "
                         << std::strerror(recv_errno);
}

TYPED_TEST_P(EventLoopConformanceTest, StopFromCallbackEndsRunAtOnce) {
  using event_loop_conformance_internal::WriteBytes;
  typename TestFixture::Pipe a = TestFixture::Pipe::Make();
  typename TestFixture::Pipe b = TestFixture::Pipe::Make();
  WriteBytes(a.write.get(), 1);
  WriteBytes(b.write.get(), 1);
  int calls = 0;
  auto stop = [&] {
    ++calls;
    this->loop_->Stop();
  };
  ASSERT_TRUE(this->loop_->Watch(a.read.get(), stop).ok());
  ASSERT_TRUE(this->loop_->Watch(b.read.get(), stop).ok());
  // Both fds are ready, but the first callback's Stop() ends the Run().
  this->RunWithWatchdog();
  EXPECT_EQ(calls, 1);
  // Nothing was read, so the next Run() reports readiness again.
  this->RunWithWatchdog();
  EXPECT_EQ(calls, 2);
  this->loop_->Unwatch(a.read.get());
  this->loop_->Unwatch(b.read.get());
}

TYPED_TEST_P(EventLoopConformanceTest, StopBeforeRunReturnsAtOnce) {
  this->loop_->Stop();
  this->RunWithWatchdog();
}

TYPED_TEST_P(EventLoopConformanceTest, ManyFds) {
  using event_loop_conformance_internal::ReadByte;
  using event_loop_conformance_internal::WriteBytes;
  constexpr int kPipes = 1000;
  ASSERT_TRUE(event_loop_conformance_internal::EnsureFdLimit(2 * kPipes + 64))
      << "RLIMIT_NOFILE too low for " << kPipes << " pipes";
  std::vector<typename TestFixture::Pipe> pipes;
  pipes.reserve(kPipes);
  std::vector<int> calls(kPipes, 0);
  int done = 0;
  for (int i = 0; i < kPipes; ++i) {
    pipes.push_back(TestFixture::Pipe::Make());
    ASSERT_TRUE(pipes[i].read.valid());
    const int fd = pipes[i].read.get();
    ASSERT_TRUE(this->loop_
                    ->Watch(fd,
                            [&, i, fd] {
                              ++calls[i];
                              EXPECT_EQ(ReadByte(fd), 1);
                              this->loop_->Unwatch(fd);
                              if (++done == kPipes) this->loop_->Stop();
                            })
                    .ok());
  }
  for (int i = 0; i < kPipes; ++i) WriteBytes(pipes[i].write.get(), 1);
  this->RunWithWatchdog();
  EXPECT_EQ(done, kPipes);
  for (int i = 0; i < kPipes; ++i) EXPECT_EQ(calls[i], 1) << "pipe " << i;
}

TYPED_TEST_P(EventLoopConformanceTest, RewatchSameFdInsideCallback) {
  using event_loop_conformance_internal::ReadByte;
  using event_loop_conformance_internal::WriteBytes;
  typename TestFixture::Pipe pipe = TestFixture::Pipe::Make();
  WriteBytes(pipe.write.get(), 1);
  const int fd = pipe.read.get();
  int old_calls = 0;
  int new_calls = 0;
  ASSERT_TRUE(this->loop_
                  ->Watch(fd,
                          [&] {
                            ++old_calls;
                            this->loop_->Unwatch(fd);
                            EXPECT_TRUE(this->loop_
                                            ->Watch(fd,
                                                    [&] {
                                                      ++new_calls;
                                                      EXPECT_EQ(ReadByte(fd), 1);
                                                      this->loop_->Unwatch(fd);
                                                      this->loop_->Stop();
                                                    })
                                            .ok());
                          })
                  .ok());
  this->RunWithWatchdog();
  EXPECT_EQ(old_calls, 1);
  EXPECT_EQ(new_calls, 1);
}

// The fd number of a closed, readable pipe is reused (dup2 forces the same
// number) for an empty pipe and watched again: readiness collected for the
// old pipe must not reach the new callback.
TYPED_TEST_P(EventLoopConformanceTest, ReusedFdNumberGetsOnlyItsOwnEvents) {
  using event_loop_conformance_internal::ReadByte;
  using event_loop_conformance_internal::WriteBytes;
  typename TestFixture::Pipe old_pipe = TestFixture::Pipe::Make();
  typename TestFixture::Pipe new_pipe = TestFixture::Pipe::Make();
  typename TestFixture::Pipe stopper = TestFixture::Pipe::Make();
  const int fd = old_pipe.read.get();
  WriteBytes(old_pipe.write.get(), 1);
  int old_calls = 0;
  int new_calls = 0;
  int stopper_calls = 0;
  std::function<void()> on_new = [&] {
    ++new_calls;
    EXPECT_EQ(ReadByte(fd), 1);
    this->loop_->Unwatch(fd);
    this->loop_->Stop();
  };
  ASSERT_TRUE(this->loop_
                  ->Watch(fd,
                          [&] {
                            ++old_calls;
                            this->loop_->Unwatch(fd);
                            // Replace the old pipe's read end by the new
                            // (empty) pipe's, under the same number.
                            ASSERT_EQ(dup3(new_pipe.read.get(), fd, O_CLOEXEC),
                                      fd);
                            EXPECT_TRUE(this->loop_->Watch(fd, on_new).ok());
                            WriteBytes(stopper.write.get(), 1);
                          })
                  .ok());
  ASSERT_TRUE(this->loop_
                  ->Watch(stopper.read.get(),
                          [&] {
                            ++stopper_calls;
                            EXPECT_EQ(ReadByte(stopper.read.get()), 1);
                            this->loop_->Unwatch(stopper.read.get());
                            // Still empty: the new callback must not have run.
                            EXPECT_EQ(new_calls, 0);
                            WriteBytes(new_pipe.write.get(), 1);
                          })
                  .ok());
  this->RunWithWatchdog();
  EXPECT_EQ(old_calls, 1);
  EXPECT_EQ(stopper_calls, 1);
  EXPECT_EQ(new_calls, 1);
}

// Watch, Unwatch and Watch again before Run(): only the last registration's
// callback runs, even if the first was already handed to the kernel.
TYPED_TEST_P(EventLoopConformanceTest, RewatchBeforeRunUsesNewCallback) {
  using event_loop_conformance_internal::ReadByte;
  using event_loop_conformance_internal::WriteBytes;
  typename TestFixture::Pipe pipe = TestFixture::Pipe::Make();
  WriteBytes(pipe.write.get(), 1);
  const int fd = pipe.read.get();
  int first_calls = 0;
  int second_calls = 0;
  ASSERT_TRUE(this->loop_->Watch(fd, [&] { ++first_calls; }).ok());
  this->loop_->Unwatch(fd);
  ASSERT_TRUE(this->loop_
                  ->Watch(fd,
                          [&] {
                            ++second_calls;
                            EXPECT_EQ(ReadByte(fd), 1);
                            this->loop_->Unwatch(fd);
                            this->loop_->Stop();
                          })
                  .ok());
  this->RunWithWatchdog();
  EXPECT_EQ(first_calls, 0);
  EXPECT_EQ(second_calls, 1);
}

TYPED_TEST_P(EventLoopConformanceTest, CallbackMayWatchNewFds) {
  using event_loop_conformance_internal::ReadByte;
  using event_loop_conformance_internal::WriteBytes;
  typename TestFixture::Pipe listener = TestFixture::Pipe::Make();
  typename TestFixture::Pipe client = TestFixture::Pipe::Make();
  WriteBytes(listener.write.get(), 1);
  WriteBytes(client.write.get(), 1);
  int client_calls = 0;
  ASSERT_TRUE(this->loop_
                  ->Watch(listener.read.get(),
                          [&] {
                            EXPECT_EQ(ReadByte(listener.read.get()), 1);
                            this->loop_->Unwatch(listener.read.get());
                            EXPECT_TRUE(this->loop_
                                            ->Watch(client.read.get(),
                                                    [&] {
                                                      ++client_calls;
                                                      this->loop_->Unwatch(
                                                          client.read.get());
                                                      this->loop_->Stop();
                                                    })
                                            .ok());
                          })
                  .ok());
  this->RunWithWatchdog();
  EXPECT_EQ(client_calls, 1);
}

TYPED_TEST_P(EventLoopConformanceTest, WatchErrors) {
  typename TestFixture::Pipe pipe = TestFixture::Pipe::Make();
  const int fd = pipe.read.get();
  ASSERT_TRUE(this->loop_->Watch(fd, [] {}).ok());
  const absl::Status twice = this->loop_->Watch(fd, [] {});
  EXPECT_EQ(sysv::core::ErrnoOf(twice), EEXIST) << twice;
  this->loop_->Unwatch(fd);
  this->loop_->Unwatch(fd);  // not watched: a no-op

  typename TestFixture::Pipe closed = TestFixture::Pipe::Make();
  const int closed_fd = closed.read.get();
  closed.read.reset();
  const absl::Status bad = this->loop_->Watch(closed_fd, [] {});
  EXPECT_EQ(sysv::core::ErrnoOf(bad), EBADF) << bad;
  const absl::Status negative = this->loop_->Watch(-1, [] {});
  EXPECT_EQ(sysv::core::ErrnoOf(negative), EBADF) << negative;
  // The loop still works after failed Watch() calls.
  this->loop_->Stop();
  this->RunWithWatchdog();
}

// Without a poll window the loop sleeps before every batch: the second byte,
// written while it waits, costs a second sleep.
TYPED_TEST_P(EventLoopConformanceTest, WithoutPollWindowEveryWaitSleeps) {
  absl::Duration cpu;
  EXPECT_EQ(this->SleepsServingTwoBytes(absl::Milliseconds(20), &cpu), 2u);
}

// The poll window: readiness that arrives within it after a batch is served
// with no sleep in between (the window is far longer than the 20 ms the
// second byte takes, so only a loop that sleeps fails).
TYPED_TEST_P(EventLoopConformanceTest, ReadinessWithinThePollWindowIsServedWithoutSleeping) {
  this->loop_->SetPollWindow(absl::Seconds(30));
  absl::Duration cpu;
  EXPECT_EQ(this->SleepsServingTwoBytes(absl::Milliseconds(20), &cpu), 1u);
}

// The window is bounded: readiness that comes after it is waited for asleep,
// and the polling cost about the window's length in CPU time, not the whole
// wait (300 ms).
TYPED_TEST_P(EventLoopConformanceTest, PollWindowEndsInASleep) {
  this->loop_->SetPollWindow(absl::Milliseconds(2));
  absl::Duration cpu;
  EXPECT_EQ(this->SleepsServingTwoBytes(absl::Milliseconds(300), &cpu), 2u);
  EXPECT_LT(cpu, absl::Milliseconds(150));
}

// An idle loop never polls, whatever its window: it sleeps at once and uses
// no CPU while nothing happens (here 200 ms).
TYPED_TEST_P(EventLoopConformanceTest, IdleLoopSleepsWithoutPolling) {
  using event_loop_conformance_internal::WriteBytes;
  this->loop_->SetPollWindow(absl::Seconds(30));
  typename TestFixture::Pipe stopper = TestFixture::Pipe::Make();
  ASSERT_TRUE(this->loop_->Watch(stopper.read.get(), [&] { this->loop_->Stop(); }).ok());
  std::thread waker([&] {
    absl::SleepFor(absl::Milliseconds(200));
    WriteBytes(stopper.write.get(), 1);
  });
  const uint64_t before = this->loop_->sleeps();
  const absl::Duration cpu_before = event_loop_conformance_internal::ThreadCpuTime();
  this->RunWithWatchdog();
  const absl::Duration cpu = event_loop_conformance_internal::ThreadCpuTime() - cpu_before;
  waker.join();
  EXPECT_EQ(this->loop_->sleeps() - before, 1u);
  EXPECT_LT(cpu, absl::Milliseconds(100));
  this->loop_->Unwatch(stopper.read.get());
}

REGISTER_TYPED_TEST_SUITE_P(EventLoopConformanceTest,
                            ReadablePipeFiresCallback,
                            LevelTriggeredCallsAgainWhileDataRemains,
                            UnwatchInsideOwnCallback,
                            UnwatchOfPendingFdInsideCallbackDoesNotFireIt,
                            HangupFiresCallback,
                            UnwatchThenCloseReleasesTheFile,
                            StopFromCallbackEndsRunAtOnce,
                            StopBeforeRunReturnsAtOnce,
                            ManyFds,
                            RewatchSameFdInsideCallback,
                            ReusedFdNumberGetsOnlyItsOwnEvents,
                            RewatchBeforeRunUsesNewCallback,
                            CallbackMayWatchNewFds,
                            WatchErrors,
                            WithoutPollWindowEveryWaitSleeps,
                            ReadinessWithinThePollWindowIsServedWithoutSleeping,
                            PollWindowEndsInASleep,
                            IdleLoopSleepsWithoutPolling);

}  // namespace sysv::backend::testing

#endif  // SYSV_BACKENDS_COMMON_TESTING_EVENT_LOOP_CONFORMANCE_H_

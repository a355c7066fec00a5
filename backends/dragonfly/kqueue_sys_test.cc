// The kqueue_sys.h contract, as a test that runs against either
// implementation: on Linux against the epoll double (kqueue_sys_test), on
// DragonFly against the real kevent(2) (kqueue_sys_dragonfly_test, which can
// only run there). Passing on both is what makes the double a fair stand-in.
// POSIX calls only.
#include "backends/dragonfly/kqueue_sys.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>

#include "backends/common/unique_fd.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;

constexpr struct timespec kNoWait = {0, 0};
constexpr struct timespec kPatience = {10, 0};

class Kqueue {
 public:
  Kqueue() : kq_(KqueueOpen()) { EXPECT_GE(kq_, 0) << std::strerror(errno); }
  ~Kqueue() {
    if (kq_ >= 0) KqueueClose(kq_);
  }
  int fd() const { return kq_; }

  // One change; returns 0 or the errno.
  int Change(uintptr_t ident, int16_t filter, uint16_t flags,
             uint32_t fflags = 0, uint64_t udata = 0) {
    KEvent change;
    change.ident = ident;
    change.filter = filter;
    change.flags = flags;
    change.fflags = fflags;
    change.udata = udata;
    return Kevent(kq_, &change, 1, nullptr, 0, nullptr) == 0 ? 0 : errno;
  }
  int AddRead(int fd, uint64_t udata = 0) {
    return Change(static_cast<uintptr_t>(fd), kFilterRead, kFlagAdd, 0, udata);
  }
  int DeleteRead(int fd) {
    return Change(static_cast<uintptr_t>(fd), kFilterRead, kFlagDelete);
  }
  int AddExit(pid_t pid, uint64_t udata = 0) {
    return Change(static_cast<uintptr_t>(pid), kFilterProc, kFlagAdd, kNoteExit,
                  udata);
  }

  // Collects events; returns how many (or -1, errno set).
  int Collect(KEvent* events, int n, const struct timespec* timeout) {
    return Kevent(kq_, nullptr, 0, events, n, timeout);
  }

 private:
  int kq_;
};

struct Pipe {
  UniqueFd read;
  UniqueFd write;
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    read.reset(fds[0]);
    write.reset(fds[1]);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  }
};

void Put(int fd, int count) {
  for (int i = 0; i < count; ++i) ASSERT_EQ(write(fd, "x", 1), 1);
}

// A child that waits until `release` is closed, then exits with status 3.
pid_t SpawnChild(Pipe& release) {
  const pid_t pid = fork();
  if (pid == 0) {
    release.write.reset();
    char byte;
    while (read(release.read.get(), &byte, 1) < 0 && errno == EINTR) {
    }
    _exit(3);
  }
  release.read.reset();
  return pid;
}

void Reap(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// Blocks until `pid` has exited, leaving it a zombie (WNOWAIT).
void AwaitZombie(pid_t pid) {
  siginfo_t info;
  while (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0 &&
         errno == EINTR) {
  }
}

TEST(KqueueSysTest, ReadIsLevelTriggeredOncePerCall) {
  Kqueue kq;
  Pipe pipe;
  ASSERT_EQ(kq.AddRead(pipe.read.get(), 42), 0);
  KEvent events[8];
  EXPECT_EQ(kq.Collect(events, 8, &kNoWait), 0);
  Put(pipe.write.get(), 2);
  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(kq.Collect(events, 8, &kNoWait), 1) << "round " << round;
    EXPECT_EQ(events[0].ident, static_cast<uintptr_t>(pipe.read.get()));
    EXPECT_EQ(events[0].filter, kFilterRead);
    EXPECT_EQ(events[0].udata, 42u);
    EXPECT_EQ(events[0].flags & kFlagEof, 0);
  }
  char bytes[2];
  ASSERT_EQ(read(pipe.read.get(), bytes, 2), 2);
  EXPECT_EQ(kq.Collect(events, 8, &kNoWait), 0);
  EXPECT_EQ(kq.DeleteRead(pipe.read.get()), 0);
}

TEST(KqueueSysTest, AddOfARegisteredKeyReplacesUdata) {
  Kqueue kq;
  Pipe pipe;
  ASSERT_EQ(kq.AddRead(pipe.read.get(), 1), 0);
  ASSERT_EQ(kq.AddRead(pipe.read.get(), 2), 0);
  Put(pipe.write.get(), 1);
  KEvent events[8];
  ASSERT_EQ(kq.Collect(events, 8, &kNoWait), 1);
  EXPECT_EQ(events[0].udata, 2u);
}

TEST(KqueueSysTest, DeleteErrors) {
  Kqueue kq;
  Pipe pipe;
  EXPECT_EQ(kq.DeleteRead(pipe.read.get()), ENOENT);
  ASSERT_EQ(kq.AddRead(pipe.read.get()), 0);
  EXPECT_EQ(kq.DeleteRead(pipe.read.get()), 0);
  EXPECT_EQ(kq.DeleteRead(pipe.read.get()), ENOENT);
  const int closed = pipe.write.get();
  pipe.write.reset();
  EXPECT_EQ(kq.AddRead(closed), EBADF);
  EXPECT_EQ(kq.DeleteRead(closed), EBADF);
}

TEST(KqueueSysTest, HangupIsReportedWithEof) {
  Kqueue kq;
  Pipe pipe;
  int sockets[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sockets), 0);
  UniqueFd local(sockets[0]);
  UniqueFd peer(sockets[1]);
  ASSERT_EQ(kq.AddRead(pipe.read.get(), 1), 0);
  ASSERT_EQ(kq.AddRead(local.get(), 2), 0);
  pipe.write.reset();
  peer.reset();
  KEvent events[8];
  ASSERT_EQ(kq.Collect(events, 8, &kNoWait), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_NE(events[i].flags & kFlagEof, 0) << "udata " << events[i].udata;
  }
}

// Closing a descriptor drops its registration: a new file under the same
// number is not watched, and deleting the number finds nothing.
TEST(KqueueSysTest, CloseDropsTheRegistration) {
  Kqueue kq;
  Pipe old_pipe;
  Pipe new_pipe;
  const int number = old_pipe.read.get();
  ASSERT_EQ(kq.AddRead(number), 0);
  old_pipe.read.reset();
  ASSERT_EQ(dup2(new_pipe.read.get(), number), number);
  UniqueFd reused(number);
  Put(new_pipe.write.get(), 1);
  KEvent events[8];
  EXPECT_EQ(kq.Collect(events, 8, &kNoWait), 0);
  EXPECT_EQ(kq.DeleteRead(number), ENOENT);
}

TEST(KqueueSysTest, ExitIsReportedOnceThenTheRegistrationIsGone) {
  Kqueue kq;
  Pipe release;
  const pid_t pid = SpawnChild(release);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kq.AddExit(pid, 77), 0);
  KEvent events[8];
  EXPECT_EQ(kq.Collect(events, 8, &kNoWait), 0);
  release.write.reset();
  ASSERT_EQ(kq.Collect(events, 8, &kPatience), 1);
  EXPECT_EQ(events[0].ident, static_cast<uintptr_t>(pid));
  EXPECT_EQ(events[0].filter, kFilterProc);
  EXPECT_NE(events[0].fflags & kNoteExit, 0u);
  EXPECT_NE(events[0].flags & kFlagEof, 0);
  EXPECT_NE(events[0].flags & kFlagOneshot, 0);
  EXPECT_EQ(events[0].udata, 77u);
  EXPECT_EQ(kq.Collect(events, 8, &kNoWait), 0);
  EXPECT_EQ(kq.Change(static_cast<uintptr_t>(pid), kFilterProc, kFlagDelete),
            ENOENT);
  Reap(pid);
}

TEST(KqueueSysTest, ZombieIsReportedAtOnce) {
  Kqueue kq;
  Pipe release;
  const pid_t pid = SpawnChild(release);
  ASSERT_GT(pid, 0);
  release.write.reset();
  AwaitZombie(pid);
  ASSERT_EQ(kq.AddExit(pid), 0);
  KEvent events[8];
  ASSERT_EQ(kq.Collect(events, 8, &kPatience), 1);
  EXPECT_NE(events[0].fflags & kNoteExit, 0u);
  Reap(pid);
}

TEST(KqueueSysTest, ReapedProcessIsEsrch) {
  Kqueue kq;
  Pipe release;
  const pid_t pid = SpawnChild(release);
  ASSERT_GT(pid, 0);
  release.write.reset();
  Reap(pid);
  EXPECT_EQ(kq.AddExit(pid), ESRCH);
}

TEST(KqueueSysTest, DeleteBeforeExitMeansNoReport) {
  Kqueue kq;
  Pipe release;
  const pid_t pid = SpawnChild(release);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kq.AddExit(pid), 0);
  ASSERT_EQ(kq.Change(static_cast<uintptr_t>(pid), kFilterProc, kFlagDelete), 0);
  release.write.reset();
  AwaitZombie(pid);
  KEvent events[8];
  EXPECT_EQ(kq.Collect(events, 8, &kNoWait), 0);
  Reap(pid);
}

TEST(KqueueSysTest, KqueueDescriptorIsReadableWhileEventsPend) {
  Kqueue kq;
  Pipe pipe;
  ASSERT_EQ(kq.AddRead(pipe.read.get()), 0);
  struct pollfd p = {kq.fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);
  Put(pipe.write.get(), 1);
  EXPECT_EQ(poll(&p, 1, 10'000), 1);
  EXPECT_NE(p.revents & POLLIN, 0);
}

TEST(KqueueSysTest, TimeoutReturnsZero) {
  Kqueue kq;
  const struct timespec short_wait = {0, 20'000'000};
  KEvent events[8];
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(kq.Collect(events, 8, &short_wait), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(15));
}

std::atomic<int> g_handled{0};
void Handler(int) { g_handled.fetch_add(1); }

TEST(KqueueSysTest, SignalInterruptsTheWait) {
  Kqueue kq;
  struct sigaction action = {};
  struct sigaction previous = {};
  action.sa_handler = &Handler;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  std::atomic<bool> done{false};
  int result = 0;
  int errnum = 0;
  std::thread waiter([&] {
    KEvent events[8];
    result = kq.Collect(events, 8, &kPatience);
    errnum = errno;
    done.store(true);
  });
  while (!done.load()) {
    pthread_kill(waiter.native_handle(), SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  waiter.join();
  sigaction(SIGUSR1, &previous, nullptr);
  EXPECT_EQ(result, -1);
  EXPECT_EQ(errnum, EINTR);
}

TEST(KqueueSysTest, KqueueIsCloseOnExec) {
  Kqueue kq;
  EXPECT_EQ(fcntl(kq.fd(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

}  // namespace
}  // namespace sysv::dragonfly_backend

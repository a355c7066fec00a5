// ExitWatch on Linux, against the epoll/pidfd double of kqueue_sys.h, with
// real child processes; and with a KqueueLoop watching its descriptor, as
// the daemon does.
#include "backends/dragonfly/exit_watch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"
#include "backends/dragonfly/kqueue_loop.h"
#include "core/ipc/errno_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoOf;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A child that runs until Exit() closes the pipe it reads.
class Child {
 public:
  Child() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    pid_ = fork();
    if (pid_ == 0) {
      close(fds[1]);
      char byte;
      while (read(fds[0], &byte, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
    close(fds[0]);
    release_ = UniqueFd(fds[1]);
  }
  ~Child() {
    Exit();
    Reap();
  }
  pid_t pid() const { return pid_; }
  void Exit() { release_.reset(); }
  // Blocks until the child has exited, leaving it a zombie.
  void AwaitZombie() {
    siginfo_t info;
    while (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) < 0 &&
           errno == EINTR) {
    }
  }
  void Reap() {
    if (reaped_) return;
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd release_;
  bool reaped_ = false;
};

bool Readable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

ExitWatch MakeWatch() {
  absl::StatusOr<ExitWatch> watch = ExitWatch::Create();
  EXPECT_TRUE(watch.ok()) << watch.status();
  return *std::move(watch);
}

TEST(ExitWatchTest, NothingWhileChildrenRun) {
  ExitWatch watch = MakeWatch();
  Child a, b;
  ASSERT_TRUE(watch.Add(a.pid()).ok());
  ASSERT_TRUE(watch.Add(b.pid()).ok());
  EXPECT_THAT(watch.Exited(), IsEmpty());
  EXPECT_FALSE(Readable(watch.fd(), 0));
}

TEST(ExitWatchTest, ReportsAnExitUntilRemoved) {
  ExitWatch watch = MakeWatch();
  Child running, dying;
  ASSERT_TRUE(watch.Add(running.pid()).ok());
  ASSERT_TRUE(watch.Add(dying.pid()).ok());
  dying.Exit();
  ASSERT_TRUE(Readable(watch.fd(), 10'000));
  EXPECT_THAT(watch.Exited(), ElementsAre(dying.pid()));
  // Collected: the descriptor is quiet, but the pid is still reported.
  EXPECT_FALSE(Readable(watch.fd(), 0));
  EXPECT_THAT(watch.Exited(), ElementsAre(dying.pid()));
  watch.Remove(dying.pid());
  EXPECT_THAT(watch.Exited(), IsEmpty());
}

TEST(ExitWatchTest, ZombieIsReportedAtOnce) {
  ExitWatch watch = MakeWatch();
  Child child;
  child.Exit();
  child.AwaitZombie();
  ASSERT_TRUE(watch.Add(child.pid()).ok());
  ASSERT_TRUE(Readable(watch.fd(), 10'000));
  EXPECT_THAT(watch.Exited(), ElementsAre(child.pid()));
}

TEST(ExitWatchTest, ReapedProcessIsEsrch) {
  ExitWatch watch = MakeWatch();
  Child child;
  child.Exit();
  child.Reap();
  EXPECT_EQ(ErrnoOf(watch.Add(child.pid())), ESRCH);
  EXPECT_EQ(ErrnoOf(watch.Add(0)), ESRCH);
  EXPECT_EQ(ErrnoOf(watch.Add(-1)), ESRCH);
}

TEST(ExitWatchTest, RemoveBeforeCollectionDropsThePendingExit) {
  ExitWatch watch = MakeWatch();
  Child child;
  ASSERT_TRUE(watch.Add(child.pid()).ok());
  child.Exit();
  ASSERT_TRUE(Readable(watch.fd(), 10'000));
  watch.Remove(child.pid());
  EXPECT_THAT(watch.Exited(), IsEmpty());
  EXPECT_FALSE(Readable(watch.fd(), 0));
}

TEST(ExitWatchTest, AddTwiceAndRemoveUnknownAreHarmless) {
  ExitWatch watch = MakeWatch();
  Child child;
  ASSERT_TRUE(watch.Add(child.pid()).ok());
  ASSERT_TRUE(watch.Add(child.pid()).ok());
  watch.Remove(12345678);
  child.Exit();
  ASSERT_TRUE(Readable(watch.fd(), 10'000));
  EXPECT_THAT(watch.Exited(), ElementsAre(child.pid()));
}

TEST(ExitWatchTest, ManyChildren) {
  constexpr int kChildren = 40;
  ExitWatch watch = MakeWatch();
  std::vector<std::unique_ptr<Child>> children;
  std::vector<pid_t> pids;
  for (int i = 0; i < kChildren; ++i) {
    children.push_back(std::make_unique<Child>());
    pids.push_back(children.back()->pid());
    ASSERT_TRUE(watch.Add(pids.back()).ok());
  }
  for (auto& child : children) child->Exit();
  for (auto& child : children) child->AwaitZombie();
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(watch.Exited(), pids);
}

TEST(ExitWatchTest, MovedWatchKeepsItsState) {
  ExitWatch watch = MakeWatch();
  Child child;
  ASSERT_TRUE(watch.Add(child.pid()).ok());
  ExitWatch moved = std::move(watch);
  child.Exit();
  ASSERT_TRUE(Readable(moved.fd(), 10'000));
  EXPECT_THAT(moved.Exited(), ElementsAre(child.pid()));
}

// How the daemon uses it: the loop watches fd(); the callback collects and
// removes.
TEST(ExitWatchTest, DrivenByAKqueueLoop) {
  absl::StatusOr<std::unique_ptr<KqueueLoop>> loop = KqueueLoop::Create();
  ASSERT_TRUE(loop.ok()) << loop.status();
  ExitWatch watch = MakeWatch();
  Child first, second;
  ASSERT_TRUE(watch.Add(first.pid()).ok());
  ASSERT_TRUE(watch.Add(second.pid()).ok());
  std::vector<pid_t> reaped;
  ASSERT_TRUE((*loop)
                  ->Watch(watch.fd(),
                          [&] {
                            for (pid_t pid : watch.Exited()) {
                              reaped.push_back(pid);
                              watch.Remove(pid);
                            }
                            if (reaped.size() == 2) (*loop)->Stop();
                          })
                  .ok());
  first.Exit();
  second.Exit();
  ASSERT_TRUE((*loop)->Run().ok());
  (*loop)->Unwatch(watch.fd());
  std::sort(reaped.begin(), reaped.end());
  std::vector<pid_t> expected = {first.pid(), second.pid()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(reaped, expected);
}

}  // namespace
}  // namespace sysv::dragonfly_backend

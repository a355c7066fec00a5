#include "backends/linux/process_watch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoOf;

// A child that runs until told to exit (by closing the pipe it reads), so
// the test controls when it dies. It names itself `comm` first.
class Child {
 public:
  explicit Child(const char* comm = nullptr) {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    int ready[2];
    EXPECT_EQ(pipe2(ready, O_CLOEXEC), 0);
    pid_ = fork();
    if (pid_ == 0) {
      close(fds[1]);
      close(ready[0]);
      if (comm != nullptr) prctl(PR_SET_NAME, comm, 0, 0, 0);
      (void)!write(ready[1], "r", 1);
      char byte;
      (void)!read(fds[0], &byte, 1);
      _exit(0);
    }
    close(fds[0]);
    close(ready[1]);
    release_ = UniqueFd(fds[1]);
    char byte;
    EXPECT_EQ(read(ready[0], &byte, 1), 1);  // the name is set
    close(ready[0]);
  }
  ~Child() {
    Exit();
    Reap();
  }

  pid_t pid() const { return pid_; }
  void Exit() { release_.reset(); }
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

TEST(ProcessWatchTest, PidfdBecomesReadableWhenTheProcessExits) {
  Child child;
  absl::StatusOr<UniqueFd> pidfd = OpenPidfd(child.pid());
  ASSERT_TRUE(pidfd.ok()) << pidfd.status();
  EXPECT_EQ(fcntl(pidfd->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_FALSE(Readable(pidfd->get(), 0));
  child.Exit();
  EXPECT_TRUE(Readable(pidfd->get(), 10'000));
  child.Reap();
  EXPECT_TRUE(Readable(pidfd->get(), 0));  // stays readable after reaping
}

TEST(ProcessWatchTest, PidfdOfAGoneProcessIsEsrch) {
  pid_t pid;
  {
    Child child;
    pid = child.pid();
  }  // exited and reaped
  absl::StatusOr<UniqueFd> pidfd = OpenPidfd(pid);
  ASSERT_FALSE(pidfd.ok());
  EXPECT_EQ(ErrnoOf(pidfd.status()), ESRCH) << pidfd.status();
  EXPECT_EQ(ErrnoOf(OpenPidfd(0).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(OpenPidfd(-5).status()), EINVAL);
}

TEST(ProcessWatchTest, StartTimeIsStableAndDistinguishesProcesses) {
  absl::StatusOr<uint64_t> self = ProcessStartTime(getpid());
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_GT(*self, 0u);
  EXPECT_EQ(ProcessStartTime(getpid()).value(), *self);
  Child child;
  absl::StatusOr<uint64_t> child_start = ProcessStartTime(child.pid());
  ASSERT_TRUE(child_start.ok()) << child_start.status();
  EXPECT_GE(*child_start, *self);  // started after us
  EXPECT_EQ(ProcessStartTime(child.pid()).value(), *child_start);
}

// The command name can contain spaces and ')' and look like more fields;
// a parser that splits on the first ')' reads the wrong field.
TEST(ProcessWatchTest, StartTimeSurvivesAHostileCommandName) {
  Child child("x) R 1 2 3 (y");
  absl::StatusOr<ProcStat> stat = ReadProcStat(child.pid());
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_NE(stat->state, 'Z');
  absl::StatusOr<uint64_t> parent_start = ProcessStartTime(getpid());
  ASSERT_TRUE(parent_start.ok());
  EXPECT_GE(stat->start_time, *parent_start);
  EXPECT_TRUE(ProcessAlive(child.pid(), stat->start_time));
}

TEST(ProcessWatchTest, ParsesProcStatText) {
  const std::string line =
      "1234 (a) b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
      "987654321 1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 "
      "0 0 0 0 0 0\n";
  absl::StatusOr<ProcStat> stat = ParseProcStat(line);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->start_time, 987654321u);

  // Exactly 22 fields, the last ending the line.
  stat = ParseProcStat("7 (sh) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 42\n");
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->state, 'Z');
  EXPECT_EQ(stat->start_time, 42u);
}

TEST(ProcessWatchTest, RejectsMalformedProcStatText) {
  for (const char* text : {"", "1234 no parens S 1 2", "1234 (sh", "1234 sh) S 1",
                           "1 (sh) S 1 2 3", "1 (sh) SS 1 2 3 4 5 6 7 8 9 10 11 "
                           "12 13 14 15 16 17 18 19",
                           "1 (sh) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 "
                           "18 notanumber"}) {
    absl::StatusOr<ProcStat> stat = ParseProcStat(text);
    EXPECT_FALSE(stat.ok()) << '"' << text << '"';
    EXPECT_EQ(ErrnoOf(stat.status()), EINVAL) << '"' << text << '"';
  }
}

TEST(ProcessWatchTest, ProcessAliveTracksExitReapAndPidReuse) {
  Child child;
  const pid_t pid = child.pid();
  absl::StatusOr<uint64_t> start = ProcessStartTime(pid);
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_TRUE(ProcessAlive(pid, *start));
  // The same pid with another start time is another process (a reused pid).
  EXPECT_FALSE(ProcessAlive(pid, *start + 1));

  child.Exit();
  absl::StatusOr<UniqueFd> pidfd = OpenPidfd(pid);
  ASSERT_TRUE(pidfd.ok()) << pidfd.status();
  ASSERT_TRUE(Readable(pidfd->get(), 10'000));
  // Exited but not reaped: a zombie, already gone for the daemon.
  absl::StatusOr<ProcStat> zombie = ReadProcStat(pid);
  ASSERT_TRUE(zombie.ok()) << zombie.status();
  EXPECT_EQ(zombie->state, 'Z');
  EXPECT_EQ(zombie->start_time, *start);
  EXPECT_FALSE(ProcessAlive(pid, *start));

  child.Reap();
  EXPECT_FALSE(ProcessAlive(pid, *start));
  EXPECT_EQ(ErrnoOf(ProcessStartTime(pid).status()), ESRCH);
}

TEST(ProcessWatchTest, PidfdExitedFollowsTheProcess) {
  Child child;
  absl::StatusOr<UniqueFd> pidfd = OpenPidfd(child.pid());
  ASSERT_TRUE(pidfd.ok()) << pidfd.status();
  EXPECT_FALSE(PidfdExited(pidfd->get()));
  child.Exit();
  ASSERT_TRUE(Readable(pidfd->get(), 5000));
  EXPECT_TRUE(PidfdExited(pidfd->get()));  // a zombie has exited
  child.Reap();
  EXPECT_TRUE(PidfdExited(pidfd->get()));
}

TEST(ProcessWatchTest, PeerProcessIsTheConnectingProcessUntilItExits) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd ours(pair[0]), theirs(pair[1]);
  // A socketpair's peer is this process.
  absl::StatusOr<ProcessInstance> self = PeerProcess(ours.get(), getpid(), geteuid());
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_EQ(self->pid, getpid());
  absl::StatusOr<uint64_t> start = ProcessStartTime(getpid());
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(self->start_time, *start);
  EXPECT_FALSE(PidfdExited(self->process_fd.get()));
}

TEST(ProcessWatchTest, PeerProcessOfAConnectorThatExitedIsEsrch) {
  // A listening socket in the abstract namespace; a child connects and
  // exits (and is reaped) before we accept.
  UniqueFd listener(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = "sysv-process-watch-test-" + std::to_string(getpid());
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(listener.get(), 1), 0);
  const pid_t child = fork();
  if (child == 0) {
    const int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    _exit(connect(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 ? 0 : 1);
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_EQ(status, 0);
  UniqueFd accepted(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted);
  absl::StatusOr<ProcessInstance> gone = PeerProcess(accepted.get(), child, geteuid());
  EXPECT_EQ(ErrnoOf(gone.status()), ESRCH) << gone.status();
}

TEST(ProcessWatchTest, ThreadsOfAProcessAreItsOwn) {
  EXPECT_TRUE(IsThreadOf(getpid(), getpid()));
  EXPECT_TRUE(IsThreadOf(getpid(), static_cast<pid_t>(gettid())));
  Child child;
  EXPECT_FALSE(IsThreadOf(getpid(), child.pid()));
  EXPECT_TRUE(IsThreadOf(child.pid(), child.pid()));
  EXPECT_FALSE(IsThreadOf(getpid(), 0));
  EXPECT_FALSE(IsThreadOf(getpid(), -5));
}

TEST(ProcessWatchTest, MemlockLimitIsTheProcesssSoftLimit) {
  Child child;  // forked with our limits; then we change ours
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_MEMLOCK, &saved), 0);
  absl::StatusOr<uint64_t> theirs = ProcessMemlockLimit(child.pid());
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  EXPECT_EQ(*theirs, saved.rlim_cur == RLIM_INFINITY ? UINT64_MAX : saved.rlim_cur);
  rlimit lowered = saved;
  lowered.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 8192);
  ASSERT_EQ(setrlimit(RLIMIT_MEMLOCK, &lowered), 0);
  absl::StatusOr<uint64_t> ours = ProcessMemlockLimit(getpid());
  ASSERT_EQ(setrlimit(RLIMIT_MEMLOCK, &saved), 0);
  ASSERT_TRUE(ours.ok()) << ours.status();
  EXPECT_EQ(*ours, lowered.rlim_cur);
  child.Exit();
  child.Reap();
  EXPECT_EQ(ErrnoOf(ProcessMemlockLimit(child.pid()).status()), ESRCH);
}

TEST(ReadProcStatTest, NamesOurParent) {
  absl::StatusOr<ProcStat> stat = ReadProcStat(getpid());
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->ppid, getppid());
}

TEST(ProcessEffectiveUidTest, IsOurEuid) {
  absl::StatusOr<uid_t> uid = ProcessEffectiveUid(getpid());
  ASSERT_TRUE(uid.ok()) << uid.status();
  EXPECT_EQ(*uid, geteuid());
  EXPECT_EQ(core::ErrnoOf(ProcessEffectiveUid(0x3fffffff).status()), ESRCH);
}

}  // namespace
}  // namespace sysv::linux_backend

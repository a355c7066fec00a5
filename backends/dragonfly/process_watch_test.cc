// ProcessStartTime/ProcessAlive on Linux, against the /proc double of
// kinfo_sys.h, with real child processes; and the kinfo_proc decoder on
// synthetic records.
#include "backends/dragonfly/process_watch.h"

#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/common/unique_fd.h"
#include "backends/dragonfly/dragonfly_abi.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoOf;

// The head of DragonFly's struct kinfo_proc (sys/sys/kinfo.h) up to kp_pid,
// declared again here from the header's text with the same types on LP64
// (sigset_t is four u_int; struct timeval two 64-bit fields; MAXCOMLEN 16;
// NGROUPS 16). Laying it out independently of dragonfly_abi.h and comparing
// checks those offsets on Linux; dragonfly_abi_check.cc checks them against
// the real header on DragonFly.
struct TestKinfoProcHead {
  uintptr_t kp_paddr;
  int kp_flags;
  int kp_stat;  // enum procstat
  int kp_lock;
  int kp_acflag;
  int kp_traceflag;
  uintptr_t kp_fd;
  uint32_t kp_siglist[4];
  uint32_t kp_sigignore[4];
  uint32_t kp_sigcatch[4];
  int kp_sigflag;
  struct {
    int64_t tv_sec;
    int64_t tv_usec;
  } kp_start;
  char kp_comm[16 + 1];
  uint32_t kp_uid;
  int16_t kp_ngroups;
  uint32_t kp_groups[16];
  uint32_t kp_ruid;
  uint32_t kp_svuid;
  uint32_t kp_rgid;
  uint32_t kp_svgid;
  int32_t kp_pid;
};
static_assert(offsetof(TestKinfoProcHead, kp_stat) == abi::kKpStatOffset);
static_assert(offsetof(TestKinfoProcHead, kp_start) == abi::kKpStartSecOffset);
static_assert(offsetof(TestKinfoProcHead, kp_start) + 8 ==
              abi::kKpStartUsecOffset);
static_assert(offsetof(TestKinfoProcHead, kp_pid) == abi::kKpPidOffset);
static_assert(offsetof(TestKinfoProcHead, kp_pid) + 4 == abi::kKinfoProcMinSize);

std::vector<uint8_t> Record(int32_t pid, int stat, int64_t sec, int64_t usec) {
  TestKinfoProcHead head;
  std::memset(&head, 0, sizeof(head));
  head.kp_pid = pid;
  head.kp_stat = stat;
  head.kp_start.tv_sec = sec;
  head.kp_start.tv_usec = usec;
  std::vector<uint8_t> bytes(abi::kKinfoProcMinSize + 700, 0xee);  // + tail
  std::memcpy(bytes.data(), &head, abi::kKinfoProcMinSize);
  return bytes;
}

TEST(ParseKinfoProcTest, DecodesTheFields) {
  const std::vector<uint8_t> record =
      Record(4242, abi::kSactive, 1'700'000'000, 123'456);
  absl::StatusOr<KinfoProc> parsed = ParseKinfoProc(record);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->pid, 4242);
  EXPECT_EQ(parsed->stat, abi::kSactive);
  EXPECT_EQ(parsed->start_time_us, 1'700'000'000'123'456u);
}

TEST(ParseKinfoProcTest, RejectsShortRecords) {
  const std::vector<uint8_t> record = Record(1, abi::kSactive, 1, 1);
  EXPECT_EQ(ErrnoOf(ParseKinfoProc(absl::MakeConstSpan(record).first(
                                       abi::kKinfoProcMinSize - 1))
                        .status()),
            EINVAL);
  EXPECT_EQ(ErrnoOf(ParseKinfoProc({}).status()), EINVAL);
  EXPECT_TRUE(ParseKinfoProc(absl::MakeConstSpan(record).first(
                                 abi::kKinfoProcMinSize))
                  .ok());
}

TEST(ParseKinfoProcTest, RejectsImpossibleValues) {
  EXPECT_EQ(ErrnoOf(ParseKinfoProc(Record(1, 0, 1, 1)).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(ParseKinfoProc(Record(1, 6, 1, 1)).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(ParseKinfoProc(Record(1, abi::kSactive, -1, 0)).status()),
            EINVAL);
  EXPECT_EQ(ErrnoOf(ParseKinfoProc(Record(1, abi::kSactive, 1, -1)).status()),
            EINVAL);
  EXPECT_EQ(
      ErrnoOf(ParseKinfoProc(Record(1, abi::kSactive, 1, 1'000'000)).status()),
      EINVAL);
  EXPECT_EQ(ErrnoOf(ParseKinfoProc(Record(1, abi::kSactive, INT64_MAX, 0))
                        .status()),
            EINVAL);
  for (int stat = abi::kSidl; stat <= abi::kScore; ++stat) {
    EXPECT_TRUE(ParseKinfoProc(Record(1, stat, 0, 999'999)).ok()) << stat;
  }
}

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

TEST(ProcessWatchTest, ReadsOurOwnRecord) {
  absl::StatusOr<KinfoProc> self = ReadKinfo(getpid());
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_EQ(self->pid, getpid());
  EXPECT_EQ(self->stat, abi::kSactive);
  absl::StatusOr<uint64_t> start = ProcessStartTime(getpid());
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(*start, self->start_time_us);
  EXPECT_TRUE(ProcessAlive(getpid(), *start));
  EXPECT_FALSE(ProcessAlive(getpid(), *start + 1));
}

TEST(ProcessWatchTest, StartTimeIsStableWhileTheProcessLives) {
  Child child;
  absl::StatusOr<uint64_t> first = ProcessStartTime(child.pid());
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<uint64_t> second = ProcessStartTime(child.pid());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*first, *second);
  EXPECT_TRUE(ProcessAlive(child.pid(), *first));
}

// DragonFly reports no record for a zombie: the process counts as gone as
// soon as it has exited.
TEST(ProcessWatchTest, AZombieIsGone) {
  Child child;
  absl::StatusOr<uint64_t> start = ProcessStartTime(child.pid());
  ASSERT_TRUE(start.ok()) << start.status();
  child.Exit();
  child.AwaitZombie();
  EXPECT_EQ(ErrnoOf(ProcessStartTime(child.pid()).status()), ESRCH);
  EXPECT_FALSE(ProcessAlive(child.pid(), *start));
  child.Reap();
  EXPECT_EQ(ErrnoOf(ReadKinfo(child.pid()).status()), ESRCH);
  EXPECT_FALSE(ProcessAlive(child.pid(), *start));
}

TEST(ProcessWatchTest, BadPids) {
  EXPECT_EQ(ErrnoOf(ReadKinfo(0).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(ReadKinfo(-4).status()), EINVAL);
  EXPECT_FALSE(ProcessAlive(0, 0));
}

}  // namespace
}  // namespace sysv::dragonfly_backend

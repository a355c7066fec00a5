// The process records (daemon/client_registry.h): a record is handed only to
// a registrant of its own process instance, and each user holds at most his
// share of records (issue #12). The end-to-end attack, a stale channel of a
// reused pid, is tests/security/identity_test.cc; this checks the registry's
// own refusal, which holds even before the daemon has closed such a channel.
#include "daemon/client_registry.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "gtest/gtest.h"

namespace sysv::daemon {
namespace {

using backend::UniqueFd;
using core::ErrnoOf;

class ClientRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    path_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/ledgers-XXXXXX");
    ASSERT_NE(mkdtemp(path_.data()), nullptr);
    dir_ = UniqueFd(open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir_);
  }
  void TearDown() override { (void)!std::system(absl::StrCat("rm -rf '", path_, "'").c_str()); }

  ClientRegistry MakeRegistry(uint32_t share, uint32_t capacity = 16) {
    return ClientRegistry(
        dir_.get(), capacity, share, [](int, int32_t) { return absl::OkStatus(); }, [](int) {});
  }

  // Registers `who` (an instance of a live process, through `process_fd`).
  static absl::StatusOr<ClientProcess*> Register(ClientRegistry& registry, pid_t pid, uint64_t start_time,
                                                 int process_fd, uint32_t uid, bool fresh_image = false) {
    return registry.Register(ClientRegistry::Registrant{pid, start_time, process_fd, uid}, fresh_image,
                             [](const ClientProcess&) {}, [](const ClientProcess&) {});
  }

  // Registers this process, as its effective uid (its process descriptor
  // kept in self_fd_).
  absl::StatusOr<ClientProcess*> RegisterSelf(ClientRegistry& registry) {
    absl::StatusOr<UniqueFd> process_fd = platform::OpenProcessHandle(getpid());
    if (!process_fd.ok()) return process_fd.status();
    self_fd_ = *std::move(process_fd);
    absl::StatusOr<uint64_t> start = platform::ProcessStartTime(getpid());
    if (!start.ok()) return start.status();
    return Register(registry, getpid(), *start, self_fd_.get(), geteuid());
  }

  std::string path_;
  UniqueFd dir_;
  UniqueFd self_fd_;
};

TEST_F(ClientRegistryTest, ARecordGoesOnlyToItsOwnInstance) {
  ClientRegistry registry = MakeRegistry(0);
  absl::StatusOr<UniqueFd> process_fd = platform::OpenProcessHandle(getpid());
  ASSERT_TRUE(process_fd.ok());
  absl::StatusOr<uint64_t> start = platform::ProcessStartTime(getpid());
  ASSERT_TRUE(start.ok());
  absl::StatusOr<ClientProcess*> mine = Register(registry, getpid(), *start, process_fd->get(), 2400);
  ASSERT_TRUE(mine.ok()) << mine.status();
  // The same instance again (a new channel of the same process): the same record.
  absl::StatusOr<ClientProcess*> again = Register(registry, getpid(), *start, process_fd->get(), 2400);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *mine);
  // A registrant claiming this pid with another start time (a channel whose
  // process was an earlier holder of the pid) gets nothing, while the
  // record's process lives.
  EXPECT_EQ(ErrnoOf(Register(registry, getpid(), *start - 1, process_fd->get(), 2401).status()), ESRCH);
  EXPECT_EQ(registry.Find(getpid(), *start - 1), nullptr);
  EXPECT_EQ(registry.Find(getpid(), *start), *mine);
}

TEST_F(ClientRegistryTest, AChannelWhoseProcessExitedGetsNothing) {
  ClientRegistry registry = MakeRegistry(0);
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  absl::StatusOr<UniqueFd> process_fd = platform::OpenProcessHandle(child);
  ASSERT_TRUE(process_fd.ok());
  absl::StatusOr<uint64_t> start = platform::ProcessStartTime(child);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(ErrnoOf(Register(registry, child, start.ok() ? *start : 1, process_fd->get(), 2400).status()), ESRCH);
  EXPECT_EQ(registry.size(), 0u);
}

TEST_F(ClientRegistryTest, EachUserHoldsAtMostHisShare) {
  ClientRegistry registry = MakeRegistry(1);
  // Two live processes: this one and a child that waits to be told to go.
  int release[2];
  ASSERT_EQ(pipe2(release, O_CLOEXEC), 0);
  const pid_t child = fork();
  if (child == 0) {
    char byte;
    close(release[1]);
    (void)!read(release[0], &byte, 1);
    _exit(0);
  }
  close(release[0]);
  ASSERT_GT(child, 0);
  absl::StatusOr<UniqueFd> own = platform::OpenProcessHandle(getpid());
  absl::StatusOr<UniqueFd> theirs = platform::OpenProcessHandle(child);
  absl::StatusOr<uint64_t> own_start = platform::ProcessStartTime(getpid());
  absl::StatusOr<uint64_t> their_start = platform::ProcessStartTime(child);
  ASSERT_TRUE(own.ok() && theirs.ok() && own_start.ok() && their_start.ok());
  ASSERT_TRUE(Register(registry, getpid(), *own_start, own->get(), 2400).ok());
  EXPECT_EQ(ErrnoOf(Register(registry, child, *their_start, theirs->get(), 2400).status()), EAGAIN);
  // Another user's share is his own.
  EXPECT_TRUE(Register(registry, child, *their_start, theirs->get(), 2401).ok());
  // A retired record frees its share.
  registry.Retire(getpid(), [](const ClientProcess&) {});
  registry.Retire(child, [](const ClientProcess&) {});
  EXPECT_TRUE(Register(registry, child, *their_start, theirs->get(), 2400).ok());
  close(release[1]);
  waitpid(child, nullptr, 0);
}

// A child of this process that waits until destroyed: a live process
// whose parent we are.
class WaitingChild {
 public:
  WaitingChild() {
    if (pipe(fds_) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(fds_[1]);
      char byte;
      (void)!read(fds_[0], &byte, 1);
      _exit(0);
    }
    close(fds_[0]);
    absl::StatusOr<UniqueFd> process_fd = platform::OpenProcessHandle(pid_);
    if (process_fd.ok()) process_fd_ = *std::move(process_fd);
    absl::StatusOr<uint64_t> start = platform::ProcessStartTime(pid_);
    if (start.ok()) start_time_ = *start;
  }
  ~WaitingChild() {
    close(fds_[1]);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  uint64_t start_time() const { return start_time_; }
  int process_fd() const { return process_fd_.get(); }

 private:
  int fds_[2] = {-1, -1};
  pid_t pid_ = -1;
  uint64_t start_time_ = 0;
  UniqueFd process_fd_;
};

// What this process's ledger claims, and what the census believes (issue
// #13): only segments the process was granted count.
TEST_F(ClientRegistryTest, TheCensusCountsOnlyGrantedSegments) {
  ClientRegistry registry = MakeRegistry(0);
  absl::StatusOr<ClientProcess*> me = RegisterSelf(registry);
  ASSERT_TRUE(me.ok()) << me.status();
  ASSERT_TRUE(registry.MakeRoom(**me, 3).ok());
  ASSERT_TRUE((*me)->ledger->RecordAttach(3, 7, 1000));
  EXPECT_EQ(registry.Count(3, 7).nattch, 0);
  EXPECT_EQ(registry.Count(3, 7).last_attach_pid, 0);
  (*me)->shm_grants.Grant(3, 7, /*writable=*/false);
  EXPECT_EQ(registry.Count(3, 7).nattch, 1);
  EXPECT_EQ(registry.Count(3, 7).last_attach_pid, getpid());
  registry.Forget(3, 7);
  EXPECT_EQ(registry.Count(3, 7).nattch, 0);
}

// A ledger is its header until its process is granted a segment; then it
// holds whole pages of entries up to that segment's, and is taken back to
// that size when its process grows it.
TEST_F(ClientRegistryTest, ALedgerGrowsWithRoomForGrantsOnly) {
  ClientRegistry registry = MakeRegistry(0, /*capacity=*/1024);
  absl::StatusOr<ClientProcess*> me = RegisterSelf(registry);
  ASSERT_TRUE(me.ok()) << me.status();
  const auto file_size = [&] {
    struct stat st {};
    return fstat((*me)->ledger_fd.get(), &st) == 0 ? st.st_size : -1;
  };
  EXPECT_EQ(file_size(), static_cast<off_t>(core::AttachLedgerHeader::kSize));
  EXPECT_FALSE((*me)->ledger->RecordAttach(200, 7, 1000)) << "an entry past the file";
  ASSERT_TRUE(registry.MakeRoom(**me, 200).ok());
  EXPECT_EQ(file_size(), static_cast<off_t>(core::AttachLedgerSize(256)));
  EXPECT_EQ((*me)->ledger->entries(), 256u);
  ASSERT_TRUE((*me)->ledger->RecordAttach(200, 7, 1000));
  // Room for a lower index is there already.
  ASSERT_TRUE(registry.MakeRoom(**me, 5).ok());
  EXPECT_EQ(file_size(), static_cast<off_t>(core::AttachLedgerSize(256)));
  (*me)->shm_grants.Grant(200, 7, /*writable=*/true);
  EXPECT_EQ(registry.Count(200, 7).nattch, 1);
  ASSERT_EQ(ftruncate((*me)->ledger_fd.get(), off_t{64} << 20), 0);
  registry.TakeBack(backend::LedgerFileName(getpid(), (*me)->start_time));
  EXPECT_EQ(file_size(), static_cast<off_t>(core::AttachLedgerSize(256)));
  EXPECT_EQ(registry.Count(200, 7).nattch, 1);
}

TEST_F(ClientRegistryTest, AForkedChildInheritsItsParentsGrantsAFreshImageDoesNot) {
  absl::StatusOr<UniqueFd> process_fd = platform::OpenProcessHandle(getpid());
  ASSERT_TRUE(process_fd.ok());
  absl::StatusOr<uint64_t> start = platform::ProcessStartTime(getpid());
  ASSERT_TRUE(start.ok());
  for (const bool fresh_image : {false, true}) {
    ClientRegistry registry = MakeRegistry(0);
    absl::StatusOr<ClientProcess*> parent = Register(registry, getpid(), *start, process_fd->get(), geteuid());
    ASSERT_TRUE(parent.ok()) << parent.status();
    (*parent)->shm_grants.Grant(3, 7, /*writable=*/true);
    WaitingChild child;
    ASSERT_GT(child.pid(), 0);
    absl::StatusOr<ClientProcess*> registered =
        Register(registry, child.pid(), child.start_time(), child.process_fd(), geteuid(), fresh_image);
    ASSERT_TRUE(registered.ok()) << registered.status();
    EXPECT_EQ((*registered)->shm_grants.Holds(3, 7), !fresh_image) << "fresh image " << fresh_image;
  }
}

// A parent of another user (as a reaper would be, for an orphan of one
// user reparented to another's subreaper or init) passes nothing on.
TEST_F(ClientRegistryTest, AChildOfAnotherUserInheritsNothing) {
  ClientRegistry registry = MakeRegistry(0);
  absl::StatusOr<UniqueFd> process_fd = platform::OpenProcessHandle(getpid());
  ASSERT_TRUE(process_fd.ok());
  absl::StatusOr<uint64_t> start = platform::ProcessStartTime(getpid());
  ASSERT_TRUE(start.ok());
  absl::StatusOr<ClientProcess*> parent = Register(registry, getpid(), *start, process_fd->get(), geteuid());
  ASSERT_TRUE(parent.ok()) << parent.status();
  (*parent)->shm_grants.Grant(3, 7, /*writable=*/true);
  WaitingChild child;
  ASSERT_GT(child.pid(), 0);
  absl::StatusOr<ClientProcess*> registered =
      Register(registry, child.pid(), child.start_time(), child.process_fd(), geteuid() + 1);
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_FALSE((*registered)->shm_grants.Holds(3, 7));
}

}  // namespace
}  // namespace sysv::daemon

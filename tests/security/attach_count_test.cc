// Issue #13, item 3: attach counts are facts, not claims (DESIGN.md, trust
// model rule 4).
//
// Every registered process holds a read-write descriptor of its own attach
// ledger, in which it records its shmat and shmdt. The attacker, user B,
// writes entries into his ledger naming a segment of A's: with no
// permission on it (0600), and as a permitted reader (0644) who inflates his
// own count. Before the fix the daemon summed every ledger blindly: A's
// segment showed shm_nattch 1001, shm_lpid B's pid and a shm_atime in the
// future, and A's IPC_RMID plus last shmdt left it alive ("dest") for as
// long as B lived.
//
// Now the daemon counts a ledger's entry only for a segment that process
// was granted (the daemon handed it a descriptor, or it inherited one
// across fork), also after a daemon restart. A permitted B can still
// misstate his own attachment count, never anyone else's, and once he exits
// the count is exact again.
//
// Where it makes sense the scenario also runs against the kernel, in a
// private kernel IPC namespace, and A's view is compared line by line: the
// kernel has no ledger, so there B's forgery is a no-op, and A must see
// under libsysv what he sees there.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/ipc/ipc_id.h"
#include "core/protocol/wire.h"
#include "core/shm/attach_ledger.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/raw_client.h"
#include "tests/security/backend_guarantees.h"
#include "tests/testing/differential.h"
#include "tests/testing/shm_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::RawClient;
using testing::RawReply;
using testing::RunAs;
using testing::ShmApi;
using testing::TraceWriter;
using testing::User;

// Ids 2500-2599 are this suite's (other suites use other ranges).
const testing::Identity kOwnerA = User("owner-a", 2501, 2501);
const testing::Identity kAttackerB = User("attacker-b", 2502, 2502);

constexpr int kForgedAttachments = 1000;
constexpr int64_t kNanos = 1'000'000'000;
// What B stamps as his latest attach: a year ahead.
constexpr int64_t kForgedFutureNs = int64_t{365} * 24 * 3600 * kNanos;

// Runs RunAs(who, body) in a child of its own, so that the test goes on
// meanwhile. Returns the child's pid; Join() gives RunAs's status.
pid_t Spawn(const testing::Identity& who, const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(RunAs(who, body));
  return pid;
}

int Join(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A one-way pipe of small integers between two processes of the scenario.
class Pipe {
 public:
  // Close-on-exec: a daemon restarted meanwhile must not hold it open.
  Pipe() {
    if (pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~Pipe() {
    close(fds_[0]);
    close(fds_[1]);
  }
  void Send(int value) { (void)!write(fds_[1], &value, sizeof(value)); }
  int write_fd() const { return fds_[1]; }
  void CloseWrite() {
    close(fds_[1]);
    fds_[1] = -1;
  }
  // Everything written until the write end closed everywhere.
  std::string ReadAll() {
    std::string text;
    char chunk[4096];
    ssize_t n;
    while ((n = read(fds_[0], chunk, sizeof(chunk))) > 0) text.append(chunk, static_cast<size_t>(n));
    return text;
  }
  // -1 on EOF or error.
  int Receive() {
    int value = -1;
    if (read(fds_[0], &value, sizeof(value)) != sizeof(value)) return -1;
    return value;
  }

 private:
  int fds_[2];
};

// B's forgery through his own ledger: registers with the daemon at `dir`
// as libsysv does (the reply carries the ledger's read-write descriptor)
// and writes `count` attachments of segment `id` into it, with an attach
// time a year ahead. Written through the descriptor (pwrite), where a store
// through a mapping would write the same bytes: a ledger file holds only
// the entries of its process's grants (core/shm/attach_ledger.h), and
// pwrite reaches an entry past the file's end too (growing the file, which
// the daemon takes back) without faulting B; the header's word that says
// how many entries the file holds is raised to the whole layout as well.
// Returns 0, or the number of the step that failed. The descriptor stays
// open (the process keeps living with its claims).
int ForgeLedgerEntries(const std::string& dir, int id, int count) {
  RawClient client(dir);
  if (!client.ok()) return 31;
  const RawReply reply = client.Call<wire::Op::kRegister>(wire::RegisterRequest{0, 0});
  const auto body = testing::DecodeRawReply<wire::Op::kRegister>(reply, client.last_request_id());
  if (!body || body->status.error != 0 || reply.fds.size() != 4) return 32;
  const int fd = reply.fds[1];
  const uint32_t entries = body->ledger_capacity;
  static const core::AttachLedgerHeader layout{};
  const off_t entries_at = reinterpret_cast<const char*>(&layout.entries) - reinterpret_cast<const char*>(&layout);
  if (pwrite(fd, &entries, sizeof(entries), entries_at) != sizeof(entries)) {
    return 33;
  }
  const int32_t index = core::IpcIdIndex(id);
  const off_t at = static_cast<off_t>(core::AttachLedgerSize(static_cast<uint32_t>(index)));
  struct {
    uint32_t seq;
    int32_t count;
    int64_t last_attach_ns;
    int64_t last_detach_ns;
    uint64_t reserved;
  } entry{};
  static_assert(sizeof(entry) == sizeof(core::AttachLedgerEntry));
  if (pread(fd, &entry, sizeof(entry), at) < 0) return 34;
  // As CountAttach: an entry of another seq starts over.
  if (entry.seq != core::IpcIdSeq(id)) entry = {};
  entry.seq = core::IpcIdSeq(id);
  entry.count += count;
  entry.last_attach_ns = static_cast<int64_t>(time(nullptr)) * kNanos + kForgedFutureNs;
  if (pwrite(fd, &entry, sizeof(entry), at) != sizeof(entry)) return 35;
  return 0;
}

// What A sees of his segment, in words that hold on the kernel too.
std::string Describe(const ShmApi& api, int id, pid_t a_pid) {
  struct shmid_ds ds;
  std::memset(&ds, 0, sizeof(ds));
  if (api.shmctl(id, IPC_STAT, &ds) != 0) return absl::StrCat("stat -> ", strerrorname_np(errno));
  const time_t now = time(nullptr);
  return absl::StrCat("nattch=", ds.shm_nattch, " lpid=", ds.shm_lpid == a_pid ? "a" : "someone else",
                      " atime ", ds.shm_atime <= now ? "past" : "FUTURE", " mode&dest=",
                      (ds.shm_perm.mode & SHM_DEST) != 0);
}

class AttachCountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    dir_ = testing::FreshNamespaceDir("attach-count");
    // Other users must reach the socket: mkdtemp made the directory 0700.
    ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
    daemon_ = std::make_unique<testing::TestDaemon>(dir_);
    daemon_->Start();
  }

  // The scenario with no permission: A makes a 0600 segment and attaches
  // it; B's shmat is refused, then B (libsysv side only, `forge`) writes
  // kForgedAttachments entries for it into his ledger and stays alive. A's
  // view, then A's IPC_RMID and shmdt, then A's view again (gone), all
  // while B lives. `restart` (libsysv only) kills and restarts the daemon
  // after B's forgery, before A looks.
  void UnpermittedScenario(const ShmApi& api, bool forge, bool restart, TraceWriter& out) {
    Pipe id_to_main, go_to_a, ready_from_b, exit_to_b;
    const pid_t a = Spawn(kOwnerA, [&] {
      const int id = api.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
      void* at = id < 0 ? reinterpret_cast<void*>(-1) : api.shmat(id, nullptr, 0);
      id_to_main.Send(at == reinterpret_cast<void*>(-1) ? -1 : id);
      if (at == reinterpret_cast<void*>(-1)) return 1;
      if (go_to_a.Receive() != 1) return 2;
      out.Line(1, absl::StrCat("a sees ", Describe(api, id, getpid())));
      out.Line(2, absl::StrCat("a rmid -> ", api.shmctl(id, IPC_RMID, nullptr)));
      out.Line(3, absl::StrCat("a after rmid sees ", Describe(api, id, getpid())));
      out.Line(4, absl::StrCat("a shmdt -> ", api.shmdt(at)));
      out.Line(5, absl::StrCat("a after last detach sees ", Describe(api, id, getpid())));
      return 0;
    });
    const int id = id_to_main.Receive();
    if (id < 0) {
      out.Line(0, "a could not make and attach a segment");
      Join(a);
      return;
    }
    const pid_t b = Spawn(kAttackerB, [&] {
      void* at = api.shmat(id, nullptr, SHM_RDONLY);
      const int err = at == reinterpret_cast<void*>(-1) ? errno : 0;
      int forged = 0;
      if (forge) forged = ForgeLedgerEntries(dir_, id, kForgedAttachments);
      ready_from_b.Send(err == EACCES ? forged : 30);
      exit_to_b.Receive();
      return 0;
    });
    const int b_ready = ready_from_b.Receive();
    out.Line(0, absl::StrCat("b shmat refused and forged: ", b_ready == 0 ? "yes" : absl::StrCat("no, ", b_ready)));
    if (restart) {
      daemon_->Kill();
      daemon_->Start();
    }
    go_to_a.Send(1);
    out.Line(6, absl::StrCat("a status ", Join(a)));
    exit_to_b.Send(1);
    out.Line(7, absl::StrCat("b status ", Join(b)));
  }

  // The scenario with permission to read: A makes a 0644 segment and
  // attaches it; B attaches it read-only, then (libsysv side, `forge`)
  // adds kForgedAttachments to his own count. A looks, removes and
  // detaches while B lives (B's attachment keeps the segment, as in the
  // kernel), then B exits and A looks again.
  void PermittedScenario(const ShmApi& api, bool forge, TraceWriter& out) {
    Pipe id_to_main, go_to_a, next_to_a, ready_from_b, exit_to_b, done_from_a;
    const pid_t a = Spawn(kOwnerA, [&] {
      const int id = api.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0644);
      void* at = id < 0 ? reinterpret_cast<void*>(-1) : api.shmat(id, nullptr, 0);
      id_to_main.Send(at == reinterpret_cast<void*>(-1) ? -1 : id);
      if (at == reinterpret_cast<void*>(-1)) return 1;
      if (go_to_a.Receive() != 1) return 2;
      struct shmid_ds ds;
      std::memset(&ds, 0, sizeof(ds));
      const int stat = api.shmctl(id, IPC_STAT, &ds);
      // B's own count is his to misstate: at least the two real ones.
      out.Line(1, absl::StrCat("a sees stat=", stat, " nattch>=2: ", ds.shm_nattch >= 2 ? "yes" : "no"));
      out.Line(2, absl::StrCat("a rmid -> ", api.shmctl(id, IPC_RMID, nullptr)));
      out.Line(3, absl::StrCat("a shmdt -> ", api.shmdt(at)));
      std::memset(&ds, 0, sizeof(ds));
      const int stat_later = api.shmctl(id, IPC_STAT, &ds);
      out.Line(4, absl::StrCat("a while b lives: stat=", stat_later, " dest=",
                               (ds.shm_perm.mode & SHM_DEST) != 0 ? "yes" : "no", " nattch>=1: ",
                               ds.shm_nattch >= 1 ? "yes" : "no"));
      done_from_a.Send(1);
      if (next_to_a.Receive() != 1) return 3;
      out.Line(5, absl::StrCat("a after b exited sees ", Describe(api, id, getpid())));
      return 0;
    });
    const int id = id_to_main.Receive();
    if (id < 0) {
      out.Line(0, "a could not make and attach a segment");
      Join(a);
      return;
    }
    const pid_t b = Spawn(kAttackerB, [&] {
      void* at = api.shmat(id, nullptr, SHM_RDONLY);
      if (at == reinterpret_cast<void*>(-1)) {
        ready_from_b.Send(40);
        return 1;
      }
      ready_from_b.Send(forge ? ForgeLedgerEntries(dir_, id, kForgedAttachments) : 0);
      exit_to_b.Receive();
      return 0;
    });
    const int b_ready = ready_from_b.Receive();
    out.Line(0, absl::StrCat("b attached read-only and inflated: ", b_ready == 0 ? "yes" : absl::StrCat("no, ", b_ready)));
    go_to_a.Send(1);
    done_from_a.Receive();
    exit_to_b.Send(1);
    out.Line(6, absl::StrCat("b status ", Join(b)));
    next_to_a.Send(1);
    out.Line(7, absl::StrCat("a status ", Join(a)));
  }

  // `scenario` against the kernel (in a private IPC namespace) and against
  // libsysv with the forgery; A's traces must be the same. Without a
  // private kernel namespace, only libsysv's trace is checked, against
  // `expected`.
  void ExpectAsTheKernel(const std::function<void(const ShmApi&, bool, TraceWriter&)>& scenario,
                         const std::vector<std::string>& expected) {
    const std::vector<std::string> libsysv = testing::TraceInChild(
        "libsysv", [] { return true; }, [&](TraceWriter& out) { scenario(testing::LibsysvShm(), true, out); });
    EXPECT_EQ(libsysv, expected);
    if (!testing::CanUseFreshKernelNamespace()) return;
    const std::vector<std::string> kernel = testing::TraceInChild(
        "kernel", [] { return testing::EnterFreshKernelNamespace(); },
        [&](TraceWriter& out) { scenario(testing::KernelShm(), false, out); });
    EXPECT_EQ(kernel, libsysv);
  }

  std::string dir_;
  std::unique_ptr<testing::TestDaemon> daemon_;
};

// Traces are in the order lines were written, which the pipes fix.
const std::vector<std::string> kUnpermittedTrace = {
    "0: b shmat refused and forged: yes",
    "1: a sees nattch=1 lpid=a atime past mode&dest=0",
    "2: a rmid -> 0",
    "3: a after rmid sees nattch=1 lpid=a atime past mode&dest=1",
    "4: a shmdt -> 0",
    "5: a after last detach sees stat -> EINVAL",
    "6: a status 0",
    "7: b status 0",
};

TEST_F(AttachCountTest, ForgedEntriesOfAnUnpermittedUserAreNotCounted) {
  ExpectAsTheKernel([&](const ShmApi& api, bool forge,
                        TraceWriter& out) { UnpermittedScenario(api, forge, /*restart=*/false, out); },
                    kUnpermittedTrace);
}

TEST_F(AttachCountTest, ForgedEntriesAreNotCountedAfterADaemonRestart) {
  // A restarted daemon counts the grants of surviving processes from the
  // files they hold; where the backend cannot list them (DragonFly:
  // ProcessHeldFiles is ENOSYS) their attachments are not counted after a
  // restart (an undercount, logged; forged entries are still not counted).
  SYSV_SKIP_UNLESS_BACKEND_GIVES(testing::HeldFilesCanBeListed());
  // The grants of processes alive across the restart are recovered; B's
  // claims stay claims. Run in this process, the daemon's parent (a trace
  // child could not restart it).
  Pipe trace;
  TraceWriter out(trace.write_fd());
  UnpermittedScenario(testing::LibsysvShm(), true, /*restart=*/true, out);
  trace.CloseWrite();
  const std::vector<std::string> libsysv = absl::StrSplit(trace.ReadAll(), '\n', absl::SkipEmpty());
  EXPECT_EQ(libsysv, kUnpermittedTrace);
}

TEST_F(AttachCountTest, APermittedReaderMisstatesOnlyHisOwnCountUntilHeExits) {
  ExpectAsTheKernel([&](const ShmApi& api, bool forge, TraceWriter& out) { PermittedScenario(api, forge, out); },
                    {
                        "0: b attached read-only and inflated: yes",
                        "1: a sees stat=0 nattch>=2: yes",
                        "2: a rmid -> 0",
                        "3: a shmdt -> 0",
                        "4: a while b lives: stat=0 dest=yes nattch>=1: yes",
                        "6: b status 0",
                        "5: a after b exited sees stat -> EINVAL",
                        "7: a status 0",
                    });
}

// Attachments inherited across fork are counted (the child holds the
// parent's descriptors), before and after a daemon restart, and a forged
// count of B's beside them is not.
TEST_F(AttachCountTest, InheritedAttachmentsCountAcrossARestartForgedOnesDoNot) {
  // A restarted daemon counts the grants of surviving processes from the
  // files they hold; where the backend cannot list them (DragonFly:
  // ProcessHeldFiles is ENOSYS) their attachments are not counted after a
  // restart (an undercount, logged; forged entries are still not counted).
  SYSV_SKIP_UNLESS_BACKEND_GIVES(testing::HeldFilesCanBeListed());
  Pipe id_to_main, go_to_a, ready_from_b, exit_to_b;
  const pid_t a = Spawn(kOwnerA, [&] {
    const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    void* at = id < 0 ? reinterpret_cast<void*>(-1) : sysv_shmat(id, nullptr, 0);
    if (at == reinterpret_cast<void*>(-1)) return 1;
    Pipe child_exit;
    const pid_t child = fork();
    if (child == 0) {
      child_exit.Receive();
      _exit(0);
    }
    id_to_main.Send(id);
    struct shmid_ds ds;
    if (sysv_shmctl(id, IPC_STAT, &ds) != 0 || ds.shm_nattch != 2) return 10 + static_cast<int>(ds.shm_nattch);
    if (go_to_a.Receive() != 1) return 2;
    // The daemon was restarted meanwhile.
    if (sysv_shmctl(id, IPC_STAT, &ds) != 0) return 3;
    if (ds.shm_nattch != 2) return 20 + static_cast<int>(ds.shm_nattch % 50);
    child_exit.Send(1);
    waitpid(child, nullptr, 0);
    if (sysv_shmctl(id, IPC_STAT, &ds) != 0 || ds.shm_nattch != 1) return 4;
    if (sysv_shmctl(id, IPC_RMID, nullptr) != 0 || sysv_shmdt(at) != 0) return 5;
    if (sysv_shmctl(id, IPC_STAT, &ds) != -1 || errno != EINVAL) return 6;
    return 0;
  });
  const int id = id_to_main.Receive();
  ASSERT_GE(id, 0);
  const pid_t b = Spawn(kAttackerB, [&] {
    ready_from_b.Send(ForgeLedgerEntries(dir_, id, kForgedAttachments));
    exit_to_b.Receive();
    return 0;
  });
  EXPECT_EQ(ready_from_b.Receive(), 0);
  daemon_->Kill();
  daemon_->Start();
  go_to_a.Send(1);
  EXPECT_EQ(Join(a), 0);
  exit_to_b.Send(1);
  EXPECT_EQ(Join(b), 0);
}

// A child that holds segment descriptors its parent was granted, but no
// attachment, attaches after its parent has exited (it was reparented, and
// the daemon can no longer find whom it forked from): its attachment,
// made without a daemon round trip, is counted.
TEST_F(AttachCountTest, AChildsAttachmentAfterItsParentExitedIsCounted) {
  Pipe id_to_main, go_to_child, from_child;
  const pid_t a = Spawn(kOwnerA, [&] {
    const int id = sysv_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    void* at = id < 0 ? reinterpret_cast<void*>(-1) : sysv_shmat(id, nullptr, 0);
    if (at == reinterpret_cast<void*>(-1) || sysv_shmdt(at) != 0) return 1;
    if (fork() == 0) {
      if (go_to_child.Receive() != 1) _exit(1);
      void* again = sysv_shmat(id, nullptr, 0);
      struct shmid_ds ds;
      if (again == reinterpret_cast<void*>(-1) || sysv_shmctl(id, IPC_STAT, &ds) != 0) {
        from_child.Send(-errno);
        _exit(1);
      }
      from_child.Send(static_cast<int>(ds.shm_nattch));
      sysv_shmdt(again);
      sysv_shmctl(id, IPC_RMID, nullptr);
      _exit(0);
    }
    id_to_main.Send(id);
    return 0;
  });
  ASSERT_GE(id_to_main.Receive(), 0);
  ASSERT_EQ(Join(a), 0);
  go_to_child.Send(1);
  EXPECT_EQ(from_child.Receive(), 1);
}

}  // namespace
}  // namespace sysv

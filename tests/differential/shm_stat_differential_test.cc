// Differential test of what shmctl's *_STAT commands report while other
// processes attach, detach, change and remove a segment (issue #14: libsysv
// answers them from the mapped shm table and the caller's own attach ledger
// when no other process's ledger counts, and asks the daemon otherwise).
// The same script runs against the kernel (a fresh IPC namespace) and
// against libsysv (a fresh daemon); every field of every answer must agree.
//
// Other processes are helpers forked before the script makes any call, so
// that they inherit nothing, each obeying one-letter commands on a pipe; one
// runs as a different user (uid/gid 3201), for the permission denials.
#include <sched.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/testing/differential.h"
#include "tests/testing/shm_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::ShmApi;
using testing::TraceWriter;

constexpr uid_t kOtherUser = 3201;
constexpr gid_t kOtherGroup = 3201;
constexpr key_t kKey = 0x5d140;

std::string ErrnoResult(long result) {
  return result == -1 ? absl::StrCat("-1 ", strerrorname_np(errno)) : absl::StrCat(result);
}

// Every field of a shmid_ds, pids named by who they are.
std::string Describe(const shmid_ds& ds, const std::vector<std::pair<pid_t, std::string>>& names) {
  auto name = [&](pid_t pid) -> std::string {
    if (pid == 0) return "0";
    for (const auto& [p, n] : names) if (p == pid) return n;
    return "unknown";
  };
  return absl::StrFormat(
      "key=%#x uid=%u gid=%u cuid=%u cgid=%u mode=%#o seq=%u segsz=%u nattch=%u cpid=%s lpid=%s atime=%s "
      "dtime=%s ctime=%s",
      static_cast<unsigned>(ds.shm_perm.__key), ds.shm_perm.uid, ds.shm_perm.gid, ds.shm_perm.cuid,
      ds.shm_perm.cgid, ds.shm_perm.mode, ds.shm_perm.__seq, ds.shm_segsz, ds.shm_nattch, name(ds.shm_cpid),
      name(ds.shm_lpid), ds.shm_atime ? "set" : "0", ds.shm_dtime ? "set" : "0", ds.shm_ctime ? "set" : "0");
}

// A forked process that runs commands for the script: 'a' attach, 'd'
// detach, 'm' IPC_SET mode 0600, 'r' IPC_RMID, 's' IPC_STAT, 'S' SHM_STAT
// of index 0, 'A' SHM_STAT_ANY of index 0, 'x' exit. The id to act on
// follows each command; the answer comes back as a line.
class Helper {
 public:
  Helper(const ShmApi& api, bool other_user) {
    if (pipe(to_) != 0 || pipe(from_) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(to_[1]);
      close(from_[0]);
      if (other_user && (setresgid(kOtherGroup, kOtherGroup, kOtherGroup) != 0 ||
                         setresuid(kOtherUser, kOtherUser, kOtherUser) != 0)) {
        _exit(3);
      }
      Serve(api);
      _exit(0);
    }
    close(to_[0]);
    close(from_[1]);
  }
  ~Helper() {
    if (pid_ > 0) {
      Do('x', 0);
      waitpid(pid_, nullptr, 0);
    }
    close(to_[1]);
    close(from_[0]);
  }
  pid_t pid() const { return pid_; }

  std::string Do(char command, int id) {
    char message[1 + sizeof(int)];
    message[0] = command;
    std::memcpy(message + 1, &id, sizeof(id));
    if (write(to_[1], message, sizeof(message)) != static_cast<ssize_t>(sizeof(message))) return "helper gone";
    std::string answer;
    char c;
    while (read(from_[0], &c, 1) == 1 && c != '\n') answer.push_back(c);
    return answer;
  }

 private:
  void Serve(const ShmApi& api) {
    void* addr = nullptr;
    char message[1 + sizeof(int)];
    while (read(to_[0], message, sizeof(message)) == static_cast<ssize_t>(sizeof(message))) {
      int id;
      std::memcpy(&id, message + 1, sizeof(id));
      std::string answer;
      shmid_ds ds{};
      errno = 0;
      switch (message[0]) {
        case 'a':
          addr = api.shmat(id, nullptr, 0);
          answer = addr == reinterpret_cast<void*>(-1) ? ErrnoResult(-1) : "ok";
          break;
        case 'd':
          answer = ErrnoResult(api.shmdt(addr));
          break;
        case 'm':
          ds.shm_perm.uid = 0;
          ds.shm_perm.gid = 0;
          ds.shm_perm.mode = 0600;
          answer = ErrnoResult(api.shmctl(id, IPC_SET, &ds));
          break;
        case 'r':
          answer = ErrnoResult(api.shmctl(id, IPC_RMID, nullptr));
          break;
        case 's':
        case 'S':
        case 'A': {
          const int cmd = message[0] == 's' ? IPC_STAT : message[0] == 'S' ? SHM_STAT : SHM_STAT_ANY;
          const int result = api.shmctl(message[0] == 's' ? id : 0, cmd, &ds);
          answer = ErrnoResult(result == -1 ? -1 : 0);
          if (result != -1) absl::StrAppend(&answer, " nattch=", ds.shm_nattch, " mode=", absl::StrFormat("%#o", ds.shm_perm.mode));
          break;
        }
        case 'x':
          answer = "bye";
          break;
      }
      answer.push_back('\n');
      (void)!write(from_[1], answer.data(), answer.size());
      if (message[0] == 'x') return;
    }
  }

  int to_[2] = {-1, -1};
  int from_[2] = {-1, -1};
  pid_t pid_ = -1;
};

void Script(const ShmApi& api, TraceWriter& out) {
  int step = 0;
  auto record = [&](const std::string& line) { out.Line(step++, line); };
  // Forked before any call: they inherit no attachment and no descriptor.
  auto helper = std::make_unique<Helper>(api, /*other_user=*/false);
  auto stranger = std::make_unique<Helper>(api, /*other_user=*/true);
  const std::vector<std::pair<pid_t, std::string>> names = {
      {getpid(), "self"}, {helper->pid(), "helper"}, {stranger->pid(), "stranger"}};
  auto stat = [&](const char* what, int id, int cmd = IPC_STAT) {
    shmid_ds ds{};
    errno = 0;
    const int result = api.shmctl(id, cmd, &ds);
    record(absl::StrCat(what, ": ", ErrnoResult(result == -1 ? -1 : 0),
                        result == -1 ? "" : absl::StrCat(" ", Describe(ds, names))));
  };

  const int id = api.shmget(kKey, 4096, IPC_CREAT | 0640);
  record(absl::StrCat("shmget: ", id >= 0 ? "ok" : ErrnoResult(-1)));
  stat("fresh, nobody attached", id);
  void* addr = api.shmat(id, nullptr, 0);
  record(absl::StrCat("self attach: ", addr == reinterpret_cast<void*>(-1) ? ErrnoResult(-1) : "ok"));
  stat("self attached", id);
  stat("SHM_STAT of index 0", 0, SHM_STAT);
  stat("SHM_STAT_ANY of index 0", 0, SHM_STAT_ANY);
  record(absl::StrCat("helper attach: ", helper->Do('a', id)));
  stat("helper attached too", id);
  record(absl::StrCat("helper detach: ", helper->Do('d', id)));
  stat("helper detached", id);
  record(absl::StrCat("stranger stat: ", stranger->Do('s', id)));
  record(absl::StrCat("stranger SHM_STAT: ", stranger->Do('S', id)));
  record(absl::StrCat("stranger SHM_STAT_ANY: ", stranger->Do('A', id)));
  record(absl::StrCat("stranger attach: ", stranger->Do('a', id)));
  record(absl::StrCat("stranger IPC_SET: ", stranger->Do('m', id)));
  record(absl::StrCat("helper IPC_SET: ", helper->Do('m', id)));
  stat("after helper's IPC_SET", id);
  helper.reset();  // exits: its ledger is folded into the segment's record
  stat("helper exited", id);
  record(absl::StrCat("self detach: ", ErrnoResult(api.shmdt(addr))));
  stat("self detached", id);

  // A segment nobody ever attached, removed by another process.
  const int other = api.shmget(kKey + 1, 8192, IPC_CREAT | 0604);
  record(absl::StrCat("second shmget: ", other >= 0 ? "ok" : ErrnoResult(-1)));
  record(absl::StrCat("stranger stat of second: ", stranger->Do('s', other)));
  stat("second, unattached", other);
  auto remover = std::make_unique<Helper>(api, /*other_user=*/false);
  record(absl::StrCat("remover IPC_RMID of second: ", remover->Do('r', other)));
  stat("second after another's IPC_RMID", other);

  // Removed while attached by self, by another process; then detached.
  addr = api.shmat(id, nullptr, 0);
  record(absl::StrCat("self attach again: ", addr == reinterpret_cast<void*>(-1) ? ErrnoResult(-1) : "ok"));
  record(absl::StrCat("remover IPC_RMID: ", remover->Do('r', id)));
  stat("removed, still attached", id);
  record(absl::StrCat("self detach: ", ErrnoResult(api.shmdt(addr))));
  stat("removed and detached", id);
  stat("an id never used", id + 32768 * 7);
  stat("a negative id", -5);
  stat("an index beyond the table", 1 << 14, SHM_STAT_ANY);
}

TEST(ShmStatDifferentialTest, StatsAsOthersActMatchTheKernel) {
  const bool fresh = testing::CanUseFreshKernelNamespace();
  ASSERT_TRUE(fresh) << "needs a private kernel IPC namespace to compare ids and keys";
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [] { return testing::EnterFreshKernelNamespace(); },
      [&](TraceWriter& out) { Script(testing::KernelShm(), out); });
  // Reachable by the stranger (mkdtemp made it 0700).
  const std::string dir = testing::FreshNamespaceDir("shmstat");
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0) << dir << ": " << std::strerror(errno);
  testing::TestDaemon daemon(dir);
  daemon.Start();
  const std::vector<std::string> libsysv =
      testing::TraceInChild("libsysv", [] { return true; }, [&](TraceWriter& out) { Script(testing::LibsysvShm(), out); });
  testing::ExpectSameTraces(kernel, libsysv, "shm-stat");
  EXPECT_GE(kernel.size(), 30u);
}

}  // namespace
}  // namespace sysv

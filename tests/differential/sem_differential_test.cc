// Differential test for semaphores: generated sequences of semget, semop,
// semtimedop, semctl and fork run against a private kernel IPC namespace and
// against a fresh sysvipcd; every result, errno, value and visible field
// must agree.
//
// Operations that would sleep use IPC_NOWAIT or a 1 ms timeout, except in
// the fork steps, where a child sleeps while its parent looks (GETNCNT,
// GETZCNT) and then wakes it.
#include <signal.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/testing/differential.h"
#include "tests/testing/sem_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::RelativePid;
using testing::SemApi;
using testing::TraceWriter;

union SemArg {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
  struct seminfo* info;
};

struct Set {
  int id;
  int nsems;
};

class SemRunner : testing::SequenceRunner {
 public:
  SemRunner(const SemApi& api, uint32_t seed, bool literal_ids, TraceWriter& out)
      : SequenceRunner(seed, literal_ids, out), api_(api) {
    base_key_ = static_cast<key_t>(0x53000 + (seed % 1000) * 16);
  }

  void Run(int steps) {
    for (step_ = 0; step_ < steps; ++step_) {
      switch (Pick(12)) {
        case 0:
        case 1:
          Get();
          break;
        case 2:
        case 3:
        case 4:
        case 5:
          Op();
          break;
        case 6:
          Fork();
          break;
        default:
          Ctl();
          break;
      }
    }
    for (const Set& set : sets_) api_.semctl(set.id, 0, IPC_RMID);
  }

 private:
  std::string Id(int id) const {
    std::vector<int> known;
    for (const Set& set : sets_) known.push_back(set.id);
    return IdName(id, known, "set");
  }

  // A known set (mostly), or an id that names none.
  Set SomeSet() {
    if (!sets_.empty() && Pick(6) != 0) return PickOf(sets_);
    return Set{PickOf(std::vector<int>{-1, 0, 3, 32768, 99999}), 1};
  }

  void Get() {
    const key_t key = Pick(3) == 0 ? IPC_PRIVATE : base_key_ + static_cast<key_t>(Pick(3));
    const int nsems = PickOf(std::vector<int>{-1, 0, 1, 1, 2, 3, 5, 40, 32001});
    int flags = PickOf(std::vector<int>{0, 0600, 0644, 0400, 0200, 0666});
    if (Pick(2)) flags |= IPC_CREAT;
    if (Pick(4) == 0) flags |= IPC_EXCL;
    const int id = api_.semget(key, nsems, flags);
    if (id >= 0 && std::none_of(sets_.begin(), sets_.end(), [&](const Set& s) { return s.id == id; })) {
      semid_ds ds{};
      SemArg arg;
      arg.buf = &ds;
      api_.semctl(id, 0, IPC_STAT, arg);  // not recorded: only to learn nsems
      sets_.push_back(Set{id, static_cast<int>(ds.sem_nsems)});
    }
    Record(absl::StrFormat("semget(key%+d, %d, %#o) = %s", key == IPC_PRIVATE ? -1 : key - base_key_, nsems,
                           flags, id >= 0 ? Id(id) : Result(id)));
  }

  std::vector<sembuf> SomeOps(const Set& set, bool allow_sleep) {
    const size_t nsops = PickOf(std::vector<size_t>{1, 1, 1, 2, 2, 3, 4});
    std::vector<sembuf> sops(nsops);
    for (sembuf& sop : sops) {
      sop.sem_num = static_cast<unsigned short>(Pick(static_cast<uint32_t>(set.nsems) + (Pick(12) == 0 ? 2 : 0)));
      sop.sem_op = static_cast<short>(PickOf(std::vector<int>{-2, -1, -1, 0, 0, 1, 1, 2, 3, 32767, -32768}));
      sop.sem_flg = static_cast<short>(PickOf(std::vector<int>{0, IPC_NOWAIT, SEM_UNDO, SEM_UNDO | IPC_NOWAIT}));
      if (!allow_sleep) sop.sem_flg |= IPC_NOWAIT;
    }
    return sops;
  }

  static std::string Describe(const std::vector<sembuf>& sops) {
    std::vector<std::string> parts;
    for (const sembuf& sop : sops) parts.push_back(absl::StrFormat("{%u,%d,%#o}", sop.sem_num, sop.sem_op, sop.sem_flg));
    return absl::StrJoin(parts, ",");
  }

  void Op() {
    const Set set = SomeSet();
    std::vector<sembuf> sops = SomeOps(set, /*allow_sleep=*/true);
    size_t nsops = sops.size();
    if (Pick(20) == 0) nsops = PickOf(std::vector<size_t>{0, 501});
    if (nsops == 501) sops.resize(501, sembuf{0, 0, IPC_NOWAIT});
    // A call that could sleep gets a short timeout instead.
    timespec timeout{0, 1'000'000};
    const timespec* timeout_arg = &timeout;
    const int kind = static_cast<int>(Pick(8));
    if (kind == 0) timeout = timespec{0, -1};         // invalid
    if (kind == 1) timeout = timespec{0, 0};          // try once
    if (kind == 2) timeout_arg = nullptr;             // semop, made non-sleeping
    if (timeout_arg == nullptr) {
      for (sembuf& sop : sops) sop.sem_flg |= IPC_NOWAIT;
    }
    errno = 0;
    const int result = timeout_arg == nullptr ? api_.semop(set.id, sops.data(), nsops)
                                              : api_.semtimedop(set.id, sops.data(), nsops, timeout_arg);
    Record(absl::StrFormat("semop(%s, [%s], %u, timeout %s) = %s", Id(set.id),
                           nsops <= 4 ? Describe(sops) : "...", nsops,
                           timeout_arg == nullptr ? "none" : absl::StrCat(timeout.tv_sec, ".", timeout.tv_nsec),
                           Result(result)));
    RecordValues(set);
  }

  void RecordValues(const Set& set) {
    // The set's real size (an id picked at random may name a bigger set).
    semid_ds ds{};
    SemArg stat_arg;
    stat_arg.buf = &ds;
    if (api_.semctl(set.id, 0, IPC_STAT, stat_arg) != 0 || ds.sem_nsems > 64) return;
    const int nsems = static_cast<int>(ds.sem_nsems);
    std::vector<unsigned short> values(32000);
    SemArg arg;
    arg.array = values.data();
    const int result = api_.semctl(set.id, 0, GETALL, arg);
    std::string line = absl::StrFormat("  GETALL(%s) = %s [", Id(set.id), Result(result));
    if (result == 0) {
      for (int i = 0; i < nsems; ++i) {
        absl::StrAppendFormat(&line, "%s%u/%s", i ? " " : "", values[i],
                              RelativePid(api_.semctl(set.id, i, GETPID), self_));
      }
    }
    Record(line + "]");
  }

  void Ctl() {
    const Set set = SomeSet();
    const int cmd = PickOf(std::vector<int>{GETVAL, GETVAL, GETPID, GETNCNT, GETZCNT, GETALL, SETVAL, SETVAL,
                                            SETALL, IPC_STAT, IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, SEM_INFO,
                                            SEM_STAT, SEM_STAT_ANY, 99, -1});
    int id = set.id;
    if ((cmd == SEM_STAT || cmd == SEM_STAT_ANY) && Pick(2)) id = static_cast<int>(Pick(4));
    const int semnum = Pick(8) == 0 ? PickOf(std::vector<int>{-1, set.nsems, 40}) : static_cast<int>(Pick(std::max(set.nsems, 1)));
    SemArg arg;
    semid_ds ds{};
    seminfo info{};
    std::vector<unsigned short> values(32000, 0);
    std::string detail;
    switch (cmd) {
      case SETVAL:
        arg.val = PickOf(std::vector<int>{-1, 0, 1, 2, 5, 32767, 32768});
        detail = absl::StrCat(" val=", arg.val);
        break;
      case SETALL:
      case GETALL:
        for (size_t v = 0; v < 64; ++v) values[v] = static_cast<unsigned short>(PickOf(std::vector<int>{0, 1, 3, 32767, 32768}));
        arg.array = Pick(10) == 0 ? nullptr : values.data();
        break;
      case IPC_INFO:
      case SEM_INFO:
        arg.info = Pick(10) == 0 ? nullptr : &info;
        break;
      case IPC_SET:
        ds.sem_perm.uid = PickOf(std::vector<uid_t>{0, static_cast<uid_t>(-1)});
        ds.sem_perm.gid = 0;
        ds.sem_perm.mode = Pick(01000);
        arg.buf = Pick(10) == 0 ? nullptr : &ds;
        break;
      default:
        arg.buf = Pick(10) == 0 ? nullptr : &ds;
        break;
    }
    errno = 0;
    const int result = api_.semctl(id, semnum, cmd, arg);
    std::string line = absl::StrFormat("semctl(%s, %d, %d%s) = ", Id(id), semnum, cmd, detail);
    if (result == -1) {
      line += Result(result);
    } else if (cmd == SEM_STAT || cmd == SEM_STAT_ANY) {
      line += Id(result);
    } else if (cmd == GETPID) {
      line += RelativePid(result, self_);
    } else {
      line += absl::StrCat(result);
    }
    if (result != -1) {
      if ((cmd == IPC_STAT || cmd == SEM_STAT || cmd == SEM_STAT_ANY) && arg.buf != nullptr) {
        absl::StrAppendFormat(&line, " key%+d uid=%u gid=%u cuid=%u cgid=%u mode=%#o seq=%u nsems=%u otime=%s ctime=%s",
                              ds.sem_perm.__key == 0 ? -1 : ds.sem_perm.__key - base_key_, ds.sem_perm.uid,
                              ds.sem_perm.gid, ds.sem_perm.cuid, ds.sem_perm.cgid, ds.sem_perm.mode,
                              ds.sem_perm.__seq, ds.sem_nsems, ds.sem_otime ? "set" : "0",
                              ds.sem_ctime ? "set" : "0");
      } else if ((cmd == IPC_INFO || cmd == SEM_INFO) && arg.info != nullptr) {
        absl::StrAppendFormat(&line, " semmap=%d semmni=%d semmns=%d semmnu=%d semmsl=%d semopm=%d semume=%d "
                              "semusz=%d semvmx=%d semaem=%d",
                              info.semmap, info.semmni, info.semmns, info.semmnu, info.semmsl, info.semopm,
                              info.semume, info.semusz, info.semvmx, info.semaem);
      } else if (cmd == GETALL) {
        line += " [" + absl::StrJoin(values.begin(), values.begin() + std::min(set.nsems, 64), " ") + "]";
      }
    }
    if (cmd == IPC_RMID && result == 0) {
      sets_.erase(std::remove_if(sets_.begin(), sets_.end(), [&](const Set& s) { return s.id == id; }), sets_.end());
    }
    Record(line);
    if (result != -1 && (cmd == SETVAL || cmd == SETALL)) RecordValues(set);
  }

  // A child sleeps in semop (or does SEM_UNDO work and exits); the parent
  // looks at the counts, then makes progress possible, then waits for it.
  void Fork() {
    if (sets_.empty()) return;
    const Set set = PickOf(sets_);
    if (set.nsems > 64) return;
    std::vector<sembuf> child_ops = SomeOps(set, /*allow_sleep=*/true);
    for (sembuf& sop : child_ops) sop.sem_flg &= ~IPC_NOWAIT;
    for (sembuf& sop : child_ops) sop.sem_num = static_cast<unsigned short>(sop.sem_num % set.nsems);
    const bool sleeper = Pick(2) == 0;
    int ready[2];
    if (pipe(ready) != 0) return;
    const pid_t child = fork();
    if (child == 0) {
      close(ready[0]);
      char byte = 'x';
      if (!sleeper) {
        // SEM_UNDO work, then exit: the undo is applied at exit.
        for (sembuf& sop : child_ops) sop.sem_flg = SEM_UNDO | IPC_NOWAIT;
        (void)!write(ready[1], &byte, 1);
        const int r = api_.semop(set.id, child_ops.data(), child_ops.size());
        _exit(r == 0 ? 0 : 10 + (errno % 100));
      }
      (void)!write(ready[1], &byte, 1);
      timespec limit{1, 0};  // never hangs the test
      const int r = api_.semtimedop(set.id, child_ops.data(), child_ops.size(), &limit);
      _exit(r == 0 ? 0 : 10 + (errno % 100));
    }
    close(ready[1]);
    char byte;
    (void)!read(ready[0], &byte, 1);
    close(ready[0]);
    std::string line = absl::StrFormat("fork %s [%s]:", sleeper ? "sleeper" : "undo", Describe(child_ops));
    if (sleeper) {
      // Until the child is queued (or done), the counts may still move.
      WaitQuiet(set, child);
      for (int i = 0; i < set.nsems && i < 4; ++i) {
        absl::StrAppendFormat(&line, " n%d=%d z%d=%d", i, api_.semctl(set.id, i, GETNCNT), i,
                              api_.semctl(set.id, i, GETZCNT));
      }
      // Make progress possible: every semaphore to a value the ops accept.
      std::vector<unsigned short> values(static_cast<size_t>(set.nsems), 0);
      bool any_zero_wait = false;
      for (const sembuf& sop : child_ops) any_zero_wait |= sop.sem_op == 0;
      for (const sembuf& sop : child_ops) {
        if (!any_zero_wait) values[sop.sem_num] = static_cast<unsigned short>(std::min(values[sop.sem_num] + 64, 32767));
      }
      SemArg arg;
      arg.array = values.data();
      absl::StrAppend(&line, " setall=", Result(api_.semctl(set.id, 0, SETALL, arg)));
    }
    int status = 0;
    waitpid(child, &status, 0);
    absl::StrAppendFormat(&line, " child exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
    Record(line);
    RecordValues(set);
  }

  // Waits until the child sleeps in semop (some GETNCNT or GETZCNT of the
  // set counts it) or has exited, so that both sides look at the same state.
  void WaitQuiet(const Set& set, pid_t child) {
    for (int i = 0; i < 10000; ++i) {
      int counted = 0;
      for (int n = 0; n < set.nsems; ++n) {
        counted += std::max(0, api_.semctl(set.id, n, GETNCNT)) + std::max(0, api_.semctl(set.id, n, GETZCNT));
      }
      if (counted > 0) return;
      char path[64];
      std::snprintf(path, sizeof(path), "/proc/%d/stat", child);
      FILE* f = std::fopen(path, "r");
      if (f == nullptr) return;
      char buf[512] = {};
      const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
      std::fclose(f);
      const char* close = std::strrchr(buf, ')');
      if (n == 0 || close == nullptr || close[2] == 'Z') return;
      usleep(500);
    }
  }

  const SemApi& api_;
  key_t base_key_;
  std::vector<Set> sets_;
};

class SemDifferentialTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(SemDifferentialTest, GeneratedSequenceMatchesTheKernel) {
  const uint32_t seed = GetParam();
  constexpr int kSteps = 300;
  const bool literal_ids = testing::CanUseFreshKernelNamespace();
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [&] { return !literal_ids || testing::EnterFreshKernelNamespace(); },
      [&](TraceWriter& out) { SemRunner(testing::KernelSem(), seed, literal_ids, out).Run(kSteps); });
  testing::TestDaemon daemon(testing::FreshNamespaceDir("semdiff"));
  daemon.Start();
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; },
      [&](TraceWriter& out) { SemRunner(testing::LibsysvSem(), seed, literal_ids, out).Run(kSteps); });
  testing::ExpectSameTraces(kernel, libsysv, absl::StrCat("sem-seed", seed));
}

INSTANTIATE_TEST_SUITE_P(Seeds, SemDifferentialTest, ::testing::Range(1u, 1u + testing::SeedCount(20)));

// Read permission suffices for a semop that only waits for zero
// (ipcperms(S_IRUGO) in do_semtimedop()). A child that switched to an
// unprivileged uid uses a set it may only read (mode 0644, created by root):
// wait-for-zero at once, with IPC_NOWAIT, asleep until the parent sets the
// value to 0, with a timeout, and interrupted by a signal; an altering op
// gives EACCES. The child never used the set before it dropped privileges,
// so under libsysv it holds a read-only mapping only.
constexpr int kNoUidChange = 77;

void NoteSignal(int) {}

// Reads what the unprivileged child wrote to `fd` until it closes it, reaps
// the child, and returns its report: "child: <results>exit <code>", or
// nullopt if it could not change its uid.
std::optional<std::string> ChildReport(int fd, pid_t child) {
  char results[512] = {};
  size_t got = 0;
  for (ssize_t n; got < sizeof(results) - 1 && (n = read(fd, results + got, sizeof(results) - 1 - got)) > 0;) {
    got += static_cast<size_t>(n);
  }
  int status = 0;
  waitpid(child, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == kNoUidChange) return std::nullopt;
  return absl::StrCat("child: ", results, "exit ", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
}

void ReadOnlyWaiter(const SemApi& api, TraceWriter& out) {
  signal(SIGPIPE, SIG_IGN);  // a child that died early must not kill the trace
  const pid_t self = getpid();
  const int id = api.semget(IPC_PRIVATE, 2, 0644);
  int go[2], report[2];
  if (id < 0 || pipe(go) != 0 || pipe(report) != 0) {
    out.Line(0, "setup failed");
    return;
  }
  const pid_t child = fork();
  if (child == 0) {
    close(go[1]);
    close(report[0]);
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(kNoUidChange);
    struct sigaction action {};
    action.sa_handler = &NoteSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, nullptr);
    char byte;
    std::string results;
    auto note = [&](const char* what, int r) {
      absl::StrAppend(&results, what, "=", r == 0 ? "0" : strerrorname_np(errno), " ");
    };
    (void)!read(go[0], &byte, 1);  // sem 0 is 1, sem 1 is 0
    struct sembuf zero1 = {1, 0, 0};
    note("zero1", api.semop(id, &zero1, 1));
    struct sembuf nowait0 = {0, 0, IPC_NOWAIT};
    note("nowait0", api.semop(id, &nowait0, 1));
    struct sembuf both[] = {{1, 0, SEM_UNDO}, {0, 0, IPC_NOWAIT}};
    note("both", api.semop(id, both, 2));
    struct sembuf take = {0, -1, IPC_NOWAIT};
    note("take", api.semop(id, &take, 1));
    timespec tiny{0, 2'000'000};
    struct sembuf wait0 = {0, 0, 0};
    note("timeout", api.semtimedop(id, &wait0, 1, &tiny));
    (void)!write(report[1], "t", 1);
    (void)!read(go[0], &byte, 1);  // the parent interrupts the next sleep
    note("signal", api.semop(id, &wait0, 1));
    (void)!write(report[1], "s", 1);
    (void)!read(go[0], &byte, 1);  // the parent sets sem 0 to 0 while it sleeps
    timespec limit{5, 0};          // never hangs the test
    note("sleep", api.semtimedop(id, &wait0, 1, &limit));
    (void)!write(report[1], results.data(), results.size());
    _exit(0);
  }
  close(go[0]);
  close(report[1]);
  api.semctl(id, 0, SETVAL, 1);
  (void)!write(go[1], "g", 1);
  char byte;
  auto zcnt_is = [&](int n) {
    for (int i = 0; i < 20000 && api.semctl(id, 0, GETZCNT) != n; ++i) usleep(100);
    return api.semctl(id, 0, GETZCNT);
  };
  (void)!read(report[0], &byte, 1);
  out.Line(1, absl::StrCat("after the quick ones: zcnt ", api.semctl(id, 0, GETZCNT), " pid0 ",
                           RelativePid(api.semctl(id, 0, GETPID), self), " pid1 ",
                           RelativePid(api.semctl(id, 1, GETPID), self)));
  (void)!write(go[1], "g", 1);
  out.Line(2, absl::StrCat("sleeping: zcnt ", zcnt_is(1)));
  kill(child, SIGUSR1);
  (void)!read(report[0], &byte, 1);
  out.Line(3, absl::StrCat("interrupted: zcnt ", api.semctl(id, 0, GETZCNT)));
  (void)!write(go[1], "g", 1);
  out.Line(4, absl::StrCat("sleeping again: zcnt ", zcnt_is(1), " ncnt ", api.semctl(id, 0, GETNCNT)));
  api.semctl(id, 0, SETVAL, 0);
  const std::optional<std::string> child_report = ChildReport(report[0], child);
  if (!child_report.has_value()) {
    out.Line(5, "no uid change");
  } else {
    out.Line(5, *child_report);
    out.Line(6, absl::StrCat("after: val0 ", api.semctl(id, 0, GETVAL), " zcnt ", api.semctl(id, 0, GETZCNT),
                             " pid0 ", RelativePid(api.semctl(id, 0, GETPID), self)));
  }
  close(go[1]);
  close(report[0]);
  api.semctl(id, 0, IPC_RMID);
}

TEST(SemReadOnlyTest, WaitForZeroNeedsOnlyReadPermission) {
  const bool fresh = testing::CanUseFreshKernelNamespace();
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [&] { return !fresh || testing::EnterFreshKernelNamespace(); },
      [&](TraceWriter& out) { ReadOnlyWaiter(testing::KernelSem(), out); });
  if (kernel.size() > 5 && kernel[5].find("no uid change") != std::string::npos) {
    GTEST_SKIP() << "this process cannot change its uid to 65534 (setresuid: EINVAL/EPERM)";
  }
  testing::TestDaemon daemon(testing::FreshNamespaceDir("semro"));
  daemon.Start();
  // The child, as uid 65534, must reach the daemon's socket (mode 0666) in
  // a directory that mkdtemp made 0700.
  ASSERT_EQ(chmod(daemon.dir().c_str(), 0755), 0);
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; }, [&](TraceWriter& out) { ReadOnlyWaiter(testing::LibsysvSem(), out); });
  ASSERT_EQ(kernel.size(), 6u) << absl::StrJoin(kernel, "\n");
  EXPECT_EQ(absl::StrJoin(kernel, "\n"), absl::StrJoin(libsysv, "\n"));
}

// A reader of a big set (more values than one reply message holds, and
// more wait-for-zero operations than one request holds): GETALL of 500
// semaphores, wait-for-zero of 300 operations over 200 distinct semaphores
// (repeats dropped on the way to the daemon) with and without IPC_NOWAIT,
// GETZCNT of the semaphore that blocks, all compared with the kernel.
void ReadOnlyBigSet(const SemApi& api, TraceWriter& out) {
  signal(SIGPIPE, SIG_IGN);
  constexpr int kSems = 500;
  const int id = api.semget(IPC_PRIVATE, kSems, 0644);
  std::vector<unsigned short> values(kSems);
  for (int i = 0; i < kSems; ++i) values[i] = static_cast<unsigned short>(i < 250 ? 0 : (i * 7) % 1000);
  int report[2];
  if (id < 0 || api.semctl(id, 0, SETALL, values.data()) != 0 || pipe(report) != 0) {
    out.Line(0, "setup failed");
    return;
  }
  const pid_t child = fork();
  if (child == 0) {
    close(report[0]);
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(kNoUidChange);
    std::string results;
    auto note = [&](const char* what, int r) {
      absl::StrAppend(&results, what, "=", r >= 0 ? absl::StrCat(r) : strerrorname_np(errno), " ");
    };
    std::vector<unsigned short> got(kSems + 1, 0xffff);
    note("getall", api.semctl(id, 0, GETALL, got.data()));
    uint64_t sum = 0;
    for (int i = 0; i < kSems; ++i) sum = sum * 31 + got[i];
    absl::StrAppend(&results, "sum=", sum, " guard=", got[kSems], " ");
    note("getval499", api.semctl(id, 499, GETVAL));
    // 300 operations on semaphores 0..199 (all zero): succeeds at once.
    std::vector<struct sembuf> zeros;
    for (int i = 0; i < 300; ++i) zeros.push_back({static_cast<unsigned short>(i % 200), 0, 0});
    note("zeros", api.semop(id, zeros.data(), zeros.size()));
    // The same plus semaphore 251 (non-zero) with IPC_NOWAIT: EAGAIN.
    std::vector<struct sembuf> nowait = zeros;
    nowait.push_back({251, 0, IPC_NOWAIT});
    note("nowait", api.semop(id, nowait.data(), nowait.size()));
    // Then semaphore 260 without IPC_NOWAIT, with a timeout: sleeps, counted
    // on 260 only, until the parent zeroes it.
    std::vector<struct sembuf> sleeper = zeros;
    sleeper.push_back({260, 0, 0});
    sleeper.push_back({261, 0, 0});
    timespec limit{5, 0};
    (void)!write(report[1], "w", 1);
    note("sleep", api.semtimedop(id, sleeper.data(), sleeper.size(), &limit));
    (void)!write(report[1], results.data(), results.size());
    _exit(0);
  }
  close(report[1]);
  char byte;
  (void)!read(report[0], &byte, 1);
  int zcnt = 0;
  for (int i = 0; i < 20000 && (zcnt = api.semctl(id, 260, GETZCNT)) != 1; ++i) usleep(100);
  out.Line(1, absl::StrCat("sleeping: zcnt260 ", zcnt, " zcnt261 ", api.semctl(id, 261, GETZCNT)));
  values[260] = 0;
  values[261] = 0;
  api.semctl(id, 0, SETALL, values.data());
  out.Line(2, ChildReport(report[0], child).value_or("no uid change"));
  close(report[0]);
  api.semctl(id, 0, IPC_RMID);
}

TEST(SemReadOnlyTest, BigSetsAnswerAsTheKernelDoes) {
  const bool fresh = testing::CanUseFreshKernelNamespace();
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [&] { return !fresh || testing::EnterFreshKernelNamespace(); },
      [&](TraceWriter& out) { ReadOnlyBigSet(testing::KernelSem(), out); });
  const std::string kernel_trace = absl::StrJoin(kernel, "\n");
  if (kernel_trace.find("no uid change") != std::string::npos) {
    GTEST_SKIP() << "this process cannot change its uid to 65534 (setresuid: EINVAL/EPERM)";
  }
  testing::TestDaemon daemon(testing::FreshNamespaceDir("sembig"));
  daemon.Start();
  ASSERT_EQ(chmod(daemon.dir().c_str(), 0755), 0);
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; }, [&](TraceWriter& out) { ReadOnlyBigSet(testing::LibsysvSem(), out); });
  ASSERT_EQ(kernel.size(), 2u) << kernel_trace;
  EXPECT_NE(kernel_trace.find("getall=0"), std::string::npos) << kernel_trace;
  EXPECT_EQ(kernel_trace, absl::StrJoin(libsysv, "\n"));
}

}  // namespace
}  // namespace sysv

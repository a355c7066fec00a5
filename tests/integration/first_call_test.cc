// A child's first System V call, seen from outside at the first moment the
// child shows state 'S' in /proc/<pid>/stat: that is when LTP's tests (and
// anyone else who waits for a sleeper that way) act. At that moment the
// kernel has queued the child on the object, so:
//   - a signal handler (no SA_RESTART) ends the call with EINTR;
//   - IPC_RMID ends it with EIDRM;
//   - GETNCNT/GETZCNT count it; after shmat, IPC_STAT's nattch counts it.
// libsysv must show the same, although the child's first call may need the
// daemon (registration, a grant): the child must never look asleep before it
// really waits, and a handler run at any moment of the call must not be lost.
//
// The child is forked by a parent that is registered and has the object
// mapped ("mapped"), and by one that never made a System V call ("fresh",
// a process forked before the test's first call that only forks on
// request). Each case runs many rounds (the outcome is a race) against the
// kernel and against libsysv; the tallies must be the same.
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/differential.h"
#include "tests/testing/msg_api.h"
#include "tests/testing/process_state.h"
#include "tests/testing/sem_api.h"
#include "tests/testing/shm_api.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::TraceWriter;

struct Apis {
  const testing::MsgApi* msg;
  const testing::SemApi* sem;
  const testing::ShmApi* shm;
};

// The child's blocking first call.
enum class Call { kMsgrcvEmpty, kMsgsndFull, kSemWaitZero, kSemDecrement, kShmatPause };
// What the parent does once the child shows 'S'.
enum class Act { kSignal, kRemove, kCountThenSignal, kNattchThenKill };

struct Case {
  const char* name;
  Call call;
  Act act;
};

constexpr Case kCases[] = {
    {"msgrcv empty / signal", Call::kMsgrcvEmpty, Act::kSignal},
    {"msgrcv empty / IPC_RMID", Call::kMsgrcvEmpty, Act::kRemove},
    {"msgsnd full / signal", Call::kMsgsndFull, Act::kSignal},
    {"msgsnd full / IPC_RMID", Call::kMsgsndFull, Act::kRemove},
    {"semop wait-for-zero / GETZCNT, signal", Call::kSemWaitZero, Act::kCountThenSignal},
    {"semop wait-for-zero / IPC_RMID", Call::kSemWaitZero, Act::kRemove},
    {"semop decrement / GETNCNT, signal", Call::kSemDecrement, Act::kCountThenSignal},
    {"semop decrement / IPC_RMID", Call::kSemDecrement, Act::kRemove},
    {"shmat, pause / IPC_STAT nattch", Call::kShmatPause, Act::kNattchThenKill},
};

constexpr size_t kMaxText = 8192;
struct Message {
  long mtype;
  char text[kMaxText];
};

int Rounds() {
  const char* env = std::getenv("SYSV_FIRST_CALL_ROUNDS");
  return env != nullptr ? std::atoi(env) : 50;
}

void Handler(int) {}

// The child: a handler without SA_RESTART, then the call. Exits with the
// call's errno (0: it returned success).
[[noreturn]] void RunChild(const Apis& api, Call call, int id) {
  struct sigaction action {};
  sigemptyset(&action.sa_mask);
  action.sa_handler = &Handler;
  action.sa_flags = 0;
  sigaction(SIGUSR1, &action, nullptr);
  int rc = 0;
  switch (call) {
    case Call::kMsgrcvEmpty: {
      static Message m;
      rc = api.msg->msgrcv(id, &m, sizeof(m.text), 0, 0) < 0 ? -1 : 0;
      break;
    }
    case Call::kMsgsndFull: {
      static Message m;
      m.mtype = 1;
      rc = api.msg->msgsnd(id, &m, 1, 0);
      break;
    }
    case Call::kSemWaitZero: {
      struct sembuf op = {0, 0, 0};
      rc = api.sem->semop(id, &op, 1);
      break;
    }
    case Call::kSemDecrement: {
      struct sembuf op = {0, -1, 0};
      rc = api.sem->semop(id, &op, 1);
      break;
    }
    case Call::kShmatPause:
      if (api.shm->shmat(id, nullptr, 0) == reinterpret_cast<void*>(-1)) _exit(errno);
      for (;;) pause();
  }
  _exit(rc == 0 ? 0 : errno);
}

// A process that forks children on request and never makes a System V call
// itself, so that its children start with no runtime at all. Requests and
// answers go over two pipes: (call, id) in; the child's pid, then its wait
// status, out.
class FreshSpawner {
 public:
  explicit FreshSpawner(const Apis& api) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      close(in[1]);
      close(out[0]);
      int request[2];
      while (read(in[0], request, sizeof(request)) == sizeof(request)) {
        const pid_t child = fork();
        if (child == 0) RunChild(api, static_cast<Call>(request[0]), request[1]);
        (void)!write(out[1], &child, sizeof(child));
        int status = 0;
        waitpid(child, &status, 0);
        (void)!write(out[1], &status, sizeof(status));
      }
      _exit(0);
    }
    close(in[0]);
    close(out[1]);
    to_ = in[1];
    from_ = out[0];
  }
  ~FreshSpawner() {
    close(to_);
    close(from_);
    waitpid(pid_, nullptr, 0);
  }
  pid_t Spawn(Call call, int id) {
    const int request[2] = {static_cast<int>(call), id};
    (void)!write(to_, request, sizeof(request));
    pid_t child = -1;
    if (read(from_, &child, sizeof(child)) != sizeof(child)) return -1;
    return child;
  }
  // The child's wait status, or -1 when none came within `limit`.
  int Status(absl::Duration limit) {
    const absl::Time end = absl::Now() + limit;
    while (absl::Now() < end) {
      struct timeval tv = {0, 10000};
      fd_set set;
      FD_ZERO(&set);
      FD_SET(from_, &set);
      if (select(from_ + 1, &set, nullptr, nullptr, &tv) > 0) {
        int status = 0;
        return read(from_, &status, sizeof(status)) == sizeof(status) ? status : -1;
      }
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
};

// A direct child's wait status, or -1 when it did not end within `limit`.
int DirectStatus(pid_t child, absl::Duration limit) {
  const absl::Time end = absl::Now() + limit;
  while (absl::Now() < end) {
    int status = 0;
    if (waitpid(child, &status, WNOHANG) == child) return status;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return -1;
}

std::string Outcome(int status) {
  if (status == -1) return "hung";
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  const int code = WEXITSTATUS(status);
  return code == 0 ? "success" : strerrorname_np(code);
}

// Creates the object for `call` in the state that makes it block; with
// `map_it`, also uses it once without blocking, so that the caller (and
// the child it forks) has it mapped.
int Prepare(const Apis& api, Call call, bool map_it) {
  switch (call) {
    case Call::kMsgrcvEmpty:
    case Call::kMsgsndFull: {
      const int id = api.msg->msgget(IPC_PRIVATE, 0600);
      if (id < 0) return -1;
      static Message m;
      m.mtype = 1;
      if (call == Call::kMsgsndFull) {
        while (api.msg->msgsnd(id, &m, kMaxText, IPC_NOWAIT) == 0) {
        }
      } else if (map_it) {
        (void)api.msg->msgrcv(id, &m, kMaxText, 0, IPC_NOWAIT);  // ENOMSG
      }
      return id;
    }
    case Call::kSemWaitZero:
    case Call::kSemDecrement: {
      const int id = api.sem->semget(IPC_PRIVATE, 1, 0600);
      if (id < 0) return -1;
      if (call == Call::kSemWaitZero) api.sem->semctl(id, 0, SETVAL, 1);
      if (map_it) (void)api.sem->semctl(id, 0, GETVAL);
      return id;
    }
    case Call::kShmatPause: {
      const int id = api.shm->shmget(IPC_PRIVATE, 4096, 0600);
      if (id >= 0 && map_it) {
        void* at = api.shm->shmat(id, nullptr, 0);
        if (at != reinterpret_cast<void*>(-1)) api.shm->shmdt(at);
      }
      return id;
    }
  }
  return -1;
}

void Remove(const Apis& api, Call call, int id) {
  if (call == Call::kMsgrcvEmpty || call == Call::kMsgsndFull) api.msg->msgctl(id, IPC_RMID, nullptr);
  if (call == Call::kSemWaitZero || call == Call::kSemDecrement) api.sem->semctl(id, 0, IPC_RMID);
  if (call == Call::kShmatPause) api.shm->shmctl(id, IPC_RMID, nullptr);
}

// Waits for the child's first 'S' (read as often as the machine allows: the
// earlier the look, the likelier a premature sleep is caught). false: it
// never showed one.
bool WaitForSleep(pid_t child) {
  const absl::Time end = absl::Now() + absl::Seconds(10);
  while (absl::Now() < end) {
    const char state = testing::ProcessState(child);
    if (state == 'S') return true;
    if (state == 0 || state == 'Z') return false;
    sched_yield();
  }
  return false;
}

// One round: fork the child, wait for 'S', act, collect. Returns the tally
// key ("EINTR", "EIDRM, ..." with the count read).
std::string Round(const Apis& api, const Case& c, FreshSpawner* fresh) {
  const int id = Prepare(api, c.call, /*map_it=*/fresh == nullptr);
  if (id < 0) return absl::StrCat("setup failed: ", strerrorname_np(errno));
  pid_t child;
  if (fresh != nullptr) {
    child = fresh->Spawn(c.call, id);
  } else {
    child = fork();
    if (child == 0) RunChild(api, c.call, id);
  }
  if (child <= 0) return "fork failed";
  std::string seen;
  if (!WaitForSleep(child)) seen = "never asleep, ";
  switch (c.act) {
    case Act::kSignal:
      kill(child, SIGUSR1);
      break;
    case Act::kRemove:
      Remove(api, c.call, id);
      break;
    case Act::kCountThenSignal:
      absl::StrAppend(&seen, "count ",
                      api.sem->semctl(id, 0, c.call == Call::kSemWaitZero ? GETZCNT : GETNCNT), ", ");
      kill(child, SIGUSR1);
      break;
    case Act::kNattchThenKill: {
      struct shmid_ds ds {};
      api.shm->shmctl(id, IPC_STAT, &ds);
      absl::StrAppend(&seen, "nattch ", ds.shm_nattch, ", ");
      kill(child, SIGKILL);
      break;
    }
  }
  const absl::Duration limit = absl::Seconds(2);
  int status = fresh != nullptr ? fresh->Status(limit) : DirectStatus(child, limit);
  if (status == -1) {
    // Lost signal: the call sleeps on. Free the round.
    kill(child, SIGKILL);
    if (fresh != nullptr) {
      fresh->Status(absl::Seconds(10));
    } else {
      waitpid(child, nullptr, 0);
    }
  }
  if (c.act != Act::kRemove) Remove(api, c.call, id);
  return absl::StrCat(seen, Outcome(status));
}

void RunAll(const Apis& api, TraceWriter& out) {
  // Before any System V call of this process: its children start fresh.
  FreshSpawner fresh(api);
  const int rounds = Rounds();
  int step = 0;
  for (const bool from_fresh : {false, true}) {
    for (const Case& c : kCases) {
      std::map<std::string, int> tally;
      for (int round = 0; round < rounds; ++round) ++tally[Round(api, c, from_fresh ? &fresh : nullptr)];
      std::vector<std::string> parts;
      for (const auto& [outcome, count] : tally) parts.push_back(absl::StrCat(outcome, " x", count));
      out.Line(step++, absl::StrCat(from_fresh ? "fresh parent, " : "mapped parent, ", c.name, ": ",
                                    absl::StrJoin(parts, "; ")));
    }
  }
}

TEST(FirstCallTest, AChildShowingSleepIsQueuedCountedAndInterruptible) {
  const Apis kernel_api{&testing::KernelMsg(), &testing::KernelSem(), &testing::KernelShm()};
  const Apis libsysv_api{&testing::LibsysvMsg(), &testing::LibsysvSem(), &testing::LibsysvShm()};
  const bool fresh_ns = testing::CanUseFreshKernelNamespace();
  const std::vector<std::string> kernel = testing::TraceInChild(
      "kernel", [&] { return !fresh_ns || testing::EnterFreshKernelNamespace(); },
      [&](TraceWriter& out) { RunAll(kernel_api, out); });
  testing::TestDaemon daemon(testing::FreshNamespaceDir("firstcall"));
  daemon.Start();
  const std::vector<std::string> libsysv = testing::TraceInChild(
      "libsysv", [] { return true; }, [&](TraceWriter& out) { RunAll(libsysv_api, out); });
  const int rounds = Rounds();
  ASSERT_EQ(kernel.size(), 2 * std::size(kCases)) << absl::StrJoin(kernel, "\n");
  // What the kernel gives, written out: the reference must itself be right.
  EXPECT_EQ(kernel[0], absl::StrCat("0: mapped parent, msgrcv empty / signal: EINTR x", rounds));
  EXPECT_EQ(kernel[1], absl::StrCat("1: mapped parent, msgrcv empty / IPC_RMID: EIDRM x", rounds));
  EXPECT_EQ(kernel[4],
            absl::StrCat("4: mapped parent, semop wait-for-zero / GETZCNT, signal: count 1, EINTR x", rounds));
  EXPECT_EQ(kernel[8], absl::StrCat("8: mapped parent, shmat, pause / IPC_STAT nattch: nattch 1, signal 9 x", rounds));
  EXPECT_EQ(kernel.size(), libsysv.size());
  for (size_t i = 0; i < std::min(kernel.size(), libsysv.size()); ++i) {
    EXPECT_EQ(kernel[i], libsysv[i]);
  }
}

}  // namespace
}  // namespace sysv

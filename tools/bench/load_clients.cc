#include "tools/bench/load_clients.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "tools/bench/ipc_fields.h"
#include "tools/bench/scenario_support.h"

namespace sysv::bench {
namespace {

// The steps of a client, as the byte it reports (0: all done).
enum Step : uint8_t {
  kDone = 0,
  kSemGet,
  kLock,
  kShmGet,
  kAttach,
  kDetach,
  kUnlock,
  kMsgGet,
  kSend,
  kReceive,
  kWrongMessage,
};

const char* StepName(int step) {
  static const char* const kNames[] = {"done",  "semget", "semop -1", "shmget",  "shmat",        "shmdt",
                                       "semop +1", "msgget", "msgsnd", "msgrcv", "wrong message"};
  return step >= 0 && step <= kWrongMessage ? kNames[step] : "?";
}

// The shared segment: a count of processes and one slot per process.
struct Board {
  uint64_t count;
  uint32_t slots[];
};

struct Message {
  long mtype;
  long index;
};

// One client's work; returns kDone or the step that failed (errno set).
Step Work(const BenchApi& api, long index, key_t key_base) {
  const int sem = api.semget(key_base, 0, 0);
  if (sem < 0) return kSemGet;
  struct sembuf lock = {0, -1, SEM_UNDO};
  if (api.semop(sem, &lock, 1) != 0) return kLock;
  const int shm = api.shmget(key_base + 1, 0, 0);
  if (shm < 0) return kShmGet;
  void* address = api.shmat(shm, nullptr, 0);
  if (address == reinterpret_cast<void*>(-1)) return kAttach;
  auto* board = static_cast<Board*>(address);
  board->count += 1;  // under the mutex
  board->slots[index] = static_cast<uint32_t>(index + 1);
  if (api.shmdt(address) != 0) return kDetach;
  struct sembuf unlock = {0, 1, SEM_UNDO};
  if (api.semop(sem, &unlock, 1) != 0) return kUnlock;

  const int queue = api.msgget(key_base + 2, 0);
  if (queue < 0) return kMsgGet;
  Message message = {index + 1, index};
  if (api.msgsnd(queue, &message, sizeof(message.index), 0) != 0) return kSend;
  Message received = {};
  if (api.msgrcv(queue, &received, sizeof(received.index), index + 1, 0) != sizeof(received.index)) {
    return kReceive;
  }
  if (received.index != index) {
    errno = EIO;
    return kWrongMessage;
  }
  return kDone;
}

// A client process's whole life. `go` and `leave` are read ends that reach
// EOF when the parent closes its write ends; `report` takes one byte.
[[noreturn]] void ClientMain(const BenchApi& api, long index, key_t key_base, int go, int report, int leave) {
  char byte;
  while (read(go, &byte, 1) < 0 && errno == EINTR) {
  }
  errno = 0;
  const uint8_t step = Work(api, index, key_base);
  const int err = errno;
  while (write(report, &step, 1) < 0 && errno == EINTR) {
  }
  while (read(leave, &byte, 1) < 0 && errno == EINTR) {
  }
  // The exit status is the errno of the failing step (the step went down
  // the pipe).
  _exit(step == kDone ? 0 : (err > 0 && err < 256 ? err : 255));
}

absl::Status CheckShared(const BenchApi& api, long clients, int sem, int shm, int queue) {
  SemArg arg;
  arg.val = 0;
  const int value = api.semctl(sem, 0, GETVAL, arg);
  if (value != 1) return core::ErrnoStatus(EIO, absl::StrCat(api.name, ": the mutex reads ", value, ", not 1"));
  void* address = api.shmat(shm, nullptr, SHM_RDONLY);
  if (address == reinterpret_cast<void*>(-1)) return CallFailed(api, "shmat (check)");
  const auto* board = static_cast<const Board*>(address);
  absl::Status status = absl::OkStatus();
  if (board->count != static_cast<uint64_t>(clients)) {
    status = core::ErrnoStatus(EIO, absl::StrCat(api.name, ": ", board->count, " processes counted, not ", clients));
  }
  for (long i = 0; i < clients && status.ok(); ++i) {
    if (board->slots[i] != static_cast<uint32_t>(i + 1)) {
      status = core::ErrnoStatus(EIO, absl::StrCat(api.name, ": process ", i, " left no mark"));
    }
  }
  api.shmdt(address);
  if (!status.ok()) return status;
  struct msqid_ds ds;
  if (api.msgctl(queue, IPC_STAT, &ds) != 0) return CallFailed(api, "msgctl IPC_STAT (check)");
  if (ds.msg_qnum != 0 || QueueBytes(ds) != 0) {
    return core::ErrnoStatus(EIO, absl::StrCat(api.name, ": the queue holds ", ds.msg_qnum, " messages"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClientRun> RunClients(const BenchApi& api, long clients, key_t key_base,
                                     const std::function<void()>& while_alive) {
  const int sem = api.semget(key_base, 1, IPC_CREAT | IPC_EXCL | 0600);
  if (sem < 0) return CallFailed(api, "semget (shared set)");
  const int shm = api.shmget(key_base + 1, sizeof(Board) + sizeof(uint32_t) * static_cast<size_t>(clients),
                             IPC_CREAT | IPC_EXCL | 0600);
  const int queue = api.msgget(key_base + 2, IPC_CREAT | IPC_EXCL | 0600);
  absl::Cleanup remove = [&] {
    api.semctl(sem, 0, IPC_RMID);
    if (shm >= 0) api.shmctl(shm, IPC_RMID, nullptr);
    if (queue >= 0) api.msgctl(queue, IPC_RMID, nullptr);
  };
  if (shm < 0) return CallFailed(api, "shmget (shared segment)");
  if (queue < 0) return CallFailed(api, "msgget (shared queue)");
  SemArg one;
  one.val = 1;
  if (api.semctl(sem, 0, SETVAL, one) != 0) return CallFailed(api, "semctl SETVAL");

  int go[2], report[2], leave[2];
  if (pipe2(go, O_CLOEXEC) != 0) return core::ErrnoStatus(errno, "pipe");
  if (pipe2(report, O_CLOEXEC) != 0) return core::ErrnoStatus(errno, "pipe");
  if (pipe2(leave, O_CLOEXEC) != 0) return core::ErrnoStatus(errno, "pipe");
  absl::Cleanup close_pipes = [&] {
    for (int fd : {go[0], go[1], report[0], report[1], leave[0], leave[1]}) {
      if (fd >= 0) close(fd);
    }
  };
  const pid_t parent = getpid();
  std::vector<pid_t> pids;
  pids.reserve(static_cast<size_t>(clients));
  // On any early return the clients die (and are reaped) with the run.
  absl::Cleanup reap = [&] {
    for (pid_t pid : pids) kill(pid, SIGKILL);
    for (pid_t pid : pids) {
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  };
  for (long i = 0; i < clients; ++i) {
    const pid_t pid = fork();
    if (pid < 0) return core::ErrnoStatus(errno, absl::StrCat("fork of client ", i + 1, ": ", std::strerror(errno)));
    if (pid == 0) {
      if (!platform::DieWithParent(parent, SIGKILL)) _exit(ECHILD);
      close(go[1]);
      close(report[0]);
      close(leave[1]);
      ClientMain(api, i, key_base, go[0], report[1], leave[0]);
    }
    pids.push_back(pid);
  }
  close(report[1]);
  report[1] = -1;
  Stopwatch work;
  close(go[1]);
  go[1] = -1;
  std::vector<long> failed_steps(kWrongMessage + 1, 0);
  long reported = 0;
  uint8_t steps[256];
  while (reported < clients) {
    const ssize_t n = read(report[0], steps, sizeof(steps));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // every client is gone: some died without a word
    for (ssize_t i = 0; i < n; ++i) failed_steps[std::min<int>(steps[i], kWrongMessage)] += 1;
    reported += n;
  }
  ClientRun run;
  run.clients = clients;
  run.work_seconds = work.Seconds();
  if (while_alive) while_alive();

  Stopwatch exit;
  close(leave[1]);
  leave[1] = -1;
  int first_errno = 0;
  for (pid_t pid : pids) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (first_errno == 0) first_errno = WorkerErrno(status);
  }
  pids.clear();
  run.exit_seconds = exit.Seconds();

  if (reported != clients) {
    return core::ErrnoStatus(EIO, absl::StrCat(api.name, ": ", clients - reported, " of ", clients,
                                               " client processes died without a report (first: ",
                                               std::strerror(first_errno), ")"));
  }
  std::string failures;
  for (int step = kSemGet; step <= kWrongMessage; ++step) {
    if (failed_steps[step] != 0) absl::StrAppend(&failures, " ", StepName(step), ": ", failed_steps[step]);
  }
  if (!failures.empty()) {
    return core::ErrnoStatus(EIO, absl::StrCat(api.name, ": client processes failed at", failures,
                                               " (first: ", std::strerror(first_errno), ")"));
  }
  if (absl::Status status = CheckShared(api, clients, sem, shm, queue); !status.ok()) return status;
  return run;
}

}  // namespace sysv::bench

// IPC_STAT of an object of each kind that the process already uses (a
// segment it has attached, a set it has operated on, a queue it has sent to
// and received from), as a monitoring loop would; and each kind's *_INFO
// (IPC_INFO for shm and msg, SEM_INFO for sem: the commands ipcs -l and
// ipcs -u start with) in a process that has made an object of the kind.
#include <cerrno>
#include <cstring>

#include "tools/bench/scenario.h"
#include "tools/bench/scenario_support.h"

namespace sysv::bench {
namespace {

long StatCount(const RunSize& size) { return size.Count(100000, 500); }

absl::StatusOr<Sample> StatShm(const BenchApi& api, const RunSize& size) {
  absl::StatusOr<ScopedObject> segment = ScopedObject::Create(api, ScopedObject::kShm, 4096);
  if (!segment.ok()) return segment.status();
  void* address = api.shmat(segment->id(), nullptr, 0);
  if (address == reinterpret_cast<void*>(-1)) return CallFailed(api, "shmat");
  const long count = StatCount(size);
  struct shmid_ds ds;
  Stopwatch watch;
  for (long i = 0; i < count; ++i) {
    if (api.shmctl(segment->id(), IPC_STAT, &ds) != 0) {
      absl::Status failed = CallFailed(api, "shmctl IPC_STAT");
      api.shmdt(address);
      return failed;
    }
  }
  const double seconds = watch.Seconds();
  if (api.shmdt(address) != 0) return CallFailed(api, "shmdt");
  return Sample{static_cast<double>(count), seconds};
}

absl::StatusOr<Sample> StatSem(const BenchApi& api, const RunSize& size) {
  absl::StatusOr<ScopedObject> set = ScopedObject::Create(api, ScopedObject::kSem, 1);
  if (!set.ok()) return set.status();
  struct sembuf v = {0, 1, 0};
  if (api.semop(set->id(), &v, 1) != 0) return CallFailed(api, "semop");
  const long count = StatCount(size);
  struct semid_ds ds;
  SemArg arg;
  arg.buf = &ds;
  Stopwatch watch;
  for (long i = 0; i < count; ++i) {
    if (api.semctl(set->id(), 0, IPC_STAT, arg) != 0) return CallFailed(api, "semctl IPC_STAT");
  }
  return Sample{static_cast<double>(count), watch.Seconds()};
}

absl::StatusOr<Sample> StatMsg(const BenchApi& api, const RunSize& size) {
  absl::StatusOr<ScopedObject> queue = ScopedObject::Create(api, ScopedObject::kMsg, 0);
  if (!queue.ok()) return queue.status();
  struct {
    long mtype;
    char mtext[64];
  } message;
  message.mtype = 1;
  std::memset(message.mtext, 's', sizeof(message.mtext));
  if (api.msgsnd(queue->id(), &message, sizeof(message.mtext), 0) != 0) return CallFailed(api, "msgsnd");
  if (api.msgrcv(queue->id(), &message, sizeof(message.mtext), 0, 0) < 0) return CallFailed(api, "msgrcv");
  const long count = StatCount(size);
  struct msqid_ds ds;
  Stopwatch watch;
  for (long i = 0; i < count; ++i) {
    if (api.msgctl(queue->id(), IPC_STAT, &ds) != 0) return CallFailed(api, "msgctl IPC_STAT");
  }
  return Sample{static_cast<double>(count), watch.Seconds()};
}

// The kind's info command, as `api` spells it. IPC_INFO and SEM_INFO are
// Linux's (and libsysv's); a C library without them (DragonFly's) has no
// such call: ENOSYS, and the stat/*info scenarios report it.
int InfoCall(const BenchApi& api, ScopedObject::Kind kind) {
#if !defined(IPC_INFO) || !defined(SEM_INFO)
  (void)api;
  (void)kind;
  errno = ENOSYS;
  return -1;
#else
  switch (kind) {
    case ScopedObject::kShm: {
      struct shminfo info;
      return api.shmctl(0, IPC_INFO, reinterpret_cast<struct shmid_ds*>(&info));
    }
    case ScopedObject::kSem: {
      struct seminfo info;
      SemArg arg;
      arg.info = &info;
      return api.semctl(0, 0, SEM_INFO, arg);
    }
    case ScopedObject::kMsg: {
      struct msginfo info;
      return api.msgctl(0, IPC_INFO, reinterpret_cast<struct msqid_ds*>(&info));
    }
  }
  return -1;
#endif
}

absl::StatusOr<Sample> Info(const BenchApi& api, ScopedObject::Kind kind, const RunSize& size) {
  absl::StatusOr<ScopedObject> object = ScopedObject::Create(api, kind, kind == ScopedObject::kShm ? 4096 : 1);
  if (!object.ok()) return object.status();
  const long count = StatCount(size);
  Stopwatch watch;
  for (long i = 0; i < count; ++i) {
    if (InfoCall(api, kind) < 0) return CallFailed(api, "*_INFO");
  }
  return Sample{static_cast<double>(count), watch.Seconds()};
}

}  // namespace

void AddStatScenarios(std::vector<Scenario>& out) {
  out.push_back({"stat/shm", "shmctl IPC_STAT of a segment this process has attached", "call",
                 Figure::kTimePerOp, 1.0, false, StatShm});
  out.push_back({"stat/sem", "semctl IPC_STAT of a set this process has operated on", "call",
                 Figure::kTimePerOp, 1.0, false, StatSem});
  out.push_back({"stat/msg", "msgctl IPC_STAT of a queue this process has used", "call", Figure::kTimePerOp,
                 1.0, false, StatMsg});
  out.push_back({"info/shm", "shmctl IPC_INFO", "call", Figure::kTimePerOp, 1.0, false,
                 [](const BenchApi& api, const RunSize& size) { return Info(api, ScopedObject::kShm, size); }});
  out.push_back({"info/sem", "semctl SEM_INFO", "call", Figure::kTimePerOp, 1.0, false,
                 [](const BenchApi& api, const RunSize& size) { return Info(api, ScopedObject::kSem, size); }});
  out.push_back({"info/msg", "msgctl IPC_INFO", "call", Figure::kTimePerOp, 1.0, false,
                 [](const BenchApi& api, const RunSize& size) { return Info(api, ScopedObject::kMsg, size); }});
}

}  // namespace sysv::bench

#include "tools/bench/load_population.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/ipc/errno_status.h"
#include "tools/bench/ipc_fields.h"
#include "tools/bench/scenario_support.h"

namespace sysv::bench {
namespace {

using Clock = std::chrono::steady_clock;

double NanosSince(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

// `samples` indexes into [0, size), with repeats (a uniform pick each).
std::vector<long> Pick(long size, long samples, std::mt19937& rng) {
  std::vector<long> picked;
  if (size <= 0) return picked;
  std::uniform_int_distribution<long> any(0, size - 1);
  for (long i = 0; i < samples; ++i) picked.push_back(any(rng));
  return picked;
}

}  // namespace

const char* LoadKindName(LoadKind kind) {
  switch (kind) {
    case LoadKind::kShm:
      return "shm";
    case LoadKind::kSem:
      return "sem";
    case LoadKind::kMsg:
      return "msg";
  }
  return "?";
}

Latency Percentiles(std::vector<double> durations_ns) {
  Latency latency;
  latency.samples = static_cast<long>(durations_ns.size());
  if (durations_ns.empty()) return latency;
  std::sort(durations_ns.begin(), durations_ns.end());
  // Nearest rank: the smallest value with at least p of the samples at or
  // below it.
  auto rank = [&](double p) {
    const size_t n = durations_ns.size();
    const size_t r = static_cast<size_t>(std::ceil(p * static_cast<double>(n)));
    return durations_ns[std::min(n - 1, r == 0 ? 0 : r - 1)];
  };
  latency.p50_ns = rank(0.50);
  latency.p99_ns = rank(0.99);
  return latency;
}

Population::~Population() { (void)RemoveAll(); }

absl::StatusOr<Latency> Population::GrowTo(LoadKind kind, long count) {
  std::vector<int>& ids = ids_[static_cast<int>(kind)];
  std::vector<double> durations;
  while (static_cast<long>(ids.size()) < count) {
    const key_t key = KeyOf(kind, static_cast<long>(ids.size()));
    const int flags = IPC_CREAT | IPC_EXCL | 0600;
    const Clock::time_point start = Clock::now();
    int id = -1;
    switch (kind) {
      case LoadKind::kShm:
        id = api_.shmget(key, 4096, flags);
        break;
      case LoadKind::kSem:
        id = api_.semget(key, 1, flags);
        break;
      case LoadKind::kMsg:
        id = api_.msgget(key, flags);
        break;
    }
    durations.push_back(NanosSince(start));
    if (id < 0) {
      return CallFailed(api_, absl::StrCat(LoadKindName(kind), "get create #", ids.size() + 1));
    }
    ids.push_back(id);
  }
  return Percentiles(std::move(durations));
}

absl::StatusOr<Latency> Population::MeasureGet(LoadKind kind, long samples, std::mt19937& rng) {
  const std::vector<int>& ids = ids_[static_cast<int>(kind)];
  std::vector<double> durations;
  for (long i : Pick(size(kind), samples, rng)) {
    const key_t key = KeyOf(kind, i);
    const Clock::time_point start = Clock::now();
    int id = -1;
    switch (kind) {
      case LoadKind::kShm:
        id = api_.shmget(key, 0, 0);
        break;
      case LoadKind::kSem:
        id = api_.semget(key, 0, 0);
        break;
      case LoadKind::kMsg:
        id = api_.msgget(key, 0);
        break;
    }
    durations.push_back(NanosSince(start));
    if (id < 0) return CallFailed(api_, absl::StrCat(LoadKindName(kind), "get by key"));
    if (id != ids[static_cast<size_t>(i)]) {
      return core::ErrnoStatus(EIO, absl::StrCat(api_.name, " ", LoadKindName(kind), "get of key ", key,
                                                 " returned id ", id, ", not ", ids[static_cast<size_t>(i)]));
    }
  }
  return Percentiles(std::move(durations));
}

absl::Status Population::Stat(LoadKind kind, int id, key_t* key) {
  int rc = -1;
  switch (kind) {
    case LoadKind::kShm: {
      struct shmid_ds ds;
      rc = api_.shmctl(id, IPC_STAT, &ds);
      *key = PermKey(ds.shm_perm);
      break;
    }
    case LoadKind::kSem: {
      struct semid_ds ds;
      SemArg arg;
      arg.buf = &ds;
      rc = api_.semctl(id, 0, IPC_STAT, arg);
      *key = PermKey(ds.sem_perm);
      break;
    }
    case LoadKind::kMsg: {
      struct msqid_ds ds;
      rc = api_.msgctl(id, IPC_STAT, &ds);
      *key = PermKey(ds.msg_perm);
      break;
    }
  }
  if (rc < 0) return CallFailed(api_, absl::StrCat(LoadKindName(kind), "ctl IPC_STAT of ", id));
  return absl::OkStatus();
}

absl::StatusOr<Latency> Population::MeasureStat(LoadKind kind, long samples, std::mt19937& rng) {
  const std::vector<int>& ids = ids_[static_cast<int>(kind)];
  const std::vector<long> picked = Pick(size(kind), samples, rng);
  key_t key = 0;
  for (long i : picked) {
    if (absl::Status status = Stat(kind, ids[static_cast<size_t>(i)], &key); !status.ok()) return status;
  }
  std::vector<double> durations;
  for (long i : picked) {
    const Clock::time_point start = Clock::now();
    absl::Status status = Stat(kind, ids[static_cast<size_t>(i)], &key);
    durations.push_back(NanosSince(start));
    if (!status.ok()) return status;
  }
  return Percentiles(std::move(durations));
}

absl::Status Population::CheckAll(LoadKind kind) {
  const std::vector<int>& ids = ids_[static_cast<int>(kind)];
  for (size_t i = 0; i < ids.size(); ++i) {
    key_t key = 0;
    if (absl::Status status = Stat(kind, ids[i], &key); !status.ok()) return status;
    if (key != KeyOf(kind, static_cast<long>(i))) {
      return core::ErrnoStatus(EIO, absl::StrCat(api_.name, " ", LoadKindName(kind), " ", ids[i], " has key ", key,
                                                 ", not ", KeyOf(kind, static_cast<long>(i))));
    }
  }
  return absl::OkStatus();
}

absl::Status Population::RemoveAll() {
  absl::Status first = absl::OkStatus();
  for (LoadKind kind : kLoadKinds) {
    std::vector<int>& ids = ids_[static_cast<int>(kind)];
    for (int id : ids) {
      int rc = -1;
      switch (kind) {
        case LoadKind::kShm:
          rc = api_.shmctl(id, IPC_RMID, nullptr);
          break;
        case LoadKind::kSem:
          rc = api_.semctl(id, 0, IPC_RMID);
          break;
        case LoadKind::kMsg:
          rc = api_.msgctl(id, IPC_RMID, nullptr);
          break;
      }
      if (rc < 0 && first.ok()) first = CallFailed(api_, absl::StrCat(LoadKindName(kind), " IPC_RMID of ", id));
    }
    ids.clear();
  }
  return first;
}

// SHM_INFO, SEM_INFO and MSG_INFO are Linux's commands (and libsysv's,
// which behaves as Linux). A C library without them (DragonFly's: its ipcs
// reads kern.ipc sysctls) offers no count through these calls: ENOSYS.
absl::StatusOr<long> CountInUse(const BenchApi& api, LoadKind kind) {
#if !defined(SHM_INFO) || !defined(SEM_INFO) || !defined(MSG_INFO)
  return core::ErrnoStatus(ENOSYS, absl::StrCat(api.name, ": no SHM_INFO, SEM_INFO, MSG_INFO in this C library (",
                                                LoadKindName(kind), ")"));
#else
  switch (kind) {
    case LoadKind::kShm: {
      struct shm_info info = {};
      if (api.shmctl(0, SHM_INFO, reinterpret_cast<struct shmid_ds*>(&info)) < 0) {
        return CallFailed(api, "shmctl SHM_INFO");
      }
      return static_cast<long>(info.used_ids);
    }
    case LoadKind::kSem: {
      struct seminfo info = {};
      SemArg arg;
      arg.buf = reinterpret_cast<struct semid_ds*>(&info);
      if (api.semctl(0, 0, SEM_INFO, arg) < 0) return CallFailed(api, "semctl SEM_INFO");
      return static_cast<long>(info.semusz);
    }
    case LoadKind::kMsg: {
      struct msginfo info = {};
      if (api.msgctl(0, MSG_INFO, reinterpret_cast<struct msqid_ds*>(&info)) < 0) {
        return CallFailed(api, "msgctl MSG_INFO");
      }
      return static_cast<long>(info.msgpool);
    }
  }
  return core::ErrnoStatus(EINVAL, "no such kind");
#endif
}

}  // namespace sysv::bench

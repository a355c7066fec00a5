// System V semaphores: the table side (semget, and the semctl commands the
// daemon answers: IPC_STAT, SEM_STAT, SEM_STAT_ANY, IPC_SET, IPC_RMID,
// IPC_INFO, SEM_INFO), and the permission check of a first access.
//
// The commands that read or write semaphore values (GETVAL, GETALL, GETPID,
// GETNCNT, GETZCNT, SETVAL, SETALL) and semop itself run in the client on
// the set's mapped region (core/sem/sem_set.h), after the same checks.
//
// Mirrors ipc/sem.c: ksys_semget() + newary() + sem_more_checks(),
// semctl_info(), semctl_stat(), semctl_down().
//
// Locking: none; the daemon's event-loop thread calls everything.
#ifndef SYSV_CORE_SEM_SEM_REGISTRY_H_
#define SYSV_CORE_SEM_SEM_REGISTRY_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "core/ipc/ipc_registry.h"
#include "core/ipc/limits.h"

namespace sysv::core {

// struct semid_ds.
struct SemStat {
  IpcPerm perm;
  int64_t otime = 0;
  int64_t ctime = 0;
  uint64_t nsems = 0;
};

// struct seminfo (IPC_INFO and SEM_INFO fill it differently).
struct SemInfo {
  int32_t semmap = 0;
  int32_t semmni = 0;
  int32_t semmns = 0;
  int32_t semmnu = 0;
  int32_t semmsl = 0;
  int32_t semopm = 0;
  int32_t semume = 0;
  int32_t semusz = 0;
  int32_t semvmx = 0;
  int32_t semaem = 0;
};

struct SemCtlResult {
  int32_t value = 0;
  SemStat stat;
  SemInfo info;
};

// Compile-time constants of include/uapi/linux/sem.h that IPC_INFO reports.
inline constexpr int32_t kSemMnu = 1024000000;  // SEMMNU = SEMMNS's default
inline constexpr int32_t kSemMap = 1024000000;  // SEMMAP
inline constexpr int32_t kSemUme = 500;         // SEMUME = SEMOPM's default
inline constexpr int32_t kSemUsz = 20;          // SEMUSZ
inline constexpr int32_t kSemVmx = 32767;       // SEMVMX
inline constexpr int32_t kSemAem = kSemVmx;     // SEMAEM

// Semaphore commands (include/uapi/linux/sem.h).
inline constexpr int kGetPid = 11;
inline constexpr int kGetVal = 12;
inline constexpr int kGetAll = 13;
inline constexpr int kGetNcnt = 14;
inline constexpr int kGetZcnt = 15;
inline constexpr int kSetVal = 16;
inline constexpr int kSetAll = 17;
inline constexpr int kSemStat = 18;
inline constexpr int kSemInfo = 19;
inline constexpr int kSemStatAny = 20;
inline constexpr int kSemUndo = 0x1000;  // SEM_UNDO (sem_flg)

// semget's checks, shared by the daemon and the client's LocalGet:
// ksys_semget()'s nsems in [0, SEMMSL] before any lookup (EINVAL), and
// sem_more_checks() of an existing set, no more than its nsems (EINVAL).
absl::Status CheckSemgetNsems(int32_t nsems, int32_t semmsl);
absl::Status SemMoreChecks(const ObjectRecord& record, int32_t nsems);

class SemRegistry {
 public:
  // Where sets live: the daemon's region files.
  class Backing {
   public:
    virtual ~Backing() = default;
    // Creates and formats the region of a new set with every value 0.
    virtual absl::Status Create(int32_t index, uint32_t seq, int32_t nsems, int64_t ctime) = 0;
    // freeary(): marks the set removed, gives every queued operation EIDRM
    // and wakes it, and deletes the region.
    virtual void Destroy(int32_t index, uint32_t seq) = 0;
    struct Times {
      int64_t otime = 0;
      int64_t ctime = 0;
    };
    virtual Times TimesOf(int32_t index, uint32_t seq) = 0;
    virtual void SetCtime(int32_t index, uint32_t seq, int64_t ctime) = 0;
  };

  SemRegistry(IpcRegistry& ids, const SemLimits& limits, Backing& backing);

  // semget(2). Errors, in the kernel's order: EINVAL (nsems < 0 or above
  // SEMMSL), then IpcRegistry::Get's with: EINVAL (nsems larger than the
  // existing set's, checked before EACCES; nsems 0 for a new set), ENOSPC
  // (SEMMNS semaphores or SEMMNI sets exhausted).
  absl::StatusOr<int32_t> Get(Key key, int32_t nsems, int flags, const OpContext& ctx);

  // semctl(2) for IPC_STAT, SEM_STAT, SEM_STAT_ANY, IPC_SET (with `set`),
  // IPC_RMID, IPC_INFO, SEM_INFO. Errors: EINVAL (negative id, unknown id
  // or command), EACCES (stat without read permission), EPERM (IPC_SET or
  // IPC_RMID by other than owner or creator), EINVAL (IPC_SET ids invalid
  // in the caller's user namespace).
  struct SetArgs {
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint32_t mode = 0;
  };
  absl::StatusOr<SemCtlResult> Ctl(int32_t id, int cmd, const SetArgs& set, const OpContext& ctx);

  // The checks before a process may map set `id`: EINVAL (negative or
  // unknown id), EACCES (neither read nor write permission). Returns the
  // record, and whether the caller may alter the set (write permission).
  struct Access {
    ObjectRecord record;
    bool may_alter = false;
  };
  absl::StatusOr<Access> CheckOpen(int32_t id, const OpContext& ctx) const;

 private:
  IpcRegistry& ids_;
  const SemLimits& limits_;
  Backing& backing_;
};

// semctl(IPC_INFO or SEM_INFO) (semctl_info()) of a namespace with these
// limits, `in_use` sets holding `used_sems` semaphores, the highest index
// in use `max_index` (the value; 0 when none).
SemCtlResult SemInfoOf(int cmd, const SemLimits& limits, int32_t max_index, int32_t in_use, uint64_t used_sems);

// IPC_INFO and SEM_INFO answered from what the daemon published in
// `table`'s header (a null `table`: not mapped yet) (ObjectTable::ReadInfo), through SemInfoOf as the daemon
// answers them; nullopt (ask the daemon) when nothing is published.
std::optional<SemCtlResult> LocalSemInfo(const ObjectTable* table, int cmd);

}  // namespace sysv::core

#endif  // SYSV_CORE_SEM_SEM_REGISTRY_H_

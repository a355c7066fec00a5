// sysv_semget, sysv_semop, sysv_semtimedop, sysv_semctl.
//
// semget and the semctl commands about the set itself go to the daemon;
// semop and the value commands run here, on the set's mapped region
// (core/sem/sem_set.h), after the same checks the kernel makes, in its
// order, against the mapped object table.
#include <stdarg.h>
#include <sys/sem.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "compat/credential_cache.h"
#include "compat/errno_result.h"
#include "compat/fault_safe_copy.h"
#include "compat/runtime.h"
#include "compat/user_memory.h"
#include "core/ipc/ipc_constants.h"
#include "core/protocol/wire.h"
#include "core/sem/sem_checks.h"
#include "core/sem/sem_registry.h"
#include "sysv/sysv.h"

namespace sysv::compat {
namespace {

namespace wire = core::wire;

static_assert(GETPID == core::kGetPid && GETVAL == core::kGetVal && GETALL == core::kGetAll &&
              GETNCNT == core::kGetNcnt && GETZCNT == core::kGetZcnt && SETVAL == core::kSetVal &&
              SETALL == core::kSetAll && SEM_STAT == core::kSemStat && SEM_INFO == core::kSemInfo &&
              SEM_STAT_ANY == core::kSemStatAny && SEM_UNDO == core::kSemUndo);
static_assert(IPC_NOWAIT == core::kIpcNowait);
static_assert(sizeof(struct sembuf) == sizeof(core::SemOp));

// The fourth argument of semctl (the caller defines union semun itself).
union SemArg {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
  struct seminfo* info;
};

// The set a thread used last, for the next semop on it without a lock or a
// daemon round trip. Valid while the runtime's grant epoch is unchanged.
struct ThreadGrant {
  int32_t id = -1;
  uint64_t epoch = 0;
  std::shared_ptr<SemGrant> grant;
};
thread_local ThreadGrant t_grant;

// The fast path: the checks of CheckSemop() on the published table, and the
// thread's cached grant if it is for this set. nullptr: take the slow path
// (which also reports the checks' errors).
// The grant is returned without a reference: t_grant holds one for as long
// as this thread runs the call.
SemGrant* FastGrant(Runtime& runtime, int semid, absl::Span<const core::SemOp> sops,
                    const core::Credentials& creds, bool* alter) {
  const core::ObjectTable* table = runtime.PublishedSemTable();
  if (table == nullptr || t_grant.id != semid || t_grant.epoch != runtime.GrantEpoch()) return nullptr;
  absl::StatusOr<core::ObjectRecord> record = core::CheckSemop(*table, semid, sops, creds, alter);
  if (!record.ok() || record->perm.seq != t_grant.grant->seq) return nullptr;
  if (*alter && !t_grant.grant->may_alter) return nullptr;
  return t_grant.grant.get();
}

void RememberGrant(Runtime& runtime, int semid, std::shared_ptr<SemGrant> grant) {
  t_grant.id = semid;
  t_grant.epoch = runtime.GrantEpoch();
  t_grant.grant = std::move(grant);
}

int Fail(const absl::Status& status) { return FailWithStatus(status); }

// semop and semtimedop. `timeout` is the caller's pointer (may be bad).
int Semtimedop(int semid, struct sembuf* user_sops, size_t nsops, const struct timespec* user_timeout) {
  // ksys_semtimedop() copies the timeout before anything else.
  struct timespec timeout {};
  if (user_timeout != nullptr && !FaultSafeCopy(&timeout, user_timeout, sizeof(timeout))) {
    return FailWithErrno(EFAULT);
  }
  Runtime& runtime = Runtime::Get();
  // do_semtimedop()
  if (absl::Status status = core::CheckSemopCount(nsops, runtime.SemOpLimit()); !status.ok()) {
    return Fail(status);
  }
  absl::InlinedVector<core::SemOp, 8> sops(nsops);
  if (!FaultSafeCopy(sops.data(), user_sops, nsops * sizeof(core::SemOp))) return FailWithErrno(EFAULT);
  // __do_semtimedop()
  if (semid < 0) return FailWithErrno(EINVAL);
  core::Deadline deadline = core::Deadline::Infinite();
  if (user_timeout != nullptr) {
    absl::StatusOr<int64_t> nanos = core::SemTimeoutNanos(timeout.tv_sec, timeout.tv_nsec);
    if (!nanos.ok()) return Fail(nanos.status());
    deadline = core::Deadline::After(absl::Nanoseconds(*nanos));
  }
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return Fail(creds.status());
  bool alter = false;
  SemGrant* grant = FastGrant(runtime, semid, sops, **creds, &alter);
  if (grant == nullptr) {
    // First use of the set by this process (or anything unusual): the
    // checks again, and the grant, through the runtime.
    absl::StatusOr<std::shared_ptr<SemGrant>> slow =
        runtime.SemGrantFor(semid, /*alter=*/false, [&](const core::ObjectTable& table) {
          return core::CheckSemop(table, semid, sops, **creds, &alter);
        });
    if (slow.ok() && alter && !(*slow)->may_alter) {
      // Permission to alter appeared after the set was first opened read-only.
      slow = runtime.SemGrantFor(semid, /*alter=*/true, [&](const core::ObjectTable& table) {
        return core::CheckSemop(table, semid, sops, **creds, &alter);
      });
    }
    if (!slow.ok()) return Fail(slow.status());
    grant = slow->get();
    RememberGrant(runtime, semid, *std::move(slow));
  }
  if (!grant->may_alter) {
    // A read-only mapping cannot queue a waiter or take the set's lock.
    // Not yet served: wait-for-zero with read permission only.
    return FailWithErrno(EACCES);
  }
  const int error = grant->set->Semop(sops, runtime.SemCaller(), deadline);
  return error == 0 ? 0 : FailWithErrno(error);
}

// The value commands (semctl_main(), semctl_setval()).
int SemctlValues(int semid, int semnum, int cmd, SemArg arg) {
  Runtime& runtime = Runtime::Get();
  // semctl_setval(): the value's range is checked first of all.
  if (cmd == SETVAL) {
    if (absl::Status status = core::CheckSetValValue(arg.val); !status.ok()) return Fail(status);
  }
  // The value commands run on mapped memory, like semop: the same cached
  // credentials (credential_cache.h).
  absl::StatusOr<const core::Credentials*> creds = CachedCredentials();
  if (!creds.ok()) return Fail(creds.status());
  const bool writes = cmd == SETVAL || cmd == SETALL;
  int32_t nsems = 0;
  auto check = [&](const core::ObjectTable& table) -> absl::StatusOr<core::ObjectRecord> {
    absl::StatusOr<core::ObjectRecord> record = core::FindSemSet(table, semid);
    if (!record.ok()) return record;
    nsems = static_cast<int32_t>(record->size);
    // semctl_setval() checks semnum before permission; semctl_main() after.
    if (cmd == SETVAL && (semnum < 0 || semnum >= nsems)) return core::ErrnoStatus(EINVAL, "semnum out of range");
    return core::CheckSemctl(table, semid, writes ? core::kAccessWrite : core::kAccessRead, **creds);
  };
  absl::StatusOr<std::shared_ptr<SemGrant>> grant = runtime.SemGrantFor(semid, writes, check);
  if (!grant.ok()) return Fail(grant.status());
  core::SemSet& set = *(*grant)->set;
  if (writes && !(*grant)->may_alter) return FailWithErrno(EACCES);
  const core::SemSet::Caller caller = runtime.SemCaller();
  int result = 0;
  switch (cmd) {
    case GETALL: {
      std::vector<uint16_t> values(static_cast<size_t>(nsems));
      result = set.GetAll(absl::MakeSpan(values));
      if (result == 0 && !CopyToUser(arg.array, values.data(), values.size() * sizeof(uint16_t))) {
        return FailWithErrno(EFAULT);
      }
      break;
    }
    case SETALL: {
      std::vector<uint16_t> values(static_cast<size_t>(nsems));
      if (!CopyFromUser(values.data(), arg.array, values.size() * sizeof(uint16_t))) return FailWithErrno(EFAULT);
      for (uint16_t value : values) {
        if (value > core::kSemVmx) return FailWithErrno(ERANGE);
      }
      result = set.SetAll(values, caller);
      break;
    }
    case SETVAL:
      result = set.SetVal(semnum, arg.val, caller);
      break;
    default:
      if (semnum < 0 || semnum >= nsems) return FailWithErrno(EINVAL);
      if (cmd == GETVAL) result = set.GetVal(semnum);
      if (cmd == GETPID) result = set.GetPid(semnum);
      if (cmd == GETNCNT) result = set.GetNcnt(semnum);
      if (cmd == GETZCNT) result = set.GetZcnt(semnum);
      break;
  }
  return result < 0 ? FailWithErrno(-result) : result;
}

// The commands the daemon answers (semctl_info(), semctl_stat(),
// semctl_down()).
int SemctlDaemon(int semid, int cmd, SemArg arg) {
  wire::SemCtlRequest request{};
  request.id = semid;
  request.cmd = cmd;
  if (cmd == IPC_SET) {
    struct semid_ds in;
    if (!CopyFromUser(&in, arg.buf, sizeof(in))) return FailWithErrno(EFAULT);
    request.uid = in.sem_perm.uid;
    request.gid = in.sem_perm.gid;
    request.mode = in.sem_perm.mode;
  }
  auto reply = Runtime::Get().Call<wire::Op::kSemCtl>(request);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->status.error != 0) return FailWithErrno(reply->status.error);
  if (cmd == IPC_STAT || cmd == SEM_STAT || cmd == SEM_STAT_ANY) {
    struct semid_ds out;
    std::memset(&out, 0, sizeof(out));
    out.sem_perm.__key = reply->perm.key;
    out.sem_perm.uid = reply->perm.uid;
    out.sem_perm.gid = reply->perm.gid;
    out.sem_perm.cuid = reply->perm.cuid;
    out.sem_perm.cgid = reply->perm.cgid;
    out.sem_perm.mode = static_cast<unsigned short>(reply->perm.mode);
    out.sem_perm.__seq = static_cast<unsigned short>(reply->perm.seq);
    out.sem_otime = reply->otime;
    out.sem_ctime = reply->ctime;
    out.sem_nsems = reply->nsems;
    if (!CopyToUser(arg.buf, &out, sizeof(out))) return FailWithErrno(EFAULT);
  } else if (cmd == IPC_INFO || cmd == SEM_INFO) {
    struct seminfo out;
    out.semmap = reply->semmap;
    out.semmni = reply->semmni;
    out.semmns = reply->semmns;
    out.semmnu = reply->semmnu;
    out.semmsl = reply->semmsl;
    out.semopm = reply->semopm;
    out.semume = reply->semume;
    out.semusz = reply->semusz;
    out.semvmx = reply->semvmx;
    out.semaem = reply->semaem;
    if (!CopyToUser(arg.info, &out, sizeof(out))) return FailWithErrno(EFAULT);
  }
  return reply->value;
}

}  // namespace
}  // namespace sysv::compat

using sysv::compat::FailWithErrno;
namespace wire = sysv::core::wire;

extern "C" int sysv_semget(key_t key, int nsems, int semflg) {
  const wire::SemGetRequest request{key, nsems, semflg, 0};
  auto reply = sysv::compat::Runtime::Get().Call<wire::Op::kSemGet>(request);
  if (!reply.ok()) return sysv::compat::FailWithStatus(reply.status());
  if (reply->status.error != 0) return FailWithErrno(reply->status.error);
  return reply->id;
}

extern "C" int sysv_semop(int semid, struct sembuf* sops, size_t nsops) {
  return sysv::compat::Semtimedop(semid, sops, nsops, nullptr);
}

extern "C" int sysv_semtimedop(int semid, struct sembuf* sops, size_t nsops, const struct timespec* timeout) {
  // semtimedop(..., NULL) blocks without a timeout, as semop does.
  return sysv::compat::Semtimedop(semid, sops, nsops, timeout);
}

extern "C" int sysv_semctl(int semid, int semnum, int cmd, ...) {
  va_list args;
  va_start(args, cmd);
  sysv::compat::SemArg arg;
  // The fourth argument is one machine word; read it as such whatever the
  // command (an absent one is never used).
  arg.buf = va_arg(args, struct semid_ds*);
  va_end(args);
  // ksys_semctl(): "if (semid < 0) return -EINVAL;"
  if (semid < 0) return FailWithErrno(EINVAL);
  switch (cmd) {
    case IPC_INFO:
    case SEM_INFO:
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY:
    case IPC_SET:
    case IPC_RMID:
      return sysv::compat::SemctlDaemon(semid, cmd, arg);
    case GETALL:
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT:
    case SETALL:
    case SETVAL:
      return sysv::compat::SemctlValues(semid, semnum, cmd, arg);
    default:
      return FailWithErrno(EINVAL);
  }
}

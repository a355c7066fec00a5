// sysv_shmget, sysv_shmat, sysv_shmdt, sysv_shmctl: decode the caller's
// arguments, ask the runtime (and through it the daemon), encode results.
#include <sys/shm.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "compat/errno_result.h"
#include "compat/fault_safe_copy.h"
#include "compat/ipc_abi.h"
#include "compat/local_get.h"
#include "compat/runtime.h"
#include "core/ipc/ipc_constants.h"
#include "core/protocol/codec.h"
#include "core/protocol/ctl_replies.h"
#include "core/shm/shm_registry.h"
#include "core/protocol/wire.h"
#include "sysv/sysv.h"

namespace sysv::compat {
namespace {

namespace wire = core::wire;

// The core names Linux's values; this is Linux, so they must be the same.
static_assert(IPC_CREAT == core::kIpcCreat && IPC_EXCL == core::kIpcExcl);
static_assert(IPC_RMID == core::kIpcRmid && IPC_SET == core::kIpcSet && IPC_STAT == core::kIpcStat &&
              IPC_INFO == core::kIpcInfo);
static_assert(SHM_RDONLY == core::kShmRdonly && SHM_RND == core::kShmRnd &&
              SHM_REMAP == core::kShmRemap && SHM_EXEC == core::kShmExec);
static_assert(SHM_LOCK == core::kShmLock && SHM_UNLOCK == core::kShmUnlock &&
              SHM_STAT == core::kShmStat && SHM_INFO == core::kShmInfo &&
              SHM_STAT_ANY == core::kShmStatAny);
static_assert(SHM_HUGETLB == core::kShmHugetlb && SHM_NORESERVE == core::kShmNoreserve);
static_assert(SHM_DEST == core::kShmDest && SHM_LOCKED == core::kShmLocked);

}  // namespace

void FillShmidDs(const wire::ShmCtlReply& reply, struct shmid_ds* out) {
  std::memset(out, 0, sizeof(*out));
  FillIpcPerm(reply.perm, &out->shm_perm);
  out->shm_segsz = reply.segsz;
  out->shm_atime = reply.atime;
  out->shm_dtime = reply.dtime;
  out->shm_ctime = reply.ctime;
  out->shm_cpid = reply.cpid;
  out->shm_lpid = reply.lpid;
  out->shm_nattch = reply.nattch;
}

namespace {

// What shmctl returns and writes to `buf` for a successful `cmd`, from the
// daemon's reply or one made the same way from a local answer.
int ShmctlAnswer(int cmd, const wire::ShmCtlReply& reply, struct shmid_ds* buf) {
  switch (cmd) {
    case IPC_STAT:
    case SHM_STAT:
    case SHM_STAT_ANY: {
      struct shmid_ds out;
      FillShmidDs(reply, &out);
      if (!FaultSafeCopy(buf, &out, sizeof(out))) return FailWithErrno(EFAULT);
      break;
    }
    case IPC_INFO: {
      struct shminfo out;
      std::memset(&out, 0, sizeof(out));
      out.shmmax = reply.shmmax;
      out.shmmin = reply.shmmin;
      out.shmmni = reply.shmmni;
      out.shmseg = reply.shmseg;
      out.shmall = reply.shmall;
      if (!FaultSafeCopy(buf, &out, sizeof(out))) return FailWithErrno(EFAULT);
      break;
    }
    case SHM_INFO: {
      struct shm_info out;
      std::memset(&out, 0, sizeof(out));
      out.used_ids = reply.used_ids;
      out.shm_tot = reply.shm_tot;
      out.shm_rss = reply.shm_rss;
      out.shm_swp = reply.shm_swp;
      out.swap_attempts = reply.swap_attempts;
      out.swap_successes = reply.swap_successes;
      if (!FaultSafeCopy(buf, &out, sizeof(out))) return FailWithErrno(EFAULT);
      break;
    }
    default:
      break;
  }
  return reply.value;
}

}  // namespace

}  // namespace sysv::compat

using sysv::compat::FaultSafeCopy;
using sysv::compat::FailWithErrno;
using sysv::compat::FailWithStatus;
using sysv::compat::Runtime;
namespace wire = sysv::core::wire;

extern "C" int sysv_shmget(key_t key, size_t size, int shmflg) {
  Runtime& runtime = Runtime::Get();
  auto local = sysv::compat::TryLocalGet(runtime.PublishedShmTable(), key, shmflg,
                                         [&](const sysv::core::ObjectRecord& record) {
                                           return sysv::core::ShmMoreChecks(record, size);
                                         });
  if (!local.ok()) return FailWithStatus(local.status());
  if (local->has_value()) return **local;
  const wire::ShmGetRequest request{key, shmflg, size};
  auto reply = runtime.Call<wire::Op::kShmGet>(request);
  if (!reply.ok()) return FailWithStatus(reply.status());
  if (reply->status.error != 0) return FailWithErrno(reply->status.error);
  return reply->id;
}

extern "C" void* sysv_shmat(int shmid, const void* shmaddr, int shmflg) {
  auto mapped = Runtime::Get().Attach(shmid, reinterpret_cast<uint64_t>(shmaddr), shmflg);
  if (!mapped.ok()) {
    FailWithStatus(mapped.status());
    return reinterpret_cast<void*>(-1);
  }
  return *mapped;
}

extern "C" int sysv_shmdt(const void* shmaddr) {
  absl::Status status = Runtime::Get().Detach(reinterpret_cast<uint64_t>(shmaddr));
  return status.ok() ? 0 : FailWithStatus(status);
}

extern "C" int sysv_shmctl(int shmid, int cmd, struct shmid_ds* buf) {
  // ksys_shmctl(): "if (cmd < 0 || shmid < 0) return -EINVAL;" before
  // touching buf.
  if (cmd < 0 || shmid < 0) return FailWithErrno(EINVAL);
  // IPC_INFO: the limits and the highest index, as the daemon published them.
  if (std::optional<sysv::core::ShmCtlResult> local = sysv::core::LocalShmInfo(Runtime::Get().PublishedShmTable(), cmd)) {
    return sysv::compat::ShmctlAnswer(cmd, wire::ShmCtlReplyOf(*local), buf);
  }
  if (cmd == IPC_STAT || cmd == SHM_STAT || cmd == SHM_STAT_ANY) {
    auto local = Runtime::Get().LocalShmStat(shmid, cmd);
    if (!local.ok()) return FailWithStatus(local.status());
    if (local->has_value()) return sysv::compat::ShmctlAnswer(cmd, wire::ShmCtlReplyOf(**local), buf);
  }
  wire::ShmCtlRequest request{};
  request.id = shmid;
  request.cmd = cmd;
  if (cmd == IPC_SET) {
    // IPC_SET copies the buffer in before looking the id up.
    struct shmid_ds in;
    if (!FaultSafeCopy(&in, buf, sizeof(in))) return FailWithErrno(EFAULT);
    request.uid = in.shm_perm.uid;
    request.gid = in.shm_perm.gid;
    request.mode = in.shm_perm.mode;
  }
  auto reply = Runtime::Get().Call<wire::Op::kShmCtl>(request);
  if (!reply.ok()) return FailWithStatus(reply.status());
  if (reply->status.error != 0) return FailWithErrno(reply->status.error);
  return sysv::compat::ShmctlAnswer(cmd, *reply, buf);
}

// sysv_shmget, sysv_shmat, sysv_shmdt, sysv_shmctl: decode the caller's
// arguments, ask the runtime (and through it the daemon), encode results.
// The caller's numbers and structs are its C library's (backends/ipc_abi.h):
// commands are translated to the core's at entry, and every decision below
// is taken on the core's numbers.
#include <sys/shm.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "backends/ipc_abi.h"
#include "compat/errno_result.h"
#include "compat/fault_safe_copy.h"
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

}  // namespace

void FillShmidDs(const wire::ShmCtlReply& reply, struct shmid_ds* out) {
  std::memset(out, 0, sizeof(*out));
  abi::FillIpcPerm(reply.perm, &out->shm_perm);
  out->shm_segsz = reply.segsz;
  out->shm_atime = reply.atime;
  out->shm_dtime = reply.dtime;
  out->shm_ctime = reply.ctime;
  out->shm_cpid = reply.cpid;
  out->shm_lpid = reply.lpid;
  out->shm_nattch = reply.nattch;
}

namespace {

// What shmctl returns and writes to `buf` for a successful `core_cmd`,
// from the daemon's reply or one made the same way from a local answer.
int ShmctlAnswer(int core_cmd, const wire::ShmCtlReply& reply, struct shmid_ds* buf) {
  switch (core_cmd) {
    case core::kIpcStat:
    case core::kShmStat:
    case core::kShmStatAny: {
      struct shmid_ds out;
      FillShmidDs(reply, &out);
      if (!FaultSafeCopy(buf, &out, sizeof(out))) return FailWithErrno(EFAULT);
      break;
    }
    case core::kIpcInfo:
    case core::kShmInfo: {
      const abi::InfoBytes out = abi::ShmInfoBytes(core_cmd, reply);
      if (!FaultSafeCopy(buf, out.data, out.size)) return FailWithErrno(EFAULT);
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

extern "C" int sysv_shmget(key_t caller_key, size_t size, int caller_flags) {
  sysv::core::Key key = 0;
  if (!sysv::abi::ProtocolKey(caller_key, &key)) return FailWithErrno(EINVAL);
  const int shmflg = sysv::abi::ShmgetFlags(caller_flags);
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
  auto mapped =
      Runtime::Get().Attach(shmid, reinterpret_cast<uint64_t>(shmaddr), sysv::abi::ShmatFlags(shmflg));
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

extern "C" int sysv_shmctl(int shmid, int caller_cmd, struct shmid_ds* buf) {
  namespace core = sysv::core;
  // ksys_shmctl(): "if (cmd < 0 || shmid < 0) return -EINVAL;" before
  // touching buf; a command the caller's system does not have is EINVAL too.
  if (caller_cmd < 0 || shmid < 0) return FailWithErrno(EINVAL);
  const int cmd = sysv::abi::ShmctlCommand(caller_cmd);
  if (cmd == sysv::abi::kNoSuchCommand) return FailWithErrno(EINVAL);
  // IPC_INFO: the limits and the highest index, as the daemon published them.
  if (std::optional<core::ShmCtlResult> local = core::LocalShmInfo(Runtime::Get().PublishedShmTable(), cmd)) {
    return sysv::compat::ShmctlAnswer(cmd, wire::ShmCtlReplyOf(*local), buf);
  }
  if (cmd == core::kIpcStat || cmd == core::kShmStat || cmd == core::kShmStatAny) {
    auto local = Runtime::Get().LocalShmStat(shmid, cmd);
    if (!local.ok()) return FailWithStatus(local.status());
    if (local->has_value()) return sysv::compat::ShmctlAnswer(cmd, wire::ShmCtlReplyOf(**local), buf);
  }
  wire::ShmCtlRequest request{};
  request.id = shmid;
  request.cmd = cmd;
  if (cmd == core::kIpcSet) {
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
  // A segment removed now must not live on in a mapping shmdt parked.
  if (cmd == core::kIpcRmid) Runtime::Get().ReleaseRemovedParked();
  return sysv::compat::ShmctlAnswer(cmd, *reply, buf);
}

#include "compat/core_ctl.h"

#include <cerrno>
#include <initializer_list>

#include "compat/errno_result.h"
#include "compat/runtime.h"
#include "core/ipc/ipc_constants.h"
#include "core/msg/msg_registry.h"
#include "core/sem/sem_registry.h"

namespace sysv::compat {
namespace {

namespace wire = core::wire;

bool OneOf(int cmd, std::initializer_list<int> allowed) {
  for (int candidate : allowed) {
    if (cmd == candidate) return true;
  }
  return false;
}

// Sends `request` (id and command set, EINVAL already ruled out) and copies
// the reply out.
template <wire::Op kOp>
int Ask(const typename wire::OpTraits<kOp>::Request& request, typename wire::OpTraits<kOp>::Reply* out) {
  auto reply = Runtime::Get().Call<kOp>(request);
  if (!reply.ok()) return FailWithStatus(reply.status());
  if (reply->status.error != 0) return FailWithErrno(reply->status.error);
  *out = *reply;
  return reply->value;
}

}  // namespace

int ShmctlReply(int shmid, int core_cmd, wire::ShmCtlReply* reply) {
  if (shmid < 0 || !OneOf(core_cmd, {core::kIpcStat, core::kShmStat, core::kShmStatAny, core::kIpcInfo,
                                     core::kShmInfo})) {
    return FailWithErrno(EINVAL);
  }
  wire::ShmCtlRequest request{};
  request.id = shmid;
  request.cmd = core_cmd;
  return Ask<wire::Op::kShmCtl>(request, reply);
}

int SemctlReply(int semid, int semnum, int core_cmd, wire::SemCtlReply* reply) {
  if (semid < 0 || !OneOf(core_cmd, {core::kIpcStat, core::kSemStat, core::kSemStatAny, core::kIpcInfo,
                                     core::kSemInfo, core::kGetVal, core::kGetPid, core::kGetNcnt,
                                     core::kGetZcnt})) {
    return FailWithErrno(EINVAL);
  }
  wire::SemCtlRequest request{};
  request.id = semid;
  request.semnum = semnum;
  request.cmd = core_cmd;
  return Ask<wire::Op::kSemCtl>(request, reply);
}

int MsgctlReply(int msqid, int core_cmd, wire::MsgCtlReply* reply) {
  if (msqid < 0 || !OneOf(core_cmd, {core::kIpcStat, core::kMsgStat, core::kMsgStatAny, core::kIpcInfo,
                                     core::kMsgInfo})) {
    return FailWithErrno(EINVAL);
  }
  wire::MsgCtlRequest request{};
  request.id = msqid;
  request.cmd = core_cmd;
  return Ask<wire::Op::kMsgCtl>(request, reply);
}

}  // namespace sysv::compat

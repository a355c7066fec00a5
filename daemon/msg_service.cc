#include "daemon/msg_service.h"

#include <optional>

#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"
#include "core/ipc/ipc_perm.h"
#include "core/protocol/codec.h"
#include "daemon/log.h"

namespace sysv::daemon {
namespace {

namespace wire = core::wire;
using core::ErrnoOf;

}  // namespace

MsgService::MsgService(core::ObjectTable table, const core::NamespaceLimits& limits, core::UserQuota* quota,
                       int msg_dir_fd)
    : store_(msg_dir_fd), ids_(table, limits.msg.msgmni, quota), registry_(ids_, limits.msg, store_) {
  store_.Recover([this](int32_t index, uint32_t seq) -> std::optional<MsgStore::Layout> {
    absl::StatusOr<core::ObjectRecord> record = ids_.FindByIndex(index);
    if (!record.ok() || record->perm.seq != seq) return std::nullopt;
    return MsgStore::Layout{record->size, record->ctime};
  });
}

Reply MsgService::Get(uint32_t request_id, const wire::MsgGetRequest& request, const core::OpContext& ctx) {
  Reply reply;
  wire::MsgGetReply body{};
  absl::StatusOr<int32_t> id = registry_.Get(request.key, request.flags, ctx);
  if (id.ok()) {
    body.id = *id;
  } else {
    body.status.error = ErrnoOf(id.status());
  }
  reply.message = wire::EncodeReply<wire::Op::kMsgGet>(request_id, body);
  return reply;
}

Reply MsgService::Open(uint32_t request_id, const wire::MsgOpenRequest& request, const core::OpContext& ctx) {
  Reply reply;
  wire::MsgOpenReply body{};
  absl::StatusOr<core::ObjectRecord> record = registry_.CheckOpen(request.id, ctx);
  if (!record.ok()) {
    body.status.error = ErrnoOf(record.status());
  } else {
    absl::StatusOr<backend::UniqueFd> fd = store_.OpenForClient(core::IpcIdIndex(request.id), record->perm.seq);
    if (!fd.ok()) {
      SYSV_LOG(kError, "queue %d has no region: %s", request.id, fd.status().ToString());
      body.status.error = EIDRM;
    } else {
      body.id = request.id;
      reply.owned_fds.push_back(*std::move(fd));
    }
  }
  reply.message = wire::EncodeReply<wire::Op::kMsgOpen>(request_id, body);
  return reply;
}

Reply MsgService::Ctl(uint32_t request_id, const wire::MsgCtlRequest& request, const core::OpContext& ctx) {
  Reply reply;
  wire::MsgCtlReply body{};
  const core::MsgRegistry::SetArgs set{request.uid, request.gid, request.mode, request.qbytes};
  absl::StatusOr<core::MsgCtlResult> result = registry_.Ctl(request.id, request.cmd, set, ctx);
  if (!result.ok()) {
    body.status.error = ErrnoOf(result.status());
  } else {
    const core::MsgQueue::Stat& queue = result->stat.queue;
    body.value = result->value;
    body.perm = wire::ToWirePerm(result->stat.perm);
    body.stime = queue.stime;
    body.rtime = queue.rtime;
    body.ctime = queue.ctime;
    body.cbytes = queue.cbytes;
    body.qnum = queue.qnum;
    body.qbytes = queue.qbytes;
    body.lspid = queue.lspid;
    body.lrpid = queue.lrpid;
    const core::MsgInfo& info = result->info;
    body.msgpool = info.msgpool;
    body.msgmap = info.msgmap;
    body.msgmax = info.msgmax;
    body.msgmnb = info.msgmnb;
    body.msgmni = info.msgmni;
    body.msgssz = info.msgssz;
    body.msgtql = info.msgtql;
    body.msgseg = info.msgseg;
  }
  reply.message = wire::EncodeReply<wire::Op::kMsgCtl>(request_id, body);
  return reply;
}

void MsgService::ExitOnQueue(int32_t pid, int32_t index, uint32_t seq, core::MsgQueue& queue) {
  bool busy = false;
  queue.ProcessExited(pid, &busy);
  if (busy) {
    SYSV_LOG(kDebug, "queue %d is locked by someone else; exit work for pid %d postponed", index, pid);
    pending_exits_.Add(PendingExits::Item{index, seq, pid, 0});
  }
}

void MsgService::ProcessExited(int32_t pid) {
  store_.ForEach([&](int32_t index, uint32_t seq, core::MsgQueue& queue) {
    if (queue.Waiters() != 0) ExitOnQueue(pid, index, seq, queue);
  });
}

bool MsgService::RetryPendingExits() {
  return pending_exits_.Retry(
      [this](const PendingExits::Item& item) {
        core::MsgQueue* queue = store_.Find(item.index, item.seq);
        if (queue == nullptr) return true;  // removed: its records went with it
        bool busy = false;
        queue->ProcessExited(item.pid, &busy);
        return !busy;
      },
      kMaxBusyObjectsPerPass);
}

}  // namespace sysv::daemon

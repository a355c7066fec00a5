#include "daemon/msg_service.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"
#include "core/ipc/ipc_perm.h"
#include "core/msg/msg_checks.h"
#include "core/protocol/codec.h"
#include "core/protocol/ctl_replies.h"
#include "daemon/log.h"

namespace sysv::daemon {
namespace {

namespace wire = core::wire;
using core::ErrnoOf;

// What a queue's lock gives the daemon when it is busy (it never waits).
constexpr int kLockBusy = core::RegionPlatform::kLockBusy;

// A served call's answer: its reply body, encoded when the call ends (or a
// busy reply: nothing done, asked again later).
template <wire::Op kOp>
struct Answer {
  uint32_t request_id;
  Reply reply{};
  typename wire::OpTraits<kOp>::Reply body{};

  Reply With(int error) {
    body.status.error = error;
    reply.message = wire::EncodeReply<kOp>(request_id, body);
    return std::move(reply);
  }
  Reply Busy() {
    reply.busy = true;
    return std::move(reply);
  }
};

// A received message into the reply: inline when it fits, else as a sealed
// file beside it (wire.h, MsgReceiveReply). False when that file cannot be
// made (the caller answers ENOMEM, as the kernel when it cannot allocate).
bool PutPayload(const std::vector<uint8_t>& payload, int64_t mtype, wire::MsgReceiveReply& body,
                std::vector<backend::UniqueFd>& fds) {
  body.mtype = mtype;
  body.size = static_cast<uint32_t>(payload.size());
  if (payload.size() <= wire::kMsgWireBytes) {
    if (!payload.empty()) std::memcpy(body.bytes, payload.data(), payload.size());
    return true;
  }
  absl::StatusOr<backend::UniqueFd> file = platform::SealedSnapshot(
      "sysvipc-msgrcv", absl::MakeConstSpan(reinterpret_cast<const unsigned char*>(payload.data()), payload.size()));
  if (!file.ok()) {
    SYSV_LOG(kWarning, "a received message's snapshot: %s", file.status().message());
    return false;
  }
  fds.push_back(*std::move(file));
  return true;
}

}  // namespace

MsgService::MsgService(core::ObjectTable table, const core::NamespaceLimits& limits, core::UserQuota* quota,
                       int msg_dir_fd, SealedObjects* sealed)
    : limits_(limits),
      held_receives_(
          [this](const HeldWaits::Wait& wait) {
            // A message handed to it meanwhile is lost to it, as to a
            // receiver killed in its sleep.
            core::MsgQueue* queue = store_.Find(wait.index, wait.seq);
            int64_t mtype = 0;
            std::vector<uint8_t> payload;
            return queue == nullptr ||
                   queue->FinishReceive(wait.record, wait.pid, /*interrupted=*/true, 0, &mtype, &payload) != -kLockBusy;
          },
          [](int32_t pid, int32_t tid) { return platform::IsThreadOf(pid, tid); }),
      store_(msg_dir_fd, sealed),
      ids_(table, limits.msg.msgmni, quota), registry_(ids_, limits.msg, store_) {}

void MsgService::Recover() {
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
    // The region as far as the permission lets its holder act on it
    // (DESIGN.md, trust model rule 2): a writable mapping can receive and
    // send anything, so only a reader and writer gets one; a reader may
    // see every message (msgrcv, MSG_COPY) and gets it read-only; a writer
    // only gets nothing to read.
    const bool may_read = core::HasIpcPermission(record->perm, ctx.creds, core::kAccessRead);
    const bool may_write = core::HasIpcPermission(record->perm, ctx.creds, core::kAccessWrite);
    body.id = request.id;
    body.access = may_read && may_write ? wire::kMsgAccessReadWrite
                  : may_read            ? wire::kMsgAccessReadOnly
                                        : wire::kMsgAccessWriteOnly;
    if (may_read) {
      absl::StatusOr<backend::UniqueFd> fd =
          store_.OpenForClient(core::IpcIdIndex(request.id), record->perm.seq, /*writable=*/may_write);
      if (!fd.ok()) {
        SYSV_LOG(kError, "queue %d has no region: %s", request.id, fd.status().ToString());
        body.status.error = EIDRM;
      } else {
        reply.owned_fds.push_back(*std::move(fd));
      }
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
    body = wire::MsgCtlReplyOf(*result);
  }
  reply.message = wire::EncodeReply<wire::Op::kMsgCtl>(request_id, body);
  return reply;
}

Reply MsgService::SendPart(uint32_t request_id, const wire::MsgSendPartRequest& request, const core::OpContext& ctx) {
  Answer<wire::Op::kMsgSendPart> answer{request_id};
  const uint64_t end = uint64_t{request.offset} + request.length;
  std::vector<uint8_t>& staged = staged_[ctx.creds.pid];
  if (request.offset == 0) staged.clear();
  // Parts come in order and make at most one message of MSGMAX bytes.
  if (request.length > wire::kMsgWireBytes || request.offset != staged.size() ||
      end > static_cast<uint64_t>(std::max(limits_.msg.msgmax, 0))) {
    staged.clear();
    return answer.With(EINVAL);
  }
  staged.insert(staged.end(), request.bytes, request.bytes + request.length);
  return answer.With(0);
}

Reply MsgService::Send(uint32_t request_id, const wire::MsgSendRequest& request, const core::OpContext& ctx) {
  Answer<wire::Op::kMsgSend> answer{request_id};
  // do_msgsnd()'s checks in its order: the arguments (EINVAL), the lookup
  // (EINVAL), ipcperms() for writing (EACCES).
  const uint64_t msgmax = static_cast<uint64_t>(std::max(limits_.msg.msgmax, 0));
  if (absl::Status args = core::CheckMsgsndArgs(request.id, request.size, request.mtype, msgmax); !args.ok()) {
    return answer.With(ErrnoOf(args));
  }
  absl::StatusOr<core::ObjectRecord> record =
      core::CheckMsgAccess(ids_.table(), request.id, core::kAccessWrite, ctx.creds);
  if (!record.ok()) return answer.With(ErrnoOf(record.status()));
  // The text: `staged` bytes from kMsgSendPart, the rest inline.
  const auto it = staged_.find(ctx.creds.pid);
  const size_t have = it == staged_.end() ? 0 : it->second.size();
  if (request.staged > request.size || request.staged != std::min<size_t>(request.staged, have) ||
      request.size - request.staged > wire::kMsgWireBytes) {
    return answer.With(EINVAL);
  }
  std::vector<uint8_t> payload;
  payload.reserve(request.size);
  if (request.staged > 0) payload.assign(it->second.begin(), it->second.begin() + request.staged);
  payload.insert(payload.end(), request.bytes, request.bytes + (request.size - request.staged));
  core::MsgQueue* queue = store_.Find(core::IpcIdIndex(request.id), record->perm.seq);
  if (queue == nullptr) return answer.With(EIDRM);
  // Never waits: a full queue is EAGAIN, which the caller waits out itself
  // unless it gave IPC_NOWAIT.
  const int result = queue->Send(request.mtype, payload, request.msgflg | core::kIpcNowait, ctx.creds.pid, 0);
  if (result == kLockBusy) {
    return answer.Busy();
  }
  return answer.With(result);
}

Reply MsgService::Receive(uint32_t request_id, const wire::MsgReceiveRequest& request, const core::OpContext& ctx) {
  Answer<wire::Op::kMsgReceive> answer{request_id};
  // do_msgrcv()'s checks in its order.
  if (absl::Status args = core::CheckMsgrcvArgs(request.id, request.bufsz, request.msgflg); !args.ok()) {
    return answer.With(ErrnoOf(args));
  }
  absl::StatusOr<core::ObjectRecord> record =
      core::CheckMsgAccess(ids_.table(), request.id, core::kAccessRead, ctx.creds);
  if (!record.ok()) return answer.With(ErrnoOf(record.status()));
  const int32_t index = core::IpcIdIndex(request.id);
  const uint32_t seq = record->perm.seq;
  core::MsgQueue* queue = store_.Find(index, seq);
  if (queue == nullptr) return answer.With(EIDRM);
  const bool may_wait = (request.msgflg & core::kIpcNowait) == 0;
  if (may_wait) {
    if (!platform::IsThreadOf(ctx.creds.pid, request.tid)) return answer.With(EINVAL);
    if (!held_receives_.EndThreadWait(ctx.creds.pid, request.tid)) {
      return answer.Busy();  // the thread's earlier wait first: asked again later
    }
    if (!held_receives_.MayHold(ctx.creds.uid, index, seq, limits_.user.waits)) return answer.With(ENOMEM);
  }
  int64_t mtype = 0;
  std::vector<uint8_t> payload;
  uint32_t queued = core::kMsgNoBlock;
  const int64_t result = queue->Receive(request.msgtyp, request.msgflg, request.bufsz,
                                        static_cast<uint64_t>(std::max(limits_.msg.msgmax, 0)), ctx.creds.pid, 0,
                                        &mtype, &payload, &queued);
  if (result == -kLockBusy) {
    return answer.Busy();
  }
  if (result == core::kMsgQueued) {
    held_receives_.Add(HeldWaits::Wait{ctx.creds.pid, request.tid, ctx.creds.uid, index, seq, queued});
    answer.body.queued = 1;
    answer.body.index = queued;
    answer.body.status_offset = static_cast<uint32_t>(core::MsgQueue::ReceiverStatusOffset(queued));
    return answer.With(0);
  }
  if (result < 0) return answer.With(static_cast<int>(-result));
  return answer.With(PutPayload(payload, mtype, answer.body, answer.reply.owned_fds) ? 0 : ENOMEM);
}

Reply MsgService::ReceiveEnd(uint32_t request_id, const wire::MsgReceiveEndRequest& request,
                             const core::OpContext& ctx) {
  Answer<wire::Op::kMsgReceiveEnd> answer{request_id};
  const int32_t index = core::IpcIdIndex(request.id);
  auto forget = [&] { held_receives_.Forget(ctx.creds.pid, index, request.index); };
  absl::StatusOr<core::ObjectRecord> record = core::FindMsgQueue(ids_.table(), request.id);
  core::MsgQueue* queue = record.ok() ? store_.Find(index, record->perm.seq) : nullptr;
  if (queue == nullptr) {
    forget();
    return answer.With(EIDRM);  // removed meanwhile: its waiters were woken with EIDRM
  }
  int64_t mtype = 0;
  std::vector<uint8_t> payload;
  const int64_t result =
      queue->FinishReceive(request.index, ctx.creds.pid, request.reason == EINTR, request.bufsz, &mtype, &payload);
  if (result == -kLockBusy) {
    return answer.Busy();
  }
  forget();
  if (result == core::kMsgRecheck) {
    answer.body.recheck = 1;
    return answer.With(0);
  }
  if (result < 0) return answer.With(static_cast<int>(-result));
  return answer.With(PutPayload(payload, mtype, answer.body, answer.reply.owned_fds) ? 0 : ENOMEM);
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
  // Its served waits' records go with the exit work below.
  held_receives_.ForgetProcess(pid);
  staged_.erase(pid);
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

#include "core/msg/msg_registry.h"

#include <algorithm>
#include <cerrno>
#include <climits>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/table_limits.h"

namespace sysv::core {

MsgRegistry::MsgRegistry(IpcRegistry& ids, const MsgLimits& limits, Backing& backing)
    : ids_(ids), limits_(limits), backing_(backing) {}

absl::StatusOr<int32_t> MsgRegistry::Get(Key key, int flags, const OpContext& ctx) {
  IpcRegistry::GetHooks hooks;
  // newque()
  hooks.create = [&](int32_t index, uint32_t seq, ObjectRecord& record) -> absl::Status {
    record.size = static_cast<uint64_t>(limits_.msgmnb);
    return backing_.Create(index, seq, static_cast<uint64_t>(limits_.msgmnb), record.ctime);
  };
  return ids_.Get(key, flags, ctx, hooks);
}

MsgCtlResult MsgInfoOf(int cmd, const MsgLimits& limits, int32_t max_index, int32_t in_use, uint64_t messages,
                       uint64_t bytes) {
  // msgctl_info()
  MsgCtlResult result;
  MsgInfo& info = result.info;
  info.msgmni = limits.msgmni;
  info.msgmax = limits.msgmax;
  info.msgmnb = limits.msgmnb;
  info.msgssz = kMsgSsz;
  info.msgseg = kMsgSeg;
  if (cmd == kMsgInfo) {
    info.msgpool = in_use;
    info.msgmap = static_cast<int32_t>(std::min<uint64_t>(messages, INT_MAX));
    info.msgtql = static_cast<int32_t>(std::min<uint64_t>(bytes, INT_MAX));
  } else {
    info.msgmap = kMsgMap;
    info.msgpool = kMsgPool;
    info.msgtql = kMsgTql;
  }
  result.value = std::max(max_index, 0);
  return result;
}

std::optional<MsgCtlResult> LocalMsgInfo(const ObjectTable* table, int cmd) {
  if (cmd != kIpcInfo) return std::nullopt;
  const std::optional<TableInfo> info = table != nullptr ? table->ReadInfo() : std::nullopt;
  if (!info) return std::nullopt;
  return MsgInfoOf(cmd, UnpackMsgLimits(info->limits), info->max_index, 0, 0, 0);
}

absl::StatusOr<MsgCtlResult> MsgRegistry::Ctl(int32_t id, int cmd, const SetArgs& set, const OpContext& ctx) {
  // ksys_msgctl(): "if (msqid < 0 || cmd < 0) return -EINVAL;"
  if (id < 0 || cmd < 0) return ErrnoStatus(EINVAL, "negative msqid or command");
  MsgCtlResult result;
  switch (cmd) {
    case kIpcInfo:
    case kMsgInfo: {
      uint64_t messages = 0;
      uint64_t bytes = 0;
      if (cmd == kMsgInfo) backing_.Totals(&messages, &bytes);
      return MsgInfoOf(cmd, limits_, ids_.max_index_in_use(), ids_.in_use(), messages, bytes);
    }
    case kIpcStat:
    case kMsgStat:
    case kMsgStatAny: {
      // msgctl_stat()
      const IpcRegistry::StatLookup lookup = IpcRegistry::StatLookupFor(cmd, kMsgStat);
      absl::StatusOr<ObjectRecord> record = ids_.FindForStat(id, lookup, ctx.creds, &result.value);
      if (!record.ok()) return record.status();
      result.stat.perm = record->perm;
      result.stat.queue = backing_.StatOf(IpcIdIndex(id), record->perm.seq);
      return result;
    }
    case kIpcSet:
    case kIpcRmid: {
      // msgctl_down() via ipcctl_obtain_check()
      absl::StatusOr<ObjectRecord> record = ids_.FindForChange(id, ctx.creds, "a queue");
      if (!record.ok()) return record.status();
      const int32_t index = IpcIdIndex(id);
      if (cmd == kIpcRmid) {
        backing_.Destroy(index, record->perm.seq);
        ids_.Remove(index);
        return result;
      }
      // capable(CAP_SYS_RESOURCE) is asked of the initial user namespace:
      // root in any other one does not have it.
      const bool may_exceed = ctx.creds.cap_sys_resource && ctx.creds.uid_map.empty();
      if (set.qbytes > static_cast<uint64_t>(limits_.msgmnb) && !may_exceed) {
        return ErrnoStatus(EPERM, "msg_qbytes above MSGMNB needs CAP_SYS_RESOURCE");
      }
      if (absl::Status status = CheckIpcSetIds(ctx.creds, set.uid, set.gid); !status.ok()) return status;
      if (absl::Status status = ids_.CheckGrowth(*record, set.qbytes); !status.ok()) return status;
      if (absl::Status status = backing_.SetQbytes(index, record->perm.seq, set.qbytes, ctx.now_seconds());
          !status.ok()) {
        return status;
      }
      UpdateIpcPerm(record->perm, set.uid, set.gid, set.mode);
      record->size = set.qbytes;
      ids_.Update(index, *record);
      return result;
    }
    default:
      return ErrnoStatus(EINVAL, absl::StrFormat("msgctl command %d is not known", cmd));
  }
}

absl::StatusOr<ObjectRecord> MsgRegistry::CheckOpen(int32_t id, const OpContext& ctx) const {
  if (id < 0) return ErrnoStatus(EINVAL, "negative msqid");
  absl::StatusOr<ObjectRecord> record = ids_.FindById(id);
  if (!record.ok()) return record.status();
  if (!HasIpcPermission(record->perm, ctx.creds, kAccessRead) &&
      !HasIpcPermission(record->perm, ctx.creds, kAccessWrite)) {
    return ErrnoStatus(EACCES, "no permission on the queue");
  }
  return record;
}

}  // namespace sysv::core

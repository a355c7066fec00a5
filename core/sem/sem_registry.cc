#include "core/sem/sem_registry.h"

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/table_limits.h"

namespace sysv::core {

SemRegistry::SemRegistry(IpcRegistry& ids, const SemLimits& limits, Backing& backing)
    : ids_(ids), limits_(limits), backing_(backing) {}

absl::Status CheckSemgetNsems(int32_t nsems, int32_t semmsl) {
  // ksys_semget()
  if (nsems < 0 || nsems > semmsl) {
    return ErrnoStatus(EINVAL, absl::StrFormat("nsems %d is outside [0, SEMMSL]", nsems));
  }
  return absl::OkStatus();
}

absl::Status SemMoreChecks(const ObjectRecord& record, int32_t nsems) {
  // sem_more_checks()
  if (static_cast<uint64_t>(nsems) > record.size) {
    return ErrnoStatus(EINVAL, absl::StrFormat("the set has %u semaphores, %d requested", record.size, nsems));
  }
  return absl::OkStatus();
}

SemCtlResult SemInfoOf(int cmd, const SemLimits& limits, int32_t max_index, int32_t in_use, uint64_t used_sems) {
  // semctl_info()
  SemCtlResult result;
  SemInfo& info = result.info;
  info.semmni = limits.semmni;
  info.semmns = limits.semmns;
  info.semmsl = limits.semmsl;
  info.semopm = limits.semopm;
  info.semvmx = kSemVmx;
  info.semmnu = kSemMnu;
  info.semmap = kSemMap;
  info.semume = kSemUme;
  if (cmd == kSemInfo) {
    info.semusz = in_use;
    info.semaem = static_cast<int32_t>(used_sems);
  } else {
    info.semusz = kSemUsz;
    info.semaem = kSemAem;
  }
  result.value = std::max(max_index, 0);
  return result;
}

std::optional<SemCtlResult> LocalSemInfo(const ObjectTable* table, int cmd) {
  if (cmd != kIpcInfo && cmd != kSemInfo) return std::nullopt;
  const std::optional<TableInfo> info = table != nullptr ? table->ReadInfo() : std::nullopt;
  if (!info) return std::nullopt;
  return SemInfoOf(cmd, UnpackSemLimits(info->limits), info->max_index, info->in_use, info->units);
}

absl::StatusOr<int32_t> SemRegistry::Get(Key key, int32_t nsems, int flags, const OpContext& ctx) {
  if (absl::Status status = CheckSemgetNsems(nsems, limits_.semmsl); !status.ok()) return status;
  IpcRegistry::GetHooks hooks;
  // newary()
  hooks.check_new = [&]() -> absl::Status {
    if (nsems == 0) return ErrnoStatus(EINVAL, "a new set needs at least one semaphore");
    if (static_cast<int64_t>(ids_.total_size()) + nsems > limits_.semmns) return ErrnoStatus(ENOSPC, "SEMMNS semaphores are in use");
    return absl::OkStatus();
  };
  hooks.create = [&](int32_t index, uint32_t seq, ObjectRecord& record) -> absl::Status {
    record.size = static_cast<uint64_t>(nsems);
    if (absl::Status status = backing_.Create(index, seq, nsems, record.ctime); !status.ok()) {
      return status;
    }
    return absl::OkStatus();
  };
  hooks.more_checks = [&](const ObjectRecord& record) { return SemMoreChecks(record, nsems); };
  // A new set charges its creator's quota for its region (core/ipc/
  // user_quota.h: the quota turns nsems into bytes).
  OpContext charged = ctx;
  charged.new_object_bytes = static_cast<uint64_t>(nsems);
  return ids_.Get(key, flags, charged, hooks);
}

absl::StatusOr<SemCtlResult> SemRegistry::Ctl(int32_t id, int cmd, const SetArgs& set,
                                              const OpContext& ctx) {
  // ksys_semctl(): "if (semid < 0) return -EINVAL;"
  if (id < 0) return ErrnoStatus(EINVAL, "negative semid");
  SemCtlResult result;
  switch (cmd) {
    case kIpcInfo:
    case kSemInfo:
      return SemInfoOf(cmd, limits_, ids_.max_index_in_use(), ids_.in_use(), ids_.total_size());
    case kIpcStat:
    case kSemStat:
    case kSemStatAny: {
      // semctl_stat()
      const IpcRegistry::StatLookup lookup = IpcRegistry::StatLookupFor(cmd, kSemStat);
      absl::StatusOr<ObjectRecord> record = ids_.FindForStat(id, lookup, ctx.creds, &result.value);
      if (!record.ok()) return record.status();
      const Backing::Times times = backing_.TimesOf(IpcIdIndex(id), record->perm.seq);
      result.stat.perm = record->perm;
      result.stat.otime = times.otime;
      result.stat.ctime = times.ctime;
      result.stat.nsems = record->size;
      return result;
    }
    case kIpcSet:
    case kIpcRmid: {
      // semctl_down() via ipcctl_obtain_check()
      absl::StatusOr<ObjectRecord> record = ids_.FindForChange(id, ctx.creds, "a set");
      if (!record.ok()) return record.status();
      const int32_t index = IpcIdIndex(id);
      if (cmd == kIpcRmid) {
        // freeary()
        backing_.Destroy(index, record->perm.seq);
        ids_.Remove(index);
        return result;
      }
      if (absl::Status status = CheckIpcSetIds(ctx.creds, set.uid, set.gid); !status.ok()) return status;
      UpdateIpcPerm(record->perm, set.uid, set.gid, set.mode);
      ids_.Update(index, *record);
      backing_.SetCtime(index, record->perm.seq, ctx.now_seconds());
      return result;
    }
    default:
      return ErrnoStatus(EINVAL, absl::StrFormat("semctl command %d is not served by the daemon", cmd));
  }
}

absl::StatusOr<SemRegistry::Access> SemRegistry::CheckOpen(int32_t id, const OpContext& ctx) const {
  if (id < 0) return ErrnoStatus(EINVAL, "negative semid");
  absl::StatusOr<ObjectRecord> record = ids_.FindById(id);
  if (!record.ok()) return record.status();
  Access access;
  access.record = *record;
  access.may_alter = HasIpcPermission(record->perm, ctx.creds, kAccessWrite);
  if (!access.may_alter && !HasIpcPermission(record->perm, ctx.creds, kAccessRead)) {
    return ErrnoStatus(EACCES, "no permission on the set");
  }
  return access;
}

}  // namespace sysv::core

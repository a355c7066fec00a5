#include "core/shm/shm_registry.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/table_limits.h"

namespace sysv::core {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

int AttachAccess(int shmflg) {
  int access = kAccessRead;
  if (!(shmflg & kShmRdonly)) access |= kAccessWrite;
  if (shmflg & kShmExec) access |= 0100;  // S_IXUGO's owner bit
  return access;
}

}  // namespace

absl::Status ShmMoreChecks(const ObjectRecord& record, uint64_t size) {
  if (record.size < size) {
    return ErrnoStatus(EINVAL, absl::StrFormat("segment is %u bytes, %u requested", record.size, size));
  }
  return absl::OkStatus();
}

ShmRegistry::ShmRegistry(IpcRegistry& ids, const ShmLimits& limits, Backing& backing,
                         Census& census)
    : ids_(ids), limits_(limits), backing_(backing), census_(census) {
  ids_.ForEachLive([&](int32_t index, const ObjectRecord& record) {
    total_pages_ += record.aux0;
    if (record.perm.mode & kShmDest) removed_.insert(index);
  });
}

uint64_t ShmRegistry::PagesFor(uint64_t bytes) {
  return bytes / kPageSize + (bytes % kPageSize != 0 ? 1 : 0);
}

uint64_t ShmRegistry::MappingAlignment(const ObjectRecord& record) {
  return record.aux1 != 0 ? record.aux1 : kPageSize;
}

uint64_t ShmRegistry::RegionBytes(const ObjectRecord& record) {
  const uint64_t unit = MappingAlignment(record);
  return (record.size + unit - 1) / unit * unit;
}

absl::StatusOr<int32_t> ShmRegistry::Get(Key key, uint64_t size, int flags,
                                         const OpContext& ctx) {
  SweepRemoved();
  const uint64_t pages = PagesFor(size);
  uint64_t huge_page_size = 0;
  IpcRegistry::GetHooks hooks;
  // newseg()
  hooks.check_new = [&]() -> absl::Status {
    if (size < limits_.shmmin || size > limits_.shmmax) {
      return ErrnoStatus(EINVAL, absl::StrFormat("segment size %u is outside [SHMMIN, SHMMAX]", size));
    }
    if (pages > UINT64_MAX / kPageSize) return ErrnoStatus(ENOSPC, "segment size overflows");
    if (total_pages_ + pages < total_pages_ || total_pages_ + pages > limits_.shmall) {
      return ErrnoStatus(ENOSPC, "SHMALL pages are in use");
    }
    if (flags & kShmHugetlb) {
      // newseg() -> hugetlb_file_setup()
      const int size_log = (flags >> kShmHugeShift) & kShmHugeMask;
      std::optional<Backing::HugePages> huge = backing_.HugePagesOf(size_log);
      if (!huge || huge->page_size == 0) {
        return ErrnoStatus(EINVAL, absl::StrFormat("no huge pages of size 2^%d", size_log));
      }
      if (!ctx.creds.cap_ipc_lock && !ctx.creds.InGroup(backing_.HugetlbShmGroup())) {
        return ErrnoStatus(EPERM, "SHM_HUGETLB needs CAP_IPC_LOCK or vm.hugetlb_shm_group");
      }
      huge_page_size = huge->page_size;
      const uint64_t huge_pages = (size + huge_page_size - 1) / huge_page_size;
      // Without SHM_NORESERVE the huge pages are reserved up front.
      if (!(flags & kShmNoreserve) && huge_pages > huge->free_pages) {
        return ErrnoStatus(ENOMEM, "not enough free huge pages");
      }
    }
    return absl::OkStatus();
  };
  hooks.create = [&](int32_t index, uint32_t seq, ObjectRecord& record) -> absl::Status {
    record.size = size;
    record.aux0 = pages;
    record.aux1 = huge_page_size;
    if (absl::Status status = backing_.Create(index, seq, RegionBytes(record)); !status.ok()) {
      return status;
    }
    total_pages_ += pages;
    return absl::OkStatus();
  };
  hooks.more_checks = [&](const ObjectRecord& record) { return ShmMoreChecks(record, size); };
  return ids_.Get(key, flags, ctx, hooks);
}

absl::StatusOr<ShmCtlResult> ShmRegistry::Ctl(int32_t id, int cmd, const ShmSetArgs& set,
                                              uint64_t memlock_limit, const OpContext& ctx) {
  // ksys_shmctl(): "if (cmd < 0 || shmid < 0) return -EINVAL;"
  if (cmd < 0 || id < 0) return ErrnoStatus(EINVAL, "negative shmid or command");
  SweepRemoved();
  ShmCtlResult result;
  switch (cmd) {
    case kIpcInfo:
      return ShmIpcInfoOf(limits_, ids_.max_index_in_use());
    case kShmInfo:
      result.value = std::max(ids_.max_index_in_use(), 0);
      result.usage.used_ids = ids_.in_use();
      result.usage.shm_tot = total_pages_;
      ids_.ForEachLive([&](int32_t index, const ObjectRecord& record) {
        result.usage.shm_rss += backing_.ResidentPages(index, record.perm.seq);
      });
      return result;
    case kIpcStat:
    case kShmStat:
    case kShmStatAny:
      return Stat(id, cmd, ctx);
    case kIpcSet:
    case kIpcRmid: {
      // shmctl_down() via ipcctl_obtain_check()
      absl::StatusOr<ObjectRecord> record = ids_.FindForChange(id, ctx.creds, "a segment");
      if (!record.ok()) return record.status();
      const int32_t index = IpcIdIndex(id);
      if (cmd == kIpcSet) {
        if (absl::Status status = CheckIpcSetIds(ctx.creds, set.uid, set.gid); !status.ok()) return status;
        UpdateIpcPerm(record->perm, set.uid, set.gid, set.mode);
        record->ctime = ctx.now_seconds();
        ids_.Update(index, *record);
        return result;
      }
      // do_shm_rmid(): mark, forget the key, and destroy now if unattached.
      record->perm.mode |= kShmDest;
      ids_.Update(index, *record);
      ids_.DropKey(index);
      removed_.insert(index);
      DestroyIfUnattached(index);
      return result;
    }
    case kShmLock:
    case kShmUnlock: {
      // shmctl_do_lock()
      absl::StatusOr<ObjectRecord> record = ids_.FindById(id);
      if (!record.ok()) return record.status();
      if (!ctx.creds.cap_ipc_lock) {
        if (ctx.creds.uid != record->perm.uid && ctx.creds.uid != record->perm.cuid) {
          return ErrnoStatus(EPERM, "only the owner or creator may lock a segment");
        }
        if (cmd == kShmLock && memlock_limit == 0) {
          return ErrnoStatus(EPERM, "RLIMIT_MEMLOCK is 0");
        }
      }
      // Huge page segments are always resident: locking changes nothing.
      if (record->aux1 != 0) return result;
      if (cmd == kShmLock) {
        // shmem_lock() -> user_shm_lock(), for a segment not yet locked: it
        // must fit in RLIMIT_MEMLOCK. (Linux also counts the user's other
        // locked segments; libsysv does not.)
        if (!(record->perm.mode & kShmLocked) && !ctx.creds.cap_ipc_lock &&
            memlock_limit != UINT64_MAX && record->aux0 * kPageSize > memlock_limit) {
          return ErrnoStatus(ENOMEM, "segment exceeds RLIMIT_MEMLOCK");
        }
        record->perm.mode |= kShmLocked;
      } else {
        record->perm.mode &= ~kShmLocked;
      }
      ids_.Update(IpcIdIndex(id), *record);
      return result;
    }
    default:
      return ErrnoStatus(EINVAL, absl::StrFormat("unknown shmctl command %d", cmd));
  }
}

ShmCtlResult ShmIpcInfoOf(const ShmLimits& limits, int32_t max_index) {
  ShmCtlResult result;
  result.value = std::max(max_index, 0);
  // shmctl_ipc_info(): "shminfo->shmmni = shminfo->shmseg = ns->shm_ctlmni".
  result.ipc_info = {limits.shmmax, limits.shmmin, static_cast<uint64_t>(limits.shmmni),
                     static_cast<uint64_t>(limits.shmmni), limits.shmall};
  return result;
}

std::optional<ShmCtlResult> LocalShmInfo(const ObjectTable* table, int cmd) {
  if (cmd != kIpcInfo) return std::nullopt;
  const std::optional<TableInfo> info = table != nullptr ? table->ReadInfo() : std::nullopt;
  if (!info) return std::nullopt;
  return ShmIpcInfoOf(UnpackShmLimits(info->limits), info->max_index);
}

absl::StatusOr<ShmCtlResult> ShmRegistry::Stat(int32_t id, int cmd, const OpContext& ctx) {
  ShmCtlResult result;
  // SHM_STAT takes an index: shm_obtain_object() -> ipc_obtain_object_idr().
  const IpcRegistry::StatLookup lookup = IpcRegistry::StatLookupFor(cmd, kShmStat);
  absl::StatusOr<ObjectRecord> record = ids_.FindForStat(id, lookup, ctx.creds, &result.value);
  if (!record.ok()) return record.status();
  result.stat = ShmStatOf(*record, census_.Count(IpcIdIndex(id), record->perm.seq));
  return result;
}

absl::StatusOr<ObjectRecord> ShmRegistry::CheckAttach(int32_t id, int shmflg,
                                                      const OpContext& ctx) const {
  if (id < 0) return ErrnoStatus(EINVAL, "negative shmid");
  absl::StatusOr<ObjectRecord> record = ids_.FindById(id);
  if (!record.ok()) return record.status();
  if (!HasIpcPermission(record->perm, ctx.creds, AttachAccess(shmflg))) {
    return ErrnoStatus(EACCES, "no permission to attach the segment");
  }
  return record;
}

void ShmRegistry::AbsorbLedger(const AttachLedger& ledger, const ShmGrants& grants, int32_t pid,
                               int64_t now_ns) {
  ledger.ForEachUsed([&](int32_t index, uint32_t seq, const LedgerSummary& summary) {
    if (!grants.Holds(index, seq)) return;
    absl::StatusOr<ObjectRecord> record = ids_.FindByIndex(index);
    if (!record.ok() || record->perm.seq != seq) return;
    int64_t attach_ns = summary.last_attach_ns;
    int64_t detach_ns = summary.last_detach_ns;
    // Attachments still held are detached now, by this process's exit.
    if (summary.nattch > 0) detach_ns = now_ns;
    record->atime = std::max(record->atime, attach_ns / kNanosPerSecond);
    record->dtime = std::max(record->dtime, detach_ns / kNanosPerSecond);
    const int64_t latest = std::max(attach_ns, detach_ns);
    if (latest > record->last_op_ns) {
      record->last_op_ns = latest;
      record->lpid = pid;
    }
    ids_.Update(index, *record);
  });
  SweepRemoved();
}

void ShmRegistry::PublishHolder(int32_t index) {
  absl::StatusOr<ObjectRecord> record = ids_.FindByIndex(index);
  if (!record.ok()) return;
  const int32_t holder = census_.HolderOf(index);
  if (record->holder == holder) return;
  record->holder = holder;
  ids_.Update(index, *record);
}

void ShmRegistry::SweepRemoved() {
  // Copy first: DestroyIfUnattached() erases from the set.
  std::vector<int32_t> removed(removed_.begin(), removed_.end());
  for (int32_t index : removed) DestroyIfUnattached(index);
}

void ShmRegistry::DestroyIfUnattached(int32_t index) {
  absl::StatusOr<ObjectRecord> record = ids_.FindByIndex(index);
  if (!record.ok() || !(record->perm.mode & kShmDest)) {
    removed_.erase(index);
    return;
  }
  // See LEDGER_BARRIER_ATTACH: announce the verdict is pending, then count.
  record->state = EntryState::kDying;
  ids_.Update(index, *record);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (census_.Count(index, record->perm.seq).nattch > 0) {
    record->state = EntryState::kLive;
    ids_.Update(index, *record);
    return;
  }
  total_pages_ -= std::min(total_pages_, record->aux0);
  backing_.Destroy(index, record->perm.seq);
  census_.Forget(index, record->perm.seq);
  ids_.Remove(index);
  removed_.erase(index);
}

absl::StatusOr<FastAttachVerdict> CheckFastAttach(const ObjectTable& table, int32_t id,
                                                  int shmflg, const Credentials& creds) {
  if (id < 0) return ErrnoStatus(EINVAL, "negative shmid");
  absl::StatusOr<ObjectRecord> record = table.Read(IpcIdIndex(id));
  if (!record.ok()) {
    if (ErrnoOf(record.status()) == EAGAIN) return FastAttachVerdict::kAskDaemon;
    return ErrnoStatus(EINVAL, absl::StrFormat("no segment has id %d", id));
  }
  if (record->state == EntryState::kFree || record->perm.seq != IpcIdSeq(id)) {
    return ErrnoStatus(EINVAL, absl::StrFormat("no segment has id %d", id));
  }
  // A removed segment may already have lost its last attachment, in which
  // case the kernel would have destroyed it: only the daemon can tell.
  if (record->state == EntryState::kDying || (record->perm.mode & kShmDest)) {
    return FastAttachVerdict::kAskDaemon;
  }
  if (!HasIpcPermission(record->perm, creds, AttachAccess(shmflg))) {
    return ErrnoStatus(EACCES, "no permission to attach the segment");
  }
  return FastAttachVerdict::kAttach;
}

}  // namespace sysv::core

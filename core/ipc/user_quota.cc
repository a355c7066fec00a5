#include "core/ipc/user_quota.h"

#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"

namespace sysv::core {

uint64_t UserQuota::BytesOf(IpcKind kind, const ObjectRecord& record) const {
  // shm: shm_segsz; msg: msg_qbytes; sem: the region of sem_nsems.
  return kind == IpcKind::kSem ? BytesOfNew(kind, record.size) : record.size;
}

uint64_t UserQuota::BytesOfNew(IpcKind kind, uint64_t requested) const {
  switch (kind) {
    case IpcKind::kShm:
      return requested;
    case IpcKind::kMsg:
      return static_cast<uint64_t>(msgmnb_);
    case IpcKind::kSem:
      return sem_region_bytes_ != nullptr ? sem_region_bytes_(requested) : 0;
  }
  return 0;
}

bool UserQuota::BytesFit(const Usage& usage, uint64_t bytes) const {
  if (limits_.bytes == 0) return true;
  return usage.bytes + bytes >= usage.bytes && usage.bytes + bytes <= limits_.bytes;
}

absl::Status UserQuota::CheckNew(uint32_t uid, uint64_t bytes) const {
  const Usage usage = UsageOf(uid);
  if (limits_.objects != 0 && usage.objects >= static_cast<int64_t>(limits_.objects)) {
    return ErrnoStatus(ENOSPC, absl::StrFormat("uid %u holds %d objects, its quota (user_objects)", uid,
                                               usage.objects));
  }
  if (!BytesFit(usage, bytes)) {
    return ErrnoStatus(ENOSPC, absl::StrFormat("uid %u holds %u bytes; %u more exceed its quota (user_bytes=%u)",
                                               uid, usage.bytes, bytes, limits_.bytes));
  }
  return absl::OkStatus();
}

absl::Status UserQuota::CheckGrowth(uint32_t uid, uint64_t bytes) const {
  const Usage usage = UsageOf(uid);
  if (!BytesFit(usage, bytes)) {
    return ErrnoStatus(EPERM, absl::StrFormat("uid %u holds %u bytes; %u more exceed its quota (user_bytes=%u)",
                                              uid, usage.bytes, bytes, limits_.bytes));
  }
  return absl::OkStatus();
}

void UserQuota::Charge(IpcKind kind, const ObjectRecord& record) {
  Usage& usage = usage_[record.perm.cuid];
  usage.objects += 1;
  usage.bytes += BytesOf(kind, record);
}

void UserQuota::Release(IpcKind kind, const ObjectRecord& record) {
  auto it = usage_.find(record.perm.cuid);
  if (it == usage_.end()) return;  // never charged: nothing to give back
  Usage& usage = it->second;
  const uint64_t bytes = BytesOf(kind, record);
  usage.objects = usage.objects > 0 ? usage.objects - 1 : 0;
  usage.bytes = usage.bytes >= bytes ? usage.bytes - bytes : 0;
  if (usage.objects == 0 && usage.bytes == 0) usage_.erase(it);
}

absl::Status UserQuota::ChargeStorage(uint32_t uid, uint64_t bytes, bool even_over) {
  Usage& usage = usage_[uid];
  if (!even_over && !BytesFit(usage, bytes)) {
    const Usage held = usage;
    if (held.objects == 0 && held.bytes == 0) usage_.erase(uid);
    return ErrnoStatus(ENOMEM, absl::StrFormat("uid %u holds %u bytes; a ledger's %u more exceed its quota "
                                               "(user_bytes=%u)", uid, held.bytes, bytes, limits_.bytes));
  }
  usage.bytes += bytes;
  return absl::OkStatus();
}

void UserQuota::ReleaseStorage(uint32_t uid, uint64_t bytes) {
  auto it = usage_.find(uid);
  if (it == usage_.end()) return;
  Usage& usage = it->second;
  usage.bytes = usage.bytes >= bytes ? usage.bytes - bytes : 0;
  if (usage.objects == 0 && usage.bytes == 0) usage_.erase(it);
}

UserQuota::Usage UserQuota::UsageOf(uint32_t uid) const {
  auto it = usage_.find(uid);
  return it == usage_.end() ? Usage{} : it->second;
}

}  // namespace sysv::core

#include "core/sem/sem_checks.h"

#include <cerrno>

#include "absl/container/flat_hash_set.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_perm.h"
#include "core/sem/sem_registry.h"

namespace sysv::core {

absl::Status CheckSemopCount(size_t nsops, uint32_t semopm) {
  if (nsops > semopm) return ErrnoStatus(E2BIG, "more operations than SEMOPM");
  if (nsops < 1) return ErrnoStatus(EINVAL, "no operation");
  return absl::OkStatus();
}

std::vector<SemOp> DistinctWaitForZero(absl::Span<const SemOp> sops) {
  std::vector<SemOp> distinct;
  absl::flat_hash_set<uint32_t> seen;  // num << 1 | nowait
  for (const SemOp& sop : sops) {
    const uint32_t key = (uint32_t{sop.num} << 1) | ((sop.flg & kIpcNowait) != 0 ? 1u : 0u);
    if (seen.insert(key).second) distinct.push_back(sop);
  }
  if (sops.size() >= 2 && distinct.size() == 1) distinct.push_back(distinct.front());
  return distinct;
}

absl::StatusOr<int64_t> SemTimeoutNanos(int64_t tv_sec, int64_t tv_nsec) {
  if (tv_sec < 0 || tv_nsec < 0 || tv_nsec >= 1'000'000'000) return ErrnoStatus(EINVAL, "invalid timeout");
  constexpr int64_t kMaxSeconds = INT64_MAX / 1'000'000'000 - 1;
  return (tv_sec > kMaxSeconds ? kMaxSeconds : tv_sec) * 1'000'000'000 + tv_nsec;
}

absl::Status CheckSetValValue(int value) {
  if (value < 0 || value > kSemVmx) return ErrnoStatus(ERANGE, "value outside [0, SEMVMX]");
  return absl::OkStatus();
}

absl::StatusOr<ObjectRecord> FindSemSet(const ObjectTable& table, int32_t id) {
  return table.ReadLive(id, "semaphore set");
}

absl::StatusOr<ObjectRecord> CheckSemop(const ObjectTable& table, int32_t id, absl::Span<const SemOp> sops,
                                        const Credentials& creds, bool* alter) {
  uint32_t max = 0;
  *alter = false;
  for (const SemOp& sop : sops) {
    if (sop.num > max) max = sop.num;
    if (sop.op != 0) *alter = true;
  }
  absl::StatusOr<ObjectRecord> record = FindSemSet(table, id);
  if (!record.ok()) return record.status();
  if (max >= record->size) return ErrnoStatus(EFBIG, "sem_num is beyond the set");
  if (!HasIpcPermission(record->perm, creds, *alter ? kAccessWrite : kAccessRead)) {
    return ErrnoStatus(EACCES, "no permission for this semop");
  }
  return record;
}

absl::StatusOr<ObjectRecord> CheckSemctl(const ObjectTable& table, int32_t id, int access,
                                         const Credentials& creds) {
  absl::StatusOr<ObjectRecord> record = FindSemSet(table, id);
  if (!record.ok()) return record.status();
  if (!HasIpcPermission(record->perm, creds, access)) {
    return ErrnoStatus(EACCES, "no permission on the set");
  }
  return record;
}

}  // namespace sysv::core

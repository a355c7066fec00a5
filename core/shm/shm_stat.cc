#include "core/shm/shm_stat.h"

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"

namespace sysv::core {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

}  // namespace

void ShmCensus::Add(int32_t pid, const LedgerSummary& summary) {
  nattch += summary.nattch;
  if (summary.last_attach_ns > last_attach_ns) {
    last_attach_ns = summary.last_attach_ns;
    last_attach_pid = pid;
  }
  if (summary.last_detach_ns > last_detach_ns) {
    last_detach_ns = summary.last_detach_ns;
    last_detach_pid = pid;
  }
}

ShmStat ShmStatOf(const ObjectRecord& record, const ShmCensus& live) {
  ShmStat stat;
  stat.perm = record.perm;
  stat.segsz = record.size;
  stat.ctime = record.ctime;
  stat.cpid = record.cpid;
  stat.nattch = static_cast<uint64_t>(live.nattch);
  stat.atime = std::max(record.atime, live.last_attach_ns / kNanosPerSecond);
  stat.dtime = std::max(record.dtime, live.last_detach_ns / kNanosPerSecond);
  // shm_lprid names the latest attach or detach, wherever it was recorded.
  int64_t latest_ns = record.last_op_ns;
  stat.lpid = record.lpid;
  if (live.last_attach_ns > latest_ns) {
    latest_ns = live.last_attach_ns;
    stat.lpid = live.last_attach_pid;
  }
  if (live.last_detach_ns > latest_ns) stat.lpid = live.last_detach_pid;
  return stat;
}

absl::StatusOr<std::optional<ShmCtlResult>> LocalShmStat(const ObjectTable& table, int32_t id, int cmd,
                                                        const Credentials& creds, const OwnLedger& own) {
  // ksys_shmctl(): "if (cmd < 0 || shmid < 0) return -EINVAL;"
  if (id < 0) return ErrnoStatus(EINVAL, "negative shmid");
  const int32_t index = IpcIdIndex(id);
  // The daemon's FindById/FindByIndex: an index outside the table is no
  // object; a torn read is the daemon's to answer.
  if (static_cast<uint32_t>(index) >= table.capacity()) {
    return ErrnoStatus(EINVAL, absl::StrFormat("no segment has id %d", id));
  }
  absl::StatusOr<ObjectRecord> record = table.Read(index);
  if (!record.ok()) return std::nullopt;
  if (record->state == EntryState::kFree || (cmd == kIpcStat && record->perm.seq != IpcIdSeq(id))) {
    return ErrnoStatus(EINVAL, absl::StrFormat("no segment has id %d", id));
  }
  // A dying or removed segment may be destroyed by the daemon's sweep
  // before it answers; ledgers other than ours count: ask.
  if (record->state != EntryState::kLive || (record->perm.mode & kShmDest)) return std::nullopt;
  const bool own_only = own.ledger != nullptr && own.pid > 0 && record->holder == own.pid;
  if (record->holder != 0 && !own_only) return std::nullopt;
  ShmCtlResult result;
  if (cmd != kIpcStat) result.value = MakeIpcId(record->perm.seq, index);
  if (cmd != kShmStatAny && !HasIpcPermission(record->perm, creds, kAccessRead)) {
    return ErrnoStatus(EACCES, "no read permission on the object");
  }
  ShmCensus live;
  if (own_only) {
    live.Add(own.pid, own.ledger->Summarize(index, record->perm.seq));
    // Another process granted the segment meanwhile (the daemon rewrote the
    // entry) may have attached since the read: then the two halves would
    // not be of one moment.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (table.Version(index).load(std::memory_order_relaxed) != record->version) return std::nullopt;
  }
  result.stat = ShmStatOf(*record, live);
  return result;
}

}  // namespace sysv::core

#include "daemon/shm_service.h"

#include <cerrno>
#include <cstdio>
#include <vector>

#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"
#include "core/protocol/codec.h"
#include "core/protocol/ctl_replies.h"
#include "daemon/log.h"
#include "daemon/region_dir.h"

namespace sysv::daemon {
namespace {

namespace wire = core::wire;
using core::ErrnoOf;

// The descriptors read of one process when recovering its grants: a bound
// on the daemon's work at start for a process that holds very many (its
// segment descriptors beyond them are then not found).
constexpr size_t kMaxDescriptorsRead = 1 << 16;

}  // namespace

ShmService::ShmService(core::ObjectTable table, const core::NamespaceLimits& limits, core::UserQuota* quota,
                       int shm_dir_fd, core::ShmRegistry::Census& census, platform::SecurityDriver* driver,
                       SealedObjects* sealed)
    : limits_(limits),
      store_(shm_dir_fd, driver, sealed),
      driver_census_(store_),
      ids_(table, limits.shm.shmmni, quota),
      registry_(ids_, limits_.shm, store_, driver != nullptr ? driver_census_ : census) {}

core::ShmRegistry::CensusResult ShmService::DriverCensus::Count(int32_t index, uint32_t seq) {
  core::ShmRegistry::CensusResult result;
  absl::StatusOr<platform::SecurityDriver::Facts> facts = store_.DriverFacts(index, seq);
  // An object the driver no longer has (its last detach after IPC_RMID was
  // reported, or the module was reloaded) has no attachment.
  if (!facts.ok()) return result;
  constexpr int64_t kNanos = 1000000000;
  result.nattch = static_cast<int64_t>(facts->nattch);
  // The driver keeps one lpid for the latest attach or detach (shm_lprid).
  result.last_attach_ns = facts->atime * kNanos;
  result.last_attach_pid = facts->lpid;
  result.last_detach_ns = facts->dtime * kNanos;
  result.last_detach_pid = facts->lpid;
  return result;
}

void ShmService::OnDriverEvents() {
  if (store_.driver() == nullptr) return;
  const std::vector<uint32_t> gone = store_.driver()->TakeLastDetaches();
  if (gone.empty()) return;
  SYSV_LOG(kDebug, "driver reported %u last detaches", gone.size());
  registry_.SweepRemoved();
}

Reply ShmService::Get(uint32_t request_id, const wire::ShmGetRequest& request,
                      const core::OpContext& ctx) {
  Reply reply;
  // A new segment charges its size to the creator's quota.
  core::OpContext charged = ctx;
  charged.new_object_bytes = request.size;
  absl::StatusOr<int32_t> id = registry_.Get(request.key, request.size, request.flags, charged);
  wire::ShmGetReply body{};
  if (id.ok()) {
    body.id = *id;
  } else {
    body.status.error = ErrnoOf(id.status());
    SYSV_LOG(kDebug, "shmget(%#x, %u, %#o) by pid %d: %s", request.key, request.size,
             request.flags, ctx.creds.pid, id.status().ToString());
  }
  reply.message = wire::EncodeReply<wire::Op::kShmGet>(request_id, body);
  return reply;
}

Reply ShmService::Attach(uint32_t request_id, const wire::ShmAttachRequest& request,
                         const core::OpContext& ctx, core::ShmGrants* granted,
                         const std::function<absl::Status(int32_t index)>& make_room) {
  Reply reply;
  wire::ShmAttachReply body{};
  registry_.SweepRemoved();
  absl::StatusOr<core::ObjectRecord> record = registry_.CheckAttach(request.id, request.shmflg, ctx);
  if (!record.ok()) {
    body.status.error = ErrnoOf(record.status());
  } else {
    // A read-only attach gets a read-only descriptor; otherwise read-write
    // (the check above required write permission).
    const bool writable = !(request.shmflg & core::kShmRdonly);
    // The grant's ledger entry first: once the client holds the descriptor
    // it may count attachments without asking.
    absl::Status room = granted != nullptr ? make_room(core::IpcIdIndex(request.id)) : absl::OkStatus();
    absl::StatusOr<backend::UniqueFd> fd =
        room.ok() ? store_.OpenForClient(core::IpcIdIndex(request.id), record->perm.seq, writable) : room;
    if (!room.ok()) {
      SYSV_LOG(kWarning, "shmat of %d: %s", request.id, room.ToString());
      body.status.error = ErrnoOf(room);
    } else if (!fd.ok()) {
      SYSV_LOG(kError, "segment %d has no readable region: %s", request.id, fd.status().ToString());
      body.status.error = EIDRM;
    } else {
      body.id = request.id;
      body.writable = writable ? 1 : 0;
      body.size = record->size;
      body.map_length = core::ShmRegistry::RegionBytes(*record);
      body.alignment = core::ShmRegistry::MappingAlignment(*record);
      reply.owned_fds.push_back(*std::move(fd));
      if (granted != nullptr) {
        granted->Grant(core::IpcIdIndex(request.id), record->perm.seq, writable);
        registry_.PublishHolder(core::IpcIdIndex(request.id));
      }
    }
  }
  reply.message = wire::EncodeReply<wire::Op::kShmAttach>(request_id, body);
  return reply;
}

Reply ShmService::Ctl(uint32_t request_id, const wire::ShmCtlRequest& request, uint64_t memlock_limit,
                      const core::OpContext& ctx) {
  Reply reply;
  wire::ShmCtlReply body{};
  const core::ShmSetArgs set{request.uid, request.gid, request.mode};
  absl::StatusOr<core::ShmCtlResult> result =
      registry_.Ctl(request.id, request.cmd, set, memlock_limit, ctx);
  if (result.ok() && store_.driver() != nullptr) result = DriverCtl(request, memlock_limit, ctx, *result);
  if (!result.ok()) {
    body.status.error = ErrnoOf(result.status());
  } else {
    body = wire::ShmCtlReplyOf(*result);
  }
  reply.message = wire::EncodeReply<wire::Op::kShmCtl>(request_id, body);
  return reply;
}

absl::StatusOr<core::ShmCtlResult> ShmService::DriverCtl(const wire::ShmCtlRequest& request,
                                                        uint64_t memlock_limit, const core::OpContext& ctx,
                                                        const core::ShmCtlResult& done) {
  const int32_t index = core::IpcIdIndex(request.id);
  const uint32_t seq = core::IpcIdSeq(request.id);
  if (request.cmd == core::kIpcRmid) {
    // The registry destroyed it if unattached; otherwise the driver now
    // reports its last detach (OnDriverEvents), whoever makes it.
    absl::StatusOr<bool> gone = store_.MarkRemoved(index, seq);
    if (gone.ok() && *gone) registry_.SweepRemoved();
    return done;
  }
  if (request.cmd != core::kShmLock && request.cmd != core::kShmUnlock) return done;
  // The registry checked permission and the segment's own size against
  // RLIMIT_MEMLOCK; the driver sums the user's locked segments as
  // user_shm_lock() does, and really makes the pages unevictable.
  const bool lock = request.cmd == core::kShmLock;
  const uint64_t limit = ctx.creds.cap_ipc_lock ? UINT64_MAX : memlock_limit;
  absl::Status status = store_.Lock(index, seq, lock, ctx.creds.uid, limit);
  if (status.ok()) return done;
  if (lock && core::ErrnoOf(status) == ENOMEM) {
    // Undo the registry's SHM_LOCKED mark: the lock did not happen.
    (void)registry_.Ctl(request.id, core::kShmUnlock, core::ShmSetArgs{}, 0, ctx);
    return status;
  }
  SYSV_LOG(kWarning, "segment %d: driver %s: %s", request.id, lock ? "SHM_LOCK" : "SHM_UNLOCK",
           status.ToString());
  return done;
}

Reply ShmService::Sweep(uint32_t request_id, const wire::ShmSweepRequest&) {
  // Only removed segments are affected, and only those nobody has attached:
  // the request cannot harm anyone, so it needs no permission.
  registry_.SweepRemoved();
  Reply reply;
  reply.message = wire::EncodeReply<wire::Op::kShmSweep>(request_id, wire::ShmSweepReply{});
  return reply;
}

void ShmService::Absorb(const core::AttachLedger& ledger, const core::ShmGrants& grants, int32_t pid,
                        int64_t now_ns) {
  // With the driver, exits were counted by the kernel: no ledger is believed.
  if (store_.driver() != nullptr) return;
  registry_.AbsorbLedger(ledger, grants, pid, now_ns);
}

core::ShmGrants ShmService::RecoverGrants(int32_t pid, uint64_t start_time, const ShmStore::SegmentFileMap& files) {
  core::ShmGrants grants;
  absl::StatusOr<std::vector<platform::HeldFile>> held =
      platform::ProcessHeldFiles(pid, kMaxDescriptorsRead);
  if (!held.ok()) {
    SYSV_LOG(kWarning, "cannot read the descriptors of pid %d (%s): its attachments are not counted", pid,
             held.status().ToString());
    return grants;
  }
  for (const platform::HeldFile& file : *held) {
    auto it = files.find({file.device, file.inode});
    if (it == files.end()) continue;
    absl::StatusOr<core::ObjectRecord> record = ids_.FindByIndex(it->second.index);
    if (!record.ok() || record->perm.seq != it->second.seq) continue;
    grants.Grant(it->second.index, it->second.seq, file.writable);
  }
  // Read by pid: the table was that process's only if it still runs.
  if (!platform::ProcessAlive(pid, start_time)) return core::ShmGrants();
  if (held->size() >= kMaxDescriptorsRead) {
    SYSV_LOG(kWarning, "pid %d holds more than %d descriptors: only the first were read for its grants", pid,
             kMaxDescriptorsRead);
  }
  return grants;
}

void ShmService::PublishAllHolders() {
  std::vector<int32_t> live;
  ids_.ForEachLive([&](int32_t index, const core::ObjectRecord&) { live.push_back(index); });
  for (int32_t index : live) registry_.PublishHolder(index);
}

void ShmService::RemoveOrphans() {
  store_.RemoveOrphans([&](int32_t index, uint32_t seq) {
    absl::StatusOr<core::ObjectRecord> record = ids_.FindByIndex(index);
    return record.ok() && record->perm.seq == seq;
  });
}

void ShmService::TakeBack(const std::string& name) {
  int32_t index = 0;
  uint32_t seq = 0;
  if (!ParseRegionFileName(name, &index, &seq)) return;
  absl::StatusOr<core::ObjectRecord> record = ids_.FindByIndex(index);
  // Not a live segment's file (being removed, or made by a get that failed):
  // not a client's to keep either way, and not ours to size.
  if (!record.ok() || record->perm.seq != seq) return;
  store_.Trim(name, core::ShmRegistry::RegionBytes(*record));
}

}  // namespace sysv::daemon

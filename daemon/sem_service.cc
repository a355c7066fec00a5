#include "daemon/sem_service.h"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <vector>

#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_id.h"
#include "core/protocol/codec.h"
#include "core/protocol/ctl_replies.h"
#include "core/sem/sem_checks.h"
#include "daemon/log.h"

namespace sysv::daemon {
namespace {

namespace wire = core::wire;
using core::ErrnoOf;

// What a set's lock gives the daemon when it is busy (it never waits).
constexpr int kLockBusy = core::RegionPlatform::kLockBusy;

}  // namespace

SemService::SemService(core::ObjectTable table, const core::NamespaceLimits& limits, core::UserQuota* quota,
                       int sem_dir_fd, SealedObjects* sealed)
    : held_waits_(
          [this](const HeldWaits::Wait& wait) {
            core::SemSet* set = store_.Find(wait.index, wait.seq);
            return set == nullptr || set->EndFor(wait.record, wait.pid, EINTR) != kLockBusy;
          },
          [](int32_t pid, int32_t tid) { return platform::IsThreadOf(pid, tid); }),
      limits_(limits),
      store_(sem_dir_fd, sealed),
      ids_(table, limits.sem.semmni, quota),
      registry_(ids_, limits_.sem, store_) {}

void SemService::Recover() {
  store_.Recover([this](int32_t index, uint32_t seq) -> std::optional<SemStore::Layout> {
    absl::StatusOr<core::ObjectRecord> record = ids_.FindByIndex(index);
    if (!record.ok() || record->perm.seq != seq) return std::nullopt;
    return SemStore::Layout{static_cast<int32_t>(record->size), record->ctime};
  });
}

Reply SemService::Get(uint32_t request_id, const wire::SemGetRequest& request, const core::OpContext& ctx) {
  Reply reply;
  wire::SemGetReply body{};
  absl::StatusOr<int32_t> id = registry_.Get(request.key, request.nsems, request.flags, ctx);
  if (id.ok()) {
    body.id = *id;
  } else {
    body.status.error = ErrnoOf(id.status());
  }
  reply.message = wire::EncodeReply<wire::Op::kSemGet>(request_id, body);
  return reply;
}

Reply SemService::Open(uint32_t request_id, const wire::SemOpenRequest& request, const core::OpContext& ctx,
                       int32_t* opened) {
  Reply reply;
  wire::SemOpenReply body{};
  absl::StatusOr<core::SemRegistry::Access> access = registry_.CheckOpen(request.id, ctx);
  if (!access.ok()) {
    body.status.error = ErrnoOf(access.status());
  } else {
    const int32_t index = core::IpcIdIndex(request.id);
    absl::StatusOr<backend::UniqueFd> fd =
        store_.OpenForClient(index, access->record.perm.seq, access->may_alter);
    if (!fd.ok()) {
      SYSV_LOG(kError, "set %d has no region: %s", request.id, fd.status().ToString());
      body.status.error = EIDRM;
    } else {
      body.id = request.id;
      body.nsems = static_cast<uint32_t>(access->record.size);
      body.may_alter = access->may_alter ? 1 : 0;
      body.region_size = core::SemSet::RegionSize(static_cast<int32_t>(access->record.size));
      reply.owned_fds.push_back(*std::move(fd));
      *opened = index;
    }
  }
  reply.message = wire::EncodeReply<wire::Op::kSemOpen>(request_id, body);
  return reply;
}

Reply SemService::WaitZero(uint32_t request_id, const wire::SemWaitZeroRequest& request, const core::OpContext& ctx,
                           uint64_t start_time) {
  Reply reply;
  wire::SemWaitZeroReply body{};
  std::vector<core::SemOp> sops;
  // The wire's bound first (the request holds no more), then do_semtimedop()'s.
  absl::Status count = request.nsops > wire::kSemWaitZeroMaxOps
                           ? core::ErrnoStatus(E2BIG, "more operations than a request holds")
                           : core::CheckSemopCount(request.nsops, static_cast<uint32_t>(limits_.sem.semopm));
  if (!count.ok()) {
    body.status.error = ErrnoOf(count);
  } else {
    for (uint32_t i = 0; i < request.nsops; ++i) {
      sops.push_back(core::SemOp{request.sops[i].num, request.sops[i].op, request.sops[i].flg});
    }
    // The kernel's checks, with the caller's credentials (EINVAL, EFBIG,
    // EACCES: read permission for wait-for-zero, write for anything else).
    bool alter = false;
    absl::StatusOr<core::ObjectRecord> record = core::CheckSemop(ids_.table(), request.id, sops, ctx.creds, &alter);
    core::SemSet* set = record.ok() ? store_.Find(core::IpcIdIndex(request.id), record->perm.seq) : nullptr;
    if (!record.ok()) {
      body.status.error = ErrnoOf(record.status());
    } else if (set == nullptr) {
      body.status.error = EIDRM;
    } else if (!platform::IsThreadOf(ctx.creds.pid, request.tid)) {
      body.status.error = EINVAL;  // a wait is held for one of the caller's threads only
    } else {
      const int32_t set_index = core::IpcIdIndex(request.id);
      if (!held_waits_.EndThreadWait(ctx.creds.pid, request.tid)) {
        reply.busy = true;  // the thread's earlier wait first: retried later
        return reply;
      }
      if (!held_waits_.MayHold(ctx.creds.uid, set_index, record->perm.seq, limits_.user.waits)) {
        body.status.error = ENOMEM;
      } else {
        uint32_t index = 0, offset = 0;
        const int result =
            set->StartFor(sops, core::SemSet::Caller{ctx.creds.pid, start_time}, &index, &offset);
        if (result == kLockBusy) {
          reply.busy = true;
          return reply;
        }
        if (store_.Faulted(set_index)) {
          // The set's file was cut short during the call: the call ran on
          // private zeros (backends/common/guarded_mapping.h), and a wait
          // queued there is one no semop of the set's users would wake. The
          // set failed validation: EIDRM; its next use repairs it.
          body.status.error = EIDRM;
        } else if (result == core::SemSet::kSemQueued) {
          held_waits_.Add(
              HeldWaits::Wait{ctx.creds.pid, request.tid, ctx.creds.uid, set_index, record->perm.seq, index});
          body.queued = 1;
          body.index = index;
          body.status_offset = offset;
        } else {
          body.status.error = result;
        }
      }
    }
  }
  reply.message = wire::EncodeReply<wire::Op::kSemWaitZero>(request_id, body);
  return reply;
}

Reply SemService::WaitZeroEnd(uint32_t request_id, const wire::SemWaitZeroEndRequest& request,
                              const core::OpContext& ctx) {
  Reply reply;
  wire::SemWaitZeroEndReply body{};
  const int32_t set_index = core::IpcIdIndex(request.id);
  held_waits_.Forget(ctx.creds.pid, set_index, request.index);
  absl::StatusOr<core::ObjectRecord> record = core::FindSemSet(ids_.table(), request.id);
  core::SemSet* set = record.ok() ? store_.Find(core::IpcIdIndex(request.id), record->perm.seq) : nullptr;
  if (set == nullptr) {
    // Removed meanwhile: its sleepers were woken with EIDRM.
    body.result = EIDRM;
  } else {
    body.result = set->EndFor(request.index, ctx.creds.pid, request.reason);
    if (body.result == kLockBusy) {
      reply.busy = true;
      return reply;
    }
  }
  reply.message = wire::EncodeReply<wire::Op::kSemWaitZeroEnd>(request_id, body);
  return reply;
}

// semctl_main()'s reads for a caller that may read the set but not write
// it: the same checks (EINVAL, EACCES, then EINVAL for semnum), then the
// value, on the daemon's read-write mapping.
bool SemService::ReadValues(const wire::SemCtlRequest& request, const core::OpContext& ctx,
                            wire::SemCtlReply& body, std::vector<backend::UniqueFd>& fds) {
  absl::StatusOr<core::ObjectRecord> record = core::CheckSemctl(ids_.table(), request.id, core::kAccessRead, ctx.creds);
  if (!record.ok()) {
    body.status.error = ErrnoOf(record.status());
    return false;
  }
  core::SemSet* set = store_.Find(core::IpcIdIndex(request.id), record->perm.seq);
  if (set == nullptr) {
    body.status.error = EIDRM;
    return false;
  }
  const int32_t nsems = set->nsems();
  int result = 0;
  if (request.cmd == core::kGetAll) {
    body.nvalues = static_cast<uint32_t>(nsems);
    if (body.nvalues <= wire::kSemCtlMaxValues) {
      result = set->GetAll(absl::MakeSpan(body.values, static_cast<size_t>(nsems)));
    } else {
      // One snapshot under the set's lock, as the kernel's GETALL is, too
      // big for the message: it travels as a sealed file (wire.h).
      std::vector<uint16_t> values(static_cast<size_t>(nsems));
      result = set->GetAll(absl::MakeSpan(values));
      if (result >= 0) {
        absl::StatusOr<backend::UniqueFd> snapshot = platform::SealedSnapshot(
            "sysvipc-getall", absl::MakeConstSpan(reinterpret_cast<const unsigned char*>(values.data()),
                                                  values.size() * sizeof(uint16_t)));
        if (!snapshot.ok()) {
          SYSV_LOG(kWarning, "GETALL snapshot of semaphore set %d: %s", request.id, snapshot.status().message());
          body.status.error = ENOMEM;  // the kernel's answer when it cannot allocate the copy
          return false;
        }
        fds.push_back(*std::move(snapshot));
      }
    }
  } else if (request.cmd == core::kGetVal) {  // each checks semnum (EINVAL)
    result = set->GetVal(request.semnum);
  } else if (request.cmd == core::kGetPid) {
    result = set->GetPid(request.semnum);
  } else if (request.cmd == core::kGetNcnt) {
    result = set->GetNcnt(request.semnum);
  } else {
    result = set->GetZcnt(request.semnum);
  }
  if (result == -kLockBusy) return true;
  if (result < 0) {
    body.status.error = -result;
  } else {
    body.value = result;
  }
  return false;
}

Reply SemService::Ctl(uint32_t request_id, const wire::SemCtlRequest& request, const core::OpContext& ctx) {
  Reply reply;
  wire::SemCtlReply body{};
  if (request.cmd == core::kGetVal || request.cmd == core::kGetPid || request.cmd == core::kGetNcnt ||
      request.cmd == core::kGetZcnt || request.cmd == core::kGetAll) {
    if (ReadValues(request, ctx, body, reply.owned_fds)) {
      reply.busy = true;
      return reply;
    }
    reply.message = wire::EncodeReply<wire::Op::kSemCtl>(request_id, body);
    return reply;
  }
  const core::SemRegistry::SetArgs set{request.uid, request.gid, request.mode};
  absl::StatusOr<core::SemCtlResult> result = registry_.Ctl(request.id, request.cmd, set, ctx);
  if (!result.ok()) {
    body.status.error = ErrnoOf(result.status());
  } else {
    body = wire::SemCtlReplyOf(*result);
  }
  reply.message = wire::EncodeReply<wire::Op::kSemCtl>(request_id, body);
  return reply;
}

bool SemService::ExitOnSet(int32_t pid, uint64_t start_time, int32_t index, uint32_t seq, core::SemSet& set) {
  bool busy = false;
  set.ProcessExited(core::SemSet::Caller{pid, start_time}, &busy);
  if (busy) {
    SYSV_LOG(kDebug, "set %d is locked by someone else; exit work for pid %d postponed", index, pid);
    pending_exits_.Add(PendingExits::Item{index, seq, pid, start_time});
  }
  return !busy;
}

void SemService::ProcessExited(int32_t pid, uint64_t start_time, const std::vector<int32_t>* sets) {
  // Its queued operations go with the exit work below.
  held_waits_.ForgetProcess(pid);
  if (sets == nullptr) {
    // Every live set, each mapped once (the store holds only sets the
    // table names).
    store_.ForEach([&](int32_t index, uint32_t seq, core::SemSet& set) { ExitOnSet(pid, start_time, index, seq, set); });
    return;
  }
  for (int32_t index : *sets) {
    absl::StatusOr<core::ObjectRecord> record = ids_.FindByIndex(index);
    if (!record.ok()) continue;
    if (core::SemSet* set = store_.Find(index, record->perm.seq)) {
      ExitOnSet(pid, start_time, index, record->perm.seq, *set);
    }
  }
}

bool SemService::RetryPendingExits() {
  return pending_exits_.Retry(
      [this](const PendingExits::Item& item) {
        core::SemSet* set = store_.Find(item.index, item.seq);
        if (set == nullptr) return true;  // removed: nothing left to undo
        bool busy = false;
        set->ProcessExited(core::SemSet::Caller{item.pid, item.start_time}, &busy);
        return !busy;
      },
      kMaxBusyObjectsPerPass);
}

}  // namespace sysv::daemon

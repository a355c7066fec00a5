#include "core/ipc/ipc_registry.h"

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <optional>
#include <utility>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_perm.h"
#include "core/ipc/key_index.h"
#include "core/ipc/stat_lookup.h"
#include "core/ipc/user_quota.h"

namespace sysv::core {

IpcRegistry::IpcRegistry(ObjectTable table, int32_t max_objects, UserQuota* quota)
    : table_(std::move(table)),
      max_objects_(max_objects),
      quota_(quota),
      allocator_(table_.header().last_index.load(std::memory_order_relaxed),
                 table_.header().last_seq.load(std::memory_order_relaxed)) {
  for (uint32_t i = 0; i < table_.capacity(); ++i) {
    auto record = table_.Read(static_cast<int32_t>(i));
    if (!record.ok() || record->state == EntryState::kFree) continue;
    ++in_use_;
    max_index_ = static_cast<int32_t>(i);
    total_size_ += record->size;
    if (record->perm.key != kIpcPrivate) index_by_key_[record->perm.key] = static_cast<int32_t>(i);
    Charge(*record);  // a restart: the tables are the quota's only record
  }
  // Clients find keys through the table's own index: made anew from the
  // entries, since a previous daemon may have died mid-link.
  RebuildKeyIndex(table_);
  // What a previous daemon published may be stale (recovery may remove
  // objects, the configuration may change the limits): unknown until the
  // limits are published.
  table_.PublishInfo(std::nullopt);
}

void IpcRegistry::PublishLimits(const uint64_t (&limits)[4]) {
  if (!info_) info_.emplace();
  std::copy(std::begin(limits), std::end(limits), std::begin(info_->limits));
  PublishInfo();
}

void IpcRegistry::PublishInfo() {
  if (!info_) return;
  info_->max_index = max_index_;
  info_->in_use = in_use_;
  info_->units = total_size_;
  table_.PublishInfo(info_);
}

void IpcRegistry::Charge(const ObjectRecord& record) {
  if (quota_ != nullptr && record.state != EntryState::kFree) {
    quota_->Charge(table_.kind(), record);
  }
}

void IpcRegistry::Release(const ObjectRecord& record) {
  if (quota_ != nullptr && record.state != EntryState::kFree) {
    quota_->Release(table_.kind(), record);
  }
}

absl::StatusOr<int32_t> IpcRegistry::Get(Key key, int flags, const OpContext& ctx,
                                         const GetHooks& hooks) {
  // ipcget(): IPC_PRIVATE always makes a new object.
  if (key == kIpcPrivate) return CreateNew(key, flags, ctx, hooks);

  auto it = index_by_key_.find(key);
  if (it == index_by_key_.end()) {
    if (!(flags & kIpcCreat)) return ErrnoStatus(ENOENT, absl::StrFormat("no object has key %#x", key));
    return CreateNew(key, flags, ctx, hooks);
  }
  // ipcget_public() on an existing key.
  if ((flags & kIpcCreat) && (flags & kIpcExcl)) {
    return ErrnoStatus(EEXIST, absl::StrFormat("key %#x exists (IPC_CREAT|IPC_EXCL)", key));
  }
  absl::StatusOr<ObjectRecord> record = table_.Read(it->second);
  if (!record.ok()) return record.status();
  if (hooks.more_checks) {
    if (absl::Status status = hooks.more_checks(*record); !status.ok()) return status;
  }
  if (!HasIpcPermission(record->perm, ctx.creds, flags)) {
    return ErrnoStatus(EACCES, absl::StrFormat("permission denied on key %#x", key));
  }
  return MakeIpcId(record->perm.seq, it->second);
}

absl::StatusOr<int32_t> IpcRegistry::CreateNew(Key key, int flags, const OpContext& ctx,
                                               const GetHooks& hooks) {
  if (hooks.check_new) {
    if (absl::Status status = hooks.check_new(); !status.ok()) return status;
  }
  // The creator's quota: after the kind's own checks (a size outside
  // SHMMIN..SHMMAX is EINVAL whatever the quota), before the id.
  if (quota_ != nullptr) {
    const uint64_t bytes = quota_->BytesOfNew(table_.kind(), ctx.new_object_bytes);
    if (absl::Status status = quota_->CheckNew(ctx.creds.uid, bytes); !status.ok()) return status;
  }
  // ipc_addid(): "if (ids->in_use >= max_idx) return -ENOSPC".
  const int32_t limit = std::min<int32_t>(max_objects_, static_cast<int32_t>(table_.capacity()));
  if (in_use_ >= limit) return ErrnoStatus(ENOSPC, "the namespace has no free id of this kind");
  // Linux sets up the object (newseg()'s shm file) before ipc_addid(), so a
  // failed creation consumes no id; `create` runs after the allocation here,
  // so its failure rewinds the allocator to keep the same id sequence.
  const IpcIdAllocator allocator_before = allocator_;
  const auto is_used = [&](int32_t index) { return IndexInUse(index); };
  // ipc_idr_alloc(): a set next_id is used once, whatever comes of it, and
  // bypasses the cyclic allocator (idr_alloc() from its index up).
  const int32_t next_id = std::exchange(next_id_, -1);
  std::optional<IpcIdAllocator::Allocation> allocation;
  if (next_id >= 0) {
    for (int32_t index = IpcIdIndex(next_id); index < static_cast<int32_t>(table_.capacity()); ++index) {
      if (is_used(index)) continue;
      allocation = IpcIdAllocator::Allocation{index, IpcIdSeq(next_id)};
      break;
    }
  } else {
    allocation = allocator_.Allocate(in_use_, limit, is_used);
  }
  if (!allocation) return ErrnoStatus(ENOSPC, "the namespace has no free id of this kind");

  ObjectRecord record;
  record.state = EntryState::kLive;
  record.perm.key = key;
  record.perm.uid = record.perm.cuid = ctx.creds.uid;
  record.perm.gid = record.perm.cgid = ctx.creds.gid;
  record.perm.mode = static_cast<uint32_t>(flags) & kPermissionBits;
  record.perm.seq = allocation->seq;
  record.cpid = ctx.creds.pid;
  record.ctime = ctx.now_seconds();
  if (hooks.create) {
    if (absl::Status status = hooks.create(allocation->index, allocation->seq, record);
        !status.ok()) {
      // Linux fails here before ipc_addid(): nothing was consumed.
      allocator_ = allocator_before;
      next_id_ = next_id;
      return status;
    }
  }
  table_.header().last_index.store(allocator_.last_index(), std::memory_order_relaxed);
  table_.header().last_seq.store(allocator_.seq(), std::memory_order_relaxed);
  table_.Write(allocation->index, record);
  Charge(record);
  ++in_use_;
  max_index_ = std::max(max_index_, allocation->index);
  total_size_ += record.size;
  if (key != kIpcPrivate) {
    index_by_key_[key] = allocation->index;
    LinkKey(table_, allocation->index, key);
  }
  PublishInfo();
  return allocation->id();
}

absl::StatusOr<ObjectRecord> IpcRegistry::FindById(int32_t id) const {
  absl::StatusOr<ObjectRecord> record = FindByIndex(IpcIdIndex(id));
  if (!record.ok()) return record.status();
  // ipc_checkid()
  if (IpcIdSeq(id) != record->perm.seq) return ErrnoStatus(EINVAL, absl::StrFormat("no object has id %d", id));
  return record;
}

absl::StatusOr<ObjectRecord> IpcRegistry::FindForChange(int32_t id, const Credentials& creds,
                                                        const char* what) const {
  absl::StatusOr<ObjectRecord> record = FindById(id);
  if (!record.ok()) return record.status();
  if (!IsOwnerOrCreator(record->perm, creds)) {
    return ErrnoStatus(EPERM, absl::StrFormat("only the owner or creator may change or remove %s", what));
  }
  return record;
}

absl::StatusOr<ObjectRecord> IpcRegistry::FindByIndex(int32_t index) const {
  absl::StatusOr<ObjectRecord> record = table_.Read(index);
  if (!record.ok() || record->state == EntryState::kFree) {
    return ErrnoStatus(EINVAL, absl::StrFormat("no object at index %d", index));
  }
  return record;
}

IpcRegistry::StatLookup IpcRegistry::StatLookupFor(int cmd, int stat_cmd) {
  if (cmd == kIpcStat) return StatLookup::kById;
  return cmd == stat_cmd ? StatLookup::kByIndex : StatLookup::kByIndexAny;
}

absl::StatusOr<ObjectRecord> IpcRegistry::FindForStat(int32_t id, StatLookup lookup, const Credentials& creds,
                                                      int32_t* stat_id) const {
  absl::StatusOr<std::optional<ObjectRecord>> record = FindForStatIn(table_, id, lookup, creds, stat_id);
  if (!record.ok()) return record.status();
  // The daemon's own table torn for every attempt: as FindByIndex.
  if (!record->has_value()) return ErrnoStatus(EINVAL, absl::StrFormat("no object at index %d", IpcIdIndex(id)));
  return **record;
}

void IpcRegistry::Update(int32_t index, const ObjectRecord& record) {
  absl::StatusOr<ObjectRecord> before = table_.Read(index);
  if (before.ok()) Release(*before);
  table_.Write(index, record);
  Charge(record);
  // Only a live object is updated; its size may change (IPC_SET of
  // msg_qbytes).
  if (before.ok() && before->state != EntryState::kFree && before->size != record.size) {
    total_size_ = total_size_ - before->size + record.size;
    PublishInfo();
  }
}

absl::Status IpcRegistry::CheckGrowth(const ObjectRecord& record, uint64_t new_size) const {
  if (quota_ == nullptr || new_size <= record.size) return absl::OkStatus();
  // The creator pays (core/ipc/user_quota.h), whoever raises it.
  return quota_->CheckGrowth(record.perm.cuid, new_size - record.size);
}

void IpcRegistry::DropKey(int32_t index) {
  auto record = table_.Read(index);
  if (!record.ok()) return;
  if (record->perm.key != kIpcPrivate) {
    auto it = index_by_key_.find(record->perm.key);
    if (it != index_by_key_.end() && it->second == index) index_by_key_.erase(it);
    UnlinkKey(table_, index, record->perm.key);
    record->perm.key = kIpcPrivate;
    table_.Write(index, *record);
  }
}

void IpcRegistry::Remove(int32_t index) {
  DropKey(index);
  auto record = table_.Read(index);
  if (!record.ok() || record->state == EntryState::kFree) return;
  ObjectRecord freed;
  freed.perm.seq = record->perm.seq;  // kept so a stale id still mismatches
  table_.Write(index, freed);
  Release(*record);
  --in_use_;
  total_size_ -= std::min(total_size_, record->size);
  // ipc_rmid(): "if (ipcp->id == ids->max_idx) ... find the next lower one".
  if (index == max_index_) {
    do {
      --max_index_;
    } while (max_index_ >= 0 && !IndexInUse(max_index_));
  }
  PublishInfo();
}

bool IpcRegistry::IndexInUse(int32_t index) const {
  auto record = table_.Read(index);
  return !record.ok() || record->state != EntryState::kFree;
}

void IpcRegistry::ForEachLive(const std::function<void(int32_t, const ObjectRecord&)>& fn) const {
  for (uint32_t i = 0; i < table_.capacity(); ++i) {
    auto record = table_.Read(static_cast<int32_t>(i));
    if (record.ok() && record->state != EntryState::kFree) fn(static_cast<int32_t>(i), *record);
  }
}

}  // namespace sysv::core

#include "core/ipc/object_table.h"

#include <cerrno>
#include <iterator>
#include <new>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_id.h"

namespace sysv::core {
namespace {

// How often a reader retries an entry whose version is odd or changed. A
// healthy writer finishes an entry in well under a microsecond.
constexpr int kReadAttempts = 10000;

}  // namespace

absl::StatusOr<ObjectTable> ObjectTable::Format(void* base, size_t len, IpcKind kind,
                                                uint32_t capacity, uint64_t namespace_id) {
  if (len < ObjectTableSize(capacity)) {
    return ErrnoStatus(EINVAL, absl::StrFormat("object table of %u entries needs %u bytes, has %u",
                                               capacity, ObjectTableSize(capacity), len));
  }
  auto* header = new (base) ObjectTableHeader();
  auto* entries = reinterpret_cast<ObjectEntry*>(static_cast<char*>(base) + ObjectTableHeader::kSize);
  for (uint32_t i = 0; i < capacity; ++i) new (&entries[i]) ObjectEntry();
  header->layout_version.store(ObjectTableHeader::kVersion, std::memory_order_relaxed);
  header->kind.store(static_cast<uint32_t>(kind), std::memory_order_relaxed);
  header->entry_size.store(sizeof(ObjectEntry), std::memory_order_relaxed);
  header->capacity.store(capacity, std::memory_order_relaxed);
  header->last_index.store(-1, std::memory_order_relaxed);
  header->last_seq.store(0, std::memory_order_relaxed);
  header->namespace_id.store(namespace_id, std::memory_order_relaxed);
  // The magic goes last: a table without it is not a table.
  header->magic.store(ObjectTableHeader::kMagic, std::memory_order_release);
  return ObjectTable(header, entries, capacity, kind);
}

absl::StatusOr<ObjectTable> ObjectTable::Open(void* base, size_t len, IpcKind kind) {
  if (len < ObjectTableHeader::kSize) {
    return ErrnoStatus(EINVAL, absl::StrFormat("object table region of %u bytes is too small", len));
  }
  auto* header = static_cast<ObjectTableHeader*>(base);
  if (header->magic.load(std::memory_order_acquire) != ObjectTableHeader::kMagic) {
    return ErrnoStatus(EINVAL, "object table has a bad magic number");
  }
  if (header->layout_version.load(std::memory_order_relaxed) != ObjectTableHeader::kVersion) {
    return ErrnoStatus(EINVAL, "object table has an unknown layout version");
  }
  if (header->kind.load(std::memory_order_relaxed) != static_cast<uint32_t>(kind)) {
    return ErrnoStatus(EINVAL, "object table is of another IPC kind");
  }
  if (header->entry_size.load(std::memory_order_relaxed) != sizeof(ObjectEntry)) {
    return ErrnoStatus(EINVAL, "object table has a foreign entry size");
  }
  const uint32_t capacity = header->capacity.load(std::memory_order_relaxed);
  if (capacity > static_cast<uint32_t>(kIpcMni) || ObjectTableSize(capacity) > len) {
    return ErrnoStatus(EINVAL, absl::StrFormat("object table capacity %u does not fit", capacity));
  }
  auto* entries = reinterpret_cast<ObjectEntry*>(static_cast<char*>(base) + ObjectTableHeader::kSize);
  return ObjectTable(header, entries, capacity, kind);
}

absl::StatusOr<ObjectRecord> ObjectTable::Read(int32_t index) const {
  if (index < 0 || static_cast<uint32_t>(index) >= capacity_) {
    return ErrnoStatus(EINVAL, absl::StrFormat("index %d is outside the table", index));
  }
  const ObjectEntry& e = entries_[index];
  constexpr auto kRelaxed = std::memory_order_relaxed;
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    // See TABLE_BARRIER_READ.
    const uint32_t before = e.version.load(std::memory_order_acquire);
    if (before & 1) continue;
    ObjectRecord r;
    const uint32_t state = e.state.load(kRelaxed);
    r.state = state <= static_cast<uint32_t>(EntryState::kDying) ? static_cast<EntryState>(state)
                                                                 : EntryState::kFree;
    r.perm.seq = e.seq.load(kRelaxed);
    r.perm.key = e.key.load(kRelaxed);
    r.perm.uid = e.uid.load(kRelaxed);
    r.perm.gid = e.gid.load(kRelaxed);
    r.perm.cuid = e.cuid.load(kRelaxed);
    r.perm.cgid = e.cgid.load(kRelaxed);
    r.perm.mode = e.mode.load(kRelaxed);
    r.cpid = e.cpid.load(kRelaxed);
    r.lpid = e.lpid.load(kRelaxed);
    r.holder = e.holder.load(kRelaxed);
    r.ctime = e.ctime.load(kRelaxed);
    r.atime = e.atime.load(kRelaxed);
    r.dtime = e.dtime.load(kRelaxed);
    r.last_op_ns = e.last_op_ns.load(kRelaxed);
    r.size = e.size.load(kRelaxed);
    r.aux0 = e.aux0.load(kRelaxed);
    r.aux1 = e.aux1.load(kRelaxed);
    r.version = before;
    std::atomic_thread_fence(std::memory_order_acquire);
    if (e.version.load(kRelaxed) == before) return r;
  }
  return ErrnoStatus(EAGAIN, absl::StrFormat("object table entry %d is being rewritten", index));
}

absl::StatusOr<ObjectRecord> ObjectTable::ReadLive(int32_t id, const char* what) const {
  if (id < 0) return ErrnoStatus(EINVAL, absl::StrFormat("negative %s id", what));
  absl::StatusOr<ObjectRecord> record = Read(IpcIdIndex(id));
  if (!record.ok() || record->state == EntryState::kFree || record->perm.seq != IpcIdSeq(id)) {
    return ErrnoStatus(EINVAL, absl::StrFormat("no %s has id %d", what, id));
  }
  return record;
}

void ObjectTable::Write(int32_t index, const ObjectRecord& r) {
  ObjectEntry& e = entries_[index];
  constexpr auto kRelaxed = std::memory_order_relaxed;
  // See TABLE_BARRIER_WRITE.
  const uint32_t v = e.version.load(kRelaxed);
  e.version.store(v | 1, kRelaxed);
  std::atomic_thread_fence(std::memory_order_release);
  e.state.store(static_cast<uint32_t>(r.state), kRelaxed);
  e.seq.store(r.perm.seq, kRelaxed);
  e.key.store(r.perm.key, kRelaxed);
  e.uid.store(r.perm.uid, kRelaxed);
  e.gid.store(r.perm.gid, kRelaxed);
  e.cuid.store(r.perm.cuid, kRelaxed);
  e.cgid.store(r.perm.cgid, kRelaxed);
  e.mode.store(r.perm.mode, kRelaxed);
  e.cpid.store(r.cpid, kRelaxed);
  e.lpid.store(r.lpid, kRelaxed);
  e.holder.store(r.holder, kRelaxed);
  e.ctime.store(r.ctime, kRelaxed);
  e.atime.store(r.atime, kRelaxed);
  e.dtime.store(r.dtime, kRelaxed);
  e.last_op_ns.store(r.last_op_ns, kRelaxed);
  e.size.store(r.size, kRelaxed);
  e.aux0.store(r.aux0, kRelaxed);
  e.aux1.store(r.aux1, kRelaxed);
  e.version.store((v | 1) + 1, std::memory_order_release);
}

void ObjectTable::PublishInfo(const std::optional<TableInfo>& info) {
  ObjectTableHeader& h = *header_;
  constexpr auto kRelaxed = std::memory_order_relaxed;
  // See TABLE_BARRIER_WRITE.
  const uint32_t v = h.info_version.load(kRelaxed);
  h.info_version.store(v | 1, kRelaxed);
  std::atomic_thread_fence(std::memory_order_release);
  const TableInfo value = info.value_or(TableInfo{});
  h.info_published.store(info.has_value() ? 1 : 0, kRelaxed);
  h.info_max_index.store(value.max_index, kRelaxed);
  h.info_in_use.store(value.in_use, kRelaxed);
  h.info_units.store(value.units, kRelaxed);
  for (size_t i = 0; i < std::size(value.limits); ++i) h.info_limits[i].store(value.limits[i], kRelaxed);
  h.info_version.store((v | 1) + 1, std::memory_order_release);
}

std::optional<TableInfo> ObjectTable::ReadInfo() const {
  const ObjectTableHeader& h = *header_;
  constexpr auto kRelaxed = std::memory_order_relaxed;
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    // See TABLE_BARRIER_READ.
    const uint32_t before = h.info_version.load(std::memory_order_acquire);
    if (before & 1) continue;
    const bool published = h.info_published.load(kRelaxed) == 1;
    TableInfo info;
    info.max_index = h.info_max_index.load(kRelaxed);
    info.in_use = h.info_in_use.load(kRelaxed);
    info.units = h.info_units.load(kRelaxed);
    for (size_t i = 0; i < std::size(info.limits); ++i) info.limits[i] = h.info_limits[i].load(kRelaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (h.info_version.load(kRelaxed) != before) continue;
    if (!published) return std::nullopt;
    return info;
  }
  return std::nullopt;
}

int ObjectTable::RepairTornEntries() {
  int repaired = 0;
  for (uint32_t i = 0; i < capacity_; ++i) {
    const uint32_t v = entries_[i].version.load(std::memory_order_relaxed);
    if (v & 1) {
      entries_[i].version.store(v + 1, std::memory_order_release);
      ++repaired;
    }
  }
  return repaired;
}

}  // namespace sysv::core

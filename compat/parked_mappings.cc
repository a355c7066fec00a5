#include "compat/parked_mappings.h"

#include <sys/mman.h>

#include <algorithm>

#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_constants.h"
#include "core/ipc/ipc_id.h"

namespace sysv::compat {

bool MayStayParked(const core::ObjectTable& table, int32_t id) {
  absl::StatusOr<core::ObjectRecord> record = table.Read(core::IpcIdIndex(id));
  return record.ok() && record->state != core::EntryState::kFree && record->perm.seq == core::IpcIdSeq(id) &&
         !(record->perm.mode & core::kShmDest);
}

absl::StatusOr<void*> ParkedMappings::Reuse(int32_t id, uint64_t length, uint64_t alignment, bool writable,
                                            uint64_t where, int prot, Attachment* attachment) {
  // Only mappings placed as the kernel places them are parked: a range the
  // program chose (shmaddr), given back by a later shmat without one,
  // would hold that address where the kernel's would be free.
  *attachment = Attachment{id, length, where == 0 && alignment <= core::kPageSize, writable, std::nullopt};
  if (where != 0) Clear(where, length);
  if (!attachment->parkable) return core::ErrnoStatus(ENOENT, "not parkable");
  std::optional<Mapping> parked = Take(id, length, prot);
  if (!parked) return core::ErrnoStatus(ENOENT, "nothing parked");
  attachment->writable = parked->writable;
  attachment->file = parked->file;
  return reinterpret_cast<void*>(parked->start);
}

void ParkedMappings::ParkOrUnmap(uint64_t addr, const Attachment& attachment, const core::ObjectTable& table,
                                 int fd) {
  if (attachment.parkable && MayStayParked(table, attachment.id)) {
    std::optional<platform::FileIdentity> file = attachment.file;
    if (!file && fd >= 0) {
      absl::StatusOr<platform::FileIdentity> identity = platform::IdentifyFile(fd);
      if (identity.ok()) file = *identity;
    }
    if (file && Park(Mapping{attachment.id, addr, attachment.length, *file, attachment.writable})) return;
  }
  munmap(reinterpret_cast<void*>(addr), attachment.length);
}

bool ParkedMappings::Park(const Mapping& mapping) {
  if (mapping.length > kMaxBytes || !query_.Available()) return false;
  if (mprotect(reinterpret_cast<void*>(mapping.start), mapping.length, PROT_NONE) != 0) return false;
  while (!entries_.empty() && (entries_.size() >= kMaxCount || bytes_ + mapping.length > kMaxBytes)) {
    const Mapping oldest = entries_.front();
    entries_.erase(entries_.begin());
    bytes_ -= oldest.length;
    Release(oldest);
  }
  entries_.push_back(mapping);
  bytes_ += mapping.length;
  return true;
}

// Whether `facts` (a VMA overlapping `mapping`) is a piece of the parked
// mapping, untouched: then [*from, *to) is that piece.
bool ParkedMappings::StillOurs(const Mapping& mapping, const platform::MappingFacts& facts, uint64_t* from,
                               uint64_t* to) const {
  const uint64_t end = mapping.start + mapping.length;
  if (facts.start >= end || facts.end <= mapping.start) return false;
  if (!facts.shared || facts.readable || facts.writable || facts.executable) return false;
  if (!(facts.file == mapping.file)) return false;
  *from = std::max(facts.start, mapping.start);
  *to = std::min(facts.end, end);
  // Offset into the segment file: the piece sits where it was mapped.
  return facts.offset + (*from - facts.start) == *from - mapping.start;
}

std::optional<ParkedMappings::Mapping> ParkedMappings::Take(int32_t id, uint64_t length, int prot) {
  for (auto it = entries_.end(); it != entries_.begin();) {
    --it;
    if (it->id != id || it->length != length) continue;
    const Mapping mapping = *it;
    entries_.erase(it);
    bytes_ -= mapping.length;
    absl::StatusOr<platform::MappingFacts> facts = query_.Find(mapping.start, false);
    uint64_t from = 0;
    uint64_t to = 0;
    const bool exact = facts.ok() && StillOurs(mapping, *facts, &from, &to) && facts->start == mapping.start &&
                       facts->end == mapping.start + mapping.length;
    if (exact && ((prot & PROT_WRITE) == 0 || mapping.writable) &&
        mprotect(reinterpret_cast<void*>(mapping.start), mapping.length, prot) == 0) {
      return mapping;
    }
    Release(mapping);
    return std::nullopt;
  }
  return std::nullopt;
}

void ParkedMappings::Release(const Mapping& mapping) {
  const uint64_t end = mapping.start + mapping.length;
  uint64_t at = mapping.start;
  while (at < end) {
    absl::StatusOr<platform::MappingFacts> facts = query_.Find(at, true);
    // Unknown (the query failed): leave it. Touching what may now be the
    // program's is worse than holding the memory until exit.
    if (!facts.ok() || facts->start >= end) return;
    uint64_t from = 0;
    uint64_t to = 0;
    if (StillOurs(mapping, *facts, &from, &to)) munmap(reinterpret_cast<void*>(from), to - from);
    at = facts->end;
  }
}

void ParkedMappings::Clear(uint64_t start, uint64_t length) {
  DropMatching([&](const Mapping& m) { return m.start < start + length && start < m.start + m.length; });
}

void ParkedMappings::DropIf(absl::FunctionRef<bool(int32_t id)> gone) {
  DropMatching([&](const Mapping& m) { return gone(m.id); });
}

void ParkedMappings::DropMatching(absl::FunctionRef<bool(const Mapping&)> drop) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!drop(*it)) {
      ++it;
      continue;
    }
    const Mapping mapping = *it;
    it = entries_.erase(it);
    bytes_ -= mapping.length;
    Release(mapping);
  }
}

}  // namespace sysv::compat

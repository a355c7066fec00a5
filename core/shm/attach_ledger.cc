#include "core/shm/attach_ledger.h"

#include <algorithm>
#include <cerrno>
#include <new>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"
#include "core/ipc/ipc_id.h"

namespace sysv::core {
namespace {

AttachLedgerEntry* EntriesOf(void* base) {
  return reinterpret_cast<AttachLedgerEntry*>(static_cast<char*>(base) + AttachLedgerHeader::kSize);
}

// The entries a mapping of `len` bytes holds, at most `capacity`.
uint32_t EntriesIn(size_t len, uint32_t capacity) {
  const size_t held = (len - AttachLedgerHeader::kSize) / sizeof(AttachLedgerEntry);
  return held < capacity ? static_cast<uint32_t>(held) : capacity;
}

// Makes `e` describe segment `seq`, forgetting a previous occupant.
void ClaimEntry(AttachLedgerEntry& e, uint32_t seq) {
  if (e.seq.load(std::memory_order_relaxed) == seq) return;
  e.count.store(0, std::memory_order_relaxed);
  e.last_attach_ns.store(0, std::memory_order_relaxed);
  e.last_detach_ns.store(0, std::memory_order_relaxed);
  e.seq.store(seq, std::memory_order_relaxed);
}

}  // namespace

absl::StatusOr<AttachLedger> AttachLedger::Format(void* base, size_t len, uint32_t capacity,
                                                  int32_t pid) {
  if (capacity > static_cast<uint32_t>(kIpcMni) || len < AttachLedgerHeader::kSize) {
    return ErrnoStatus(EINVAL, absl::StrFormat("attach ledger header does not fit in %u bytes", len));
  }
  const uint32_t held = EntriesIn(len, capacity);
  auto* header = new (base) AttachLedgerHeader();
  AttachLedgerEntry* entries = EntriesOf(base);
  for (uint32_t i = 0; i < held; ++i) new (&entries[i]) AttachLedgerEntry();
  header->layout_version.store(AttachLedgerHeader::kVersion, std::memory_order_relaxed);
  header->capacity.store(capacity, std::memory_order_relaxed);
  header->pid.store(pid, std::memory_order_relaxed);
  header->entries.store(held, std::memory_order_relaxed);
  header->magic.store(AttachLedgerHeader::kMagic, std::memory_order_release);
  return AttachLedger(header, entries, capacity, held);
}

AttachLedger AttachLedger::Extended(void* base, size_t len) const {
  auto* header = static_cast<AttachLedgerHeader*>(base);
  const uint32_t held = EntriesIn(len, capacity_);
  // The file holds them (the caller extended it): the client may touch them.
  header->entries.store(held, std::memory_order_release);
  return AttachLedger(header, EntriesOf(base), capacity_, held);
}

uint32_t AttachLedger::entries() const {
  // The header's word is the client's to scribble: never past the mapping.
  return std::min(mapped_, header_->entries.load(std::memory_order_acquire));
}

absl::StatusOr<AttachLedger> AttachLedger::Open(void* base, size_t len) {
  if (len < AttachLedgerHeader::kSize) return ErrnoStatus(EINVAL, "attach ledger is too small");
  auto* header = static_cast<AttachLedgerHeader*>(base);
  if (header->magic.load(std::memory_order_acquire) != AttachLedgerHeader::kMagic ||
      header->layout_version.load(std::memory_order_relaxed) != AttachLedgerHeader::kVersion) {
    return ErrnoStatus(EINVAL, "attach ledger has a bad header");
  }
  const uint32_t capacity = header->capacity.load(std::memory_order_relaxed);
  if (capacity > static_cast<uint32_t>(kIpcMni)) return ErrnoStatus(EINVAL, "attach ledger capacity is too large");
  return AttachLedger(header, EntriesOf(base), capacity, EntriesIn(len, capacity));
}

void AttachLedger::NoteSemSet(int32_t index) {
  const uint32_t count = header_->sem_set_count.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < count && i < AttachLedgerHeader::kSemSetCapacity; ++i) {
    if (header_->sem_sets[i].load(std::memory_order_relaxed) == static_cast<uint32_t>(index)) return;
  }
  if (count >= AttachLedgerHeader::kSemSetCapacity) {
    header_->sem_sets_overflow.store(1, std::memory_order_release);
    return;
  }
  // The entry first, then the count that publishes it.
  header_->sem_sets[count].store(static_cast<uint32_t>(index), std::memory_order_relaxed);
  header_->sem_set_count.store(count + 1, std::memory_order_release);
}

std::optional<std::vector<int32_t>> AttachLedger::SemSets() const {
  if (header_->sem_sets_overflow.load(std::memory_order_acquire) != 0) return std::nullopt;
  const uint32_t count =
      std::min(header_->sem_set_count.load(std::memory_order_acquire), AttachLedgerHeader::kSemSetCapacity);
  std::vector<int32_t> sets;
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t index = header_->sem_sets[i].load(std::memory_order_relaxed);
    if (index < static_cast<uint32_t>(kIpcMni)) sets.push_back(static_cast<int32_t>(index));
  }
  return sets;
}

bool AttachLedger::RecordAttach(int32_t index, uint32_t seq, int64_t now_ns) {
  if (!Holds(index)) return false;
  AttachLedgerEntry& e = entries_[index];
  ClaimEntry(e, seq);
  e.last_attach_ns.store(now_ns, std::memory_order_relaxed);
  // See LEDGER_BARRIER_ATTACH.
  e.count.fetch_add(1, std::memory_order_seq_cst);
  return true;
}

bool AttachLedger::RecordDetach(int32_t index, uint32_t seq, int64_t now_ns) {
  if (!Holds(index)) return false;
  AttachLedgerEntry& e = entries_[index];
  if (e.seq.load(std::memory_order_relaxed) != seq) return false;
  e.last_detach_ns.store(now_ns, std::memory_order_relaxed);
  e.count.fetch_sub(1, std::memory_order_seq_cst);
  return true;
}

void AttachLedger::UndoAttach(int32_t index, uint32_t seq) {
  if (!Holds(index)) return;
  AttachLedgerEntry& e = entries_[index];
  if (e.seq.load(std::memory_order_relaxed) != seq) return;
  e.count.fetch_sub(1, std::memory_order_seq_cst);
}

bool AttachLedger::CountAttach(int32_t index, uint32_t seq) {
  if (!Holds(index)) return false;
  AttachLedgerEntry& e = entries_[index];
  ClaimEntry(e, seq);
  e.count.fetch_add(1, std::memory_order_seq_cst);
  return true;
}

void AttachLedger::StampAttach(int32_t index, uint32_t seq, int64_t now_ns) {
  if (!Holds(index)) return;
  AttachLedgerEntry& e = entries_[index];
  if (e.seq.load(std::memory_order_relaxed) == seq) {
    e.last_attach_ns.store(now_ns, std::memory_order_relaxed);
  }
}

void AttachLedger::DetachAll(int64_t now_ns) {
  const uint32_t end = entries();
  for (uint32_t i = 0; i < end; ++i) {
    AttachLedgerEntry& e = entries_[i];
    if (e.count.load(std::memory_order_relaxed) == 0) continue;
    e.last_detach_ns.store(now_ns, std::memory_order_relaxed);
    e.count.store(0, std::memory_order_seq_cst);
  }
}

LedgerSummary AttachLedger::Summarize(int32_t index, uint32_t seq) const {
  LedgerSummary summary;
  if (!Holds(index)) return summary;
  const AttachLedgerEntry& e = entries_[index];
  if (e.seq.load(std::memory_order_seq_cst) != seq) return summary;
  summary.nattch = std::max<int64_t>(0, e.count.load(std::memory_order_seq_cst));
  summary.last_attach_ns = std::max<int64_t>(0, e.last_attach_ns.load(std::memory_order_relaxed));
  summary.last_detach_ns = std::max<int64_t>(0, e.last_detach_ns.load(std::memory_order_relaxed));
  return summary;
}

}  // namespace sysv::core

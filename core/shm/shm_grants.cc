#include "core/shm/shm_grants.h"

namespace sysv::core {

void ShmGrants::Grant(int32_t index, uint32_t seq, bool writable) {
  auto [it, inserted] = by_index_.try_emplace(index, ShmGrant{seq, writable});
  if (inserted) return;
  if (it->second.seq != seq) {
    it->second = ShmGrant{seq, writable};
  } else {
    it->second.writable = it->second.writable || writable;
  }
}

bool ShmGrants::Holds(int32_t index, uint32_t seq) const {
  auto it = by_index_.find(index);
  return it != by_index_.end() && it->second.seq == seq;
}

std::optional<ShmGrant> ShmGrants::At(int32_t index) const {
  auto it = by_index_.find(index);
  if (it == by_index_.end()) return std::nullopt;
  return it->second;
}

void ShmGrants::Revoke(int32_t index, uint32_t seq) {
  auto it = by_index_.find(index);
  if (it != by_index_.end() && it->second.seq == seq) by_index_.erase(it);
}

LedgerSummary ShmGrants::Summarize(const AttachLedger& ledger, int32_t index, uint32_t seq) const {
  if (!Holds(index, seq)) return LedgerSummary{};
  return ledger.Summarize(index, seq);
}

}  // namespace sysv::core

// The segments one client process was granted: those the daemon handed it a
// descriptor of (shmat's first attach), and those it inherited across fork
// (a child holds its parent's descriptors). The daemon keeps one per process
// record and believes that process's attach ledger only for these
// (DESIGN.md, trust model rule 4, "Facts, not claims").
//
// Why: a ledger is a region its process writes. Counting every entry would
// let any user forge shm_nattch, shm_lpid, shm_atime and shm_dtime of any
// segment, and keep a removed one alive, by writing entries for it into
// his own ledger (issue #13). Counting only granted segments leaves a
// process able to misstate its own attachments to segments it really
// holds, which it could also do by calling shmat and shmdt.
//
// Access: a grant remembers whether a read-write descriptor was handed out.
// Nothing counted distinguishes read-only from read-write attachments (the
// ledger does not, nor do shm_nattch, shm_lpid and the times in the
// kernel), so no count depends on it today; it is kept so that a grant
// says exactly what the process holds.
//
// Locking: none; the daemon's event-loop thread owns every process record.
#ifndef SYSV_CORE_SHM_SHM_GRANTS_H_
#define SYSV_CORE_SHM_SHM_GRANTS_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "core/shm/attach_ledger.h"

namespace sysv::core {

struct ShmGrant {
  uint32_t seq = 0;
  bool writable = false;
};

class ShmGrants {
 public:
  // The process holds a descriptor of segment (index, seq), read-write if
  // `writable`. A grant of another seq at `index` (a destroyed segment
  // whose index was reused) is replaced; the same seq keeps the wider access.
  void Grant(int32_t index, uint32_t seq, bool writable);
  // Whether segment (index, seq) was granted.
  bool Holds(int32_t index, uint32_t seq) const;
  // The grant at `index`, whatever its seq, or nullopt.
  std::optional<ShmGrant> At(int32_t index) const;
  // Segment (index, seq) was destroyed: its index and seq may come back
  // (seq wraps), naming a segment this process was never granted.
  void Revoke(int32_t index, uint32_t seq);
  // exec closed every descriptor the runtime had (they are close-on-exec).
  void Clear() { by_index_.clear(); }
  size_t size() const { return by_index_.size(); }
  // Calls fn(index) for every segment granted.
  template <typename Fn>
  void ForEachIndex(Fn&& fn) const {
    for (const auto& [index, grant] : by_index_) fn(index);
  }

  // What `ledger` (this process's) says about segment (index, seq), if the
  // process was granted it; nothing otherwise.
  LedgerSummary Summarize(const AttachLedger& ledger, int32_t index, uint32_t seq) const;

 private:
  absl::flat_hash_map<int32_t, ShmGrant> by_index_;
};

}  // namespace sysv::core

#endif  // SYSV_CORE_SHM_SHM_GRANTS_H_

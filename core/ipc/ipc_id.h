// IPC identifiers: `seq << 15 | index`, as Linux builds them.
//
// Mirrors ipc/util.c:ipc_idr_alloc() (Linux 5.x and later, without
// ipcmni_extend): the index is allocated cyclically over
// [0, max(in_use * 3 / 2, 64)), so freed indexes are not reused at once, and
// the sequence number advances only when the cyclic allocator wraps. A fresh
// namespace hands out ids 0, 1, 2, ... 63, then 32768, 32769, ...
#ifndef SYSV_CORE_IPC_IPC_ID_H_
#define SYSV_CORE_IPC_IPC_ID_H_

#include <algorithm>
#include <cstdint>
#include <optional>

namespace sysv::core {

inline constexpr int kIpcMniShift = 15;
inline constexpr int32_t kIpcMni = 1 << kIpcMniShift;  // IPCMNI: 32768
inline constexpr int32_t kIpcIdxMask = kIpcMni - 1;
// ipcid_seq_max(): the sequence must keep the id a positive int.
inline constexpr uint32_t kIpcSeqMax = INT32_MAX >> kIpcMniShift;
// ipc_min_cycle: RADIX_TREE_MAP_SIZE.
inline constexpr int32_t kIpcMinCycle = 64;

inline constexpr int32_t MakeIpcId(uint32_t seq, int32_t index) {
  return static_cast<int32_t>((seq << kIpcMniShift) + static_cast<uint32_t>(index));
}
// ipcid_to_idx(): the low bits, whatever the sign of `id`.
inline constexpr int32_t IpcIdIndex(int32_t id) { return id & kIpcIdxMask; }
// ipcid_to_seqx(): the high bits.
inline constexpr uint32_t IpcIdSeq(int32_t id) {
  return static_cast<uint32_t>(id) >> kIpcMniShift;
}

// The cyclic index allocator and sequence counter of one IPC kind.
// `is_used(index)` tells which indexes are taken. Not thread-safe: the owner
// serialises calls.
class IpcIdAllocator {
 public:
  IpcIdAllocator() = default;
  // Restores the allocator's position (daemon restart).
  IpcIdAllocator(int32_t last_index, uint32_t seq) : last_index_(last_index), seq_(seq) {}

  struct Allocation {
    int32_t index;
    uint32_t seq;
    int32_t id() const { return MakeIpcId(seq, index); }
  };

  // Picks the next free index, as idr_alloc_cyclic(0, max_idx) does: the
  // first free index from the one after the last handed out, wrapping to 0,
  // where max_idx = min(max(in_use * 3 / 2, 64), limit). Returns nullopt when
  // every index below max_idx is used.
  template <typename IsUsed>
  std::optional<Allocation> Allocate(int32_t in_use, int32_t limit, IsUsed&& is_used) {
    int32_t max_index = std::max(in_use * 3 / 2, kIpcMinCycle);
    max_index = std::min({max_index, limit, kIpcMni});
    if (max_index <= 0) return std::nullopt;
    const int32_t start = last_index_ + 1 >= max_index ? 0 : last_index_ + 1;
    for (int32_t step = 0; step < max_index; ++step) {
      const int32_t index = (start + step) % max_index;
      if (is_used(index)) continue;
      // ipc_idr_alloc(): "if (idx <= ids->last_idx) { ids->seq++;
      // if (ids->seq >= ipcid_seq_max()) ids->seq = 0; }"
      if (index <= last_index_ && ++seq_ >= kIpcSeqMax) seq_ = 0;
      last_index_ = index;
      return Allocation{index, seq_};
    }
    return std::nullopt;
  }

  int32_t last_index() const { return last_index_; }
  uint32_t seq() const { return seq_; }

 private:
  int32_t last_index_ = -1;
  uint32_t seq_ = 0;
};

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_IPC_ID_H_

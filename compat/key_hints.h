// Where this process last found each key: the table index a *get returned
// for it, so that the next *get of the key can be answered from the mapped
// table (core/ipc/local_get.h) without asking the daemon.
//
// Only a hint: LocalGet checks the entry itself (live, holding this key)
// and a wrong or evicted hint just sends the call to the daemon. So the
// cache is small, direct-mapped and lock-free (one atomic word per slot,
// key and index together): no lock for fork() to find held, nothing that
// grows with the keys a process ever used.
#ifndef SYSV_COMPAT_KEY_HINTS_H_
#define SYSV_COMPAT_KEY_HINTS_H_

#include <atomic>
#include <cstdint>
#include <optional>

namespace sysv::compat {

class KeyHints {
 public:
  // The index remembered for `key`, if any.
  std::optional<int32_t> IndexOf(int32_t key) const;
  // Remembers that `key`'s object has table index `index` (0 <= index < 2^31).
  void Remember(int32_t key, int32_t index);

 private:
  static constexpr uint32_t kSlots = 1024;
  static uint32_t SlotOf(int32_t key);
  // (uint64_t{key} << 32) | (index + 1); 0 is an empty slot.
  std::atomic<uint64_t> slots_[kSlots] = {};
};

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_KEY_HINTS_H_

#include "compat/key_hints.h"

namespace sysv::compat {

uint32_t KeyHints::SlotOf(int32_t key) {
  // Fibonacci hashing: keys are often consecutive (ftok of sibling files,
  // base + n), which this spreads over the slots.
  return static_cast<uint32_t>((static_cast<uint32_t>(key) * 2654435769u) >> 22) % kSlots;
}

std::optional<int32_t> KeyHints::IndexOf(int32_t key) const {
  const uint64_t word = slots_[SlotOf(key)].load(std::memory_order_relaxed);
  if (word == 0 || static_cast<uint32_t>(word >> 32) != static_cast<uint32_t>(key)) return std::nullopt;
  return static_cast<int32_t>(static_cast<uint32_t>(word) - 1);
}

void KeyHints::Remember(int32_t key, int32_t index) {
  if (index < 0) return;
  const uint64_t word = (uint64_t{static_cast<uint32_t>(key)} << 32) | (static_cast<uint32_t>(index) + 1);
  slots_[SlotOf(key)].store(word, std::memory_order_relaxed);
}

}  // namespace sysv::compat

#include "core/ipc/key_index.h"

#include <atomic>

namespace sysv::core {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

// Index plus one, the links' encoding (0: none).
uint32_t Link(int32_t index) { return static_cast<uint32_t>(index) + 1; }

// Stores `value` unless the word holds it already: a rebuild then leaves
// the untouched pages of a sparse table file unallocated.
void StoreIfChanged(std::atomic<uint32_t>& word, uint32_t value) {
  if (word.load(kRelaxed) != value) word.store(value, kRelaxed);
}

}  // namespace

uint32_t KeyBucket(Key key, uint32_t capacity) {
  // Fibonacci hashing: consecutive keys (ftok of neighbouring files, a
  // program's key plus a counter) spread over the whole table.
  const uint64_t mixed = static_cast<uint64_t>(static_cast<uint32_t>(key)) * 0x9E3779B97F4A7C15ull;
  return static_cast<uint32_t>((mixed >> 32) % capacity);
}

void LinkKey(ObjectTable& table, int32_t index, Key key) {
  if (table.capacity() == 0) return;
  std::atomic<uint32_t>& head = table.Links(static_cast<int32_t>(KeyBucket(key, table.capacity()))).key_head;
  const uint32_t first = head.load(kRelaxed);
  ObjectEntry& entry = table.Links(index);
  entry.key_next.store(first, kRelaxed);
  entry.key_prev.store(0, kRelaxed);
  if (first != 0 && first <= table.capacity()) {
    table.Links(static_cast<int32_t>(first - 1)).key_prev.store(Link(index), kRelaxed);
  }
  // See KEY_INDEX_LINK.
  head.store(Link(index), std::memory_order_release);
}

void UnlinkKey(ObjectTable& table, int32_t index, Key key) {
  if (table.capacity() == 0) return;
  ObjectEntry& entry = table.Links(index);
  const uint32_t next = entry.key_next.load(kRelaxed);
  const uint32_t prev = entry.key_prev.load(kRelaxed);
  std::atomic<uint32_t>& head = table.Links(static_cast<int32_t>(KeyBucket(key, table.capacity()))).key_head;
  if (next != 0 && next <= table.capacity()) table.Links(static_cast<int32_t>(next - 1)).key_prev.store(prev, kRelaxed);
  // See KEY_INDEX_LINK.
  if (prev != 0 && prev <= table.capacity()) {
    table.Links(static_cast<int32_t>(prev - 1)).key_next.store(next, std::memory_order_release);
  } else if (head.load(kRelaxed) == Link(index)) {
    head.store(next, std::memory_order_release);
  }
  entry.key_next.store(0, kRelaxed);
  entry.key_prev.store(0, kRelaxed);
}

void RebuildKeyIndex(ObjectTable& table) {
  const uint32_t capacity = table.capacity();
  for (uint32_t i = 0; i < capacity; ++i) {
    ObjectEntry& entry = table.Links(static_cast<int32_t>(i));
    StoreIfChanged(entry.key_head, 0);
    StoreIfChanged(entry.key_next, 0);
    StoreIfChanged(entry.key_prev, 0);
  }
  for (uint32_t i = 0; i < capacity; ++i) {
    absl::StatusOr<ObjectRecord> record = table.Read(static_cast<int32_t>(i));
    if (record.ok() && record->state != EntryState::kFree && record->perm.key != kIpcPrivate) {
      LinkKey(table, static_cast<int32_t>(i), record->perm.key);
    }
  }
}

std::optional<int32_t> FindKey(const ObjectTable& table, Key key) {
  const uint32_t capacity = table.capacity();
  if (capacity == 0 || key == kIpcPrivate) return std::nullopt;
  // See KEY_INDEX_LINK.
  uint32_t link = table.Links(static_cast<int32_t>(KeyBucket(key, capacity))).key_head.load(std::memory_order_acquire);
  for (int step = 0; step < kMaxChainSteps && link != 0 && link <= capacity; ++step) {
    const int32_t index = static_cast<int32_t>(link - 1);
    // The entry itself decides (see the file comment).
    absl::StatusOr<ObjectRecord> record = table.Read(index);
    if (record.ok() && record->state == EntryState::kLive && record->perm.key == key) return index;
    link = table.Links(index).key_next.load(std::memory_order_acquire);
  }
  return std::nullopt;
}

}  // namespace sysv::core
